//! What each run did, for its history: put together from the controller's named notices (in
//! order: the phases as they start and end, then the cycle's end with how long each output was
//! ON), off the timing path, by whatever puts the notices into words. A platform keeps the
//! runs (the host in a file of its state directory) and answers `get_history` with them.

use core::fmt::{self, Write};

use crate::board::{Board, MAX_OUTPUTS};
use crate::json::{Array, Fixed, Object, Raw};
use crate::limits::MAX_PHASES;
use crate::logline::Named;
use crate::protocol;
use crate::runner::{Label, Notice, PhaseEnd};
use crate::time::Instant;

/// How long one phase of a run took, against its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseRun {
    /// Its index in the cycle (a jump can run phases out of order, or twice).
    pub index: u8,
    /// Its name, else its id.
    pub label: Label,
    /// Its timeline's length, in ms.
    pub planned_ms: u32,
    /// How long it ran, in ms (a sensor-ended fill is shorter, a paused phase longer).
    pub actual_ms: u64,
    /// How it ended.
    pub end: PhaseEnd,
}

/// One run, from its first phase's start to the cycle's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// When its first phase started, on the platform's monotonic clock.
    pub started: Instant,
    /// When the cycle ended.
    pub ended: Instant,
    /// True when its last phase ended normally; false after a stop, a fault or a reload.
    pub completed: bool,
    /// The phases as they ran (at most [`MAX_PHASES`] are kept; `more_phases` counts the rest).
    pub phases: heapless::Vec<PhaseRun, MAX_PHASES>,
    /// Phases past the kept ones (a run that jumps back and forth).
    pub more_phases: usize,
    /// How long each output (by index) was ON, in ms.
    pub on_ms: [u32; MAX_OUTPUTS],
}

impl Run {
    /// `completed`, `stopped`, `fault` or `replaced`: how the run ended, from its last phase.
    pub fn outcome(&self) -> &'static str {
        match self.phases.last().map(|p| p.end) {
            _ if self.completed => "completed",
            Some(PhaseEnd::Faulted(_)) => "fault",
            Some(PhaseEnd::Replaced) => "replaced",
            _ => "stopped",
        }
    }

    /// Phases a skip ended.
    pub fn skipped(&self) -> usize {
        self.phases
            .iter()
            .filter(|p| p.end == PhaseEnd::Skipped)
            .count()
    }
}

/// Puts runs together from named notices, one at a time, in place: the run that ended stays
/// here ([`Recorder::ended`]) until the next run's first phase starts, so a platform short of
/// RAM keeps one run, not two.
#[derive(Debug, Default)]
pub struct Recorder {
    run: Option<Run>,
    /// The phase running and since when, while a run is open.
    current: Option<(u8, Instant)>,
    /// `run` ended: it is complete.
    ended: bool,
}

impl Recorder {
    /// A run is being put together (its first phase started, its end has not come).
    pub fn in_run(&self) -> bool {
        self.run.is_some() && !self.ended
    }

    /// The run that ended last, until the next one starts.
    pub fn ended(&self) -> Option<&Run> {
        self.run.as_ref().filter(|_| self.ended)
    }

    /// Takes the next notice; true when it ended the run (see [`Recorder::ended`]).
    pub fn notice(&mut self, n: &Named) -> bool {
        match n.notice() {
            Notice::PhaseStarted { at, phase } => {
                if !self.in_run() {
                    self.ended = false;
                    self.run = Some(Run {
                        started: at,
                        ended: at,
                        completed: false,
                        phases: heapless::Vec::new(),
                        more_phases: 0,
                        on_ms: [0; MAX_OUTPUTS],
                    });
                }
                self.current = Some((phase, at));
                false
            }
            Notice::PhaseEnded { at, phase, end } => {
                let Some(run) = self.run.as_mut().filter(|_| !self.ended) else {
                    return false;
                };
                let since = self
                    .current
                    .take()
                    .filter(|(p, _)| *p == phase)
                    .map_or(at, |(_, t)| t);
                let p = PhaseRun {
                    index: phase,
                    label: Label::try_from(n.label()).unwrap_or_default(),
                    planned_ms: n.planned_ms(),
                    actual_ms: at.saturating_duration_since(since).as_millis(),
                    end,
                };
                if run.phases.push(p).is_err() {
                    run.more_phases += 1;
                }
                false
            }
            Notice::CycleEnded { at, completed } => {
                let Some(run) = self.run.as_mut().filter(|_| !self.ended) else {
                    return false;
                };
                run.ended = at;
                run.completed = completed;
                run.on_ms = *n.on_ms();
                self.current = None;
                self.ended = true;
                true
            }
        }
    }
}

/// What a platform adds to a run's record: when it started by the wall clock, which program
/// it was, the water its valves let in.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// Seconds since 1970 at its start, when the platform has a wall clock.
    pub started_unix_s: Option<u64>,
    /// The library program it was loaded from, if any.
    pub program: Option<&'a str>,
    /// Litres per minute each output (by index) lets in while ON (the board profile's
    /// `inflow_lpm`), when the platform knows them.
    pub inflow_lpm: Option<&'a [f32; MAX_OUTPUTS]>,
}

/// A run as one JSON object: `{"started_unix_s":..,"program":..,"outcome":"completed",
/// "duration_ms":..,"phases":[{"index":0,"name":"Fill","planned_ms":..,"actual_ms":..,
/// "end":"triggered"}],"skipped":0,"outputs_on_ms":{"Cold Valve":..},"motor_on_ms":..,
/// "water_litres":..}`.
pub fn write_run(w: &mut impl Write, run: &Run, board: &Board, cx: &Context<'_>) -> fmt::Result {
    let mut o = Object::open(w)?;
    o.field("started_unix_s", cx.started_unix_s)?
        .field("program", cx.program)?
        .field("outcome", run.outcome())?
        .field(
            "duration_ms",
            run.ended.saturating_duration_since(run.started).as_millis(),
        )?;
    let mut phases = o.array("phases")?;
    for p in run.phases.iter() {
        let mut phase = phases.object()?;
        phase
            .field("index", p.index)?
            .field("name", p.label.as_str())?
            .field("planned_ms", p.planned_ms)?
            .field("actual_ms", p.actual_ms)?
            .field("end", p.end.word())?;
        if let PhaseEnd::Faulted(crate::runner::Fault::WaitTimeout { .. }) = p.end {
            let why = "wait_timeout: its sensor condition did not hold before the timeout";
            phase.field("fault", why)?;
        }
        phase.close()?;
    }
    phases.close()?;
    o.field("skipped", run.skipped())?;
    let mut on_ms = o.object("outputs_on_ms")?;
    for (id, def) in board.outputs() {
        on_ms.field_named(&def.name, run.on_ms[id.index()])?;
    }
    on_ms.close()?;
    o.field("motor_on_ms", run.on_ms[board.motor().index()])?;
    let litres = cx.inflow_lpm.map(|lpm| {
        let litres: f32 = board
            .outputs()
            .map(|(id, _)| run.on_ms[id.index()] as f32 / 60_000.0 * lpm[id.index()])
            .sum();
        Fixed(litres.into(), 1)
    });
    o.field("water_litres", litres)?;
    o.close()
}

/// The reply of `get_history`: `{"runs":[RUN,...]}`, newest first, from runs already written
/// as JSON objects (by [`write_run`]).
pub fn write_reply<'r>(
    w: &mut impl Write,
    id: Option<&[u8]>,
    runs: impl Iterator<Item = &'r str>,
) -> fmt::Result {
    let mut reply = Reply::start(w, id)?;
    for r in runs {
        reply.run(r)?;
    }
    reply.end()
}

/// The reply of `get_history` written run by run, for a platform that reads its runs one at a
/// time into one buffer (the chip, from flash).
pub struct Reply<'w, W: Write> {
    runs: Array<'w, W>,
}

impl<'w, W: Write> Reply<'w, W> {
    /// The reply's head.
    pub fn start(w: &'w mut W, id: Option<&[u8]>) -> Result<Self, fmt::Error> {
        let result = Object::open(protocol::open_ok(w, id)?)?;
        let runs = Array::open(result.leave_open("runs")?)?;
        Ok(Reply { runs })
    }

    /// The next run, a JSON object from [`write_run`].
    pub fn run(&mut self, run: &str) -> fmt::Result {
        self.runs.item(Raw(run)).map(drop)
    }

    /// Bytes the reply's tail takes after the last run.
    pub const END: usize = 3;

    /// The reply's tail.
    pub fn end(self) -> fmt::Result {
        let w = self.runs.close_into()?;
        Object::after_members(&mut *w).close()?;
        protocol::close_ok(w)
    }
}

/// The reply of a controller that keeps no history.
pub fn write_unsupported(w: &mut impl Write, id: Option<&[u8]>) -> fmt::Result {
    crate::protocol::write_v2_error(
        w,
        id,
        "unsupported",
        "this controller keeps no history of its runs",
        "cmd",
    )
}
