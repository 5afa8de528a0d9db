//! The program library on disk: one file per program in `STATE_DIR/programs/`, `NAME.json`,
//! written as the cycle is (temporary file, fsync, rename, fsync the folder), so a failed save
//! or a power cut leaves the old program or the new one. tumble-core's `library` owns the rules.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use tumble_core::library::{Failure, Name, Programs};

use super::store::{replace, sync_dir};

/// The most programs the host keeps.
pub const MAX_PROGRAMS: usize = 64;

pub struct Library {
    dir: PathBuf,
}

impl Library {
    pub fn new(state_dir: &Path) -> Self {
        Library {
            dir: state_dir.join("programs"),
        }
    }

    /// Every stored program's name (the file's, as saved), sorted case ignored.
    fn names(&self) -> Result<Vec<String>, Failure> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(failed(e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let file = e.file_name().into_string().ok()?;
                let stem = file.strip_suffix(".json")?;
                Name::new(stem).ok().map(|_| stem.to_owned())
            })
            .collect();
        names.sort_by_key(|n| n.to_ascii_lowercase());
        Ok(names)
    }

    /// The stored name that is `name`, case ignored.
    fn find(&self, name: &Name) -> Result<Option<String>, Failure> {
        Ok(self.names()?.into_iter().find(|n| name.same(n)))
    }

    fn path(&self, stored: &str) -> PathBuf {
        self.dir.join(format!("{stored}.json"))
    }
}

fn failed(e: io::Error) -> Failure {
    let mut why = heapless::String::new();
    for c in e.to_string().chars() {
        if why.push(c).is_err() {
            break;
        }
    }
    Failure::Store(why)
}

impl Programs for Library {
    fn list(&mut self, each: &mut dyn FnMut(&str, usize)) -> Result<(), Failure> {
        for name in self.names()? {
            let bytes = fs::metadata(self.path(&name)).map_or(0, |m| m.len() as usize);
            each(&name, bytes);
        }
        Ok(())
    }

    fn save(&mut self, name: &Name, doc: &[u8]) -> Result<(), Failure> {
        let names = self.names()?;
        let old = names.iter().find(|n| name.same(n));
        if old.is_none() && names.len() >= MAX_PROGRAMS {
            return Err(Failure::Full {
                programs: MAX_PROGRAMS,
            });
        }
        let file = format!("{}.json", name.as_str());
        replace(&self.dir, &file, doc, false).map_err(failed)?;
        // Saved under a new spelling of the same name: the old file goes, now that the new
        // one is safe.
        if let Some(old) = old.filter(|o| o.as_str() != name.as_str()) {
            let _ = fs::remove_file(self.path(old));
        }
        Ok(())
    }

    fn load<'b>(&mut self, name: &Name, buf: &'b mut [u8]) -> Result<(Name, &'b [u8]), Failure> {
        let stored = self.find(name)?.ok_or(Failure::NotFound)?;
        // Listed by `names`, so a valid name.
        let saved = Name::new(&stored).unwrap_or_else(|_| name.clone());
        let bytes = fs::read(self.path(&stored)).map_err(failed)?;
        let room = buf.get_mut(..bytes.len()).ok_or_else(|| {
            failed(io::Error::other(
                "the stored program is larger than a frame",
            ))
        })?;
        room.copy_from_slice(&bytes);
        Ok((saved, room))
    }

    fn rename(&mut self, name: &Name, to: &Name) -> Result<(), Failure> {
        let stored = self.find(name)?.ok_or(Failure::NotFound)?;
        if let Some(other) = self.find(to)?
            && other != stored
        {
            return Err(Failure::Exists);
        }
        fs::rename(self.path(&stored), self.path(to.as_str())).map_err(failed)?;
        sync_dir(&self.dir).map_err(failed)
    }

    fn delete(&mut self, name: &Name) -> Result<(), Failure> {
        let stored = self.find(name)?.ok_or(Failure::NotFound)?;
        fs::remove_file(self.path(&stored)).map_err(failed)?;
        sync_dir(&self.dir).map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    #[test]
    fn save_list_rename_delete_and_case() {
        let dir = std::env::temp_dir().join(format!("tumble-programs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut lib = Library::new(&dir);
        lib.save(&name("Cotton 60"), b"{\"phases\":[]}").unwrap();
        lib.save(&name("quick"), b"{}").unwrap();
        let mut seen = Vec::new();
        lib.list(&mut |n, b| seen.push((n.to_owned(), b))).unwrap();
        assert_eq!(seen, [("Cotton 60".into(), 13), ("quick".into(), 2)]);
        // The same name in another case replaces it, under the new spelling.
        lib.save(&name("COTTON 60"), b"{\"phases\":[1]}").unwrap();
        assert_eq!(lib.names().unwrap(), ["COTTON 60", "quick"]);
        let mut buf = [0u8; 64];
        assert_eq!(
            lib.load(&name("cotton 60"), &mut buf).unwrap().1,
            b"{\"phases\":[1]}"
        );
        assert_eq!(
            lib.rename(&name("quick"), &name("cotton 60")),
            Err(Failure::Exists)
        );
        lib.rename(&name("quick"), &name("Quick 30")).unwrap();
        assert_eq!(lib.load(&name("quick"), &mut buf), Err(Failure::NotFound));
        lib.delete(&name("Quick 30")).unwrap();
        assert_eq!(lib.names().unwrap(), ["COTTON 60"]);
        let leftovers = fs::read_dir(dir.join("programs"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0, "no temporary file is left");
        for i in 1..MAX_PROGRAMS {
            lib.save(&name(&format!("p{i}")), b"{}").unwrap();
        }
        assert_eq!(
            lib.save(&name("one more"), b"{}"),
            Err(Failure::Full {
                programs: MAX_PROGRAMS
            })
        );
        lib.save(&name("p1"), b"{\"x\":1}").unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
