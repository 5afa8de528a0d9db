//! Reading a document into a [`Cycle`], key by key, with the JSON path of every refusal.

use core::fmt::{self, Write};

use super::*;
use crate::json::{Kind, NotUnsigned, Str};

/// The parser's own result: the error itself waits in [`Parser::error`], so that no frame on
/// the way out carries it (a `CycleError` is 420 bytes, and the parser is a dozen calls deep).
pub(super) type Result<T> = core::result::Result<T, Failed>;

/// A refusal; what and where is in [`Parser::error`].
#[derive(Debug)]
pub(super) struct Failed;

impl From<SyntaxError> for Failed {
    fn from(_: SyntaxError) -> Self {
        // The document passed the syntax check before it is read: the reader cannot fail.
        Failed
    }
}

pub(super) struct Parser<'a, 'b> {
    pub(super) r: Reader<'a>,
    pub(super) path: Path,
    pub(super) board: &'b Board,
    /// Where strings, component records and steps go (or are only counted).
    pub(super) pool: Pool<'b>,
    /// Where phases go; None when only checking.
    pub(super) phases: Option<&'b mut heapless::Vec<Phase, MAX_PHASES>>,
    pub(super) phase_count: usize,
    /// The components of the phase being read: its checks read them here, and they go into the
    /// pool together once it passes, so a check that stores nothing checks the same.
    pub(super) comps: heapless::Vec<Component, MAX_COMPONENTS_PER_PHASE>,
    pub(super) warnings: &'b mut dyn Findings,
    /// Why it failed, once it has.
    pub(super) error: &'b mut Option<CycleError>,
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
    pub(super) fn fail<T>(&mut self, args: fmt::Arguments<'_>) -> Result<T> {
        self.fail_as(ErrorKind::Invalid, args)
    }

    pub(super) fn fail_as<T>(&mut self, kind: ErrorKind, args: fmt::Arguments<'_>) -> Result<T> {
        *self.error = Some(CycleError {
            path: self.path.clone(),
            kind,
            message: Message::from_fmt(args),
        });
        Err(Failed)
    }

    /// The cycle's storage is full, at the current path.
    fn full<T>(&mut self) -> Result<T> {
        let cap = self.pool.capacity();
        self.fail_as(
            ErrorKind::Capacity,
            format_args!(
                "the cycle takes more than the {cap} bytes of storage this controller keeps for it"
            ),
        )
    }

    pub(super) fn warn(&mut self, args: fmt::Arguments<'_>) {
        self.warnings.warn(self.path.as_str(), args);
    }

    /// Appends `.key` to the path; returns the length to truncate back to.
    pub(super) fn push_key(&mut self, key: impl fmt::Display) -> usize {
        let mark = self.path.len();
        if mark > 0 {
            let _ = self.path.write_char('.');
        }
        let _ = write!(self.path, "{key}");
        mark
    }

    pub(super) fn push_index(&mut self, i: usize) -> usize {
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
    /// A key one or two edits from a known one is refused (`did you mean`); other unknown keys,
    /// duplicates and differently-cased keys are accepted with a warning.
    fn members<F: Copy>(
        &mut self,
        what: &str,
        fields: &[(&'static str, F)],
        mut read: impl FnMut(&mut Self, F) -> Result<()>,
    ) -> Result<()> {
        if self.r.peek()? != Kind::Object {
            return self.expected(what);
        }
        let mut m = self.r.object()?;
        let mut seen = 0u32;
        while let Some(key) = self.r.next_key(&mut m)? {
            let known = fields.iter().position(|(f, _)| key.eq_ignore_ascii_case(f));
            let mark = match known {
                Some(i) => self.push_key(fields[i].0),
                None => self.push_key(key),
            };
            match known {
                None => {
                    // A near miss of a key that belongs here changes what the cycle does
                    // (`durtion` makes a component switch nothing): refused. Anything else
                    // (a field a front end adds for itself) is ignored with a warning.
                    if let Some(meant) = near_miss(&key, fields) {
                        return self.fail(format_args!(
                            "unknown key {}: did you mean \"{meant}\"?",
                            json::Quoted(key)
                        ));
                    }
                    self.warn(format_args!("unknown key, ignored"));
                    self.r.skip_value()?;
                }
                Some(i) if seen & (1 << i) != 0 => {
                    self.warn(format_args!("duplicate key, ignored: the first one counts"));
                    self.r.skip_value()?;
                }
                Some(i) => {
                    seen |= 1 << i;
                    if !key.eq_exact(fields[i].0) {
                        self.warn(format_args!("key written as {}", json::Quoted(key)));
                    }
                    if self.r.peek()? == Kind::Null {
                        self.r.null()?;
                    } else {
                        read(self, fields[i].1)?;
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
                return self.fail_as(ErrorKind::Capacity, too_many);
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
                self.fail_as(
                    ErrorKind::Range,
                    format_args!("expected {what}, got {} ({why}{limit})", n.text()),
                )
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

    /// A display string, kept in the cycle's storage.
    fn text(&mut self) -> Result<TextRef> {
        self.text_kept(None)
    }

    /// [`Parser::text`], copied into `copy` too (the phase id a summary names, which a check
    /// that stores nothing has nowhere else).
    fn text_kept(&mut self, copy: Option<&mut heapless::String<MAX_TEXT>>) -> Result<TextRef> {
        let s = self.string("a string")?;
        let len = s.len_utf8();
        if len > MAX_TEXT {
            return self.fail_as(
                ErrorKind::Capacity,
                format_args!("string of {len} bytes is longer than the limit of {MAX_TEXT}"),
            );
        }
        if let Some(copy) = copy {
            copy.clear();
            // At most MAX_TEXT bytes: it fits.
            let _ = s.chars().try_for_each(|c| copy.push(c));
        }
        let bytes = s.chars().flat_map(|c| {
            let mut b = [0u8; 4];
            let n = c.encode_utf8(&mut b).len();
            b.into_iter().take(n)
        });
        let Ok(start) = self.pool.push_front(bytes) else {
            return self.full();
        };
        Ok(TextRef {
            start,
            len: len as u8,
        })
    }

    pub(super) fn document(&mut self) -> Result<()> {
        let mut has_phases = false;
        const FIELDS: &[(&str, ())] = &[("phases", ())];
        self.members("an object with a \"phases\" array", FIELDS, |p, ()| {
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
        if self.phase_count == 0 {
            self.push_key("phases");
            self.warn(format_args!("no phases: there is nothing to run"));
        }
        Ok(())
    }

    fn phase(&mut self) -> Result<()> {
        self.comps.clear();
        let mut id = heapless::String::<MAX_TEXT>::new();
        let mut phase = Phase {
            id: TextRef::default(),
            name: TextRef::default(),
            color: TextRef::default(),
            start_ms: 0,
            trigger: None,
            first_component: 0,
            components: 0,
            duration_ms: 0,
            events: 0,
        };
        use PhaseKey as K;
        const FIELDS: &[(&str, PhaseKey)] = &[
            ("id", K::Id),
            ("name", K::Name),
            ("color", K::Color),
            ("startTime", K::StartTime),
            ("components", K::Components),
            ("sensorTrigger", K::SensorTrigger),
        ];
        self.members("a phase object", FIELDS, |p, field| {
            match field {
                K::Id => phase.id = p.text_kept(Some(&mut id))?,
                K::Name => phase.name = p.text()?,
                K::Color => phase.color = p.text()?,
                K::StartTime => phase.start_ms = p.ms()?,
                K::Components => {
                    let n = p.items(
                        MAX_COMPONENTS_PER_PHASE,
                        format_args!(
                            "too many components in one phase: at most {MAX_COMPONENTS_PER_PHASE}"
                        ),
                        |p, _| p.component(),
                    )?;
                    phase.components = n as u8;
                }
                K::SensorTrigger => phase.trigger = Some(p.trigger()?),
            }
            Ok(())
        })?;
        self.finish_phase(&mut phase)?;
        for i in 0..self.comps.len() {
            let record = store::encode(&self.comps[i]);
            match self.pool.push_front(record) {
                Ok(at) if i == 0 => phase.first_component = at,
                Ok(_) => {}
                Err(store::Full) => {
                    let _ = write!(self.path, ".components[{i}]");
                    return self.full();
                }
            }
        }
        let (index, events, duration) = (self.phase_count, phase.events, phase.duration_ms);
        self.warnings.phase(index, &id, events, duration);
        // Capacity: MAX_PHASES is enforced by `items`.
        if let Some(phases) = self.phases.as_mut() {
            let _ = phases.push(phase);
        }
        self.phase_count += 1;
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
        use ComponentKey as K;
        const FIELDS: &[(&str, ComponentKey)] = &[
            ("id", K::Id),
            ("label", K::Label),
            ("compId", K::CompId),
            ("start", K::Start),
            ("duration", K::Duration),
            ("motorConfig", K::MotorConfig),
        ];
        self.members("a component object", FIELDS, |p, field| {
            match field {
                K::Id => c.id = p.text()?,
                K::Label => c.label = p.text()?,
                K::CompId => comp_id = Some(p.string("a string")?),
                K::Start => c.start_ms = p.ms()?,
                K::Duration => c.duration_ms = p.ms()?,
                K::MotorConfig => motor = Some(p.motor_config()?),
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
                return self.fail_as(
                    ErrorKind::UnknownOutput,
                    format_args!(
                        "unknown output {} (known: {})",
                        json::Quoted(name),
                        self.board.names()
                    ),
                );
            }
            (None, None) => {
                self.push_key("compId");
                return self.fail(format_args!(
                    "missing: a component without a motorConfig needs the output it switches (known: {})",
                    self.board.names()
                ));
            }
        };
        // Capacity: `items` stops at MAX_COMPONENTS_PER_PHASE.
        let _ = self.comps.push(c);
        Ok(())
    }

    fn motor_config(&mut self) -> Result<MotorConfig> {
        let mut m = MotorConfig {
            first_step: self.pool.fill().steps() as u16,
            steps: 0,
            repeat: 1,
            running_style: TextRef::default(),
            period_ms: 0,
            first: Direction::Cw,
            last: Direction::Cw,
            last_pause_ms: 0,
        };
        let mut pattern: Option<(Step, Step)> = None;
        let mut has_pattern = false;
        use MotorKey as K;
        const FIELDS: &[(&str, MotorKey)] = &[
            ("repeatTimes", K::RepeatTimes),
            ("pattern", K::Pattern),
            ("runningStyle", K::RunningStyle),
        ];
        self.members("a motorConfig object", FIELDS, |p, field| {
            match field {
                K::RepeatTimes => {
                    m.repeat = p.unsigned("a whole number >= 1", 1, u32::MAX as u64)? as u32
                }
                K::Pattern => {
                    has_pattern = true;
                    let base = p.path.len();
                    let n = p.items(
                        u16::MAX as usize,
                        format_args!("too many pattern steps: at most {} in one", u16::MAX),
                        |p, i| {
                            let s = p.step()?;
                            if p.pool.push_step(s).is_err() {
                                return p.full();
                            }
                            if let Some((first, prev)) = pattern {
                                m.period_ms += p.played(&prev, &s, base, i - 1);
                                pattern = Some((first, s));
                            } else {
                                pattern = Some((s, s));
                            }
                            Ok(())
                        },
                    )?;
                    if n == 0 {
                        return p.fail(format_args!(
                            "empty pattern: a motor needs at least one step"
                        ));
                    }
                    m.steps = n as u16;
                }
                K::RunningStyle => m.running_style = p.text()?,
            }
            Ok(())
        })?;
        let Some((first, last)) = pattern.filter(|_| has_pattern) else {
            self.push_key("pattern");
            return self.fail(format_args!(
                "missing: a motorConfig needs a pattern of at least one step"
            ));
        };
        // After the last step comes the first again (or the end, played the same way).
        let mark = self.push_key("pattern");
        let base = self.path.len();
        let k = m.steps as usize - 1;
        let last_pause = if m.repeat > 1 {
            self.played(&last, &first, base, k)
        } else {
            self.pause_played(&last, &first) + last.step_ms as u64
        };
        self.path.truncate(mark);
        m.period_ms += last_pause;
        m.last_pause_ms = (last_pause - last.step_ms as u64) as u32;
        (m.first, m.last) = (first.direction, last.direction);
        Ok(m)
    }

    /// Step `k`'s length in a pass: its stepTime and the pause played before `next` (see
    /// [`Cycle::pause_after`]), warning at `pattern[k].pauseTime` (the path is cut back to
    /// `base`, the pattern's own, and restored) when the motor reverses with no pause or less
    /// than the dead time.
    fn played(&mut self, this: &Step, next: &Step, base: usize, k: usize) -> u64 {
        let dead = self.board.reverse_dead_time_ms();
        if this.direction != next.direction && (this.pause_ms == 0 || this.pause_ms < dead) {
            let mut was = Path::new();
            let _ = was.write_str(&self.path.as_str()[base..]);
            self.path.truncate(base);
            let _ = write!(self.path, "[{k}].pauseTime");
            let (from, to) = (this.direction.name(), next.direction.name());
            if this.pause_ms < dead {
                self.warn(format_args!(
                    "{} ms before the motor reverses from {from} to {to}: played as {dead} ms, this board's reverse dead time",
                    this.pause_ms
                ));
            } else {
                self.warn(format_args!(
                    "0 ms before the motor reverses from {from} to {to}"
                ));
            }
            self.path.truncate(base);
            let _ = self.path.write_str(was.as_str());
        }
        this.step_ms as u64 + self.pause_played(this, next)
    }

    /// The pause played after `this` when `next` follows: the dead time at least on a reversal.
    fn pause_played(&self, this: &Step, next: &Step) -> u64 {
        if this.direction != next.direction {
            this.pause_ms.max(self.board.reverse_dead_time_ms()) as u64
        } else {
            this.pause_ms as u64
        }
    }

    fn step(&mut self) -> Result<Step> {
        let (mut step_ms, mut pause_ms, mut dir) = (1000, 0, Direction::Cw);
        use StepKey as K;
        const FIELDS: &[(&str, StepKey)] = &[
            ("stepTime", K::StepTime),
            ("pauseTime", K::PauseTime),
            ("direction", K::Direction),
        ];
        self.members("a pattern step object", FIELDS, |p, field| {
            match field {
                K::StepTime => {
                    step_ms =
                        p.unsigned("a whole number of milliseconds >= 1", 1, u32::MAX as u64)?
                            as u32
                }
                K::PauseTime => pause_ms = p.ms()?,
                K::Direction => {
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
        Ok(Step {
            step_ms,
            pause_ms,
            direction: dir,
        })
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
        use TriggerKey as K;
        const FIELDS: &[(&str, TriggerKey)] = &[
            ("type", K::Type),
            ("threshold", K::Threshold),
            ("triggerAbove", K::TriggerAbove),
            ("cooldownMs", K::CooldownMs),
            ("mode", K::Mode),
            ("timeoutMs", K::TimeoutMs),
            ("pinNumber", K::PinNumber),
        ];
        self.members("a sensorTrigger object", FIELDS, |p, field| {
            match field {
                K::Type => {
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
                K::Threshold => t.threshold = p.threshold()?,
                K::TriggerAbove => t.above = p.boolean()?,
                K::CooldownMs => t.cooldown_ms = p.ms()?,
                K::Mode => {
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
                K::TimeoutMs => timeout = Some((p.ms()?, p.path.clone())),
                K::PinNumber => {
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
            (false, Some((_, path))) => self.warnings.warn(
                path.as_str(),
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
            Err(NotUnsigned::Negative) => self.fail_as(
                ErrorKind::Range,
                format_args!("expected a number >= 0, got {} (negative)", n.text()),
            ),
            Err(_) => self.fail_as(
                ErrorKind::Range,
                format_args!(
                    "expected a number >= 0, got {} (larger than {})",
                    n.text(),
                    u32::MAX
                ),
            ),
        }
    }
}

/// Longest key compared for a near miss: longer than every known key plus two edits.
const MAX_NEAR_MISS: usize = 24;

/// The known key `key` is most likely a misspelling of: a letter added, dropped, changed, or
/// two swapped, case ignored. Two edits for keys of six letters and more, one for four or five,
/// none for shorter ones (`id`): few edits must not make any short key look like another.
fn near_miss<F>(key: &Str<'_>, fields: &[(&'static str, F)]) -> Option<&'static str> {
    let mut typed = ['\0'; MAX_NEAR_MISS];
    let mut n = 0;
    for c in key.chars() {
        *typed.get_mut(n)? = c.to_ascii_lowercase();
        n += 1;
    }
    fields
        .iter()
        .filter_map(|&(f, _)| {
            let allowed = match f.len() {
                0..=3 => 0,
                4..=5 => 1,
                _ => 2,
            };
            let d = edits(&typed[..n], f)?;
            (d <= allowed).then_some((d, f))
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, f)| f)
}

/// Optimal-string-alignment distance between `a` (lower case) and `b`, case ignored, or `None`
/// when it is certainly more than two.
fn edits(a: &[char], b: &str) -> Option<usize> {
    const W: usize = MAX_NEAR_MISS + 1;
    let mut lower = ['\0'; MAX_NEAR_MISS];
    let mut m = 0;
    for c in b.chars() {
        *lower.get_mut(m)? = c.to_ascii_lowercase();
        m += 1;
    }
    let b = &lower[..m];
    if a.len().abs_diff(b.len()) > 2 {
        return None;
    }
    let (mut before, mut prev, mut cur) = ([0usize; W], [0usize; W], [0usize; W]);
    for (j, p) in prev.iter_mut().enumerate().take(m + 1) {
        *p = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        before = prev;
        prev = cur;
    }
    Some(prev[m])
}

// The keys of each object of the format: read by what they are called (each object's table
// maps its names onto these), never by where they stand in a list.

#[derive(Debug, Clone, Copy)]
enum PhaseKey {
    Id,
    Name,
    Color,
    StartTime,
    Components,
    SensorTrigger,
}

#[derive(Debug, Clone, Copy)]
enum ComponentKey {
    Id,
    Label,
    CompId,
    Start,
    Duration,
    MotorConfig,
}

#[derive(Debug, Clone, Copy)]
enum MotorKey {
    RepeatTimes,
    Pattern,
    RunningStyle,
}

#[derive(Debug, Clone, Copy)]
enum StepKey {
    StepTime,
    PauseTime,
    Direction,
}

#[derive(Debug, Clone, Copy)]
enum TriggerKey {
    Type,
    Threshold,
    TriggerAbove,
    CooldownMs,
    Mode,
    TimeoutMs,
    PinNumber,
}
