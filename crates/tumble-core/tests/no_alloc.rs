//! Memory is bounded by components, not events: reading a cycle and walking a phase of a
//! million events allocate nothing, and the state's size does not depend on the event count.
//! A cycle's storage holds what its document holds: each example's is printed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tumble_core::board::Board;
use tumble_core::cycle::{Cycle, MAX_STORAGE, WarningCount};
use tumble_core::time::{Duration, Instant};
use tumble_core::timeline::{Cursor, Timeline};

/// Counts the allocations of the current thread (the test harness runs tests on threads).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// const-initialised thread-local cell, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (out, ALLOCATIONS.with(Cell::get) - before)
}

fn examples() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/cycles")
}

fn example(name: &str) -> Vec<u8> {
    std::fs::read(examples().join(name)).unwrap()
}

#[test]
fn parsing_and_expanding_a_million_events_allocates_nothing() {
    let board = Board::washer();
    let small_doc = example("wash-1600.json");
    let big_doc = example("million.json");
    let (mut small_storage, mut big_storage) = (vec![0u8; MAX_STORAGE], vec![0u8; MAX_STORAGE]);
    let mut small = Cycle::new(&mut small_storage);
    let mut big = Cycle::new(&mut big_storage);

    let (r, n) = allocations(|| small.parse(&small_doc, &board).map(drop));
    r.unwrap();
    assert_eq!(n, 0, "parsing allocated");
    let (r, n) = allocations(|| big.parse(&big_doc, &board).map(drop));
    r.unwrap();
    assert_eq!(n, 0, "parsing allocated");

    let ((count, last), n) = allocations(|| {
        Timeline::new(&big, &big.phases()[0])
            .fold((0u64, Duration::ZERO), |(n, _), e| (n + 1, e.at))
    });
    assert_eq!(n, 0, "expanding allocated");
    assert_eq!(count, 1_000_004);
    assert_eq!(last, Duration::from_micros(33_333_400_000));

    let small_cursor = Cursor::new(&small, &small.phases()[1]);
    let big_cursor = Cursor::new(&big, &big.phases()[0]);
    let state = |c: &Cycle, cur: &Cursor| std::mem::size_of_val(c) + std::mem::size_of_val(cur);
    assert_eq!(state(&small, &small_cursor), state(&big, &big_cursor));
    println!(
        "loaded cycle {} B + timeline cursor {} B, for 1,600 and for 1,000,004 events alike",
        std::mem::size_of::<Cycle>(),
        std::mem::size_of::<Cursor>()
    );
    println!(
        "storage used: wash-1600.json {} B, million.json {} B",
        small.storage_used(),
        big.storage_used()
    );
}

#[test]
fn every_examples_storage_is_what_its_document_holds_and_checking_it_allocates_nothing() {
    let board = Board::washer();
    let files = tumble_rig::example_files("cycles");
    assert!(!files.is_empty());
    let mut storage = vec![0u8; MAX_STORAGE];
    let mut cycle = Cycle::new(&mut storage);
    for (name, doc) in &files {
        let (checked, n) =
            allocations(|| Cycle::validate(doc, &board, MAX_STORAGE, &mut WarningCount::default()));
        let checked = checked.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, 0, "{name}: checking allocated");
        let (r, n) = allocations(|| cycle.read(doc, &board, &mut WarningCount::default()));
        r.unwrap();
        assert_eq!(n, 0, "{name}: reading allocated");
        assert_eq!(cycle.storage_used(), checked, "{name}");
        println!(
            "{name}: {} phases, {} events, storage used {} B of {} B",
            cycle.phases().len(),
            cycle.total_events(),
            cycle.storage_used(),
            cycle.capacity()
        );
    }
    println!(
        "Cycle {} B (phase table {} B), Runner {} B, beside the storage",
        std::mem::size_of::<Cycle>(),
        Cycle::PHASE_TABLE_BYTES,
        std::mem::size_of::<tumble_core::runner::Runner>()
    );
}

/// Counts writes; allocation-free like a real pin driver.
struct CountingPins {
    writes: u64,
    off: [bool; 32],
}

impl tumble_core::runner::Outputs for CountingPins {
    fn set(&mut self, c: tumble_core::runner::OutputChange) {
        self.writes += 1;
        self.off[c.pin as usize] = !c.on;
    }
}

#[test]
fn playing_phases_of_1600_and_a_million_events_allocates_nothing() {
    use tumble_core::runner::Runner;
    let board = Board::washer();
    for (name, events) in [("wash-1600.json", 1604), ("million.json", 1_000_004)] {
        let doc = example(name);
        let (mut lent, mut loaded) = (vec![0u8; MAX_STORAGE], vec![0u8; MAX_STORAGE]);
        let mut cycle = Cycle::new(&mut lent);
        cycle.parse(&doc, &board).unwrap();
        let mut runner = Box::new(Runner::new(board.clone(), &mut loaded));
        let mut pins = CountingPins {
            writes: 0,
            off: [false; 32],
        };
        let ((), n) = allocations(|| {
            runner.boot(Instant::from_micros(0), &mut pins);
            runner.load(Instant::from_micros(0), &mut cycle, &mut pins);
            runner.start(Instant::from_micros(0), &mut pins).unwrap();
            // One alarm, re-armed to each deadline: the platform's whole job.
            while let Some(deadline) = runner.poll_timeout() {
                runner.handle_timeout(deadline, &mut pins);
            }
        });
        assert_eq!(n, 0, "{name}: playing allocated");
        let stats = runner.stats();
        assert_eq!(
            stats.events_fired, events,
            "{name}: every event fired exactly once"
        );
        assert_eq!(
            (stats.late_events, stats.worst_lateness),
            (0, Duration::ZERO)
        );
        assert!(
            board.outputs().all(|(_, o)| pins.off[o.pin as usize]),
            "{name}: all OFF at the end"
        );
        println!(
            "{name}: {events} events, {} pin writes, runner {} B + storage used {} B",
            pins.writes,
            std::mem::size_of::<Runner>(),
            runner.cycle().storage_used()
        );
    }
}
