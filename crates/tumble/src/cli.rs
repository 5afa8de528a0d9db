//! What every command shares: failures and their exit codes, reading a cycle file.

use std::fmt;

use tumble_core::board::Board;

use crate::sim::Profile;
use tumble_core::cycle::{Cycle, CycleError, Report};

/// Why a command did not succeed; each maps to one exit code.
pub enum Failure {
    /// The cycle was refused (exit 1); the command has already said why.
    Refused,
    /// The command line is wrong (exit 2).
    Usage(Usage),
    /// A file could not be read or written (exit 2).
    Io(String),
    /// The command ran and ends with this exit code (a cycle fault, an interrupt).
    Exit(u8),
}

pub struct Usage(String);

impl Usage {
    pub fn new(msg: String) -> Self {
        Usage(msg)
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Usage> for Failure {
    fn from(u: Usage) -> Self {
        Failure::Usage(u)
    }
}

impl From<lexopt::Error> for Failure {
    fn from(e: lexopt::Error) -> Self {
        Failure::Usage(Usage(e.to_string()))
    }
}

pub type Result<T = ()> = std::result::Result<T, Failure>;

/// Reads and validates a cycle file. The cycle lives on the heap: it is a fixed ~60 KB block.
pub fn load(
    path: &str,
    board: &Board,
) -> Result<(Box<Cycle>, std::result::Result<Report, CycleError>)> {
    let bytes = std::fs::read(path).map_err(|e| Failure::Io(format!("{path}: {e}")))?;
    let mut cycle = Box::<Cycle>::default();
    let report = cycle.parse(&bytes, board);
    Ok((cycle, report))
}

/// Takes the one positional FILE argument; `opt` handles each option, `--long` or `-s` by its
/// name without dashes (it returns false
/// for one it does not know) and may take its value from the parser.
pub fn file_and_options(
    mut args: lexopt::Parser,
    mut opt: impl FnMut(&str, &mut lexopt::Parser) -> Result<bool>,
) -> Result<String> {
    let mut file = None;
    while let Some(arg) = args.next()? {
        let long = match arg {
            lexopt::Arg::Long(name) => name.to_owned(),
            lexopt::Arg::Short(c) => c.to_string(),
            lexopt::Arg::Value(v) if file.is_none() => {
                file = Some(v.to_string_lossy().into_owned());
                continue;
            }
            other => return Err(other.unexpected().into()),
        };
        if !opt(&long, &mut args)? {
            let dashes = if long.len() == 1 { "-" } else { "--" };
            return Err(Usage::new(format!("unknown option {dashes}{long}")).into());
        }
    }
    file.ok_or_else(|| Usage::new("a cycle FILE is needed".into()).into())
}

/// The value of the current option, parsed.
pub fn value<T: std::str::FromStr>(args: &mut lexopt::Parser, name: &str) -> Result<T> {
    let v = args.value()?;
    let text = v.to_string_lossy();
    text.parse()
        .map_err(|_| Usage::new(format!("--{name}: cannot read {text:?}")).into())
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
    let text = std::fs::read_to_string(path).map_err(|e| Failure::Io(format!("{path}: {e}")))?;
    Profile::parse(&text).map_err(|e| Failure::Io(format!("{path}: {e}")))
}
