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
pub use self::write::Millis;

/// The same-instant group of an output change; within one instant the groups go out in this
/// order (every OFF, then the direction, then every ON), as one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    Off,
    Direction,
    On,
}

/// A JSON path such as `phases[2].components[0].duration`.
pub type Path = Bounded<MAX_PATH>;
pub type Message = Bounded<MAX_MESSAGE>;

/// Default sensor-trigger cooldown after the phase starts, as in the original firmware.
pub const DEFAULT_COOLDOWN_MS: u32 = 15_000;

/// Why a document was refused: where, what kind of fault, and why in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleError {
    /// Where, as a JSON path (`phases[2].components[0].duration`); empty when the document is
    /// not JSON at all.
    pub path: Path,
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
    pub path: Path,
    pub message: Message,
}

/// The warnings of an accepted document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub warnings: heapless::Vec<Warning, MAX_WARNINGS>,
    /// Warnings past [`MAX_WARNINGS`], counted but not kept.
    pub more_warnings: usize,
}

impl Report {
    fn warn(&mut self, path: &Path, args: fmt::Arguments<'_>) {
        let w = Warning {
            path: path.clone(),
            message: Message::from_fmt(args),
        };
        if self.warnings.push(w).is_err() {
            self.more_warnings += 1;
        }
    }
}

/// A string kept in the cycle's text pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextRef {
    start: u16,
    len: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensor {
    Rpm,
    Pressure,
}

impl Sensor {
    pub fn name(self) -> &'static str {
        match self {
            Sensor::Rpm => "RPM",
            Sensor::Pressure => "Pressure",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerMode {
    /// The condition ends the phase early; the phase still ends at its last event.
    EndEarly,
    /// The phase stays open after its last event until the condition holds, or faults after
    /// `timeout_ms` past the last event.
    Wait { timeout_ms: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    pub sensor: Sensor,
    pub threshold: u32,
    /// Fire when the reading is strictly above the threshold; else strictly below.
    pub above: bool,
    pub cooldown_ms: u32,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Cw,
    Ccw,
}

impl Direction {
    /// CW energises the direction output (level 0 on the active-low board), CCW is its OFF state.
    pub fn output_on(self) -> bool {
        self == Direction::Cw
    }

    pub fn name(self) -> &'static str {
        match self {
            Direction::Cw => "cw",
            Direction::Ccw => "ccw",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub step_ms: u32,
    pub pause_ms: u32,
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MotorConfig {
    first_step: u16,
    steps: u16,
    pub repeat: u32,
    pub running_style: TextRef,
}

impl MotorConfig {
    /// One pass of the pattern: Σ(stepTime + the pause played after it), in ms.
    pub fn period_ms(&self, cycle: &Cycle) -> u64 {
        self.step_range()
            .map(|i| cycle.step(i).step_ms as u64 + cycle.pause_after(self.step_range(), i) as u64)
            .sum()
    }

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    pub id: TextRef,
    pub label: TextRef,
    pub start_ms: u32,
    pub duration_ms: u32,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phase {
    pub id: TextRef,
    pub name: TextRef,
    pub color: TextRef,
    pub start_ms: u32,
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

    pub fn events(&self) -> u64 {
        self.events
    }

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

    /// Reads and validates `src` into `self`. On error `self` is left empty, so parse into
    /// spare storage and swap on success: the loaded cycle is never half-replaced.
    pub fn parse(&mut self, src: &[u8], board: &Board) -> Result<Report, CycleError> {
        self.clear();
        self.motor = board.motor();
        self.direction = board.direction();
        self.dead_ms = board.reverse_dead_time_ms();
        let mut report = Report::default();
        let result = json::check_syntax(src)
            .map_err(CycleError::from)
            .and_then(|()| {
                let mut p = Parser {
                    r: Reader::new(src),
                    path: Path::new(),
                    board,
                    cycle: self,
                    report: &mut report,
                };
                p.document()
            });
        match result {
            Ok(()) => Ok(report),
            Err(e) => {
                self.clear();
                Err(e)
            }
        }
    }

    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    pub fn phase_components(&self, phase: &Phase) -> &[Component] {
        &self.components[phase.component_range()]
    }

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

    pub fn text(&self, t: TextRef) -> &str {
        &self.text[t.start as usize..t.start as usize + t.len as usize]
    }

    /// The board outputs a motor pattern drives.
    pub fn motor_outputs(&self) -> (OutputId, OutputId) {
        (self.motor, self.direction)
    }

    pub fn total_events(&self) -> u64 {
        self.phases.iter().map(|p| p.events).sum()
    }

    /// Sum of the phase durations, in ms.
    pub fn duration_ms(&self) -> u64 {
        self.phases.iter().map(|p| p.duration_ms as u64).sum()
    }

    /// How the phase shows in logs and telemetry: its id, else its name, else "Unknown".
    pub fn phase_label(&self, phase: &Phase) -> &str {
        [phase.id, phase.name]
            .into_iter()
            .map(|t| self.text(t))
            .find(|s| !s.is_empty())
            .unwrap_or("Unknown")
    }
}
