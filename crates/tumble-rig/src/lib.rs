//! The test rig every layer's tests share: tumble-core's own tests, the host binary's and the
//! firmware logic's (its alarm loop and command sessions) build their runners, controllers,
//! clocks and cycles from here, so a change to how a controller boots or a cycle loads is made
//! once. Tests only: it leaks memory and panics on anything unexpected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tumble_core::board::{Board, Level, OutputDef};
use tumble_core::controller::{Config, Controller};
use tumble_core::cycle::{Cycle, MAX_STORAGE};
use tumble_core::runner::{Notice, OutputChange, Outputs, Runner};
use tumble_core::time::{Duration, Instant};

/// Cycle storage of the most a cycle uses ([`MAX_STORAGE`] bytes), leaked: for a `Cycle`,
/// `Runner` or `Controller` that lives as long as the test.
pub fn storage() -> &'static mut [u8] {
    storage_of(MAX_STORAGE)
}

/// `bytes` of cycle storage (a chip's size, say), leaked.
pub fn storage_of(bytes: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; bytes].into_boxed_slice())
}

/// The instant `us` µs after the epoch: the tests' clock starts at 0.
pub fn t(us: u64) -> Instant {
    Instant::from_micros(us)
}

/// The repository's `examples/` folder.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// `examples/cycles/NAME` as text (without its trailing newline).
pub fn example(name: &str) -> String {
    let path = examples().join("cycles").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim_end().into()
}

/// Every `.json` file of `examples/DIR` (cycles, templates, cycles/broken): name and bytes, by
/// name.
pub fn example_files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = examples().join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The default board, with a reverse dead time of `ms`.
pub fn board_with_dead_time(ms: u32) -> Board {
    let outputs = Board::washer()
        .outputs()
        .map(|(_, o)| o.clone())
        .collect::<heapless::Vec<OutputDef, 16>>();
    Board::new(outputs, ms).unwrap()
}

/// `json` parsed for `board` into storage of its own; a refusal fails the test, saying why.
pub fn cycle(json: &str, board: &Board) -> Cycle<'static> {
    let mut cycle = Cycle::new(storage());
    cycle
        .parse(json.as_bytes(), board)
        .unwrap_or_else(|e| panic!("test cycle refused: {e}"));
    cycle
}

/// A runner for `board`, booted at 0 into `out`.
pub fn runner(board: Board, out: &mut impl Outputs) -> Box<Runner<'static>> {
    let mut runner = Box::new(Runner::new(board, storage()));
    runner.boot(t(0), out);
    runner
}

/// Parses `json` against the runner's board and loads it at 0.
pub fn load(runner: &mut Runner<'static>, out: &mut impl Outputs, json: &str) {
    let mut cycle = cycle(json, runner.board());
    runner.load(t(0), &mut cycle, out);
}

/// A controller for `board` with `config`, in `bytes` of cycle storage, booted at 0 into `out`.
pub fn controller(
    board: Board,
    config: Config,
    bytes: usize,
    out: &mut impl Outputs,
) -> Box<Controller<'static>> {
    let mut ctl = Box::new(Controller::new(board, config, storage_of(bytes)));
    ctl.boot(t(0), out);
    ctl
}

/// A controller's config: sensors sampled every `sample_ms`, telemetry every `telemetry_ms`.
pub fn config(sample_ms: u64, telemetry_ms: Option<u64>) -> Config {
    Config {
        sample: Duration::from_millis(sample_ms),
        telemetry: telemetry_ms.map(Duration::from_millis),
    }
}

/// Outputs that remember every write, as a platform's pins would show them.
#[derive(Debug, Default)]
pub struct Pins {
    /// Each pin's level now.
    pub levels: BTreeMap<u8, Level>,
    /// (due µs, pin, level), in call order.
    pub writes: Vec<(u64, u8, u8)>,
    /// Writes per commit, for the same-instant batching.
    pub batches: Vec<usize>,
    /// Every notice, in order.
    pub notices: Vec<Notice>,
    pending: usize,
}

impl Pins {
    /// No pin written yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The level of `pin` (0 or 1); a pin never written fails the test.
    pub fn level(&self, pin: u8) -> u8 {
        self.levels[&pin].as_u8()
    }

    /// Pins at level 0 (ON on the active-low board).
    pub fn on(&self) -> Vec<u8> {
        self.levels
            .iter()
            .filter(|(_, l)| l.as_u8() == 0)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Whether every pin is at level 1 (OFF on the active-low board).
    pub fn all_off(&self) -> bool {
        self.levels.values().all(|l| l.as_u8() == 1)
    }
}

impl Outputs for Pins {
    fn set(&mut self, c: OutputChange) {
        self.levels.insert(c.pin, c.level);
        self.writes
            .push((c.due.as_micros(), c.pin, c.level.as_u8()));
        self.pending += 1;
    }

    fn commit(&mut self) {
        if self.pending > 0 {
            self.batches.push(self.pending);
            self.pending = 0;
        }
    }

    fn notice(&mut self, notice: Notice) {
        self.notices.push(notice);
    }
}
