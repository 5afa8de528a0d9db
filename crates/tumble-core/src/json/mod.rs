//! A pull reader and a writer for JSON, with no allocation and no intermediate tree.
//!
//! Documents are read in two passes: [`check_syntax`] proves the bytes are one well-formed JSON
//! value (so a broken document is reported as "not JSON" rather than as a misleading schema
//! error half way through), then a schema-aware caller walks the same bytes with [`Reader`],
//! pulling exactly the values it knows and skipping the rest. Values borrow from the input.
//!
//! Everything the core writes as JSON (replies, telemetry, documents, summaries, runs) goes
//! through [`Object`] and [`Array`]: the commas, quotes and escapes are put in there, never in
//! a caller's format string.

use core::fmt;

mod write;
pub use write::{Array, Fixed, Object, Raw, Text, Value};

/// How deep arrays and objects may nest. Cycle documents need 6; the limit keeps the
/// recursive skip bounded on hostile input.
pub const MAX_DEPTH: usize = 32;

/// What went wrong, and where (byte offset into the document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset into the document where reading stopped (a string's start for bad UTF-8,
    /// a number's start for a malformed one).
    pub offset: usize,
    /// What was wrong there.
    pub kind: SyntaxKind,
}

/// Why a document is not JSON (or nests too deep to be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxKind {
    /// The document ended inside a value.
    UnexpectedEnd,
    /// This byte cannot start a value.
    Unexpected(u8),
    /// Something else had to come here: a bracket, `:`, `,`, a string key or a literal.
    Expected(&'static str),
    /// An escape JSON does not define, or a UTF-16 surrogate without its pair.
    BadEscape,
    /// A string's bytes are not valid UTF-8.
    BadUtf8,
    /// An unescaped control character (below 0x20) in a string.
    ControlInString,
    /// Not JSON's number grammar: a leading zero, or `-`, `.` or an exponent without digits.
    BadNumber,
    /// Arrays and objects nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than whitespace after the document's one value.
    TrailingData,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.kind)
    }
}

impl SyntaxError {
    /// The error with its line and column (from 1, columns in characters) in `src`, the
    /// document it was found in: `invalid JSON at line 3, column 7 (byte 41): ...`.
    pub fn located(self, src: &[u8]) -> Located {
        let before = &src[..self.offset.min(src.len())];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // Characters, not bytes: a continuation byte of UTF-8 does not start one.
        let column = 1 + before[start..]
            .iter()
            .filter(|&&b| b & 0xc0 != 0x80)
            .count();
        Located {
            error: self,
            line,
            column,
        }
    }
}

/// A [`SyntaxError`] with its line and column, for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// The error.
    pub error: SyntaxError,
    /// Line of the offset, from 1.
    pub line: usize,
    /// Column of the offset in characters, from 1.
    pub column: usize,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid JSON at line {}, column {} (byte {}): {}",
            self.line, self.column, self.error.offset, self.error.kind
        )
    }
}

impl fmt::Display for SyntaxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SyntaxKind::UnexpectedEnd => f.write_str("unexpected end of input"),
            SyntaxKind::Unexpected(b) if b.is_ascii_graphic() => {
                write!(f, "unexpected character '{}'", b as char)
            }
            SyntaxKind::Unexpected(b) => write!(f, "unexpected byte 0x{b:02x}"),
            SyntaxKind::Expected(what) => write!(f, "expected {what}"),
            SyntaxKind::BadEscape => f.write_str("invalid escape in string"),
            SyntaxKind::BadUtf8 => f.write_str("string is not valid UTF-8"),
            SyntaxKind::ControlInString => f.write_str("control character in string"),
            SyntaxKind::BadNumber => f.write_str("malformed number"),
            SyntaxKind::TooDeep => write!(f, "nested deeper than {MAX_DEPTH} levels"),
            SyntaxKind::TrailingData => f.write_str("data after the end of the document"),
        }
    }
}

/// The type of the next value, as seen from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `{`: read it with [`Reader::object`].
    Object,
    /// `[`: read it with [`Reader::array`].
    Array,
    /// `"`: read it with [`Reader::string`].
    String,
    /// `-` or a digit: read it with [`Reader::number`].
    Number,
    /// `true` or `false`: read it with [`Reader::boolean`].
    Bool,
    /// `null`: read it with [`Reader::null`].
    Null,
}

impl Kind {
    /// How the kind reads in an error message ("got a string").
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Object => "an object",
            Kind::Array => "an array",
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::Bool => "a boolean",
            Kind::Null => "null",
        }
    }
}

/// Proves `src` holds exactly one JSON value (surrounded by optional whitespace).
pub fn check_syntax(src: &[u8]) -> Result<(), SyntaxError> {
    let mut r = Reader::new(src);
    r.skip_value()?;
    r.end()
}

/// A string value: the raw bytes between the quotes, already checked for valid escapes and UTF-8.
#[derive(Debug, Clone, Copy)]
pub struct Str<'a> {
    raw: &'a [u8],
    escaped: bool,
}

impl<'a> Str<'a> {
    /// The decoded characters.
    pub fn chars(&self) -> StrChars<'a> {
        StrChars { raw: self.raw }
    }

    /// The text as a `&str` when it holds no escapes (the common case), else `None`.
    pub fn as_plain(&self) -> Option<&'a str> {
        if self.escaped {
            None
        } else {
            core::str::from_utf8(self.raw).ok()
        }
    }

    /// The decoded text equals `other`, ASCII case ignored: how a document's keys are matched.
    pub fn eq_ignore_ascii_case(&self, other: &str) -> bool {
        let mut mine = self.chars();
        for c in other.chars() {
            match mine.next() {
                Some(m) if m.eq_ignore_ascii_case(&c) => {}
                _ => return false,
            }
        }
        mine.next().is_none()
    }

    /// The decoded text equals `other` exactly (a key in another case earns a warning).
    pub fn eq_exact(&self, other: &str) -> bool {
        self.chars().eq(other.chars())
    }

    /// Decoded length in bytes of UTF-8.
    pub fn len_utf8(&self) -> usize {
        self.chars().map(char::len_utf8).sum()
    }
}

impl fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chars().try_for_each(|c| fmt::Write::write_char(f, c))
    }
}

/// Decodes a string body whose escapes were validated when it was read.
pub struct StrChars<'a> {
    raw: &'a [u8],
}

impl Iterator for StrChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let (&first, rest) = self.raw.split_first()?;
        if first != b'\\' {
            let len = utf8_len(first);
            let s = core::str::from_utf8(&self.raw[..len]).ok()?;
            self.raw = &self.raw[len..];
            return s.chars().next();
        }
        let (&esc, rest) = rest.split_first()?;
        self.raw = rest;
        Some(match esc {
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'u' => {
                let hi = hex4(self.raw)?;
                self.raw = &self.raw[4..];
                if (0xD800..0xDC00).contains(&hi) {
                    let lo = hex4(self.raw.get(2..)?)?;
                    self.raw = &self.raw[6..];
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
            other => other as char,
        })
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    let digits = b.get(..4)?;
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = (d as char).to_digit(16)?;
        Some(acc * 16 + v)
    })
}

/// A number value, kept as its source text so that integers are read exactly.
#[derive(Debug, Clone, Copy)]
pub struct Number<'a> {
    text: &'a str,
}

/// Why a number is not the unsigned integer the caller wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotUnsigned {
    /// Below zero (`-0` is zero, and fine).
    Negative,
    /// A fraction that is not zero, e.g. `1.5` (`1.0` and `1e3` are whole).
    Fractional,
    /// Above the caller's maximum.
    TooLarge,
}

impl<'a> Number<'a> {
    /// The number as written in the document, e.g. `1.5e3`: what an error message quotes.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The value as an exact unsigned integer no larger than `max`.
    pub fn as_unsigned(&self, max: u64) -> Result<u64, NotUnsigned> {
        match self.truncated(max)? {
            (v, false) => Ok(v),
            (_, true) => Err(NotUnsigned::Fractional),
        }
    }

    /// The whole part of a number >= 0 no larger than `max`, and whether a fraction was cut off.
    ///
    /// Decimal arithmetic on the digits, no floating point: exact for any length of number, and
    /// on the chip it avoids the float parser's large stack buffer.
    pub fn truncated(&self, max: u64) -> Result<(u64, bool), NotUnsigned> {
        let text = self.text.as_bytes();
        let negative = text.first() == Some(&b'-');
        let body = if negative { &text[1..] } else { text };
        let (mantissa, exponent) = match body.iter().position(|&b| b == b'e' || b == b'E') {
            Some(i) => (&body[..i], &body[i + 1..]),
            None => (body, &b""[..]),
        };
        let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, &b""[..]),
        };
        // The decimal point sits after `int` digits, moved by the exponent.
        let exp = parse_exponent(exponent);
        let point = (int.len() as i64).saturating_add(exp);
        let digits = || int.iter().chain(frac).map(|b| b - b'0');
        if digits().all(|d| d == 0) {
            return Ok((0, false)); // 0, -0, 0.000e7
        }
        if negative {
            return Err(NotUnsigned::Negative);
        }
        let mut value: u64 = 0;
        let mut fraction = false;
        for (i, d) in digits().enumerate() {
            if (i as i64) < point {
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(d as u64))
                    .ok_or(NotUnsigned::TooLarge)?;
            } else {
                fraction |= d != 0;
            }
        }
        // Zeros the exponent appends after the last digit.
        let trailing = point - (int.len() + frac.len()) as i64;
        for _ in 0..trailing.max(0) {
            value = value.checked_mul(10).ok_or(NotUnsigned::TooLarge)?;
            if value > max {
                break;
            }
        }
        if value > max {
            return Err(NotUnsigned::TooLarge);
        }
        Ok((value, fraction))
    }
}

/// An exponent's digits (with an optional sign), saturating far beyond any meaningful value.
fn parse_exponent(text: &[u8]) -> i64 {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = digits
        .iter()
        .fold(0i64, |acc, &b| {
            acc.saturating_mul(10).saturating_add((b - b'0') as i64)
        })
        .min(1 << 40);
    if negative { -magnitude } else { magnitude }
}

/// Pulls values out of a document one at a time.
pub struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
    depth: usize,
}

/// Walks the members of one object; see [`Reader::object`].
pub struct Members {
    first: bool,
}

/// Walks the items of one array; see [`Reader::array`].
pub struct Items {
    first: bool,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `src`. Run [`check_syntax`] first, so that broken JSON is
    /// reported as such and not as a schema error half way through.
    pub fn new(src: &'a [u8]) -> Self {
        Reader {
            src,
            pos: 0,
            depth: 0,
        }
    }

    /// Byte offset of the next unread byte.
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn err(&self, kind: SyntaxKind) -> SyntaxError {
        SyntaxError {
            offset: self.pos,
            kind,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek_byte(&mut self) -> Result<u8, SyntaxError> {
        self.skip_ws();
        self.src
            .get(self.pos)
            .copied()
            .ok_or(self.err(SyntaxKind::UnexpectedEnd))
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), SyntaxError> {
        if self.peek_byte()? == byte {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(SyntaxKind::Expected(what)))
        }
    }

    /// Succeeds when only whitespace is left.
    pub fn end(&mut self) -> Result<(), SyntaxError> {
        self.skip_ws();
        if self.pos == self.src.len() {
            Ok(())
        } else {
            Err(self.err(SyntaxKind::TrailingData))
        }
    }

    /// The kind of the next value, without consuming it.
    pub fn peek(&mut self) -> Result<Kind, SyntaxError> {
        Ok(match self.peek_byte()? {
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b'"' => Kind::String,
            b'-' | b'0'..=b'9' => Kind::Number,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            other => return Err(self.err(SyntaxKind::Unexpected(other))),
        })
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(SyntaxKind::TooDeep));
        }
        Ok(())
    }

    /// Consumes `{`; walk the members with [`Reader::next_key`].
    pub fn object(&mut self) -> Result<Members, SyntaxError> {
        self.expect(b'{', "'{'")?;
        self.enter()?;
        Ok(Members { first: true })
    }

    /// The next member's key (its value is next), or `None` after the closing `}`.
    pub fn next_key(&mut self, m: &mut Members) -> Result<Option<Str<'a>>, SyntaxError> {
        if self.peek_byte()? == b'}' {
            self.pos += 1;
            self.depth -= 1;
            return Ok(None);
        }
        if !m.first {
            self.expect(b',', "',' or '}'")?;
        }
        m.first = false;
        if self.peek_byte()? != b'"' {
            return Err(self.err(SyntaxKind::Expected("a string key")));
        }
        let key = self.string()?;
        self.expect(b':', "':'")?;
        Ok(Some(key))
    }

    /// Consumes `[`; walk the items with [`Reader::next_item`].
    pub fn array(&mut self) -> Result<Items, SyntaxError> {
        self.expect(b'[', "'['")?;
        self.enter()?;
        Ok(Items { first: true })
    }

    /// True when another item follows (read it next), false after the closing `]`.
    pub fn next_item(&mut self, items: &mut Items) -> Result<bool, SyntaxError> {
        if self.peek_byte()? == b']' {
            self.pos += 1;
            self.depth -= 1;
            return Ok(false);
        }
        if !items.first {
            self.expect(b',', "',' or ']'")?;
        }
        items.first = false;
        Ok(true)
    }

    /// Reads a string value, checking its escapes and UTF-8; [`Str::chars`] decodes it.
    pub fn string(&mut self) -> Result<Str<'a>, SyntaxError> {
        self.expect(b'"', "'\"'")?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            let b = *self
                .src
                .get(self.pos)
                .ok_or(self.err(SyntaxKind::UnexpectedEnd))?;
            match b {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                0x00..=0x1F => return Err(self.err(SyntaxKind::ControlInString)),
                _ => self.pos += 1,
            }
        }
        let raw = &self.src[start..self.pos];
        self.pos += 1;
        if core::str::from_utf8(raw).is_err() {
            return Err(SyntaxError {
                offset: start,
                kind: SyntaxKind::BadUtf8,
            });
        }
        Ok(Str { raw, escaped })
    }

    /// Validates one escape sequence starting at the backslash.
    fn escape(&mut self) -> Result<(), SyntaxError> {
        let bad = self.err(SyntaxKind::BadEscape);
        let esc = *self.src.get(self.pos + 1).ok_or(bad)?;
        match esc {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.pos += 2,
            b'u' => {
                let hi = hex4(self.src.get(self.pos + 2..).ok_or(bad)?).ok_or(bad)?;
                self.pos += 6;
                if (0xD800..0xDC00).contains(&hi) {
                    let lo = match self.src.get(self.pos..self.pos + 2) {
                        Some(b"\\u") => hex4(&self.src[self.pos + 2..]).ok_or(bad)?,
                        _ => return Err(bad),
                    };
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(bad);
                    }
                    self.pos += 6;
                } else if (0xDC00..0xE000).contains(&hi) {
                    return Err(bad);
                }
            }
            _ => return Err(bad),
        }
        Ok(())
    }

    /// Reads a number value, checked against JSON's grammar; [`Number`] converts it.
    pub fn number(&mut self) -> Result<Number<'a>, SyntaxError> {
        self.skip_ws();
        let start = self.pos;
        let digits = |r: &mut Self| {
            let from = r.pos;
            while r.src.get(r.pos).is_some_and(u8::is_ascii_digit) {
                r.pos += 1;
            }
            r.pos - from
        };
        if self.src.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let int_len = digits(self);
        let leading_zero = int_len > 1 && self.src[int_start] == b'0';
        let mut ok = int_len > 0 && !leading_zero;
        if self.src.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            ok &= digits(self) > 0;
        }
        if let Some(b'e' | b'E') = self.src.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.src.get(self.pos) {
                self.pos += 1;
            }
            ok &= digits(self) > 0;
        }
        if !ok {
            return Err(SyntaxError {
                offset: start,
                kind: SyntaxKind::BadNumber,
            });
        }
        let text = core::str::from_utf8(&self.src[start..self.pos]).map_err(|_| SyntaxError {
            offset: start,
            kind: SyntaxKind::BadNumber,
        })?;
        Ok(Number { text })
    }

    fn literal(&mut self, word: &'static str) -> Result<(), SyntaxError> {
        self.skip_ws();
        if self.src[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.err(SyntaxKind::Expected(word)))
        }
    }

    /// Reads `true` or `false`.
    pub fn boolean(&mut self) -> Result<bool, SyntaxError> {
        if self.peek_byte()? == b't' {
            self.literal("true").map(|()| true)
        } else {
            self.literal("false").map(|()| false)
        }
    }

    /// Reads `null`.
    pub fn null(&mut self) -> Result<(), SyntaxError> {
        self.literal("null")
    }

    /// Consumes the next value, whatever it is.
    pub fn skip_value(&mut self) -> Result<(), SyntaxError> {
        match self.peek()? {
            Kind::Object => {
                let mut m = self.object()?;
                while self.next_key(&mut m)?.is_some() {
                    self.skip_value()?;
                }
            }
            Kind::Array => {
                let mut items = self.array()?;
                while self.next_item(&mut items)? {
                    self.skip_value()?;
                }
            }
            Kind::String => {
                self.string()?;
            }
            Kind::Number => {
                self.number()?;
            }
            Kind::Bool => {
                self.boolean()?;
            }
            Kind::Null => self.null()?,
        }
        Ok(())
    }
}

fn write_escaped<W: fmt::Write + ?Sized>(out: &mut W, s: &str) -> fmt::Result {
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

/// Displays any `Display` value as a JSON string literal, without buffering it.
pub struct Quoted<T>(pub T);

impl<T: fmt::Display> fmt::Display for Quoted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Escape<'a, 'b>(&'a mut fmt::Formatter<'b>);
        impl fmt::Write for Escape<'_, '_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                write_escaped(self.0, s)
            }
        }
        f.write_str("\"")?;
        fmt::write(&mut Escape(f), format_args!("{}", self.0))?;
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_accepts_valid_documents() {
        for doc in [
            "{}",
            " [1, -2.5e3, true, false, null, \"x\\u00e9\\ud83d\\ude00\"] ",
            "{\"a\":{\"b\":[{}]}}",
            "0",
        ] {
            check_syntax(doc.as_bytes()).unwrap_or_else(|e| panic!("{doc}: {e}"));
        }
    }

    #[test]
    fn syntax_rejects_broken_documents_with_offsets() {
        let cases: &[(&str, usize, SyntaxKind)] = &[
            ("", 0, SyntaxKind::UnexpectedEnd),
            ("{\"a\":1,}", 7, SyntaxKind::Expected("a string key")),
            ("{\"a\" 1}", 5, SyntaxKind::Expected("':'")),
            ("[1 2]", 3, SyntaxKind::Expected("',' or ']'")),
            ("01", 0, SyntaxKind::BadNumber),
            ("-", 0, SyntaxKind::BadNumber),
            ("1.", 0, SyntaxKind::BadNumber),
            ("\"\\x\"", 1, SyntaxKind::BadEscape),
            ("\"\\ud800\"", 1, SyntaxKind::BadEscape),
            ("\"a\nb\"", 2, SyntaxKind::ControlInString),
            ("{} x", 3, SyntaxKind::TrailingData),
            ("tru", 0, SyntaxKind::Expected("true")),
            ("{\"phases\":[{\"id\":\"a\",", 21, SyntaxKind::UnexpectedEnd),
        ];
        for &(doc, offset, kind) in cases {
            assert_eq!(
                check_syntax(doc.as_bytes()),
                Err(SyntaxError { offset, kind }),
                "{doc:?}"
            );
        }
    }

    #[test]
    fn syntax_rejects_invalid_utf8_and_deep_nesting() {
        assert_eq!(
            check_syntax(b"\"\xff\"").unwrap_err().kind,
            SyntaxKind::BadUtf8
        );
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(
            check_syntax(deep.as_bytes()).unwrap_err().kind,
            SyntaxKind::TooDeep
        );
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(check_syntax(ok.as_bytes()).is_ok());
    }

    #[test]
    fn strings_decode_escapes() {
        let mut r = Reader::new(br#""a\"b\\c\/\n\u00e9\ud83d\ude00""#);
        let s = r.string().unwrap();
        assert!(s.as_plain().is_none());
        let decoded: std::string::String = s.chars().collect();
        assert_eq!(decoded, "a\"b\\c/\né😀");
        assert_eq!(s.len_utf8(), decoded.len());
        assert!(
            Reader::new(br#""Cold VALVE""#)
                .string()
                .unwrap()
                .eq_ignore_ascii_case("cold valve")
        );
    }

    #[test]
    fn numbers_read_exactly_or_say_why_not() {
        let n = |t: &'static str| Number { text: t };
        assert_eq!(n("4294967295").as_unsigned(u32::MAX as u64), Ok(4294967295));
        assert_eq!(
            n("4294967296").as_unsigned(u32::MAX as u64),
            Err(NotUnsigned::TooLarge)
        );
        assert_eq!(n("-5").as_unsigned(100), Err(NotUnsigned::Negative));
        assert_eq!(n("-0").as_unsigned(100), Ok(0));
        assert_eq!(n("2.5").as_unsigned(100), Err(NotUnsigned::Fractional));
        assert_eq!(n("1e3").as_unsigned(1000), Ok(1000));
        assert_eq!(n("5.0").as_unsigned(100), Ok(5));
        assert_eq!(n("1e400").as_unsigned(100), Err(NotUnsigned::TooLarge));
        assert_eq!(
            n("99999999999999999999999").as_unsigned(u64::MAX),
            Err(NotUnsigned::TooLarge)
        );
        assert_eq!(n("1e-3").as_unsigned(100), Err(NotUnsigned::Fractional));
        assert_eq!(n("0.000e99999999999").as_unsigned(100), Ok(0));
        assert_eq!(n("-0.0").as_unsigned(100), Ok(0));
        assert_eq!(n("-1e-9").as_unsigned(100), Err(NotUnsigned::Negative));
        assert_eq!(n("12.50e1").as_unsigned(1000), Ok(125));
        assert_eq!(
            n("18446744073709551615").as_unsigned(u64::MAX),
            Ok(u64::MAX)
        );
        assert_eq!(
            n("1.8446744073709551616e19").as_unsigned(u64::MAX),
            Err(NotUnsigned::TooLarge)
        );
        assert_eq!(n("26000.7").truncated(u32::MAX as u64), Ok((26000, true)));
        assert_eq!(
            n("1e99999999999999999999").truncated(5),
            Err(NotUnsigned::TooLarge)
        );
    }

    #[test]
    fn writer_escapes() {
        let mut s = std::string::String::new();
        "a\"b\\\n\u{1}é".write_json(&mut s).unwrap();
        assert_eq!(s, r#""a\"b\\\n\u0001é""#);
        assert_eq!(
            std::format!("{}", Quoted(format_args!("x{}\"", 1))),
            r#""x1\"""#
        );
    }
}
