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

    /// The stored document, if any. Only a regular file is read: opening a FIFO (or a device)
    /// there would block startup forever, so anything else is an error.
    pub fn read(&self) -> io::Result<Option<Vec<u8>>> {
        let path = self.path();
        match fs::metadata(&path) {
            Ok(m) if !m.is_file() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a regular file",
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
        fs::read(path).map(Some)
    }

    /// Stores load number `seq`: temp file, fsync, rename over the old one, fsync the folder.
    /// A crash at any point leaves the old document or the new one, never a mix.
    pub fn save(&self, seq: u64, document: &[u8]) -> io::Result<()> {
        let mut newest = self.newest.lock().unwrap_or_else(|e| e.into_inner());
        if seq < *newest {
            return Ok(());
        }
        replace(&self.dir, FILE, document, false)?;
        *newest = seq;
        Ok(())
    }
}

/// Replaces `dir/name` with `contents`: a temporary file beside it (`name.tmp`), fsync, rename
/// over the old one, fsync the folder. A crash at any point leaves the old file or the new one,
/// never a mix; a failed write leaves no temporary file (a full disk must not stay full because
/// of a half-written copy). `private`: readable by its owner only (a leftover temporary file is
/// removed first: it would keep its own permissions). The one way the server writes a file.
pub fn replace(dir: &Path, name: &str, contents: &[u8], private: bool) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{name}.tmp"));
    let mut open = fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    if private {
        let _ = fs::remove_file(&tmp);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.mode(0o600);
        }
    }
    let written = open
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(contents)?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, dir.join(name)));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// Makes a rename or a removal in `dir` survive a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
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

    fn fresh(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tumble-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[cfg(unix)]
    #[test]
    fn a_failed_save_leaves_no_temporary_file() {
        // The temporary file lands on /dev/full: every write fails with "no space left".
        let dir = fresh("full");
        std::os::unix::fs::symlink("/dev/full", dir.join("cycle.json.tmp")).unwrap();
        let store = Store::new(dir.clone());
        let err = store.save(1, &[b' '; 64 * 1024]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28), "ENOSPC: {err}");
        assert!(fs::symlink_metadata(dir.join("cycle.json.tmp")).is_err());
        assert_eq!(store.read().unwrap(), None, "the old state is kept");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_at_the_state_path_is_refused_not_opened() {
        let dir = fresh("fifo");
        let path = dir.join("cycle.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let err = Store::new(dir.clone()).read().unwrap_err();
        assert_eq!(err.to_string(), "not a regular file");
        fs::remove_dir_all(&dir).unwrap();
    }
}
