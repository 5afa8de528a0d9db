//! The cycle document: reading it, validating it whole, and the fixed-capacity form it is kept in.
//!
//! A document is accepted whole or refused whole with the JSON path and the reason of its first
//! fault. What the original firmware accepted keeps its meaning (defaults, `startTime` as a leading
//! delay, motor expansion, case-insensitive keys); what it silently mangled (negative or fractional
//! times, unknown outputs, truncation at its limits) is refused. See docs/cycle-format.md.

use core::fmt::{self, Write};

use crate::board::{Board, OutputId};
use crate::json::{self, Kind, NotUnsigned, Reader, Str, SyntaxError};
use crate::limits::*;
use crate::text::Bounded;
mod interlock;

use self::interlock::Violation;

/// A JSON path such as `phases[2].components[0].duration`.
pub type Path = Bounded<MAX_PATH>;
pub type Message = Bounded<MAX_MESSAGE>;

/// Default sensor-trigger cooldown after the phase starts, as in the original firmware.
pub const DEFAULT_COOLDOWN_MS: u32 = 15_000;

/// Why a document was refused: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleError {
    /// Empty when the document is not JSON at all.
    pub path: Path,
    pub message: Message,
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

type Result<T, E = CycleError> = core::result::Result<T, E>;

struct Parser<'a, 'b> {
    r: Reader<'a>,
    path: Path,
    board: &'b Board,
    cycle: &'b mut Cycle,
    report: &'b mut Report,
}

/// How a number is described in "expected ..." messages.
const MS: &str = "a whole number of milliseconds >= 0";

/// A value as "got ..." shows it.
enum Got<'a> {
    Kind(Kind),
    Number(&'a str),
    Text(Str<'a>),
}

impl fmt::Display for Got<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Got::Kind(k) => f.write_str(k.noun()),
            Got::Number(n) => f.write_str(n),
            Got::Text(s) => write!(f, "the string {}", json::Quoted(s)),
        }
    }
}

impl<'a> Parser<'a, '_> {
    fn fail<T>(&self, args: fmt::Arguments<'_>) -> Result<T> {
        Err(CycleError {
            path: self.path.clone(),
            message: Message::from_fmt(args),
        })
    }

    fn warn(&mut self, args: fmt::Arguments<'_>) {
        self.report.warn(&self.path, args);
    }

    /// Appends `.key` to the path; returns the length to truncate back to.
    fn push_key(&mut self, key: impl fmt::Display) -> usize {
        let mark = self.path.len();
        if mark > 0 {
            let _ = self.path.write_char('.');
        }
        let _ = write!(self.path, "{key}");
        mark
    }

    fn push_index(&mut self, i: usize) -> usize {
        let mark = self.path.len();
        let _ = write!(self.path, "[{i}]");
        mark
    }

    /// What the next value is, for a "got ..." message; consumes it.
    fn got(&mut self) -> Result<Got<'a>> {
        Ok(match self.r.peek()? {
            Kind::Number => Got::Number(self.r.number()?.text()),
            Kind::String => Got::Text(self.r.string()?),
            other => Got::Kind(other),
        })
    }

    fn expected<T>(&mut self, what: &str) -> Result<T> {
        let got = self.got()?;
        self.fail(format_args!("expected {what}, got {got}"))
    }

    /// Walks an object's members. `fields` are the known keys; `read` gets the index of a
    /// known key whose value is not null (null means "absent", as it did in the original).
    /// Unknown keys, duplicates and differently-cased keys are accepted with a warning.
    fn members(
        &mut self,
        what: &str,
        fields: &[&'static str],
        mut read: impl FnMut(&mut Self, usize) -> Result<()>,
    ) -> Result<()> {
        if self.r.peek()? != Kind::Object {
            return self.expected(what);
        }
        let mut m = self.r.object()?;
        let mut seen = 0u32;
        while let Some(key) = self.r.next_key(&mut m)? {
            let known = fields.iter().position(|f| key.eq_ignore_ascii_case(f));
            let mark = match known {
                Some(i) => self.push_key(fields[i]),
                None => self.push_key(key),
            };
            match known {
                None => {
                    self.warn(format_args!("unknown key, ignored"));
                    self.r.skip_value()?;
                }
                Some(i) if seen & (1 << i) != 0 => {
                    self.warn(format_args!("duplicate key, ignored: the first one counts"));
                    self.r.skip_value()?;
                }
                Some(i) => {
                    seen |= 1 << i;
                    if !key.eq_exact(fields[i]) {
                        self.warn(format_args!("key written as {}", json::Quoted(key)));
                    }
                    if self.r.peek()? == Kind::Null {
                        self.r.null()?;
                    } else {
                        read(self, i)?;
                    }
                }
            }
            self.path.truncate(mark);
        }
        Ok(())
    }

    /// Walks an array's items, at most `max` of them (`too_many` says why when there are more).
    fn items(
        &mut self,
        max: usize,
        too_many: fmt::Arguments<'_>,
        mut read: impl FnMut(&mut Self, usize) -> Result<()>,
    ) -> Result<usize> {
        if self.r.peek()? != Kind::Array {
            return self.expected("an array");
        }
        let mut items = self.r.array()?;
        let mut n = 0;
        while self.r.next_item(&mut items)? {
            let mark = self.push_index(n);
            if n == max {
                return self.fail(too_many);
            }
            read(self, n)?;
            self.path.truncate(mark);
            n += 1;
        }
        Ok(n)
    }

    fn unsigned(&mut self, what: &str, min: u64, max: u64) -> Result<u64> {
        if self.r.peek()? != Kind::Number {
            return self.expected(what);
        }
        let n = self.r.number()?;
        match n.as_unsigned(max) {
            Ok(v) if v >= min => Ok(v),
            Ok(_) => self.fail(format_args!("expected {what}, got {}", n.text())),
            Err(why) => {
                let why = match why {
                    NotUnsigned::Negative => "negative",
                    NotUnsigned::Fractional => "not a whole number",
                    NotUnsigned::TooLarge => "larger than",
                };
                let limit = if why == "larger than" {
                    Bounded::<24>::from_fmt(format_args!(" {max}"))
                } else {
                    Bounded::new()
                };
                self.fail(format_args!(
                    "expected {what}, got {} ({why}{limit})",
                    n.text()
                ))
            }
        }
    }

    fn ms(&mut self) -> Result<u32> {
        Ok(self.unsigned(MS, 0, u32::MAX as u64)? as u32)
    }

    fn boolean(&mut self) -> Result<bool> {
        if self.r.peek()? != Kind::Bool {
            return self.expected("true or false");
        }
        Ok(self.r.boolean()?)
    }

    fn string(&mut self, what: &str) -> Result<Str<'a>> {
        if self.r.peek()? != Kind::String {
            return self.expected(what);
        }
        Ok(self.r.string()?)
    }

    /// A display string, kept in the text pool.
    fn text(&mut self) -> Result<TextRef> {
        let s = self.string("a string")?;
        let len = s.len_utf8();
        if len > MAX_TEXT {
            return self.fail(format_args!(
                "string of {len} bytes is longer than the limit of {MAX_TEXT}"
            ));
        }
        let pool = &mut self.cycle.text;
        let start = pool.len();
        if s.chars().try_for_each(|c| pool.push(c)).is_err() {
            return self.fail(format_args!(
                "the cycle's strings exceed {TEXT_POOL} bytes in all"
            ));
        }
        Ok(TextRef {
            start: start as u16,
            len: len as u8,
        })
    }

    fn document(&mut self) -> Result<()> {
        let mut has_phases = false;
        self.members("an object with a \"phases\" array", &["phases"], |p, _| {
            has_phases = true;
            p.items(
                MAX_PHASES,
                format_args!("too many phases: at most {MAX_PHASES}"),
                |p, _| p.phase(),
            )
            .map(drop)
        })?;
        if !has_phases {
            self.push_key("phases");
            return self.fail(format_args!("missing: a cycle needs a \"phases\" array"));
        }
        if self.cycle.phases.is_empty() {
            self.push_key("phases");
            self.warn(format_args!("no phases: there is nothing to run"));
        }
        Ok(())
    }

    fn phase(&mut self) -> Result<()> {
        let first_component = self.cycle.components.len() as u16;
        let mut phase = Phase {
            id: TextRef::default(),
            name: TextRef::default(),
            color: TextRef::default(),
            start_ms: 0,
            trigger: None,
            first_component,
            components: 0,
            duration_ms: 0,
            events: 0,
        };
        const FIELDS: &[&str] = &[
            "id",
            "name",
            "color",
            "startTime",
            "components",
            "sensorTrigger",
        ];
        self.members("a phase object", FIELDS, |p, field| {
            match field {
                0 => phase.id = p.text()?,
                1 => phase.name = p.text()?,
                2 => phase.color = p.text()?,
                3 => phase.start_ms = p.ms()?,
                4 => {
                    let n = p.items(
                        MAX_COMPONENTS_PER_PHASE,
                        format_args!(
                            "too many components in one phase: at most {MAX_COMPONENTS_PER_PHASE}"
                        ),
                        |p, _| p.component(),
                    )?;
                    phase.components = n as u8;
                }
                _ => phase.trigger = Some(p.trigger()?),
            }
            Ok(())
        })?;
        self.finish_phase(&mut phase)?;
        // Capacity: MAX_PHASES is enforced by `items`.
        let _ = self.cycle.phases.push(phase);
        Ok(())
    }

    fn component(&mut self) -> Result<()> {
        let mut c = Component {
            id: TextRef::default(),
            label: TextRef::default(),
            start_ms: 0,
            duration_ms: 0,
            drive: Drive::Output(self.board.motor()),
            last_event_ms: None,
        };
        let mut comp_id: Option<Str<'a>> = None;
        let mut motor = None;
        const FIELDS: &[&str] = &["id", "label", "compId", "start", "duration", "motorConfig"];
        self.members("a component object", FIELDS, |p, field| {
            match field {
                0 => c.id = p.text()?,
                1 => c.label = p.text()?,
                2 => comp_id = Some(p.string("a string")?),
                3 => c.start_ms = p.ms()?,
                4 => c.duration_ms = p.ms()?,
                _ => motor = Some(p.motor_config()?),
            }
            Ok(())
        })?;
        let output = comp_id.map(|s| {
            let mut name = heapless::String::<MAX_TEXT>::new();
            let fits = s.chars().try_for_each(|ch| name.push(ch)).is_ok();
            (fits.then(|| self.board.find(&name)).flatten(), s)
        });
        c.drive = match (motor, output) {
            (Some(m), found) => {
                if found.is_some_and(|(id, _)| id != Some(self.board.motor())) {
                    let mark = self.push_key("compId");
                    self.warn(format_args!(
                        "ignored: a motorConfig always drives {} and {}",
                        crate::board::MOTOR,
                        crate::board::MOTOR_DIRECTION
                    ));
                    self.path.truncate(mark);
                }
                Drive::Motor(m)
            }
            (None, Some((Some(id), _))) => Drive::Output(id),
            (None, Some((None, name))) => {
                self.push_key("compId");
                return self.fail(format_args!(
                    "unknown output {} (known: {})",
                    json::Quoted(name),
                    self.board.names()
                ));
            }
            (None, None) => {
                self.push_key("compId");
                return self.fail(format_args!(
                    "missing: a component without a motorConfig needs the output it switches (known: {})",
                    self.board.names()
                ));
            }
        };
        // Capacity: MAX_COMPONENTS = MAX_PHASES * MAX_COMPONENTS_PER_PHASE, both enforced.
        let _ = self.cycle.components.push(c);
        Ok(())
    }

    fn motor_config(&mut self) -> Result<MotorConfig> {
        let mut m = MotorConfig {
            first_step: self.cycle.step_times.len() as u16,
            steps: 0,
            repeat: 1,
            running_style: TextRef::default(),
        };
        let mut has_pattern = false;
        const FIELDS: &[&str] = &["repeatTimes", "pattern", "runningStyle"];
        self.members("a motorConfig object", FIELDS, |p, field| {
            match field {
                0 => m.repeat = p.unsigned("a whole number >= 1", 1, u32::MAX as u64)? as u32,
                1 => {
                    has_pattern = true;
                    let first = m.first_step as usize;
                    let room = MAX_STEPS - first;
                    let n = p.items(
                        room,
                        format_args!(
                            "too many pattern steps: a cycle holds at most {MAX_STEPS} in all"
                        ),
                        |p, i| p.step(first + i),
                    )?;
                    if n == 0 {
                        return p.fail(format_args!(
                            "empty pattern: a motor needs at least one step"
                        ));
                    }
                    m.steps = n as u16;
                }
                _ => m.running_style = p.text()?,
            }
            Ok(())
        })?;
        if !has_pattern {
            self.push_key("pattern");
            return self.fail(format_args!(
                "missing: a motorConfig needs a pattern of at least one step"
            ));
        }
        Ok(m)
    }

    fn step(&mut self, index: usize) -> Result<()> {
        let (mut step_ms, mut pause_ms, mut dir) = (1000, 0, Direction::Cw);
        const FIELDS: &[&str] = &["stepTime", "pauseTime", "direction"];
        self.members("a pattern step object", FIELDS, |p, field| {
            match field {
                0 => {
                    step_ms =
                        p.unsigned("a whole number of milliseconds >= 1", 1, u32::MAX as u64)?
                            as u32
                }
                1 => pause_ms = p.ms()?,
                _ => {
                    let s = p.string("\"cw\" or \"ccw\"")?;
                    dir = if s.eq_ignore_ascii_case("cw") {
                        Direction::Cw
                    } else if s.eq_ignore_ascii_case("ccw") {
                        Direction::Ccw
                    } else {
                        return p.fail(format_args!(
                            "unknown direction {} (known: cw, ccw)",
                            json::Quoted(s)
                        ));
                    };
                }
            }
            Ok(())
        })?;
        // Capacity: `items` stops at MAX_STEPS.
        let _ = self.cycle.step_times.push((step_ms, pause_ms));
        if dir == Direction::Ccw {
            self.cycle.ccw[index / 32] |= 1 << (index % 32);
        }
        Ok(())
    }

    fn trigger(&mut self) -> Result<Trigger> {
        let mut t = Trigger {
            sensor: Sensor::Rpm,
            threshold: 0,
            above: true,
            cooldown_ms: DEFAULT_COOLDOWN_MS,
            mode: TriggerMode::EndEarly,
            pin_number: None,
        };
        let mut wait = false;
        let mut timeout = None;
        const FIELDS: &[&str] = &[
            "type",
            "threshold",
            "triggerAbove",
            "cooldownMs",
            "mode",
            "timeoutMs",
            "pinNumber",
        ];
        self.members("a sensorTrigger object", FIELDS, |p, field| {
            match field {
                0 => {
                    let s = p.string("\"RPM\" or \"Pressure\"")?;
                    t.sensor = if s.eq_ignore_ascii_case("rpm") {
                        Sensor::Rpm
                    } else if s.eq_ignore_ascii_case("pressure") {
                        Sensor::Pressure
                    } else {
                        return p.fail(format_args!(
                            "unknown sensor type {} (known: RPM, Pressure)",
                            json::Quoted(s)
                        ));
                    };
                }
                1 => t.threshold = p.threshold()?,
                2 => t.above = p.boolean()?,
                3 => t.cooldown_ms = p.ms()?,
                4 => {
                    let s = p.string("\"end\" or \"wait\"")?;
                    wait = if s.eq_ignore_ascii_case("wait") {
                        true
                    } else if s.eq_ignore_ascii_case("end") {
                        false
                    } else {
                        return p.fail(format_args!(
                            "unknown mode {} (known: end, wait)",
                            json::Quoted(s)
                        ));
                    };
                }
                5 => timeout = Some((p.ms()?, p.path.clone())),
                _ => {
                    t.pin_number =
                        Some(p.unsigned("a whole number >= 0", 0, u32::MAX as u64)? as u32)
                }
            }
            Ok(())
        })?;
        match (wait, timeout) {
            (true, Some((timeout_ms, _))) => t.mode = TriggerMode::Wait { timeout_ms },
            (true, None) => {
                self.push_key("timeoutMs");
                return self.fail(format_args!(
                    "missing: \"mode\": \"wait\" needs a timeout in milliseconds"
                ));
            }
            (false, Some((_, path))) => self.report.warn(
                &path,
                format_args!("ignored: a timeout applies only with \"mode\": \"wait\""),
            ),
            (false, None) => {}
        }
        Ok(t)
    }

    /// Sensor units, not time: a fraction is truncated as the original did, with a warning.
    fn threshold(&mut self) -> Result<u32> {
        if self.r.peek()? != Kind::Number {
            return self.expected("a number >= 0");
        }
        let n = self.r.number()?;
        match n.truncated(u32::MAX as u64) {
            Ok((v, false)) => Ok(v as u32),
            Ok((v, true)) => {
                self.warn(format_args!(
                    "{} is compared as {v}: readings and thresholds are whole numbers",
                    n.text()
                ));
                Ok(v as u32)
            }
            Err(NotUnsigned::Negative) => self.fail(format_args!(
                "expected a number >= 0, got {} (negative)",
                n.text()
            )),
            Err(_) => self.fail(format_args!(
                "expected a number >= 0, got {} (larger than {})",
                n.text(),
                u32::MAX
            )),
        }
    }

    /// Whole-phase checks once every key is read: event times, counts, duration, warnings.
    fn finish_phase(&mut self, phase: &mut Phase) -> Result<()> {
        let range = phase.component_range();
        let mut last: Option<u32> = None;
        for ci in range.clone() {
            let c = self.cycle.components[ci];
            let mark = self.path.len();
            let _ = write!(self.path, ".components[{}]", ci - range.start);
            let end = self.component_events(phase.start_ms, &c)?;
            self.cycle.components[ci].last_event_ms = end;
            last = last.max(end);
            self.path.truncate(mark);
        }
        phase.events = self.cycle.components[range.clone()]
            .iter()
            .map(Component::events)
            .sum();
        phase.duration_ms = last.unwrap_or(phase.start_ms);
        if phase.events == 0 {
            self.warn(format_args!(
                "no events: the phase is a pure wait of {} ms",
                phase.duration_ms
            ));
        }
        self.warn_overlaps(phase);
        self.check_interlock(phase)
    }

    /// Checks one component's event times and returns its last event's offset in the phase.
    fn component_events(&mut self, phase_start: u32, c: &Component) -> Result<Option<u32>> {
        let base = phase_start as u64 + c.start_ms as u64;
        match c.drive {
            Drive::Output(_) => {
                if c.duration_ms == 0 {
                    let mark = self.push_key("duration");
                    self.warn(format_args!("0 ms: this component switches nothing"));
                    self.path.truncate(mark);
                    return Ok(None);
                }
                if base > u32::MAX as u64 {
                    self.push_key("start");
                    return self.past_the_end(Some(base));
                }
                let off = base + c.duration_ms as u64;
                if off > u32::MAX as u64 {
                    self.push_key("duration");
                    return self.past_the_end(Some(off));
                }
                Ok(Some(off as u32))
            }
            Drive::Motor(m) => {
                let period = m.period_ms(self.cycle);
                let last = m.step_range().end - 1;
                let last_pause = self.cycle.pause_after(m.step_range(), last) as u64;
                let run = (m.repeat as u64 - 1)
                    .checked_mul(period)
                    .and_then(|r| r.checked_add(period - last_pause));
                let last = run.and_then(|r| r.checked_add(base));
                match last {
                    Some(t) if t <= u32::MAX as u64 => {
                        self.warn_pattern(c, m, run.unwrap_or(0));
                        Ok(Some(t as u32))
                    }
                    _ => {
                        self.push_key("motorConfig");
                        self.push_key("repeatTimes");
                        self.past_the_end(last)
                    }
                }
            }
        }
    }

    /// `at_ms` is None when the time does not even fit in 64 bits.
    fn past_the_end<T>(&self, at_ms: Option<u64>) -> Result<T> {
        let limit = u32::MAX;
        match at_ms {
            Some(t) => self.fail(format_args!(
                "an event falls at {t} ms from the phase start, past the limit of {limit} ms (49.7 days)"
            )),
            None => self.fail(format_args!(
                "events run past 2^64 ms from the phase start; the limit is {limit} ms (49.7 days)"
            )),
        }
    }

    /// Motor warnings: a reversal with no pause before it; a pattern longer than `duration`.
    fn warn_pattern(&mut self, c: &Component, m: MotorConfig, run_ms: u64) {
        let steps = m.step_range();
        let wraps = m.repeat > 1;
        for i in steps.clone() {
            let next = if i + 1 < steps.end {
                i + 1
            } else if wraps {
                steps.start
            } else {
                break;
            };
            let (a, b) = (self.cycle.step(i), self.cycle.step(next));
            let dead = self.board.reverse_dead_time_ms();
            if a.direction != b.direction && (a.pause_ms == 0 || a.pause_ms < dead) {
                let mark = self.path.len();
                let _ = write!(
                    self.path,
                    ".motorConfig.pattern[{}].pauseTime",
                    i - steps.start
                );
                let (from, to) = (a.direction.name(), b.direction.name());
                if a.pause_ms < dead {
                    self.warn(format_args!(
                        "{} ms before the motor reverses from {from} to {to}: played as {dead} ms, this board's reverse dead time",
                        a.pause_ms
                    ));
                } else {
                    self.warn(format_args!(
                        "0 ms before the motor reverses from {from} to {to}"
                    ));
                }
                self.path.truncate(mark);
            }
        }
        if c.duration_ms > 0 && run_ms > c.duration_ms as u64 {
            let mark = self.push_key("duration");
            self.warn(format_args!(
                "the motor pattern runs for {run_ms} ms, past this duration of {} ms",
                c.duration_ms
            ));
            self.path.truncate(mark);
        }
    }

    /// Warns when two components of a phase hold the same output ON at the same time.
    fn warn_overlaps(&mut self, phase: &Phase) {
        let range = phase.component_range();
        let (motor, dir) = (self.board.motor(), self.board.direction());
        let span = |c: &Component| -> Option<(u64, u64)> {
            let start = phase.start_ms as u64 + c.start_ms as u64;
            Some((start, c.last_event_ms? as u64))
        };
        let drives = |c: &Component, out: OutputId| match c.drive {
            Drive::Output(o) => o == out,
            Drive::Motor(_) => out == motor || out == dir,
        };
        for j in range.clone() {
            for i in range.start..j {
                let (a, b) = (self.cycle.components[i], self.cycle.components[j]);
                let (Some((a0, a1)), Some((b0, b1))) = (span(&a), span(&b)) else {
                    continue;
                };
                let shared = self
                    .board
                    .outputs()
                    .find(|&(o, _)| drives(&a, o) && drives(&b, o));
                let Some((_, def)) = shared else { continue };
                if a0 < b1 && b0 < a1 {
                    let mark = self.path.len();
                    let _ = write!(self.path, ".components[{}]", j - range.start);
                    self.warn(format_args!(
                        "{} is also driven by components[{}] from {} to {} ms",
                        def.name,
                        i - range.start,
                        a0.max(b0),
                        a1.min(b1)
                    ));
                    self.path.truncate(mark);
                }
            }
        }
    }

    /// Refuses a phase that breaks the motor interlock (see `interlock`), with the path of the
    /// component (and pattern step) at fault.
    fn check_interlock(&mut self, phase: &Phase) -> Result<()> {
        let Err(v) = interlock::check(self.cycle, phase, self.board) else {
            return Ok(());
        };
        let (motor, dir) = (crate::board::MOTOR, crate::board::MOTOR_DIRECTION);
        match v {
            Violation::Overlap {
                component,
                span_ms,
                pattern,
                pattern_span_ms,
            } => {
                let _ = write!(self.path, ".components[{component}]");
                let what = match self.cycle.phase_components(phase)[component].drive {
                    Drive::Motor(_) => "its motor pattern",
                    Drive::Output(o) if o == self.board.motor() => motor,
                    Drive::Output(_) => dir,
                };
                self.fail(format_args!(
                    "{what} runs from {} to {} ms, during the motor pattern of components[{pattern}] ({} to {} ms): a motor pattern alone drives {motor} and {dir} while it runs",
                    span_ms.0, span_ms.1, pattern_span_ms.0, pattern_span_ms.1
                ))
            }
            Violation::Reversal {
                component,
                step,
                at_us,
                off_for_us,
            } => {
                let _ = write!(self.path, ".components[{component}]");
                if let Some(step) = step {
                    let _ = write!(self.path, ".motorConfig.pattern[{step}]");
                }
                match off_for_us {
                    None => self.fail(format_args!(
                        "changes {dir} at {} ms while {motor} is ON (interlock)",
                        Millis(at_us)
                    )),
                    Some(off) => self.fail(format_args!(
                        "reverses the motor at {} ms, {} ms after {motor} went OFF; this board requires a reverse dead time of {} ms",
                        Millis(at_us),
                        Millis(off),
                        self.board.reverse_dead_time_ms()
                    )),
                }
            }
        }
    }
}

/// Microseconds shown as milliseconds, with a fraction only when there is one.
pub struct Millis(pub u64);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ms, us) = (self.0 / 1000, self.0 % 1000);
        if us == 0 {
            write!(f, "{ms}")
        } else {
            write!(f, "{ms}.{us:03}")
        }
    }
}

impl Cycle {
    /// Writes the cycle as a canonical document that reads back to the same cycle: every key
    /// spelled out, outputs by their board name, UI-only keys kept.
    pub fn write_json(&self, board: &Board, w: &mut impl Write) -> fmt::Result {
        w.write_str("{\"phases\":[")?;
        for (i, p) in self.phases.iter().enumerate() {
            if i > 0 {
                w.write_char(',')?;
            }
            self.write_phase(p, board, w)?;
        }
        w.write_str("]}")
    }

    fn write_text(&self, w: &mut impl Write, key: &str, t: TextRef) -> fmt::Result {
        write!(w, "\"{key}\":")?;
        json::write_str(w, self.text(t))
    }

    fn write_phase(&self, p: &Phase, board: &Board, w: &mut impl Write) -> fmt::Result {
        w.write_char('{')?;
        self.write_text(w, "id", p.id)?;
        w.write_char(',')?;
        self.write_text(w, "name", p.name)?;
        w.write_char(',')?;
        self.write_text(w, "color", p.color)?;
        write!(w, ",\"startTime\":{},\"components\":[", p.start_ms)?;
        for (i, c) in self.phase_components(p).iter().enumerate() {
            if i > 0 {
                w.write_char(',')?;
            }
            w.write_char('{')?;
            self.write_text(w, "id", c.id)?;
            w.write_char(',')?;
            self.write_text(w, "label", c.label)?;
            let output = match c.drive {
                Drive::Output(o) => o,
                Drive::Motor(_) => board.motor(),
            };
            w.write_str(",\"compId\":")?;
            json::write_str(w, &board.output(output).name)?;
            write!(
                w,
                ",\"start\":{},\"duration\":{}",
                c.start_ms, c.duration_ms
            )?;
            if let Drive::Motor(m) = c.drive {
                write!(w, ",\"motorConfig\":{{\"repeatTimes\":{},", m.repeat)?;
                self.write_text(w, "runningStyle", m.running_style)?;
                w.write_str(",\"pattern\":[")?;
                for (k, i) in m.step_range().enumerate() {
                    let s = self.step(i);
                    if k > 0 {
                        w.write_char(',')?;
                    }
                    write!(
                        w,
                        "{{\"stepTime\":{},\"pauseTime\":{},\"direction\":\"{}\"}}",
                        s.step_ms,
                        s.pause_ms,
                        s.direction.name()
                    )?;
                }
                w.write_str("]}")?;
            }
            w.write_char('}')?;
        }
        w.write_char(']')?;
        if let Some(t) = p.trigger {
            write!(
                w,
                ",\"sensorTrigger\":{{\"type\":\"{}\",\"threshold\":{},\"triggerAbove\":{},\"cooldownMs\":{}",
                t.sensor.name(),
                t.threshold,
                t.above,
                t.cooldown_ms
            )?;
            match t.mode {
                TriggerMode::EndEarly => w.write_str(",\"mode\":\"end\"")?,
                TriggerMode::Wait { timeout_ms } => {
                    write!(w, ",\"mode\":\"wait\",\"timeoutMs\":{timeout_ms}")?
                }
            }
            if let Some(pin) = t.pin_number {
                write!(w, ",\"pinNumber\":{pin}")?;
            }
            w.write_char('}')?;
        }
        w.write_char('}')
    }

    /// The summary fields `tumble check --json` and the protocol's validate_cycle share, without
    /// the enclosing braces: `"phases":[...],"events":N,"duration_ms":D,"warnings":[...]`.
    pub fn write_summary(&self, report: &Report, w: &mut impl Write) -> fmt::Result {
        w.write_str("\"phases\":[")?;
        for (i, p) in self.phases.iter().enumerate() {
            if i > 0 {
                w.write_char(',')?;
            }
            write!(w, "{{\"index\":{i},\"id\":")?;
            json::write_str(w, self.text(p.id))?;
            write!(
                w,
                ",\"events\":{},\"duration_ms\":{}}}",
                p.events, p.duration_ms
            )?;
        }
        write!(
            w,
            "],\"events\":{},\"duration_ms\":{},\"warnings\":[",
            self.total_events(),
            self.duration_ms()
        )?;
        for (i, warning) in report.warnings.iter().enumerate() {
            if i > 0 {
                w.write_char(',')?;
            }
            write_path_message(w, warning.path.as_str(), warning.message.as_str())?;
        }
        w.write_char(']')?;
        // Only when some were not kept: the usual summary has exactly the documented keys.
        if report.more_warnings > 0 {
            write!(w, ",\"more_warnings\":{}", report.more_warnings)?;
        }
        Ok(())
    }
}

impl CycleError {
    /// `{"path":"...","message":"..."}`.
    pub fn write_json(&self, w: &mut impl Write) -> fmt::Result {
        write_path_message(w, self.path.as_str(), self.message.as_str())
    }
}

fn write_path_message(w: &mut impl Write, path: &str, message: &str) -> fmt::Result {
    w.write_str("{\"path\":")?;
    json::write_str(w, path)?;
    w.write_str(",\"message\":")?;
    json::write_str(w, message)?;
    w.write_char('}')
}
