//! `fmt::Write` into fixed buffers: replies must fit or fail, log lines are cut to fit.

use core::fmt;

/// Writes whole strings into a byte buffer; a string that does not fit is an error and is not
/// written at all, so the contents are always valid UTF-8.
#[derive(Debug)]
pub struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceWriter<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        SliceWriter { buf, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Writes with `write` into the whole buffer, in place of what was there.
    fn rewrite(&mut self, write: impl FnOnce(&mut Truncating<'_>)) {
        let mut t = Truncating::new(&mut *self.buf);
        write(&mut t);
        self.len = t.len();
    }

    /// The whole buffer back, whatever was written.
    pub fn into_inner(self) -> &'a mut [u8] {
        self.buf
    }

    /// Gives up the last `n` bytes of the buffer, for another use, when they are not written
    /// yet; the writer keeps the rest.
    pub fn split_off_end(&mut self, n: usize) -> Option<&'a mut [u8]> {
        let keep = self.buf.len().checked_sub(n).filter(|&k| k >= self.len)?;
        let (head, tail) = core::mem::take(&mut self.buf).split_at_mut(keep);
        self.buf = head;
        Some(tail)
    }

    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so this cannot fail; an empty string is the
        // harmless answer if it somehow did.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes as much as fits, cut at a character boundary, and never fails: for log lines, where a
/// shortened line beats no line. `truncated()` says whether something was cut.
#[derive(Debug)]
pub struct Truncating<'a> {
    inner: SliceWriter<'a>,
    truncated: bool,
}

impl<'a> Truncating<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Truncating {
            inner: SliceWriter::new(buf),
            truncated: false,
        }
    }

    pub fn truncated(&self) -> bool {
        self.truncated
    }

    pub fn as_str(&self) -> &str {
        self.inner.as_str()
    }

    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

impl fmt::Write for Truncating<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.truncated {
            return Ok(());
        }
        let room = self.inner.capacity() - self.inner.len();
        if s.len() <= room {
            return self.inner.write_str(s);
        }
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.truncated = true;
        self.inner.write_str(&s[..cut])
    }
}

/// Writes what fits and counts everything, never failing: for replies of commands that may
/// act before their reply is complete (a v2 load loads first, then writes its summary), so the
/// platform always learns what the command did, and can tell from `overflowed()` that the
/// reply must be replaced.
#[derive(Debug)]
pub struct Overflowing<'a> {
    inner: SliceWriter<'a>,
    total: usize,
}

impl<'a> Overflowing<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Overflowing {
            inner: SliceWriter::new(buf),
            total: 0,
        }
    }

    /// Bytes it can hold.
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// Bytes the whole text needed.
    pub fn total(&self) -> usize {
        self.total
    }

    pub fn overflowed(&self) -> bool {
        self.total > self.inner.len()
    }

    /// The text, when it fitted whole.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn into_inner(self) -> &'a mut [u8] {
        self.inner.into_inner()
    }

    /// The text, when it fitted whole; what fitted of it otherwise.
    pub fn as_str(&self) -> &str {
        self.inner.as_str()
    }

    /// Forgets what was written.
    pub fn clear(&mut self) {
        self.inner.clear();
        self.total = 0;
    }

    /// Writes with `write`, cut to fit, in place of what was there: a refusal that must fit.
    pub fn rewrite(&mut self, write: impl FnOnce(&mut Truncating<'_>)) {
        self.inner.rewrite(write);
        self.total = self.inner.len();
    }

    /// See [`SliceWriter::split_off_end`]: only before anything was written.
    pub fn split_off_end(&mut self, n: usize) -> Option<&'a mut [u8]> {
        match self.total {
            0 => self.inner.split_off_end(n),
            _ => None,
        }
    }
}

impl fmt::Write for Overflowing<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.total = self.total.saturating_add(s.len());
        if self.total == self.inner.len() + s.len() {
            // Nothing was dropped yet: keep writing while it fits.
            let _ = self.inner.write_str(s);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn whole_strings_or_nothing() {
        let mut buf = [0u8; 8];
        let mut w = SliceWriter::new(&mut buf);
        assert!(w.write_str("abc").is_ok());
        assert!(w.write_str("defgh!").is_err());
        assert_eq!(w.as_str(), "abc");
        assert!(write!(w, "{}", 12345).is_ok());
        assert_eq!(w.as_str(), "abc12345");
        assert!(w.write_str("").is_ok());
        assert!(w.write_char('x').is_err());
        w.clear();
        assert!(w.is_empty());
    }

    #[test]
    fn overflowing_counts_past_the_end() {
        let mut buf = [0u8; 6];
        let mut w = Overflowing::new(&mut buf);
        write!(w, "abc").unwrap();
        assert!(!w.overflowed());
        write!(w, "defg{}", 1).unwrap();
        write!(w, "h").unwrap();
        assert!(w.overflowed());
        assert_eq!(w.total(), 9);
        // What was written is a prefix of whole pieces; nothing after the first drop.
        assert_eq!(w.len(), 3);
    }

    #[test]
    fn truncation_respects_characters() {
        let mut buf = [0u8; 5];
        let mut w = Truncating::new(&mut buf);
        let umlauts = "äöü";
        write!(w, "ab{umlauts}").unwrap();
        assert_eq!(w.as_str(), "abä");
        assert!(w.truncated());
        w.write_str("more").unwrap();
        assert_eq!(w.as_str(), "abä");

        let mut buf = [0u8; 16];
        let mut w = Truncating::new(&mut buf);
        write!(w, "fits").unwrap();
        assert!(!w.truncated());
        assert_eq!(w.len(), 4);
    }
}
