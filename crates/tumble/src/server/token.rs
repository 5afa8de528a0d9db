//! The controller's token: made at the first start from the OS's random numbers, kept in the
//! state directory (`token`, readable by its owner only), required from every client that
//! commands anything (tumble-core's `access`). `tumble token --rotate` writes a new one; a
//! running server notices within a second and closes the clients that used the old one.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::cli::{self, Failure};

const FILE: &str = "token";
/// Random bytes in a token: 128 bits, written as 32 hex digits.
const BYTES: usize = 16;

/// `tumble token`.
#[derive(clap::Args)]
pub struct Args {
    /// The server's state directory [default: as `tumble serve`'s]
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Write a new token; a running server closes the clients that used the old one
    #[arg(long)]
    rotate: bool,
}

/// `tumble token`: prints the token (making one if there is none yet), or a new one.
pub fn run(a: Args) -> cli::Result {
    let dir = a.state_dir.unwrap_or_else(super::default_state_dir);
    let token = if a.rotate {
        create(&dir)
    } else {
        load_or_create(&dir)
    }
    .map_err(|e| Failure::Io(format!("{}: {e}", path(&dir).display())))?;
    cli::print(&format!(
        "{token}\n(open http://HOST:PORT/?token={token}; a running `tumble serve` on this state directory takes a new one within a second)\n"
    ))
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// The stored token, or a new one stored first.
pub fn load_or_create(dir: &Path) -> io::Result<String> {
    match read(dir)? {
        Some(t) => Ok(t),
        None => create(dir),
    }
}

/// The stored token, if there is a valid one.
pub fn read(dir: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path(dir)) {
        Ok(text) => {
            let t = text.trim();
            if t.len() >= 16 && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
                Ok(Some(t.to_owned()))
            } else {
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "not a token (16 or more letters and digits); delete it or run `tumble token --rotate`",
                ))
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A new random token, stored atomically, readable by its owner only.
pub fn create(dir: &Path) -> io::Result<String> {
    let mut bytes = [0u8; BYTES];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(format!("no random numbers: {e}")))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    super::store::replace(dir, FILE, format!("{token}\n").as_bytes(), true)?;
    Ok(token)
}

/// Whether others than the owner may read the token file (it is then worth a warning).
pub fn readable_by_others(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path(dir)).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_made_once_kept_private_and_rotated_on_request() {
        let dir = std::env::temp_dir().join(format!("tumble-token-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = load_or_create(&dir).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(load_or_create(&dir).unwrap(), first, "made once");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path(&dir)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = create(&dir).unwrap();
        assert_ne!(second, first);
        assert_eq!(read(&dir).unwrap(), Some(second));
        fs::write(path(&dir), "short").unwrap();
        assert!(
            read(&dir).is_err(),
            "a broken file is an error, not an open door"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
