//! Every capacity of the core, in one place. Exceeding one is a validation error with a path,
//! never a silent truncation. docs/cycle-format.md lists them with their RAM cost.

/// Phases in one cycle.
pub const MAX_PHASES: usize = 32;
/// Components in one phase (each is one lazy event generator while the phase runs).
pub const MAX_COMPONENTS_PER_PHASE: usize = 16;
/// Components in one cycle.
pub const MAX_COMPONENTS: usize = MAX_PHASES * MAX_COMPONENTS_PER_PHASE;
/// Motor pattern steps in one cycle, as written (not expanded by repeatTimes).
pub const MAX_STEPS: usize = 4096;
/// Longest string (id, name, colour, label, compId, runningStyle), in UTF-8 bytes.
pub const MAX_TEXT: usize = 64;
/// All the strings of one cycle together, in UTF-8 bytes.
pub const TEXT_POOL: usize = 8192;
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
