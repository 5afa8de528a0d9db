//! Bounded text for paths and messages: writing past the capacity keeps what fits and ends it
//! with "...", so a long name never turns an error report into a second error.

use core::fmt;

/// Text of at most `N` bytes that never fails to write: what does not fit is cut, and the text
/// then ends with "...".
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Bounded<const N: usize> {
    buf: heapless::String<N>,
    cut: bool,
}

impl<const N: usize> Bounded<N> {
    /// Empty text.
    pub const fn new() -> Self {
        Bounded {
            buf: heapless::String::new(),
            cut: false,
        }
    }

    /// Formats `args` (from `format_args!`) into a new value, cut to fit.
    pub fn from_fmt(args: fmt::Arguments<'_>) -> Self {
        let mut b = Self::new();
        // A Bounded never fails to write: overflow is recorded as a cut.
        let _ = fmt::write(&mut b, args);
        b
    }

    /// The text, ending with "..." when it was cut.
    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// Length in bytes, at most `N`.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Nothing written yet (or truncated to nothing).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops everything after byte `len` (a length this value had before).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
        self.cut = false;
    }
}

impl<const N: usize> fmt::Write for Bounded<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Ok(());
        }
        for c in s.chars() {
            if self.buf.len() + c.len_utf8() > N.saturating_sub(3) {
                self.cut = true;
                let _ = self.buf.push_str("...");
                return Ok(());
            }
            let _ = self.buf.push(c);
        }
        Ok(())
    }
}

impl<const N: usize> fmt::Display for Bounded<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.buf)
    }
}

impl<const N: usize> fmt::Debug for Bounded<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq<&str> for Bounded<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn overflow_is_marked_not_silent() {
        let mut b = Bounded::<10>::new();
        write!(b, "abcdefghijklmnop").unwrap();
        assert_eq!(b.as_str(), "abcdefg...");
        let mark = 3;
        b.truncate(mark);
        write!(b, "x").unwrap();
        assert_eq!(b.as_str(), "abcx");
    }
}
