//! Every capacity of the core, in one place (besides the cycle's storage, which the platform
//! sizes). Exceeding one is a validation error with a path,
//! never a silent truncation. docs/cycle-format.md lists them with their RAM cost.

/// Phases in one cycle.
pub const MAX_PHASES: usize = 32;
/// Components in one phase (each is one lazy event generator while the phase runs).
pub const MAX_COMPONENTS_PER_PHASE: usize = 16;
/// Longest string (id, name, colour, label, compId, runningStyle), in UTF-8 bytes.
pub const MAX_TEXT: usize = 64;
// Components, pattern steps and strings in all have no count of their own: together they fill
// the storage the platform gives the cycle (`cycle::Cycle::new`, at most `cycle::MAX_STORAGE`).
/// Warnings kept in a load report; the rest are counted.
pub const MAX_WARNINGS: usize = 16;
/// Longest JSON path in an error or warning.
pub const MAX_PATH: usize = 160;
/// Longest error or warning message.
pub const MAX_MESSAGE: usize = 256;
/// Outputs a board may have.
pub const MAX_OUTPUTS: usize = crate::board::MAX_OUTPUTS;
/// Events a `get_timeline` page may skip by `offset` (page deeper with `from_us`).
pub const MAX_TIMELINE_OFFSET: u64 = 100_000;
/// The cycle storage of the reference firmware (ESP32-C3), in bytes: `tumble check` says
/// whether a document fits it.
pub const CHIP_CYCLE_STORAGE: usize = 16 * 1024;
