//! Hostile input never panics: arbitrary bytes and damaged versions of real cycles are either
//! accepted whole or refused with a path, never half-loaded. (`fuzz/` runs the same check with
//! coverage guidance for as long as you like.)

mod common;

use proptest::prelude::*;
use tumble_core::board::Board;
use tumble_core::cycle::{Cycle, MAX_STORAGE};

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut storage = vec![0u8; MAX_STORAGE];
    let mut cycle = Cycle::new(&mut storage);
    match cycle.parse(bytes, &Board::washer()) {
        Ok(_) => {
            for p in cycle.phases() {
                prop_assert!(p.duration_ms() as u64 >= p.start_ms as u64);
            }
        }
        Err(e) => {
            prop_assert!(cycle.phases().is_empty());
            prop_assert!(!e.message.is_empty());
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Damage {
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Flip(usize, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    let tokens = prop::sample::select(vec![
        b"{".to_vec(),
        b"}".to_vec(),
        b"[".to_vec(),
        b"]".to_vec(),
        b",".to_vec(),
        b":".to_vec(),
        b"\"".to_vec(),
        b"-".to_vec(),
        b"1e309".to_vec(),
        b"null".to_vec(),
        b"\\u".to_vec(),
        b"\"phases\"".to_vec(),
        b"4294967295".to_vec(),
        b"\xff".to_vec(),
        b"0.5".to_vec(),
    ]);
    prop_oneof![
        (any::<usize>(), 1usize..8).prop_map(|(at, n)| Damage::Delete(at, n)),
        (any::<usize>(), tokens).prop_map(|(at, t)| Damage::Insert(at, t)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Damage::Flip(at, b)),
    ]
}

fn apply(mut doc: Vec<u8>, damages: &[Damage]) -> Vec<u8> {
    for d in damages {
        let len = doc.len().max(1);
        match d {
            Damage::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(doc.len());
                doc.drain(at.min(end)..end);
            }
            Damage::Insert(at, bytes) => {
                let at = at % (doc.len() + 1);
                doc.splice(at..at, bytes.iter().copied());
            }
            Damage::Flip(at, b) => {
                if !doc.is_empty() {
                    let at = at % doc.len();
                    doc[at] = *b;
                }
            }
        }
    }
    doc
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&bytes)?;
    }

    #[test]
    fn damaged_cycles_never_panic(g in common::cycle(), damages in prop::collection::vec(damage(), 1..6)) {
        check(&apply(g.to_json().into_bytes(), &damages))?;
    }
}
