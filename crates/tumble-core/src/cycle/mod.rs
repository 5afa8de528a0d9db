//! The cycle document: the fixed-capacity form it is kept in (here), reading it (`parse`),
//! whole-phase checks (`check`, `interlock`) and writing it back (`write`).
//!
//! A document is accepted whole or refused whole with the JSON path and the reason of its first
//! fault. What the original firmware accepted keeps its meaning (defaults, `startTime` as a leading
//! delay, motor expansion, case-insensitive keys); what it silently mangled (negative or fractional
//! times, unknown outputs, truncation at its limits) is refused. See docs/cycle-format.md.

use core::fmt;

use crate::board::{Board, OutputId};
use crate::json::{self, Reader, SyntaxError};
use crate::limits::*;
use crate::text::Bounded;

mod check;
mod interlock;
mod parse;
mod store;
mod write;

use self::parse::Parser;
pub use self::store::{COMPONENT_BYTES, MAX_STORAGE, STEP_BYTES};
use self::store::{Fill, Pool};
pub use self::write::{Millis, SummaryJson, WarningsJson, write_more_warnings};

/// The same-instant group of an output change; within one instant the groups go out in this
/// order (every OFF, then the direction, then every ON), as one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// An output switched OFF: first at its instant, so the Motor is OFF before a direction change.
    Off,
    /// A motor pattern setting Motor Direction for its next step: after the OFFs, before any ON.
    Direction,
    /// An output switched ON: last at its instant, once the direction is set.
    On,
}

/// A JSON path such as `phases[2].components[0].duration`.
pub type Path = Bounded<MAX_PATH>;
/// The words of a refusal or a warning, for a person; cut with "..." past [`MAX_MESSAGE`] bytes.
pub type Message = Bounded<MAX_MESSAGE>;

/// Default sensor-trigger cooldown after the phase starts, as in the original firmware.
pub const DEFAULT_COOLDOWN_MS: u32 = 15_000;

/// Why a document was refused: where, what kind of fault, and why in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleError {
    /// Where, as a JSON path (`phases[2].components[0].duration`); empty when the document is
    /// not JSON at all.
    pub path: Path,
    /// What kind of fault, for programs (the v2 `invalid_cycle` error's `kind`).
    pub kind: ErrorKind,
    /// Why, for a person: what was expected and what was found.
    pub message: Message,
}

/// What kind of fault refused a document, for programs (the v2 error's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not JSON at all (`path` is empty).
    Syntax,
    /// A key missing, a value of the wrong type, a name the format does not know.
    Invalid,
    /// A number outside the range its key allows.
    Range,
    /// An output the board does not have.
    UnknownOutput,
    /// More than the controller holds: phases, components in a phase, a string's length, the
    /// cycle's storage (components, steps and strings together), or events past the 49.7-day
    /// limit of a phase.
    Capacity,
    /// The motor interlock: two patterns at once, or a direction change while the Motor is ON
    /// or within the board's reverse dead time.
    Interlock,
}

impl ErrorKind {
    /// How the v2 protocol and `tumble check --json` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Range => "range",
            ErrorKind::UnknownOutput => "unknown_output",
            ErrorKind::Capacity => "capacity",
            ErrorKind::Interlock => "interlock",
        }
    }
}

impl CycleError {
    /// The phase and the component (indices into the document's arrays) the path is in, so a
    /// program can point at them without reading the path.
    pub fn location(&self) -> (Option<usize>, Option<usize>) {
        let index = |key: &str, within: &str| -> Option<(usize, usize)> {
            let rest = within.strip_prefix(key)?.strip_prefix('[')?;
            let end = rest.find(']')?;
            Some((rest[..end].parse().ok()?, key.len() + end + 2))
        };
        let path = self.path.as_str();
        let Some((phase, used)) = index("phases", path) else {
            return (None, None);
        };
        let component = path[used..]
            .strip_prefix('.')
            .and_then(|rest| index("components", rest))
            .map(|(c, _)| c);
        (Some(phase), component)
    }
}

impl fmt::Display for CycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl CycleError {
    /// A reader error after the syntax check passed, which cannot happen.
    fn invalid_json() -> Self {
        CycleError {
            path: Path::new(),
            kind: ErrorKind::Syntax,
            message: Message::from_fmt(format_args!("invalid JSON")),
        }
    }

    /// A document that is not JSON: where (line, column, byte) and why, and for one that is
    /// not even trying to be (YAML, a blank file) what a cycle is.
    fn syntax(e: SyntaxError, src: &[u8]) -> Self {
        let first = src.iter().position(|b| !b.is_ascii_whitespace());
        let hint = match first.map(|i| &src[i..]) {
            None => "; the file is empty: a cycle is a JSON object, {\"phases\": [...]}",
            Some(rest) if rest[0] == b'{' || rest[0] == b'[' => "",
            Some(rest) if looks_like_yaml(rest) => {
                "; this looks like YAML: a cycle is a JSON document, {\"phases\": [...]}"
            }
            Some(_) => "; a cycle is a JSON document, {\"phases\": [...]}",
        };
        CycleError {
            path: Path::new(),
            kind: ErrorKind::Syntax,
            message: Message::from_fmt(format_args!("{}{hint}", e.located(src))),
        }
    }
}

/// `---`, `# comment` or `key:` at the start: the usual first lines of a YAML file.
fn looks_like_yaml(text: &[u8]) -> bool {
    let line = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let key = line.iter().position(|&b| b == b':').is_some_and(|i| {
        i > 0
            && line[..i]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b' ')
    });
    line.starts_with(b"---") || line.starts_with(b"#") || key
}

impl From<SyntaxError> for CycleError {
    fn from(e: SyntaxError) -> Self {
        CycleError {
            path: Path::new(),
            kind: ErrorKind::Syntax,
            message: Message::from_fmt(format_args!("{e}")),
        }
    }
}

/// Something accepted but worth a look, with its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where, as a JSON path (`phases[0].components[1].duration`).
    pub path: Path,
    /// What looks wrong, for a person (`0 ms: this component switches nothing`).
    pub message: Message,
}

/// The warnings of an accepted document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The first [`MAX_WARNINGS`] warnings, in the order the document was read.
    pub warnings: heapless::Vec<Warning, MAX_WARNINGS>,
    /// Warnings past [`MAX_WARNINGS`], counted but not kept.
    pub more_warnings: usize,
}

/// What a reading of a document finds, handed over as it is found: its warnings, and each
/// phase once it passed its checks. A [`Report`] keeps the warnings, a [`WarningCount`] only
/// counts them, a platform may write them straight into a reply ([`WarningsJson`],
/// [`SummaryJson`]). So the parser itself holds no list of them (it runs in a few KB of stack),
/// and a check that stores nothing can still tell what it read.
pub trait Findings {
    /// One warning, at `path` (`phases[0].components[1].duration`).
    fn warn(&mut self, path: &str, message: fmt::Arguments<'_>);

    /// Phase `index` passed its checks: its `id`, how many output changes it plays and its
    /// length in ms.
    fn phase(&mut self, index: usize, id: &str, events: u64, duration_ms: u32) {
        let _ = (index, id, events, duration_ms);
    }
}

impl Report {
    /// Every warning, kept or only counted.
    pub fn count(&self) -> usize {
        self.warnings.len() + self.more_warnings
    }
}

impl Findings for Report {
    fn warn(&mut self, path: &str, args: fmt::Arguments<'_>) {
        let w = Warning {
            path: Path::from_fmt(format_args!("{path}")),
            message: Message::from_fmt(args),
        };
        if self.warnings.push(w).is_err() {
            self.more_warnings += 1;
        }
    }
}

/// Counts warnings, keeps none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WarningCount(pub usize);

impl Findings for WarningCount {
    fn warn(&mut self, _path: &str, _message: fmt::Arguments<'_>) {
        self.0 += 1;
    }
}

/// The components of one phase, read from the cycle's storage in document order.
#[derive(Clone)]
pub struct Components<'c> {
    pool: &'c Pool<'c>,
    at: usize,
    left: usize,
}

impl Iterator for Components<'_> {
    type Item = Component;

    fn next(&mut self) -> Option<Component> {
        if self.left == 0 {
            return None;
        }
        let c = self.pool.component(self.at);
        self.at += COMPONENT_BYTES;
        self.left -= 1;
        Some(c)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Components<'_> {}

/// A string kept in the cycle's storage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextRef {
    start: u16,
    len: u8,
}

/// The reading a sensor trigger compares with its threshold (`sensorTrigger.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensor {
    /// The drum speed, in revolutions per minute.
    Rpm,
    /// The water-level sensor's pseudo-frequency, in Hz: it falls as the water rises.
    Pressure,
}

impl Sensor {
    /// How a cycle document spells it (`"RPM"`, `"Pressure"`), as in the canonical document.
    pub fn name(self) -> &'static str {
        match self {
            Sensor::Rpm => "RPM",
            Sensor::Pressure => "Pressure",
        }
    }
}

/// What a sensor trigger does to its phase (`sensorTrigger.mode`: "end" or "wait").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerMode {
    /// The condition ends the phase early; the phase still ends at its last event.
    EndEarly,
    /// The phase stays open after its last event until the condition holds, or faults after
    /// `timeout_ms` past the last event.
    Wait {
        /// How long after the phase's last event the condition may take, in ms (`timeoutMs`),
        /// before the cycle stops with a `wait_timeout` fault.
        timeout_ms: u32,
    },
}

/// A phase's `sensorTrigger`: a sensor condition, checked on every sample once the cooldown has
/// passed, that ends the phase (every output OFF, the next phase starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    /// Which reading is compared.
    pub sensor: Sensor,
    /// The limit, in the sensor's units (RPM, or the pressure pseudo-frequency in Hz); a
    /// fraction in the document was truncated, with a warning.
    pub threshold: u32,
    /// Fire when the reading is strictly above the threshold; else strictly below.
    pub above: bool,
    /// No checks for this long after the phase starts, in ms on the phase clock (a pause stops
    /// it); [`DEFAULT_COOLDOWN_MS`] when the document gives none.
    pub cooldown_ms: u32,
    /// Whether the condition only ends the phase early, or also holds it open after its last event.
    pub mode: TriggerMode,
    /// UI-only, kept for display.
    pub pin_number: Option<u32>,
}

impl Trigger {
    /// The original's comparison: the reading truncated to a whole number, compared strictly.
    pub fn holds(&self, reading: f32) -> bool {
        let value = reading as u32; // saturating; NaN reads as 0
        if self.above {
            value > self.threshold
        } else {
            value < self.threshold
        }
    }
}

/// Which way a motor pattern step turns the drum (a step's `direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Clockwise: Motor Direction ON (relay energised); the default for a step.
    Cw,
    /// Counter-clockwise: Motor Direction OFF.
    Ccw,
}

impl Direction {
    /// CW energises the direction output (level 0 on the active-low board), CCW is its OFF state.
    pub fn output_on(self) -> bool {
        self == Direction::Cw
    }

    /// How a cycle document spells it (`"cw"`, `"ccw"`), in the canonical document and warnings.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Cw => "cw",
            Direction::Ccw => "ccw",
        }
    }
}

/// One step of a motor pattern: Motor Direction set, the Motor ON for the step, then OFF for
/// the pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// How long the Motor is ON, in ms (`stepTime`, at least 1).
    pub step_ms: u32,
    /// The Motor's OFF time after the step, in ms (`pauseTime`), as written: a reversal is
    /// played with at least the dead time (see [`Cycle::pause_after`]).
    pub pause_ms: u32,
    /// The way the drum turns while the Motor is ON in this step.
    pub direction: Direction,
}

/// A component's `motorConfig`: a pattern of steps, kept in the cycle's step storage, played
/// over and over on Motor and Motor Direction. What the checks need of the pattern (one pass's
/// length, its first and last direction) is summarised as its steps are read, so a check that
/// stores nothing ([`Cycle::validate`]) needs no step again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MotorConfig {
    first_step: u16,
    steps: u16,
    /// Passes of the whole pattern that are played (`repeatTimes`, at least 1).
    pub repeat: u32,
    /// The UI's `runningStyle` ("Toggle Direction", ...): kept for display, it changes nothing
    /// that is played.
    pub running_style: TextRef,
    period_ms: u64,
    first: Direction,
    last: Direction,
    last_pause_ms: u32,
}

impl MotorConfig {
    /// One pass of the pattern: Σ(stepTime + the pause played after it), in ms.
    pub fn period_ms(&self) -> u64 {
        self.period_ms
    }

    /// Where the pattern's steps are in the cycle's step storage: indices for [`Cycle::step`].
    pub fn step_range(&self) -> core::ops::Range<usize> {
        self.first_step as usize..self.first_step as usize + self.steps as usize
    }

    /// The way its first and its last step turn the drum.
    pub fn directions(&self) -> (Direction, Direction) {
        (self.first, self.last)
    }

    /// The pause played after its last step (before the first again, or the end), in ms.
    pub fn last_pause_ms(&self) -> u32 {
        self.last_pause_ms
    }
}

/// What a component switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drive {
    /// One output, ON for `duration`.
    Output(OutputId),
    /// The board's Motor and Motor Direction, by pattern, whatever the compId says.
    Motor(MotorConfig),
}

/// One of a phase's `components`: a plain output switched ON for a while, or a motor pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    /// Its `id`, kept for display.
    pub id: TextRef,
    /// Its `label`, kept for display.
    pub label: TextRef,
    /// When it begins, in ms after the phase's `startTime` (`start`).
    pub start_ms: u32,
    /// How long a plain output stays ON, in ms (`duration`; 0: it switches nothing). A motor
    /// pattern plays its own length; one longer than a non-zero duration only warns.
    pub duration_ms: u32,
    /// What it switches: one output, or Motor and Motor Direction by pattern.
    pub drive: Drive,
    /// Offset of the last event from the phase start, in ms (None: no events).
    last_event_ms: Option<u32>,
}

impl Component {
    /// Events this component adds to its phase.
    pub fn events(&self) -> u64 {
        match self.drive {
            Drive::Output(_) if self.duration_ms > 0 => 2,
            Drive::Output(_) => 0,
            Drive::Motor(m) => 3 * m.steps as u64 * m.repeat as u64,
        }
    }
}

/// One phase of the cycle (a fill, a wash, a drain...): its components played from its start;
/// it ends at its last event, or as its sensor trigger says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phase {
    /// Its `id`: how logs and telemetry name the phase (see [`Cycle::phase_label`]).
    pub id: TextRef,
    /// Its `name`, kept for display; it names the phase in logs when `id` is empty.
    pub name: TextRef,
    /// Its `color`, the UI's hex colour without `#`, kept for display.
    pub color: TextRef,
    /// Its `startTime`, in ms: a leading delay added to every event time of the phase.
    pub start_ms: u32,
    /// Its `sensorTrigger`, if any: a sensor condition that can end the phase early.
    pub trigger: Option<Trigger>,
    first_component: u16,
    components: u8,
    duration_ms: u32,
    events: u64,
}

impl Phase {
    /// Its last event's offset, or `startTime` when it has none (a pure wait).
    pub fn duration_ms(&self) -> u32 {
        self.duration_ms
    }

    /// How many output changes its timeline plays: 2 per plain component with a duration, 3 per
    /// motor step and pass (direction, ON, OFF).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// How many components it has (`components.len()` of the document).
    pub fn component_count(&self) -> usize {
        self.components as usize
    }
}

/// A validated cycle, kept in storage the platform lends it ([`Cycle::new`]): what it costs is
/// what its document holds (strings, component records, pattern steps; see `store`), never
/// the number of events, plus a table of [`MAX_PHASES`] phases.
pub struct Cycle<'p> {
    phases: heapless::Vec<Phase, MAX_PHASES>,
    pool: Pool<'p>,
    motor: OutputId,
    direction: OutputId,
    /// The board's reverse dead time: the shortest pause a reversal is played with.
    dead_ms: u32,
}

impl Cycle<'static> {
    /// No cycle and no storage: what a runner holds while its storage is lent out for a load.
    pub const fn none() -> Self {
        Cycle::new(&mut [])
    }
}

impl<'p> Cycle<'p> {
    /// An empty cycle (no phases) kept in `storage` (up to [`MAX_STORAGE`] bytes of it).
    pub const fn new(storage: &'p mut [u8]) -> Self {
        // An empty cycle has no motor events: which outputs they would drive does not matter
        // until `read` sets them from the board.
        let cap = if storage.len() < MAX_STORAGE {
            storage.len()
        } else {
            MAX_STORAGE
        };
        Cycle {
            phases: heapless::Vec::new(),
            pool: Pool::with_capacity(storage, cap),
            motor: OutputId::from_index(0),
            direction: OutputId::from_index(0),
            dead_ms: 0,
        }
    }

    /// Bytes of storage it was given (up to [`MAX_STORAGE`]).
    pub fn capacity(&self) -> usize {
        self.pool.capacity()
    }

    /// Bytes of its storage the cycle takes: strings, component records and pattern steps.
    /// The phase table beside them is fixed ([`Cycle::PHASE_TABLE_BYTES`]).
    pub fn storage_used(&self) -> usize {
        self.pool.used()
    }

    /// Bytes of the phase table every cycle has, whatever it holds.
    pub const PHASE_TABLE_BYTES: usize = MAX_PHASES * core::mem::size_of::<Phase>();

    /// Makes this a copy of `other` in its own storage (a view for queries, a player's log):
    /// false, and empty, when `other` takes more bytes than this storage has.
    pub fn copy_from(&mut self, other: &Cycle<'_>) -> bool {
        self.clear();
        if !self.pool.copy_from(&other.pool) {
            return false;
        }
        self.phases = other.phases.clone();
        (self.motor, self.direction, self.dead_ms) = (other.motor, other.direction, other.dead_ms);
        true
    }

    /// Empties the cycle in place, keeping its storage.
    fn clear(&mut self) {
        self.phases.clear();
        self.pool.clear();
    }

    /// Reads and validates `src` into `self`, keeping its warnings in a [`Report`]. On error
    /// `self` is left empty: check the document first ([`Cycle::validate`]) so that a refused
    /// load changes nothing.
    pub fn parse(&mut self, src: &[u8], board: &Board) -> Result<Report, CycleError> {
        let mut report = Report::default();
        self.read(src, board, &mut report).map(|()| report)
    }

    /// [`Cycle::parse`], with the warnings handed to `warnings` as they are found (nothing of
    /// them is kept here). Reading the same document again gives the same cycle and the same
    /// warnings in the same order.
    pub fn read(
        &mut self,
        src: &[u8],
        board: &Board,
        warnings: &mut dyn Findings,
    ) -> Result<(), CycleError> {
        self.clear();
        self.motor = board.motor();
        self.direction = board.direction();
        self.dead_ms = board.reverse_dead_time_ms();
        let pool = self.pool.reborrow();
        let mut error = None;
        match run_parser(
            src,
            board,
            pool,
            Some(&mut self.phases),
            warnings,
            &mut error,
        ) {
            Some(filled) => {
                self.pool.set_fill(filled);
                Ok(())
            }
            None => {
                self.clear();
                Err(error.unwrap_or_else(CycleError::invalid_json))
            }
        }
    }

    /// Checks `src` as [`Cycle::read`] into `capacity` bytes of storage would, storing nothing:
    /// the same refusal, the same warnings. Returns the bytes of storage it would take. A load
    /// checks first, then stops the run and reads into the one cycle storage there is.
    pub fn validate(
        src: &[u8],
        board: &Board,
        capacity: usize,
        warnings: &mut dyn Findings,
    ) -> Result<usize, CycleError> {
        let pool = Pool::counting(capacity);
        let mut error = None;
        match run_parser(src, board, pool, None, warnings, &mut error) {
            Some(filled) => Ok(filled.used()),
            None => Err(error.unwrap_or_else(CycleError::invalid_json)),
        }
    }

    /// The phases, in document order: index `i` is `phases[i]`, as skip_to_phase counts.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// The components of `phase`, in document order: item `i` is its `components[i]`.
    pub fn phase_components(&self, phase: &Phase) -> Components<'_> {
        Components {
            pool: &self.pool,
            at: phase.first_component as usize,
            left: phase.components as usize,
        }
    }

    /// Component `i` of `phase` (`phases[..].components[i]`).
    pub fn component(&self, phase: &Phase, i: usize) -> Component {
        debug_assert!(i < phase.component_count());
        self.pool
            .component(phase.first_component as usize + i * COMPONENT_BYTES)
    }

    /// Step `i` of the cycle's step storage (an index from [`MotorConfig::step_range`]), with
    /// its pause as written.
    pub fn step(&self, i: usize) -> Step {
        self.pool.step(i)
    }

    /// The pause played after step `i` of the pattern `steps` (absolute indices): its
    /// `pauseTime`, or the board's reverse dead time when the next step (the first, after the
    /// last) turns the other way and its pause is shorter. So the Motor is OFF for at least the
    /// dead time at every reversal, however the pattern was written.
    pub fn pause_after(&self, steps: core::ops::Range<usize>, i: usize) -> u32 {
        let next = if i + 1 < steps.end {
            i + 1
        } else {
            steps.start
        };
        let (this, after) = (self.step(i), self.step(next));
        if this.direction != after.direction {
            this.pause_ms.max(self.dead_ms)
        } else {
            this.pause_ms
        }
    }

    /// The string `t` refers to in the cycle's text pool (an id, a label, a colour...).
    pub fn text(&self, t: TextRef) -> &str {
        self.pool.text(t)
    }

    /// The board outputs a motor pattern drives.
    pub fn motor_outputs(&self) -> (OutputId, OutputId) {
        (self.motor, self.direction)
    }

    /// Output changes of all the phases together: the summary's `events`.
    pub fn total_events(&self) -> u64 {
        self.phases.iter().map(|p| p.events).sum()
    }

    /// Sum of the phase durations, in ms.
    pub fn duration_ms(&self) -> u64 {
        self.phases.iter().map(|p| p.duration_ms as u64).sum()
    }

    /// How the phase shows to people (logs, the page, `tumble check`): its name, else its id,
    /// else "Unknown". Telemetry's `current_phase_name` keeps the original's id first.
    pub fn phase_label(&self, phase: &Phase) -> &str {
        [phase.name, phase.id]
            .into_iter()
            .map(|t| self.text(t))
            .find(|s| !s.is_empty())
            .unwrap_or("Unknown")
    }
}

/// One reading of `src` into `pool` (and `phases`, when storing): the filled level, or `None`
/// with the first refusal in `error` (the caller's space: no frame on the way out carries it).
fn run_parser(
    src: &[u8],
    board: &Board,
    pool: Pool<'_>,
    phases: Option<&mut heapless::Vec<Phase, MAX_PHASES>>,
    warnings: &mut dyn Findings,
    error: &mut Option<CycleError>,
) -> Option<Fill> {
    if let Err(e) = json::check_syntax(src) {
        *error = Some(CycleError::syntax(e, src));
        return None;
    }
    let mut p = Parser {
        r: Reader::new(src),
        path: Path::new(),
        board,
        pool,
        phases,
        phase_count: 0,
        comps: heapless::Vec::new(),
        warnings,
        error,
    };
    // On a refusal the parser has set `error`; a reader error after the syntax check cannot
    // happen (the caller says "invalid JSON" then).
    p.document().ok().map(|()| p.pool.fill())
}
