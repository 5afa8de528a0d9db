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
mod write;

use self::parse::Parser;
pub use self::write::{Millis, WarningsJson, write_more_warnings};

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
    /// More than the controller holds: phases, components, steps, text, or events past the
    /// 49.7-day limit of a phase.
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

/// Where a parse puts the warnings of the document it reads, as it finds them: a [`Report`]
/// keeps them, a [`WarningCount`] only counts them, a platform may write them straight into a
/// reply. So the parser itself holds no list of them (it runs in a few KB of stack).
pub trait Warnings {
    /// One warning, at `path` (`phases[0].components[1].duration`).
    fn warn(&mut self, path: &str, message: fmt::Arguments<'_>);
}

impl Report {
    /// Every warning, kept or only counted.
    pub fn count(&self) -> usize {
        self.warnings.len() + self.more_warnings
    }
}

impl Warnings for Report {
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

impl Warnings for WarningCount {
    fn warn(&mut self, _path: &str, _message: fmt::Arguments<'_>) {
        self.0 += 1;
    }
}

/// A string kept in the cycle's text pool.
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

/// A component's `motorConfig`: a pattern of steps, kept in the cycle's step pool, played over
/// and over on Motor and Motor Direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MotorConfig {
    first_step: u16,
    steps: u16,
    /// Passes of the whole pattern that are played (`repeatTimes`, at least 1).
    pub repeat: u32,
    /// The UI's `runningStyle` ("Toggle Direction", ...): kept for display, it changes nothing
    /// that is played.
    pub running_style: TextRef,
}

impl MotorConfig {
    /// One pass of the pattern: Σ(stepTime + the pause played after it), in ms.
    pub fn period_ms(&self, cycle: &Cycle) -> u64 {
        self.step_range()
            .map(|i| cycle.step(i).step_ms as u64 + cycle.pause_after(self.step_range(), i) as u64)
            .sum()
    }

    /// Where the pattern's steps are in the cycle's step pool: indices for [`Cycle::step`].
    pub fn step_range(&self) -> core::ops::Range<usize> {
        self.first_step as usize..self.first_step as usize + self.steps as usize
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

    /// Where its components are in the cycle's component storage; read them with
    /// [`Cycle::phase_components`].
    pub fn component_range(&self) -> core::ops::Range<usize> {
        self.first_component as usize..self.first_component as usize + self.components as usize
    }
}

/// A validated cycle in fixed-capacity storage. Its size does not depend on the number of events.
#[derive(Clone)]
pub struct Cycle {
    phases: heapless::Vec<Phase, MAX_PHASES>,
    components: heapless::Vec<Component, MAX_COMPONENTS>,
    step_times: heapless::Vec<(u32, u32), MAX_STEPS>,
    ccw: [u32; MAX_STEPS / 32],
    text: heapless::String<TEXT_POOL>,
    motor: OutputId,
    direction: OutputId,
    /// The board's reverse dead time: the shortest pause a reversal is played with.
    dead_ms: u32,
}

impl Default for Cycle {
    fn default() -> Self {
        Self::new()
    }
}

impl Cycle {
    /// An empty cycle (no phases): storage to parse into.
    pub const fn new() -> Self {
        // An empty cycle has no motor events: which outputs they would drive does not matter
        // until `parse` sets them from the board.
        Cycle {
            phases: heapless::Vec::new(),
            components: heapless::Vec::new(),
            step_times: heapless::Vec::new(),
            ccw: [0; MAX_STEPS / 32],
            text: heapless::String::new(),
            motor: OutputId::from_index(0),
            direction: OutputId::from_index(0),
            dead_ms: 0,
        }
    }

    /// Empties the cycle in place (a `Cycle` is 64 KB: no temporary on the stack).
    fn clear(&mut self) {
        self.phases.clear();
        self.components.clear();
        self.step_times.clear();
        self.ccw = [0; MAX_STEPS / 32];
        self.text.clear();
    }

    /// Reads and validates `src` into `self`, keeping its warnings in a [`Report`]. On error
    /// `self` is left empty, so parse into spare storage and swap on success: the loaded cycle
    /// is never half-replaced.
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
        warnings: &mut dyn Warnings,
    ) -> Result<(), CycleError> {
        self.clear();
        self.motor = board.motor();
        self.direction = board.direction();
        self.dead_ms = board.reverse_dead_time_ms();
        if let Err(e) = json::check_syntax(src) {
            return Err(CycleError::syntax(e, src));
        }
        let mut p = Parser {
            r: Reader::new(src),
            path: Path::new(),
            board,
            cycle: self,
            warnings,
            error: None,
        };
        match p.document() {
            Ok(()) => Ok(()),
            Err(parse::Failed) => {
                // Set where it failed; a reader error after the syntax check cannot happen.
                let e = p.error.take().unwrap_or_else(|| CycleError {
                    path: p.path.clone(),
                    kind: ErrorKind::Syntax,
                    message: Message::from_fmt(format_args!("invalid JSON")),
                });
                self.clear();
                Err(e)
            }
        }
    }

    /// The phases, in document order: index `i` is `phases[i]`, as skip_to_phase counts.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// The components of `phase`, in document order: index `i` is its `components[i]`.
    pub fn phase_components(&self, phase: &Phase) -> &[Component] {
        &self.components[phase.component_range()]
    }

    /// Step `i` of the cycle's step pool (an index from [`MotorConfig::step_range`]), with its
    /// pause as written.
    pub fn step(&self, i: usize) -> Step {
        let (step_ms, pause_ms) = self.step_times[i];
        let ccw = self.ccw[i / 32] & (1 << (i % 32)) != 0;
        Step {
            step_ms,
            pause_ms,
            direction: if ccw { Direction::Ccw } else { Direction::Cw },
        }
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
        &self.text[t.start as usize..t.start as usize + t.len as usize]
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
