//! The loaded cycle on disk: written atomically, read once at start.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where the cycle lives, and which load was stored last.
pub struct Store {
    dir: PathBuf,
    /// Sequence number of the newest stored load: an older one arriving late is not written.
    newest: Mutex<u64>,
}

const FILE: &str = "cycle.json";

impl Store {
    pub fn new(dir: PathBuf) -> Self {
        Store {
            dir,
            newest: Mutex::new(0),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The stored document, if any.
    pub fn read(&self) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.path()) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores load number `seq`: temp file, fsync, rename over the old one, fsync the folder.
    /// A crash at any point leaves the old document or the new one, never a mix.
    pub fn save(&self, seq: u64, document: &[u8]) -> io::Result<()> {
        let mut newest = self.newest.lock().unwrap_or_else(|e| e.into_inner());
        if seq < *newest {
            return Ok(());
        }
        fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!("{FILE}.tmp"));
        let mut f = File::create(&tmp)?;
        f.write_all(document)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, self.path())?;
        sync_dir(&self.dir)?;
        *newest = seq;
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_replace_atomically_and_stale_saves_are_skipped() {
        let dir = std::env::temp_dir().join(format!("tumble-store-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = Store::new(dir.clone());
        assert_eq!(store.read().unwrap(), None);
        store.save(1, b"{\"phases\":[]}").unwrap();
        store.save(3, b"three").unwrap();
        store.save(2, b"two, late").unwrap();
        assert_eq!(store.read().unwrap().as_deref(), Some(&b"three"[..]));
        assert!(!dir.join("cycle.json.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
