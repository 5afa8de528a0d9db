//! Line framing for a serial console: bytes in, complete lines out. The platform owns the
//! storage (a fixed buffer) and feeds whatever its UART driver returned; the framer says when a
//! line is complete. One command per line, so a line may be as long as a cycle document.
//!
//! - A line ends at `\n`, at `\r`, or at `\r\n` (counted once), so any terminal's Enter works.
//! - Empty lines are skipped.
//! - Backspace (0x08) and DEL (0x7f) remove the previous byte, for people typing by hand.
//! - A line longer than the buffer is not cut: the rest of it is read and dropped, and the
//!   framer reports [`Event::TooLong`] with its full length when it ends, so the platform can
//!   say so instead of running a truncated command.

/// What [`LineFramer::feed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `buf[..len]` holds a complete line, without its line end. It stays there until the next
    /// `feed`, which starts the next line.
    Line {
        /// Bytes of the line in `buf`.
        len: usize,
    },
    /// A line of `len` bytes (without its line end) did not fit the buffer and was dropped.
    TooLong {
        /// The whole line's length, dropped bytes included (after backspaces).
        len: usize,
    },
}

/// Assembles lines in a caller-supplied buffer. Pass the same buffer to every `feed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineFramer {
    /// Bytes of the current line in the buffer.
    len: usize,
    /// Bytes of the current line seen so far, when it no longer fits (None: it still fits).
    overflow: Option<usize>,
    /// The previous byte was a `\r`: a `\n` right after it ends nothing.
    after_cr: bool,
}

impl LineFramer {
    /// A framer with no line in progress.
    pub const fn new() -> Self {
        LineFramer {
            len: 0,
            overflow: None,
            after_cr: false,
        }
    }

    /// Bytes of the line in progress (counting those dropped from an over-long one).
    pub fn pending(&self) -> usize {
        self.overflow.unwrap_or(self.len)
    }

    /// Forgets the line in progress (e.g. after a timeout).
    pub fn clear(&mut self) {
        self.len = 0;
        self.overflow = None;
    }

    /// Reads `input` into `buf` until a line ends or `input` runs out. Returns how many bytes of
    /// `input` were used and the event, if a line ended; call again with the rest of `input`.
    pub fn feed(&mut self, buf: &mut [u8], input: &[u8]) -> (usize, Option<Event>) {
        for (i, &b) in input.iter().enumerate() {
            let after_cr = core::mem::replace(&mut self.after_cr, b == b'\r');
            match b {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    let event = match self.overflow.take() {
                        Some(len) => Some(Event::TooLong { len }),
                        None if self.len == 0 => None,
                        None => Some(Event::Line { len: self.len }),
                    };
                    self.len = 0;
                    if event.is_some() {
                        return (i + 1, event);
                    }
                }
                0x08 | 0x7f => match &mut self.overflow {
                    Some(len) => *len = len.saturating_sub(1),
                    None => self.len = self.len.saturating_sub(1),
                },
                _ => match &mut self.overflow {
                    Some(len) => *len += 1,
                    None if self.len < buf.len() => {
                        buf[self.len] = b;
                        self.len += 1;
                    }
                    None => {
                        self.overflow = Some(self.len + 1);
                        self.len = 0;
                    }
                },
            }
        }
        (input.len(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Feeds `chunks` one after another and collects what came out, as text.
    fn run(cap: usize, chunks: &[&[u8]]) -> Vec<Result<std::string::String, usize>> {
        let mut buf = std::vec![0u8; cap];
        let mut f = LineFramer::new();
        let mut out = Vec::new();
        for chunk in chunks {
            let mut rest: &[u8] = chunk;
            while !rest.is_empty() {
                let (used, ev) = f.feed(&mut buf, rest);
                assert!(used > 0 && used <= rest.len());
                rest = &rest[used..];
                match ev {
                    Some(Event::Line { len }) => out
                        .push(Ok(
                            std::string::String::from_utf8(buf[..len].to_vec()).unwrap()
                        )),
                    Some(Event::TooLong { len }) => out.push(Err(len)),
                    None => assert!(rest.is_empty(), "no event means the input was used up"),
                }
            }
        }
        out
    }

    fn lines(v: &[&str]) -> Vec<Result<std::string::String, usize>> {
        v.iter().map(|s| Ok((*s).into())).collect()
    }

    #[test]
    fn every_line_end_works_and_crlf_counts_once() {
        assert_eq!(run(64, &[b"a\nb\rc\r\nd\n"]), lines(&["a", "b", "c", "d"]));
        assert_eq!(
            run(64, &[b"{\"action\":\"ping\"}\r\n"]),
            lines(&["{\"action\":\"ping\"}"])
        );
    }

    #[test]
    fn crlf_split_across_reads_is_one_line_end() {
        assert_eq!(
            run(64, &[b"one\r", b"\ntwo\r", b"\n"]),
            lines(&["one", "two"])
        );
    }

    #[test]
    fn empty_lines_are_skipped() {
        assert_eq!(run(64, &[b"\n\r\n\r\rx\n\n"]), lines(&["x"]));
        assert_eq!(run(64, &[b"\n\n\n"]), lines(&[]));
    }

    #[test]
    fn a_line_may_arrive_byte_by_byte() {
        let text = b"{\"cmd\":\"get_status\",\"id\":7}\n";
        let chunks: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(
            run(64, &chunks),
            lines(&["{\"cmd\":\"get_status\",\"id\":7}"])
        );
    }

    #[test]
    fn no_line_end_no_line() {
        let mut buf = [0u8; 8];
        let mut f = LineFramer::new();
        assert_eq!(f.feed(&mut buf, b"abc"), (3, None));
        assert_eq!(f.pending(), 3);
        assert_eq!(f.feed(&mut buf, b"d\n"), (2, Some(Event::Line { len: 4 })));
        assert_eq!(&buf[..4], b"abcd");
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn feed_stops_after_each_line() {
        let mut buf = [0u8; 8];
        let mut f = LineFramer::new();
        let input = b"ab\ncd\n";
        assert_eq!(f.feed(&mut buf, input), (3, Some(Event::Line { len: 2 })));
        assert_eq!(&buf[..2], b"ab");
        assert_eq!(
            f.feed(&mut buf, &input[3..]),
            (3, Some(Event::Line { len: 2 }))
        );
        assert_eq!(&buf[..2], b"cd");
    }

    #[test]
    fn a_line_exactly_the_buffer_size_fits() {
        assert_eq!(run(4, &[b"abcd\n"]), lines(&["abcd"]));
    }

    #[test]
    fn over_long_lines_are_reported_whole_and_the_next_line_is_clean() {
        assert_eq!(
            run(4, &[b"abcdef\nok\n"]),
            std::vec![Err(6), Ok("ok".into())]
        );
        // Split over many reads, and ended by CR LF.
        assert_eq!(
            run(4, &[b"abc", b"defgh", b"ij\r", b"\nxy\n"]),
            std::vec![Err(10), Ok("xy".into())]
        );
    }

    #[test]
    fn an_over_long_line_never_leaks_its_head_into_the_next() {
        let mut buf = [0u8; 3];
        let mut f = LineFramer::new();
        assert_eq!(f.feed(&mut buf, b"abcdef"), (6, None));
        assert_eq!(f.pending(), 6);
        assert_eq!(
            f.feed(&mut buf, b"\n"),
            (1, Some(Event::TooLong { len: 6 }))
        );
        assert_eq!(f.feed(&mut buf, b"z\n"), (2, Some(Event::Line { len: 1 })));
        assert_eq!(&buf[..1], b"z");
    }

    #[test]
    fn backspace_and_delete_edit_the_line() {
        assert_eq!(run(64, &[b"pinx\x08g\n"]), lines(&["ping"]));
        assert_eq!(run(64, &[b"ab\x7f\x7f\x7fcd\n"]), lines(&["cd"]));
        // Erasing a whole line leaves an empty line, which is skipped.
        assert_eq!(run(64, &[b"a\x08\n"]), lines(&[]));
        // Over-long lines count erasures too.
        assert_eq!(run(2, &[b"abcd\x08\n"]), std::vec![Err(3)]);
    }

    #[test]
    fn bytes_are_kept_as_they_are() {
        let text = "{\"id\":\"wäsche ✓\"}\n";
        assert_eq!(
            run(64, &[text.as_bytes()]),
            lines(&["{\"id\":\"wäsche ✓\"}"])
        );
    }

    #[test]
    fn clear_drops_the_line_in_progress() {
        let mut buf = [0u8; 4];
        let mut f = LineFramer::new();
        f.feed(&mut buf, b"abcdefg");
        f.clear();
        assert_eq!(f.pending(), 0);
        assert_eq!(f.feed(&mut buf, b"hi\n"), (3, Some(Event::Line { len: 2 })));
        assert_eq!(&buf[..2], b"hi");
    }

    #[test]
    fn a_zero_sized_buffer_reports_every_line_as_too_long() {
        assert_eq!(run(0, &[b"a\n\nbc\n"]), std::vec![Err(1), Err(2)]);
    }
}
