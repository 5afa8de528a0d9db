//! Lazy timeline vs an event array, side by side in one run.
//!
//! `cargo bench -p tumble --bench timeline` prints, for phases of 1,600 to 1,000,004 events, the
//! heap each approach needs and how fast it yields events in time order:
//! - lazy: Tumble's cursor (one generator per component, k-way merge), no allocation;
//! - array: materialise every event, then sort (what a per-phase event list needs; the original
//!   firmware kept such a list, unsorted, capped at 3,400 events).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tumble_core::board::Board;
use tumble_core::cycle::{Cycle, Drive};
use tumble_core::timeline::{Cursor, Timeline};

/// Tracks live and peak heap bytes.
struct Tracking;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator; the bookkeeping is atomics only.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Peak extra heap bytes and allocations while `f` runs.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize, f64) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let allocs = ALLOCATIONS.load(Ordering::Relaxed);
    let t = Instant::now();
    let out = f();
    let secs = t.elapsed().as_secs_f64();
    (
        out,
        PEAK.load(Ordering::Relaxed) - base,
        ALLOCATIONS.load(Ordering::Relaxed) - allocs,
        secs,
    )
}

/// A wash phase like the seed's: Retractor, Cold Valve and a toggling motor of `repeats`.
fn wash(repeats: u32) -> String {
    format!(
        r#"{{"phases":[{{"id":"wash","components":[
            {{"compId":"Retractor","duration":1000}},
            {{"compId":"Cold Valve","start":500,"duration":20000}},
            {{"compId":"Motor","motorConfig":{{"repeatTimes":{repeats},"pattern":[
                {{"stepTime":1000,"pauseTime":300,"direction":"cw"}},
                {{"stepTime":1000,"pauseTime":300,"direction":"ccw"}}]}}}}]}}]}}"#
    )
}

/// The baseline: every event in an array, sorted by the same rules.
fn materialise(cycle: &Cycle<'_>) -> Vec<(u64, u8, u8, bool)> {
    let phase = &cycle.phases()[0];
    let mut events = Vec::new();
    for (ci, c) in cycle.phase_components(phase).enumerate() {
        let base = (phase.start_ms + c.start_ms) as u64;
        match c.drive {
            Drive::Output(_) => {
                events.push((base * 1000, 2, ci as u8, true));
                events.push(((base + c.duration_ms as u64) * 1000, 0, ci as u8, false));
            }
            Drive::Motor(m) => {
                let mut cursor = base;
                for _ in 0..m.repeat {
                    for i in m.step_range() {
                        let s = cycle.step(i);
                        events.push((cursor * 1000, 1, ci as u8, s.direction.output_on()));
                        events.push((cursor * 1000, 2, ci as u8, true));
                        events.push(((cursor + s.step_ms as u64) * 1000, 0, ci as u8, false));
                        cursor += (s.step_ms + s.pause_ms) as u64;
                    }
                }
            }
        }
    }
    events.sort_by_key(|&(t, class, ci, _)| (t, class, ci));
    events
}

fn main() {
    let board = Board::washer();
    println!(
        "{:>10}  {:>14} {:>6} {:>12}  {:>14} {:>6} {:>12}",
        "events", "lazy state B", "allocs", "lazy ev/s", "array heap B", "allocs", "array ev/s"
    );
    for repeats in [266, 16_666, 166_667] {
        let mut storage = vec![0u8; tumble_core::cycle::MAX_STORAGE];
        let mut cycle = Box::new(Cycle::new(&mut storage));
        cycle.parse(wash(repeats).as_bytes(), &board).unwrap();
        let phase = &cycle.phases()[0];
        let events = phase.events();

        let (sum_lazy, lazy_heap, lazy_allocs, lazy_s) = measure(|| {
            Timeline::new(&cycle, phase)
                .map(|e| e.at.as_micros())
                .fold(0u64, u64::wrapping_add)
        });
        let (sum_array, array_heap, array_allocs, array_s) = measure(|| {
            materialise(&cycle)
                .iter()
                .map(|e| e.0)
                .fold(0u64, u64::wrapping_add)
        });
        assert_eq!(sum_lazy, sum_array, "both give the same events");
        println!(
            "{events:>10}  {:>14} {lazy_allocs:>6} {:>12.0}  {array_heap:>14} {array_allocs:>6} {:>12.0}",
            std::mem::size_of::<Cursor>() + lazy_heap,
            events as f64 / lazy_s,
            events as f64 / array_s,
        );
    }
    println!(
        "\nlazy state B = the timeline cursor (on the stack or in a static, never the heap), the same for every size.\n\
         The original firmware: one esp_timer per event (about 50 B each, ~80 KB at 1,600 events: out of heap),\n\
         then batches of 200 timers (about 10 KB) over a 3,400-event array (about 82 KB of .bss), truncated beyond."
    );
}
