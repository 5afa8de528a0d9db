//! The program library: named cycles kept on the controller beside the loaded one, so that an
//! operator picks "Cotton 60" instead of sending a file. The core owns the rules (what a name
//! may be, what each command answers); a platform keeps the documents (the host in files of
//! its state directory, written atomically) behind [`Programs`].
//!
//! v2 commands (docs/protocol.md): `list_programs`, `save_program {name, cycle}` (checked as a
//! load would be, then stored; the loaded cycle is not touched), `load_program {name}` (a
//! `load_cycle` of the stored document), `rename_program {name, to}`, `delete_program {name}`.

use core::fmt::{self, Write};

use crate::json;
use crate::json::Object;
use crate::protocol;

/// The longest program name, in bytes.
pub const MAX_NAME: usize = 32;

/// A program's name: 1 to [`MAX_NAME`] letters, digits, spaces and `_ - . + ( )`, not starting
/// with a space, a dot or a dash, not ending with a space. Two names that differ only in case
/// are the same program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(heapless::String<MAX_NAME>);

impl Name {
    /// The name, if `s` is one; else why not.
    pub fn new(s: &str) -> Result<Name, &'static str> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || " _-.+()".contains(c);
        if s.is_empty() {
            return Err("a program name cannot be empty");
        }
        if s.len() > MAX_NAME {
            return Err("a program name has at most 32 bytes");
        }
        if !s.chars().all(allowed) {
            return Err("a program name has only letters, digits, spaces and _ - . + ( )");
        }
        if s.starts_with([' ', '.', '-']) || s.ends_with(' ') {
            return Err(
                "a program name cannot start with a space, a dot or a dash, nor end with a space",
            );
        }
        // Checked: it fits.
        Ok(Name(heapless::String::try_from(s).unwrap_or_default()))
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same program (case ignored).
    pub fn same(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a library command asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// Every program: name and size, and the room left.
    List,
    /// Checks `cycle` as a load would and stores it as `name` (replacing one of that name).
    Save {
        /// The program's name.
        name: Name,
        /// The cycle document as received.
        cycle: &'a [u8],
    },
    /// Loads the program's document as `load_cycle` would.
    Load {
        /// The program's name.
        name: Name,
    },
    /// Renames a program.
    Rename {
        /// Its name now.
        name: Name,
        /// Its new name (not another program's).
        to: Name,
    },
    /// Deletes a program.
    Delete {
        /// The program's name.
        name: Name,
    },
}

impl Request<'_> {
    /// The program it is about (None for a listing).
    pub fn name(&self) -> Option<&Name> {
        match self {
            Request::List => None,
            Request::Save { name, .. }
            | Request::Load { name }
            | Request::Rename { name, .. }
            | Request::Delete { name } => Some(name),
        }
    }
}

/// Why a library command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No program of that name.
    NotFound,
    /// Another program already has the name a rename asks for.
    Exists,
    /// No room for it: at most `programs` programs, or not enough bytes left.
    Full {
        /// The most programs the library keeps.
        programs: usize,
    },
    /// The store failed (a disk error, a flash error), in words.
    Store(heapless::String<96>),
    /// Not now, and why: the chip touches its flash only while no cycle runs.
    Busy(&'static str),
    /// The store has no room left for it, whatever the number of programs (the chip's flash).
    NoRoom,
}

impl Failure {
    /// The v2 error code.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::NotFound => "not_found",
            Failure::Exists => "exists",
            Failure::Full { .. } => "full",
            Failure::Store(_) => "store_failed",
            Failure::Busy(_) => "busy",
            Failure::NoRoom => "full",
        }
    }

    /// Writes the v2 error reply for the program `name`.
    pub fn write(&self, w: &mut impl Write, id: Option<&[u8]>, name: &str) -> fmt::Result {
        let message = Message(self, name);
        crate::protocol::write_v2_error(w, id, self.code(), message, "name")
    }
}

struct Message<'a>(&'a Failure, &'a str);

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = json::Quoted(self.1);
        match self.0 {
            Failure::NotFound => write!(f, "no program named {name}"),
            Failure::Exists => write!(f, "a program named {name} exists already"),
            Failure::Full { programs } => write!(
                f,
                "the library is full (at most {programs} programs): delete one to save {name}"
            ),
            Failure::Store(why) => write!(f, "storing {name} failed: {why}"),
            Failure::Busy(why) if self.1.is_empty() => write!(f, "not now: {why}"),
            Failure::Busy(why) => write!(f, "not now ({name}): {why}"),
            Failure::NoRoom => write!(f, "no room left for {name}: delete a program"),
        }
    }
}

/// Where a platform keeps the programs' documents.
pub trait Programs {
    /// Every program's name and size in bytes, in name order (case ignored).
    fn list(&mut self, each: &mut dyn FnMut(&str, usize)) -> Result<(), Failure>;
    /// Stores `doc` as `name`, replacing a program of that name (in any case); nothing stored
    /// is lost when this fails, or power fails while it runs.
    fn save(&mut self, name: &Name, doc: &[u8]) -> Result<(), Failure>;
    /// The program `name` (in any case): its name as it was saved, and its document, read into
    /// `buf` (anywhere in it).
    fn load<'b>(&mut self, name: &Name, buf: &'b mut [u8]) -> Result<(Name, &'b [u8]), Failure>;
    /// Renames `name` to `to`.
    fn rename(&mut self, name: &Name, to: &Name) -> Result<(), Failure>;
    /// Deletes `name`.
    fn delete(&mut self, name: &Name) -> Result<(), Failure>;

    /// Bytes left for more programs, where the store has a fixed size (the chip's flash).
    fn free(&mut self) -> Option<usize> {
        None
    }
}

/// `{"programs":[{"name":..,"bytes":..},...]}` as the reply of `list_programs`, with
/// `"bytes_free":N` after the list where the store has a fixed size.
pub fn write_list(
    w: &mut impl Write,
    id: Option<&[u8]>,
    programs: &mut dyn Programs,
) -> Result<Result<(), Failure>, fmt::Error> {
    let mut listed = Ok(());
    protocol::write_ok(w, id, |w| {
        let mut result = Object::open(w)?;
        let mut items = result.array("programs")?;
        let mut written = Ok(());
        listed = programs.list(&mut |name, bytes| {
            if written.is_ok() {
                written = items.object().and_then(|mut o| {
                    o.field("name", name)?.field("bytes", bytes)?;
                    o.close()
                });
            }
        });
        written?;
        items.close()?;
        if listed.is_ok() {
            result.field_if("bytes_free", programs.free())?;
        }
        result.close()
    })?;
    Ok(listed)
}

/// Answers a library request on `programs`, its reply written: whether it succeeded. A save is
/// checked as a load into `capacity` bytes of cycle storage would be (`invalid_cycle` with its
/// path otherwise). A `load_program` is the platform's (it loads the document as a
/// `load_cycle` of it): None.
pub fn answer(
    p: &crate::protocol::Program<'_>,
    programs: &mut dyn Programs,
    board: &crate::board::Board,
    capacity: usize,
    w: &mut impl crate::exchange::Reply,
) -> Option<bool> {
    let result = match &p.request {
        Request::List => match write_list(w, p.id, programs) {
            Ok(Ok(())) => return Some(true),
            Ok(Err(f)) => {
                // The listing had begun: the refusal replaces it.
                w.clear();
                Err((f, ""))
            }
            Err(_) => return Some(false),
        },
        Request::Save { name, cycle } => {
            let mut count = crate::cycle::WarningCount::default();
            if let Err(e) = crate::cycle::Cycle::validate(cycle, board, capacity, &mut count) {
                let _ = crate::protocol::write_invalid_cycle(w, p.id, &e);
                return Some(false);
            }
            programs
                .save(name, cycle)
                .map(|()| (name, cycle.len()))
                .map_err(|f| (f, name.as_str()))
        }
        Request::Load { .. } => return None,
        Request::Rename { name, to } => programs
            .rename(name, to)
            .map(|()| (to, 0))
            .map_err(|f| (f, name.as_str())),
        Request::Delete { name } => programs
            .delete(name)
            .map(|()| (name, 0))
            .map_err(|f| (f, name.as_str())),
    };
    match result {
        Ok((name, bytes)) => {
            let _ = write_done(w, p.id, name.as_str(), bytes);
            Some(true)
        }
        Err((f, name)) => {
            let _ = f.write(w, p.id, name);
            Some(false)
        }
    }
}

/// The reply of a controller that keeps no library.
pub fn write_unsupported(w: &mut impl Write, id: Option<&[u8]>) -> fmt::Result {
    crate::protocol::write_v2_error(
        w,
        id,
        "unsupported",
        "this controller keeps no program library",
        "cmd",
    )
}

/// `{"name":..,"bytes":..}`: a program saved, or (bytes 0) renamed or deleted.
pub fn write_done(w: &mut impl Write, id: Option<&[u8]>, name: &str, bytes: usize) -> fmt::Result {
    protocol::write_ok(w, id, |w| {
        let mut o = Object::open(w)?;
        o.field("name", name)?.field("bytes", bytes)?;
        o.close()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_people_use_and_names_that_would_hurt() {
        for good in ["Cotton 60", "Quick-30", "Rinse + spin", "v1.2 (test)", "a"] {
            assert!(Name::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            " lead",
            "trail ",
            ".hidden",
            "-flag",
            "a/b",
            "..",
            "x\u{e9}",
            "new\nline",
            "semi;colon",
            "0123456789012345678901234567890123",
        ] {
            assert!(Name::new(bad).is_err(), "{bad:?}");
        }
        assert!(Name::new("Cotton 60").unwrap().same("cotton 60"));
    }

    #[test]
    fn failures_say_what_and_which() {
        let mut s = heapless::String::<256>::new();
        Failure::Full { programs: 64 }
            .write(&mut s, Some(b"7"), "Cotton 60")
            .unwrap();
        assert_eq!(
            s.as_str(),
            r#"{"type":"reply","id":7,"ok":false,"error":{"code":"full","message":"the library is full (at most 64 programs): delete one to save \"Cotton 60\"","path":"name"}}"#
        );
    }
}
