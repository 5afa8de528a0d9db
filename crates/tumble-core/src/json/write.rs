//! The one way JSON is written: values, objects and arrays into any `fmt::Write`, with the
//! commas, quotes and escapes put in here, never in a caller's format string.
//!
//! Nothing is buffered and nothing allocates: an [`Object`] or [`Array`] is a writer and a
//! flag, written as its members come. Keys are the caller's constants (plain ASCII, checked in
//! debug builds); every string value is escaped.

use core::fmt::{self, Write};

/// Anything written as one JSON value.
pub trait Value {
    /// Writes the value.
    fn write_json<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result;
}

impl<T: Value + ?Sized> Value for &T {
    fn write_json<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        (**self).write_json(w)
    }
}

impl Value for str {
    fn write_json<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        w.write_char('"')?;
        super::write_escaped(w, self)?;
        w.write_char('"')
    }
}

impl Value for bool {
    fn write_json<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        w.write_str(if *self { "true" } else { "false" })
    }
}

/// `null` for `None`.
impl<T: Value> Value for Option<T> {
    fn write_json<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        match self {
            Some(v) => v.write_json(w),
            None => w.write_str("null"),
        }
    }
}

/// An array of the values.
impl<T: Value> Value for [T] {
    fn write_json<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        let mut a = Array::open(w)?;
        for v in self {
            a.item(v)?;
        }
        a.close()
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn write_json<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
                write!(w, "{self}")
            }
        }
    )*};
}
integers!(u8, u16, u32, u64, usize, i32, i64);

/// A number with this many decimals (`Fixed(12.5, 1)` is `12.5`), or `null` when it is not
/// finite (JSON has no NaN).
#[derive(Debug, Clone, Copy)]
pub struct Fixed(pub f64, pub usize);

impl Value for Fixed {
    fn write_json<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        match *self {
            Fixed(v, places) if v.is_finite() => write!(w, "{v:.places$}"),
            _ => w.write_str("null"),
        }
    }
}

/// Text already written as JSON (a request's `id`, echoed as sent): written unchanged.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a>(pub &'a str);

impl Value for Raw<'_> {
    fn write_json<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        w.write_str(self.0)
    }
}

/// Any `Display` as a JSON string, escaped as it is formatted (a message built from parts).
#[derive(Debug, Clone, Copy)]
pub struct Text<T>(pub T);

impl<T: fmt::Display> Value for Text<T> {
    fn write_json<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        write!(w, "{}", super::Quoted(&self.0))
    }
}

/// An object being written: [`field`](Object::field) by field, then [`close`](Object::close).
pub struct Object<'w, W: Write + ?Sized> {
    w: &'w mut W,
    empty: bool,
}

impl<'w, W: Write + ?Sized> Object<'w, W> {
    /// Writes `{`.
    pub fn open(w: &'w mut W) -> Result<Self, fmt::Error> {
        w.write_char('{')?;
        Ok(Object { w, empty: true })
    }

    /// The members of an object whose `{` and first members were written elsewhere.
    pub fn after_members(w: &'w mut W) -> Self {
        Object { w, empty: false }
    }

    fn key(&mut self, key: &str) -> fmt::Result {
        debug_assert!(
            key.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        );
        if !self.empty {
            self.w.write_char(',')?;
        }
        self.empty = false;
        self.w.write_char('"')?;
        self.w.write_str(key)?;
        self.w.write_str("\":")
    }

    /// `"key":value`.
    pub fn field(&mut self, key: &str, value: impl Value) -> Result<&mut Self, fmt::Error> {
        self.key(key)?;
        value.write_json(self.w)?;
        Ok(self)
    }

    /// `"name":value` for a key that is data (an output's name), escaped like any string.
    pub fn field_named(&mut self, name: &str, value: impl Value) -> Result<&mut Self, fmt::Error> {
        if !self.empty {
            self.w.write_char(',')?;
        }
        self.empty = false;
        name.write_json(self.w)?;
        self.w.write_char(':')?;
        value.write_json(self.w)?;
        Ok(self)
    }

    /// `"key":value` when there is a value; nothing for `None`.
    pub fn field_if(
        &mut self,
        key: &str,
        value: Option<impl Value>,
    ) -> Result<&mut Self, fmt::Error> {
        match value {
            Some(v) => self.field(key, v),
            None => Ok(self),
        }
    }

    /// `"key":value`, written by `f` into the writer itself (a value with its own writer).
    pub fn field_with(
        &mut self,
        key: &str,
        f: impl FnOnce(&mut W) -> fmt::Result,
    ) -> Result<&mut Self, fmt::Error> {
        self.key(key)?;
        f(self.w)?;
        Ok(self)
    }

    /// `"key":{`: the nested object, to close before this one goes on.
    pub fn object(&mut self, key: &str) -> Result<Object<'_, W>, fmt::Error> {
        self.key(key)?;
        Object::open(self.w)
    }

    /// `"key":[`: the nested array, to close before this object goes on.
    pub fn array(&mut self, key: &str) -> Result<Array<'_, W>, fmt::Error> {
        self.key(key)?;
        Array::open(self.w)
    }

    /// Writes `}`.
    pub fn close(self) -> fmt::Result {
        self.close_into().map(drop)
    }

    /// Writes `}`: the writer again, for what follows the object.
    pub fn close_into(self) -> Result<&'w mut W, fmt::Error> {
        self.w.write_char('}')?;
        Ok(self.w)
    }

    /// `"key":`, the value left to the writer this returns, and the object to
    /// [`after_members`](Object::after_members) once the value is written: for a reply
    /// streamed across calls (runs read one at a time from flash).
    pub fn leave_open(mut self, key: &str) -> Result<&'w mut W, fmt::Error> {
        self.key(key)?;
        Ok(self.w)
    }
}

/// An array being written: [`item`](Array::item) by item, then [`close`](Array::close).
pub struct Array<'w, W: Write + ?Sized> {
    w: &'w mut W,
    len: usize,
}

impl<'w, W: Write + ?Sized> Array<'w, W> {
    /// Writes `[`.
    pub fn open(w: &'w mut W) -> Result<Self, fmt::Error> {
        w.write_char('[')?;
        Ok(Array { w, len: 0 })
    }

    /// Items written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no item was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn comma(&mut self) -> fmt::Result {
        if self.len > 0 {
            self.w.write_char(',')?;
        }
        self.len += 1;
        Ok(())
    }

    /// One value.
    pub fn item(&mut self, value: impl Value) -> Result<&mut Self, fmt::Error> {
        self.comma()?;
        value.write_json(self.w)?;
        Ok(self)
    }

    /// `{`: an object item, to close before the array goes on.
    pub fn object(&mut self) -> Result<Object<'_, W>, fmt::Error> {
        self.comma()?;
        Object::open(self.w)
    }

    /// One item written by `f` into the writer itself.
    pub fn item_with(&mut self, f: impl FnOnce(&mut W) -> fmt::Result) -> fmt::Result {
        self.comma()?;
        f(self.w)
    }

    /// Writes `]`.
    pub fn close(self) -> fmt::Result {
        self.close_into().map(drop)
    }

    /// Writes `]`: the writer again, for what follows the array.
    pub fn close_into(self) -> Result<&'w mut W, fmt::Error> {
        self.w.write_char(']')?;
        Ok(self.w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_arrays_put_in_their_commas_and_escapes() {
        let mut s = heapless::String::<256>::new();
        let mut o = Object::open(&mut s).unwrap();
        o.field("name", "Cold \"A\"\n")
            .unwrap()
            .field("n", 3u32)
            .unwrap();
        o.field("none", None::<u8>)
            .unwrap()
            .field_if("skip", None::<u8>)
            .unwrap();
        let mut a = o.array("list").unwrap();
        a.item(true).unwrap().item(Fixed(1.5, 1)).unwrap();
        let mut item = a.object().unwrap();
        item.field("id", Raw("7")).unwrap();
        item.close().unwrap();
        a.close().unwrap();
        o.field("msg", Text(format_args!("{} of {}", 1, 2)))
            .unwrap();
        o.field("nan", Fixed(f64::NAN, 1)).unwrap();
        o.close().unwrap();
        assert_eq!(
            s.as_str(),
            r#"{"name":"Cold \"A\"\n","n":3,"none":null,"list":[true,1.5,{"id":7}],"msg":"1 of 2","nan":null}"#
        );
    }
}
