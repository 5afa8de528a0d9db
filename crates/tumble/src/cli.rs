//! What every command shares: failures and their exit codes, reading a cycle file.

use std::fmt;

use tumble_core::board::Board;

use crate::sim::Profile;
use tumble_core::cycle::{Cycle, CycleError, MAX_STORAGE, Report};

/// Why a command did not succeed; each maps to one exit code.
pub enum Failure {
    /// The cycle was refused (exit 1); the command has already said why.
    Refused,
    /// The command line asks for something that cannot be (exit 2, in clap's form).
    Usage(String),
    /// A file could not be read or written (exit 2).
    Io(String),
    /// Whoever read stdout has gone (`| head`): the command ends quietly, with success.
    Closed,
    /// The command ran and ends with this exit code (a cycle fault, an interrupt).
    Exit(u8),
}

impl Failure {
    /// An I/O error on `what` (a path, "stdout"): a closed pipe is not a failure.
    pub fn io(what: &str, e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::BrokenPipe => Failure::Closed,
            _ => Failure::Io(format!("{what}: {e}")),
        }
    }
}

pub type Result<T = ()> = std::result::Result<T, Failure>;

/// Writes `text` to stdout (a closed pipe ends the command quietly).
/// One JSON object, written by `members` with the core's writer (every JSON line the binary
/// prints or records is written this way).
pub fn json_object(
    members: impl FnOnce(&mut tumble_core::json::Object<'_, String>) -> fmt::Result,
) -> String {
    let mut s = String::new();
    let written = tumble_core::json::Object::open(&mut s).and_then(|mut o| {
        members(&mut o)?;
        o.close()
    });
    // Writing into a String cannot fail.
    debug_assert!(written.is_ok());
    s
}

pub fn print(text: &str) -> Result {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io("stdout", e))
}

/// The `--board` option every command that reads a cycle takes.
#[derive(clap::Args, Debug, Clone)]
pub struct BoardArg {
    /// Board profile (TOML; `tumble board` prints the default); default: the original's wiring
    #[arg(long, value_name = "BOARD.toml")]
    pub board: Option<String>,
}

/// A `--speed` factor: a number > 0.
pub fn speed(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("cannot read {s:?} as a number"))?;
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(format!("must be > 0, got {s}"))
    }
}

/// Storage for one cycle, as much as a cycle can use ([`MAX_STORAGE`]), for the life of the
/// process: each command and the server take it once.
pub fn storage() -> &'static mut [u8] {
    Box::leak(vec![0u8; MAX_STORAGE].into_boxed_slice())
}

/// Reads and validates a cycle file.
pub fn load(
    path: &str,
    board: &Board,
) -> Result<(Box<Cycle<'static>>, std::result::Result<Report, CycleError>)> {
    let bytes = std::fs::read(path).map_err(|e| Failure::io(path, e))?;
    let mut cycle = Box::new(Cycle::new(storage()));
    let report = cycle.parse(&bytes, board);
    Ok((cycle, report))
}

/// `1 event`, `2 events`: a count with its noun, singular or plural.
pub struct Count(pub u64, pub &'static str);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.0 == 1 { "" } else { "s" };
        write!(f, "{} {}{s}", self.0, self.1)
    }
}

/// Milliseconds as seconds with three decimals, plus hours and minutes when long.
pub struct Secs(pub u64);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03} s", self.0 / 1000, self.0 % 1000)?;
        let s = self.0 / 1000;
        if s >= 60 {
            write!(f, " ({}h{:02}m{:02}s)", s / 3600, s / 60 % 60, s % 60)?;
        }
        Ok(())
    }
}

/// The board profile of `--board FILE`, or the default washer.
pub fn load_profile(path: Option<&str>) -> Result<Profile> {
    let Some(path) = path else {
        return Ok(Profile::default_washer());
    };
    let text = std::fs::read_to_string(path).map_err(|e| Failure::io(path, e))?;
    Profile::parse(&text).map_err(|e| Failure::Io(format!("{path}: {e}")))
}
