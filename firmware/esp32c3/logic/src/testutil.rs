//! Helpers shared by the unit tests.

use std::vec::Vec;

use tumble_core::cycle::Cycle;
use tumble_core::runner::{Outputs, Runner};
use tumble_core::time::Instant;

use crate::pins::GpioWrite;

/// Records every register write.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    pub writes: Vec<(u32, u32)>,
}

impl GpioWrite for Recorder {
    fn write(&mut self, set: u32, clear: u32) {
        self.writes.push((set, clear));
    }
}

/// Cycle storage of the chip's size, for a test (leaked: tests are short).
pub fn storage() -> &'static mut [u8] {
    std::boxed::Box::leak(std::vec![0u8; crate::session::CYCLE_STORAGE].into_boxed_slice())
}

/// Parses `json` against the runner's board and loads it (in storage of its own).
pub fn load(runner: &mut Runner<'static>, out: &mut impl Outputs, json: &str) {
    let mut cycle = Cycle::new(storage());
    cycle
        .parse(json.as_bytes(), runner.board())
        .unwrap_or_else(|e| panic!("test cycle refused: {e}"));
    runner.load(Instant::from_micros(0), &mut cycle, out);
}

/// An example cycle from the repository.
pub fn example(name: &str) -> std::string::String {
    let path = std::format!(
        "{}/../../../examples/cycles/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.trim_end().into()
}
