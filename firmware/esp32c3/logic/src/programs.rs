//! The program library in the chip's flash: tumble-core's `library::Programs` over a
//! sequential-storage map on the `programs` partition. The key is the name in lower case (two
//! names that differ only in case are one program); the value is the name as saved and the
//! document. sequential-storage writes power-fail safely: a save or a delete cut short leaves
//! the old program or the new one. A rename stores the new name before it deletes the old
//! one, so a power cut between the two leaves both, never neither.
//!
//! The map needs a buffer for the largest item it reads or writes: the firmware lends the end
//! of the client's own buffer (`Overflowing::split_off_end`), so a program is at most what that
//! leaves beside its frame. Flash is written only while no cycle runs (it stalls interrupts).

use core::ops::Range;

use embedded_storage_async::nor_flash::MultiwriteNorFlash;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage, SerializationError, Value};
use tumble_core::library::{Failure, MAX_NAME, Name, Programs};

/// The most programs a library lists (a listing keeps one entry per program in RAM).
pub const MAX_PROGRAMS: usize = 32;

/// The largest item (key, name and document) the library stores. The map reads every item it
/// walks past into its buffer, so each must fit the smallest buffer any command gives it: a
/// rename's half of what a client's buffer leaves beside a short frame (about 3,040 bytes).
pub const MAX_ITEM: usize = 3_000;

type Key = [u8; MAX_NAME];

/// The map's key of `name`: its ASCII letters in lower case, zero-padded.
fn key(name: &str) -> Key {
    let mut k = [0u8; MAX_NAME];
    for (slot, b) in k.iter_mut().zip(name.bytes()) {
        *slot = b.to_ascii_lowercase();
    }
    k
}

/// A stored program: its name as saved, then its document.
struct Entry<'a> {
    name: &'a str,
    doc: &'a [u8],
}

impl<'a> Value<'a> for Entry<'a> {
    fn serialize_into(&self, buffer: &mut [u8]) -> Result<usize, SerializationError> {
        let (n, d) = (self.name.len(), self.doc.len());
        let out = buffer
            .get_mut(..1 + n + d)
            .ok_or(SerializationError::BufferTooSmall)?;
        out[0] = n as u8;
        out[1..1 + n].copy_from_slice(self.name.as_bytes());
        out[1 + n..].copy_from_slice(self.doc);
        Ok(1 + n + d)
    }

    fn deserialize_from(buffer: &'a [u8]) -> Result<(Self, usize), SerializationError> {
        let n = *buffer.first().ok_or(SerializationError::InvalidFormat)? as usize;
        let name = buffer
            .get(1..1 + n)
            .and_then(|b| core::str::from_utf8(b).ok())
            .ok_or(SerializationError::InvalidFormat)?;
        let doc = &buffer[1 + n..];
        Ok((Entry { name, doc }, buffer.len()))
    }
}

type Map<S> = MapStorage<Key, S, Cache<Uncached, Uncached, Uncached, Key>>;

/// The library on `flash` (a `&mut` of the chip's flash, or a test's), in `range`, working in
/// `buf`.
pub struct FlashLibrary<'b, S: MultiwriteNorFlash> {
    map: Map<S>,
    range: Range<u32>,
    /// The flash's erase unit.
    page: usize,
    buf: &'b mut [u8],
}

impl<'b, S: MultiwriteNorFlash> FlashLibrary<'b, S> {
    /// None when `range` is not whole pages of the flash, at least two.
    pub fn new(flash: S, range: Range<u32>, buf: &'b mut [u8]) -> Option<Self> {
        let config = MapConfig::try_new(range.clone()).ok()?;
        Some(FlashLibrary {
            map: MapStorage::new(flash, config, Cache::new_uncached()),
            range,
            page: S::ERASE_SIZE,
            buf,
        })
    }

    /// The largest document it saves with a name of `name_len` bytes: [`MAX_ITEM`], or less
    /// when `buf` is smaller.
    pub fn largest(&self, name_len: usize) -> usize {
        // The item's key and name, and word alignment.
        self.buf
            .len()
            .min(MAX_ITEM)
            .saturating_sub(MAX_NAME + 1 + name_len + 4)
    }

    /// Every program, its name and document size, in name order (case ignored), each once:
    /// the map keeps a key's superseded items until it reclaims their page, and the last one
    /// is its value.
    fn programs(&mut self) -> Result<heapless::Vec<(Name, usize), MAX_PROGRAMS>, Failure> {
        let mut found: heapless::Vec<(Name, usize), MAX_PROGRAMS> = heapless::Vec::new();
        let mut iter = now(self.map.fetch_all_items(self.buf)).map_err(store)?;
        // A removed key's items are erased, so the iterator skips them.
        while let Some((k, entry)) = now(iter.next::<Entry>(self.buf)).map_err(store)? {
            let Ok(name) = Name::new(entry.name) else {
                continue;
            };
            let size = entry.doc.len();
            match found.iter_mut().find(|(have, _)| key(have.as_str()) == k) {
                // The last item of a key is its value.
                Some(slot) => *slot = (name, size),
                None => {
                    let _ = found.push((name, size));
                }
            }
        }
        found.sort_unstable_by(|a, b| {
            let (a, b) = (a.0.as_str().bytes(), b.0.as_str().bytes());
            a.map(|c| c.to_ascii_lowercase())
                .cmp(b.map(|c| c.to_ascii_lowercase()))
        });
        Ok(found)
    }

    fn exists(&mut self, name: &str) -> Result<bool, Failure> {
        let found = now(self.map.fetch_item::<Entry>(self.buf, &key(name))).map_err(store)?;
        Ok(found.is_some())
    }
}

impl<S: MultiwriteNorFlash> Programs for FlashLibrary<'_, S> {
    fn list(&mut self, each: &mut dyn FnMut(&str, usize)) -> Result<(), Failure> {
        for (name, size) in self.programs()? {
            each(name.as_str(), size);
        }
        Ok(())
    }

    fn save(&mut self, name: &Name, doc: &[u8]) -> Result<(), Failure> {
        // Before any walk of the map: one that meets a large item needs the room too.
        let largest = self.largest(name.as_str().len());
        if doc.len() > largest {
            return Err(too_big("save", largest));
        }
        // One walk: a program of that name is replaced, a new one needs a free place.
        let listed = self.programs()?;
        if listed.is_full() && !listed.iter().any(|(n, _)| n.same(name.as_str())) {
            return Err(Failure::Full {
                programs: MAX_PROGRAMS,
            });
        }
        let entry = Entry {
            name: name.as_str(),
            doc,
        };
        now(self.map.store_item(self.buf, &key(name.as_str()), &entry)).map_err(store)
    }

    /// The document as read into `buf` (the map's item: key and name first, so the document
    /// has at least [`MAX_NAME`] bytes before it in `buf`), not copied again.
    fn load<'d>(&mut self, name: &Name, buf: &'d mut [u8]) -> Result<(Name, &'d [u8]), Failure> {
        let room = buf.len();
        match now(self.map.fetch_item::<Entry>(buf, &key(name.as_str()))) {
            Ok(Some(entry)) => Ok((Name::new(entry.name).unwrap_or(name.clone()), entry.doc)),
            Ok(None) => Err(Failure::NotFound),
            Err(sequential_storage::Error::BufferTooSmall(_)) => Err(too_big("load", room)),
            Err(e) => Err(store(e)),
        }
    }

    fn rename(&mut self, name: &Name, to: &Name) -> Result<(), Failure> {
        let same = key(name.as_str()) == key(to.as_str());
        if !same && self.exists(to.as_str())? {
            return Err(Failure::Exists);
        }
        // Read into one half of the buffer, written from there through the other.
        let (from, work) = self.buf.split_at_mut(self.buf.len() / 2);
        let found = now(self.map.fetch_item::<Entry>(from, &key(name.as_str())));
        let entry = match found {
            Ok(Some(entry)) => entry,
            Ok(None) => return Err(Failure::NotFound),
            Err(sequential_storage::Error::BufferTooSmall(_)) => {
                return Err(too_big("rename", work.len()));
            }
            Err(e) => return Err(store(e)),
        };
        let renamed = Entry {
            name: to.as_str(),
            doc: entry.doc,
        };
        now(self.map.store_item(work, &key(to.as_str()), &renamed)).map_err(store)?;
        if !same {
            now(self.map.remove_item(work, &key(name.as_str()))).map_err(store)?;
        }
        Ok(())
    }

    fn delete(&mut self, name: &Name) -> Result<(), Failure> {
        if !self.exists(name.as_str())? {
            return Err(Failure::NotFound);
        }
        now(self.map.remove_item(self.buf, &key(name.as_str()))).map_err(store)
    }

    fn free(&mut self) -> Option<usize> {
        let used: usize = self
            .programs()
            .ok()?
            .iter()
            .map(|(n, size)| item_bytes(n.as_str().len(), *size))
            .sum();
        let total = (self.range.end - self.range.start) as usize;
        // The map keeps one page empty, to move the live items of the next one it reclaims.
        Some(total.saturating_sub(self.page).saturating_sub(used))
    }
}

/// Bytes a program's item takes in flash: its header, key, name and document, word-aligned.
fn item_bytes(name: usize, doc: usize) -> usize {
    (8 + MAX_NAME + 1 + name + doc).next_multiple_of(4)
}

/// Runs a flash future that completes in one poll: the chip's flash is blocking, as is a
/// test's in RAM.
fn now<F: core::future::Future>(f: F) -> F::Output {
    let mut f = core::pin::pin!(f);
    let waker = core::task::Waker::noop();
    loop {
        if let core::task::Poll::Ready(out) =
            f.as_mut().poll(&mut core::task::Context::from_waker(waker))
        {
            return out;
        }
    }
}

fn store<E: core::fmt::Debug>(e: sequential_storage::Error<E>) -> Failure {
    let mut why = heapless::String::new();
    let _ = match e {
        sequential_storage::Error::FullStorage => return Failure::NoRoom,
        sequential_storage::Error::BufferTooSmall(n) => core::fmt::write(
            &mut why,
            format_args!(
                "a stored program needs {n} bytes of room to be read here: send a shorter frame"
            ),
        ),
        other => core::fmt::write(&mut why, format_args!("flash: {other:?}")),
    };
    Failure::Store(why)
}

/// A document too large for the buffer a `what` has here.
fn too_big(what: &str, room: usize) -> Failure {
    let mut why = heapless::String::new();
    let _ = core::fmt::write(
        &mut why,
        format_args!("too large to {what} on this controller ({room} bytes of room)"),
    );
    Failure::Store(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::RamFlash;
    use std::string::String;
    use std::vec::Vec;

    const PAGES: usize = 16;

    fn range() -> Range<u32> {
        0..(PAGES * RamFlash::PAGE) as u32
    }

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn listed(lib: &mut impl Programs) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        lib.list(&mut |n, b| out.push((n.into(), b))).unwrap();
        out
    }

    fn doc(n: usize, fill: u8) -> Vec<u8> {
        std::vec![fill; n]
    }

    #[test]
    fn programs_are_saved_listed_loaded_renamed_and_deleted_by_name_case_ignored() {
        let mut flash = RamFlash::new(PAGES);
        let mut buf = [0u8; 4096];
        let mut lib = FlashLibrary::new(&mut flash, range(), &mut buf).unwrap();
        let free = lib.free().unwrap();
        lib.save(&name("Quick 30"), &doc(700, b'q')).unwrap();
        lib.save(&name("cotton 60"), &doc(1500, b'c')).unwrap();
        // The same program in another case: replaced, named as saved last.
        lib.save(&name("Cotton 60"), &doc(1200, b'C')).unwrap();
        assert_eq!(
            listed(&mut lib),
            [("Cotton 60".into(), 1200), ("Quick 30".into(), 700)]
        );
        assert!(
            lib.free().unwrap() < free - 1900,
            "the flash they take is counted"
        );
        let mut out = [0u8; 2048];
        let (saved, got) = lib.load(&name("COTTON 60"), &mut out).unwrap();
        assert_eq!(
            (saved.as_str(), got),
            ("Cotton 60", &doc(1200, b'C')[..]),
            "named as saved"
        );
        lib.rename(&name("quick 30"), &name("Quick 30 (eco)"))
            .unwrap();
        assert_eq!(
            lib.rename(&name("Cotton 60"), &name("quick 30 (ECO)")),
            Err(Failure::Exists)
        );
        lib.rename(&name("Cotton 60"), &name("COTTON 60")).unwrap();
        assert_eq!(
            listed(&mut lib),
            [("COTTON 60".into(), 1200), ("Quick 30 (eco)".into(), 700)]
        );
        lib.delete(&name("cotton 60")).unwrap();
        assert_eq!(lib.delete(&name("cotton 60")), Err(Failure::NotFound));
        assert_eq!(
            lib.load(&name("Cotton 60"), &mut out),
            Err(Failure::NotFound)
        );
        assert_eq!(listed(&mut lib), [("Quick 30 (eco)".into(), 700)]);
        // What is stored is in the flash, not in the library value: a new one reads it.
        let mut buf = [0u8; 4096];
        let mut again = FlashLibrary::new(&mut flash, range(), &mut buf).unwrap();
        assert_eq!(listed(&mut again), [("Quick 30 (eco)".into(), 700)]);
    }

    #[test]
    fn a_full_library_and_a_document_too_large_for_the_buffer_are_refused_by_name() {
        let mut flash = RamFlash::new(PAGES);
        let mut buf = [0u8; 2048];
        let mut lib = FlashLibrary::new(&mut flash, range(), &mut buf).unwrap();
        let big = lib.largest(3) + 1;
        let Err(Failure::Store(why)) = lib.save(&name("Big"), &doc(big, b'x')) else {
            panic!("refused")
        };
        assert!(why.starts_with("too large to save"), "{why}");
        // However large the buffer, an item fits the smallest one another command walks with.
        let mut big = [0u8; 8192];
        let mut flash2 = RamFlash::new(PAGES);
        let wide = FlashLibrary::new(&mut flash2, range(), &mut big).unwrap();
        assert_eq!(wide.largest(3), MAX_ITEM - (MAX_NAME + 1 + 3 + 4));
        for i in 0..MAX_PROGRAMS {
            lib.save(&name(&std::format!("p{i}")), &doc(100, b'p'))
                .unwrap();
        }
        assert_eq!(
            lib.save(&name("one more"), &doc(100, b'p')),
            Err(Failure::Full {
                programs: MAX_PROGRAMS
            })
        );
        // Replacing one is not one more.
        lib.save(&name("P3"), &doc(90, b'3')).unwrap();
        assert_eq!(listed(&mut lib).len(), MAX_PROGRAMS);
    }

    #[test]
    fn the_flash_running_out_says_full_and_keeps_what_was_stored() {
        let mut flash = RamFlash::new(4);
        let mut buf = [0u8; 4096];
        let mut lib =
            FlashLibrary::new(&mut flash, 0..(4 * RamFlash::PAGE) as u32, &mut buf).unwrap();
        let mut saved = 0;
        let refused = loop {
            match lib.save(&name(&std::format!("p{saved}")), &doc(1800, b'p')) {
                Ok(()) => saved += 1,
                Err(f) => break f,
            }
        };
        assert_eq!(refused, Failure::NoRoom);
        assert!(saved >= 2, "{saved}");
        assert_eq!(listed(&mut lib).len(), saved);
    }

    #[test]
    fn a_power_cut_during_a_save_leaves_the_old_program_or_the_new_one() {
        let mut seen_old = false;
        let mut seen_new = false;
        for cut in (0..2200).step_by(37) {
            let mut flash = RamFlash::new(PAGES);
            let mut buf = [0u8; 4096];
            {
                let mut lib = FlashLibrary::new(&mut flash, range(), &mut buf).unwrap();
                lib.save(&name("Wash"), &doc(1000, b'o')).unwrap();
                lib.save(&name("Other"), &doc(300, b'x')).unwrap();
            }
            flash.cut_after = Some(flash_written(&flash) + cut);
            {
                let mut lib = FlashLibrary::new(&mut flash, range(), &mut buf).unwrap();
                let _ = lib.save(&name("Wash"), &doc(1100, b'n'));
            }
            flash.cut_after = None;
            let mut lib = FlashLibrary::new(&mut flash, range(), &mut buf).unwrap();
            let mut out = [0u8; 2048];
            let got = lib.load(&name("Wash"), &mut out).unwrap().1.to_vec();
            match got.first() {
                Some(b'o') => seen_old = true,
                Some(b'n') => seen_new = true,
                _ => panic!("cut at {cut}: {got:?}"),
            }
            assert!(
                got == doc(1000, b'o') || got == doc(1100, b'n'),
                "cut at {cut}"
            );
            assert_eq!(
                lib.load(&name("Other"), &mut out).unwrap().1,
                &doc(300, b'x')[..]
            );
        }
        assert!(
            seen_old && seen_new,
            "the cuts fell before and after the save took"
        );
    }

    fn flash_written(f: &RamFlash) -> usize {
        f.written()
    }
}
