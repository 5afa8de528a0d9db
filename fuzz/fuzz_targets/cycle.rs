//! Any bytes: `Cycle::parse` never panics, and what it accepts expands in time order with the
//! event count it announced.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tumble_core::board::Board;
use tumble_core::cycle::Cycle;
use tumble_core::timeline::Timeline;

fuzz_target!(|data: &[u8]| {
    let board = Board::washer();
    let mut cycle = Box::<Cycle>::default();
    if cycle.parse(data, &board).is_err() {
        assert!(cycle.phases().is_empty(), "a refused document leaves nothing behind");
        return;
    }
    for phase in cycle.phases() {
        if phase.events() > 100_000 {
            continue; // valid, but too long to walk on every fuzz input
        }
        let mut last = 0;
        let mut count = 0;
        for ev in Timeline::new(&cycle, phase) {
            assert!(ev.at_us >= last, "time never goes backwards");
            assert!(ev.at_us <= phase.duration_ms() as u64 * 1000);
            last = ev.at_us;
            count += 1;
        }
        assert_eq!(count, phase.events());
    }
});
