//! Any bytes: `Cycle::parse` never panics, a check that stores nothing (`Cycle::validate`)
//! refuses or accepts exactly what a read into storage of that size does (same error, same
//! bytes, same warnings), and what it accepts expands in time order with the event count it
//! announced.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tumble_core::board::Board;
use tumble_core::cycle::{Cycle, WarningCount};
use tumble_core::time::Duration;
use tumble_core::timeline::Timeline;

fuzz_target!(|data: &[u8]| {
    let board = Board::washer();
    // Small enough that the fuzzer reaches a full storage too.
    let mut storage = vec![0u8; 4096];
    let mut cycle = Box::new(Cycle::new(&mut storage));
    let parsed = cycle.parse(data, &board);
    let mut counted = WarningCount::default();
    let checked = Cycle::validate(data, &board, 4096, &mut counted);
    match (&parsed, &checked) {
        (Ok(report), Ok(bytes)) => {
            assert_eq!(*bytes, cycle.storage_used(), "the check counts what a read stores");
            assert_eq!(counted.0, report.count(), "the same warnings");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "the same refusal"),
        _ => panic!("check and read disagree: {parsed:?} vs {checked:?}"),
    }
    if parsed.is_err() {
        assert!(cycle.phases().is_empty(), "a refused document leaves nothing behind");
        return;
    }
    for phase in cycle.phases() {
        if phase.events() > 100_000 {
            continue; // valid, but too long to walk on every fuzz input
        }
        let mut last = Duration::ZERO;
        let mut count = 0;
        for ev in Timeline::new(&cycle, phase) {
            assert!(ev.at >= last, "time never goes backwards");
            assert!(ev.at <= Duration::from_millis(phase.duration_ms() as u64));
            last = ev.at;
            count += 1;
        }
        assert_eq!(count, phase.events());
    }
});
