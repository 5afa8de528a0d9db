//! The controller every platform drives: the runner, the one alarm's schedule (the runner's
//! next deadline, the next sensor sample, the next telemetry frame), the order of commands
//! against stops, the boot restore, and the notices named for the log. `tumble serve`, `tumble
//! run` and the firmware are shells around it: a clock, pins, sensors, a transport, a store.
//!
//! Like quinn-proto's `Connection`, it does no I/O and reads no clock: every input carries
//! `now` (an [`Instant`] on the platform's monotonic clock), [`Controller::poll_timeout`] is the
//! one deadline to arm, and what it has for the platform is pulled ([`Controller::poll_notice`])
//! or returned ([`Step`], [`Applied`]).
//!
//! What runs here is the timing side, bounded work only: it never parses or formats. A frame is
//! read and a document parsed by the platform's command side first (`protocol::read`,
//! `protocol::parse`, with nothing of the controller held); only the resulting [`Work`] comes
//! here. [`Controller::handle_frame`] runs every step in one call, for platforms and tests that
//! hold everything at once.

use core::fmt::{self, Write};

use crate::board::{Board, MAX_OUTPUTS, Readings};
use crate::cycle::{Cycle, CycleError};
use crate::logline::Named;
use crate::protocol::{self, Action, Handled, Op, Outcome, Read};
use crate::runner::{Notice, OutputChange, Outputs, Runner, Snapshot, Status};
use crate::time::{Duration, Instant};

/// Notices kept until the platform polls them. A late wake-up after a run of zero-length
/// phases can give more; those are counted ([`Controller::lost_notices`]).
pub const MAX_NOTICES: usize = 8;

/// The controller's periods, on the runner's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How often the sensors are read (the board profile's `sample_ms`).
    pub sample: Duration,
    /// How often a telemetry snapshot is due; `None`: never (a player with no clients).
    pub telemetry: Option<Duration>,
}

/// When a frame arrived, in the order of every frame's arrival (the platform numbers them as
/// they come in). A command that would start or switch something and arrived before a stop the
/// controller applied first is refused ([`crate::runner::CommandError::Overtaken`]): the stop
/// stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Arrival(pub u64);

impl Arrival {
    /// After every frame: for a stop the platform makes itself (a signal, a shutdown).
    pub const LAST: Arrival = Arrival(u64::MAX);
}

/// A command for the runner, as the command side prepared it.
///
/// A load is two pieces of work around the one slow step, so that the slow step holds nothing
/// the timing side needs: once `protocol::parse` has checked the document (storing nothing),
/// [`Work::Release`] stops the run and lends the cycle's storage out, the command side reads
/// the document into it (`Cycle::read`, with nothing of the controller held), and
/// [`Work::Load`] gives it back, loaded. A refused document never gets past the check, so it
/// changes nothing; there is one cycle storage, never a spare.
pub enum Work<'c, 'p> {
    /// Any command but a load: start, stop, pause, resume, skip, jump, set an output, status.
    Op(Op),
    /// Stops the run (every output OFF) and swaps the loaded cycle, with its storage, into
    /// this one (give it [`Cycle::none`]): until the [`Work::Load`] that returns it, no cycle is
    /// loaded and a start is refused.
    Release(&'c mut Cycle<'p>),
    /// This cycle replaces the loaded one (a swap: this then holds the one it replaced, or
    /// [`Cycle::none`] after a release).
    Load(&'c mut Cycle<'p>),
}

/// What a command did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// Its result and the runner right after it, for the reply.
    pub outcome: Outcome,
    /// For a load: its number since boot (from 1), so that a platform storing loads from
    /// several clients never lets an older one overwrite a newer one.
    pub load: Option<u64>,
}

/// What a wake-up did.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Events of the timeline applied because they were due.
    pub due_events: u64,
    /// A sensor sample is due: read the sensors now, for [`Controller::handle_sample`].
    pub sample_due: bool,
    /// A telemetry frame is due: the runner as of this wake-up, for the platform to format
    /// elsewhere.
    pub telemetry: Option<Snapshot>,
}

/// What a boot restore found.
// The error is large, but there is no allocator to box it, and this is returned once, at boot.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Restored {
    /// The stored cycle is loaded, idle.
    Loaded {
        /// How many phases it has.
        phases: usize,
        /// How many output events its phases hold in all.
        events: u64,
    },
    /// The stored document is not a valid cycle (for this board): nothing is loaded.
    Invalid(CycleError),
}

impl Restored {
    /// 'I' or 'W', for the log line.
    pub fn level(&self) -> char {
        match self {
            Restored::Loaded { .. } => 'I',
            Restored::Invalid(_) => 'W',
        }
    }
}

impl fmt::Display for Restored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Restored::Loaded { phases, events } => write!(
                f,
                "loaded the stored cycle ({phases} phases, {events} events), idle"
            ),
            Restored::Invalid(e) => {
                write!(f, "the stored cycle is not valid ({e}); starting empty")
            }
        }
    }
}

/// The runner and everything around it that decides behaviour, driven by a platform's clock,
/// pins, sensors and transport (see the module docs).
pub struct Controller<'p> {
    runner: Runner<'p>,
    /// The bytes of the cycle storage, also while it is lent out.
    capacity: usize,
    config: Config,
    next_sample: Instant,
    next_telemetry: Option<Instant>,
    /// The arrival of the newest stop applied.
    stopped_at: Arrival,
    /// A delayed start: the cycle starts at this time.
    start_at: Option<Instant>,
    /// The last phase end the runner told of.
    last_end: Option<(u8, crate::runner::PhaseEnd)>,
    loads: u64,
    /// The notices of the runner call in progress, named once it returns.
    unnamed: heapless::Vec<Notice, MAX_NOTICES>,
    notices: heapless::Deque<Named, MAX_NOTICES>,
    lost: u32,
    meter: Meter,
}

/// The platform's pins, with the runner's notices kept by the controller.
struct Tap<'a, O> {
    out: &'a mut O,
    unnamed: &'a mut heapless::Vec<Notice, MAX_NOTICES>,
    lost: &'a mut u32,
    meter: &'a mut Meter,
}

impl<'a, O> Tap<'a, O> {
    fn new(
        out: &'a mut O,
        unnamed: &'a mut heapless::Vec<Notice, MAX_NOTICES>,
        lost: &'a mut u32,
        meter: &'a mut Meter,
    ) -> Self {
        Tap {
            out,
            unnamed,
            lost,
            meter,
        }
    }
}

impl<O: Outputs> Outputs for Tap<'_, O> {
    fn set(&mut self, change: OutputChange) {
        self.meter.set(&change);
        self.out.set(change);
    }

    fn commit(&mut self) {
        self.out.commit();
    }

    fn notice(&mut self, notice: Notice) {
        if let Notice::CycleEnded { at, .. } = notice {
            self.meter.end(at);
        }
        if self.unnamed.push(notice).is_err() {
            *self.lost = self.lost.saturating_add(1);
        }
    }
}

/// How long each output is ON during a run, for its history: counted from the start (in the
/// order the runner switches them), totalled at its end. Constant work per change.
#[derive(Debug, Clone, Default)]
struct Meter {
    since: [Option<Instant>; MAX_OUTPUTS],
    total: [Duration; MAX_OUTPUTS],
    /// The totals of the run that just ended, for its `CycleEnded` notice.
    ended: Option<[u32; MAX_OUTPUTS]>,
}

impl Meter {
    /// A run starts: nothing counted yet (outputs switched by hand before it do not count).
    fn start(&mut self) {
        self.since = [None; MAX_OUTPUTS];
        self.total = [Duration::ZERO; MAX_OUTPUTS];
    }

    fn set(&mut self, c: &OutputChange) {
        let i = c.output.index();
        match (c.on, self.since[i]) {
            (true, None) => self.since[i] = Some(c.due),
            (false, Some(from)) => {
                self.since[i] = None;
                self.total[i] = self.total[i] + c.due.saturating_duration_since(from);
            }
            _ => {}
        }
    }

    fn end(&mut self, at: Instant) {
        for i in 0..MAX_OUTPUTS {
            if let Some(from) = self.since[i].take() {
                self.total[i] = self.total[i] + at.saturating_duration_since(from);
            }
        }
        self.ended = Some(
            self.total
                .map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
        );
    }
}

impl<'p> Controller<'p> {
    /// A controller with nothing loaded, keeping the cycle in `storage` (a cycle takes the bytes
    /// its document holds, see `Cycle::new`); [`Controller::boot`] it before anything else.
    pub fn new(board: Board, config: Config, storage: &'p mut [u8]) -> Self {
        let runner = Runner::new(board, storage);
        Controller {
            capacity: runner.cycle().capacity(),
            runner,
            config: Config {
                sample: config.sample.max(Duration::from_micros(1)),
                telemetry: config.telemetry.map(|t| t.max(Duration::from_micros(1))),
            },
            next_sample: Instant::from_micros(0),
            next_telemetry: config.telemetry.map(|_| Instant::from_micros(0)),
            stopped_at: Arrival::default(),
            start_at: None,
            last_end: None,
            loads: 0,
            unnamed: heapless::Vec::new(),
            notices: heapless::Deque::new(),
            lost: 0,
            meter: Meter::default(),
        }
    }

    /// Every output OFF, whatever the pins were; the first sample and telemetry frame are due
    /// at `now`.
    pub fn boot<O: Outputs>(&mut self, now: Instant, out: &mut O) {
        self.runner.boot(now, out);
        self.next_sample = now;
        self.next_telemetry = self.config.telemetry.map(|_| now);
    }

    /// The bytes of cycle storage it has: what `protocol::parse` checks a document against.
    pub fn cycle_capacity(&self) -> usize {
        self.capacity
    }

    /// Loads the stored document, idle, as at every start.
    pub fn restore<O: Outputs>(&mut self, doc: &[u8], now: Instant, out: &mut O) -> Restored {
        match self.install(doc, now, out) {
            Ok(_) => {
                let cycle = self.runner.cycle();
                Restored::Loaded {
                    phases: cycle.phases().len(),
                    events: cycle.total_events(),
                }
            }
            Err(e) => Restored::Invalid(e),
        }
    }

    /// A whole load for a platform that holds the controller throughout (a boot restore, the
    /// player, tests): release, read, load. Check the document first (`protocol::parse`) when
    /// a refusal must leave the loaded cycle in place: on an error here no cycle is loaded.
    pub fn install<O: Outputs>(
        &mut self,
        doc: &[u8],
        now: Instant,
        out: &mut O,
    ) -> Result<Applied, CycleError> {
        let mut lent = Cycle::none();
        self.execute(Work::Release(&mut lent), Arrival::default(), now, out);
        let board = self.runner.board().clone();
        let read = lent.read(doc, &board, &mut crate::cycle::WarningCount::default());
        let applied = self.execute(Work::Load(&mut lent), Arrival::default(), now, out);
        read.map(|()| applied)
    }

    /// The runner, to read: its status, loaded cycle, stats, a snapshot.
    pub fn runner(&self) -> &Runner<'p> {
        &self.runner
    }

    /// The board profile it drives.
    pub fn board(&self) -> &Board {
        self.runner.board()
    }

    /// The one deadline to arm: the runner's next event, phase end, wait timeout or delayed
    /// resume, the next sensor sample, or the next telemetry frame, whichever comes first.
    pub fn poll_timeout(&self) -> Instant {
        self.runner
            .poll_timeout()
            .unwrap_or(Instant::MAX)
            .min(self.next_sample)
            .min(self.next_telemetry.unwrap_or(Instant::MAX))
            .min(self.start_at.unwrap_or(Instant::MAX))
    }

    /// The instant a wake-up worked out ahead of its time (`handle_timeout(due, ..)` with the
    /// writes held back) was written at `written`, with `events` timeline events in it: see
    /// [`Runner::note_written`].
    pub fn note_written(&mut self, due: Instant, written: Instant, events: u64) {
        self.runner.note_written(due, written, events);
    }

    /// The runner's state at `now`, with the delayed start the controller keeps.
    pub fn snapshot(&self, now: Instant) -> Snapshot {
        let mut s = self.runner.snapshot(now);
        self.annotate(&mut s, now);
        s
    }

    /// What the controller knows beyond the runner: a delayed start, the last phase end.
    fn annotate(&self, s: &mut Snapshot, now: Instant) {
        s.start_in = self.start_in(now);
        s.last_phase_end = self.last_end;
    }

    /// Nothing runs and nothing is waiting to start: flash may be written without holding up
    /// a phase.
    pub fn is_quiet(&self) -> bool {
        self.runner.status() == Status::Idle && self.start_at.is_none()
    }

    /// The time until a delayed start.
    fn start_in(&self, now: Instant) -> Option<Duration> {
        self.start_at.map(|at| at.saturating_duration_since(now))
    }

    /// The platform woke at `now` (its alarm fired, or a command changed the runner): every
    /// event due, in order, and what else is due. When [`Step::sample_due`], the platform reads
    /// its sensors and hands them to [`Controller::handle_sample`] before anything else.
    pub fn handle_timeout<O: Outputs>(&mut self, now: Instant, out: &mut O) -> Step {
        let mut tap = Tap::new(out, &mut self.unnamed, &mut self.lost, &mut self.meter);
        let before = self.runner.stats().events_fired;
        self.runner.handle_timeout(now, &mut tap);
        let mut due_events = self.runner.stats().events_fired - before;
        if self.start_at.is_some_and(|at| at <= now) {
            self.start_at = None;
            // Checked when it was scheduled; a load or a stop since would have cancelled it.
            // A start counts its run's stats from 0: what it fired is all its stats hold.
            tap.meter.start();
            if self.runner.start(now, &mut tap).is_ok() {
                due_events += self.runner.stats().events_fired;
            }
        }
        let sample_due = now >= self.next_sample;
        if sample_due {
            // On the sample grid, so the rate does not drift with lateness; after a stall, one
            // sample and a new grid from now.
            self.next_sample = on_grid(self.next_sample, self.config.sample, now);
        }
        let telemetry = match (self.next_telemetry, self.config.telemetry) {
            (Some(next), Some(period)) if now >= next => {
                self.next_telemetry = Some(on_grid(next, period, now));
                Some(self.snapshot(now))
            }
            _ => None,
        };
        self.name_unnamed(None);
        Step {
            due_events,
            sample_due,
            telemetry,
        }
    }

    /// The sensors as read for a due sample: a trigger may end the phase (and start the next,
    /// whose first events are due now). Returns the events that caused.
    pub fn handle_sample<O: Outputs>(
        &mut self,
        now: Instant,
        readings: Readings,
        out: &mut O,
    ) -> u64 {
        let mut tap = Tap::new(out, &mut self.unnamed, &mut self.lost, &mut self.meter);
        let before = self.runner.stats().events_fired;
        self.runner.handle_readings(now, readings, &mut tap);
        self.name_unnamed(None);
        self.runner.stats().events_fired - before
    }

    /// One command on the runner, arrived at `arrival`. Bounded work: a load is a swap.
    pub fn execute<O: Outputs>(
        &mut self,
        work: Work<'_, 'p>,
        arrival: Arrival,
        now: Instant,
        out: &mut O,
    ) -> Applied {
        let mut tap = Tap::new(out, &mut self.unnamed, &mut self.lost, &mut self.meter);
        let release = matches!(work, Work::Release(_));
        match work {
            Work::Op(op) if op.moves() && arrival < self.stopped_at => {
                let mut outcome = protocol::overtaken(&mut self.runner, &mut tap, now);
                self.annotate(&mut outcome.status, now);
                self.name_unnamed(None);
                Applied {
                    outcome,
                    load: None,
                }
            }
            Work::Op(Op::StartIn { delay }) => {
                // As a start would be checked, once what is due by now has happened.
                self.runner.handle_timeout(now, &mut tap);
                let result = self.runner.may_start();
                if result.is_ok() {
                    self.start_at = Some(now.saturating_add(delay));
                }
                self.name_unnamed(None);
                Applied {
                    outcome: Outcome {
                        result,
                        status: self.snapshot(now),
                    },
                    load: None,
                }
            }
            Work::Op(op) => {
                // A start now, or a stop, ends the wait of a delayed start.
                let cancelled =
                    matches!(op, Op::Start | Op::Stop) && self.start_at.take().is_some();
                if op == Op::Start {
                    tap.meter.start();
                }
                let mut outcome = protocol::apply(op, &mut self.runner, &mut tap, now);
                if op == Op::Stop && cancelled {
                    // Nothing ran, but the stop did what it was sent for: the start is off.
                    outcome.result = Ok(());
                }
                if op == Op::Stop {
                    self.stopped_at = self.stopped_at.max(arrival);
                }
                self.annotate(&mut outcome.status, now);
                self.name_unnamed(None);
                Applied {
                    outcome,
                    load: None,
                }
            }
            Work::Release(into) | Work::Load(into) => {
                // A delayed start was for the cycle this replaces.
                self.start_at = None;
                self.runner.load(now, into, &mut tap);
                // Every notice of a load is about the cycle it replaced, now in `into`.
                self.name_unnamed(Some(into));
                if !release {
                    self.loads += 1;
                }
                Applied {
                    outcome: Outcome {
                        result: Ok(()),
                        status: self.runner.snapshot(now),
                    },
                    load: (!release).then_some(self.loads),
                }
            }
        }
    }

    /// Every protocol step at once, for platforms and tests that hold everything: the reply
    /// goes to `reply`. A reply that does not fit (a fixed buffer) is an `Err`.
    pub fn handle_frame<'a, O: Outputs>(
        &mut self,
        frame: &'a [u8],
        arrival: Arrival,
        now: Instant,
        out: &mut O,
        reply: &mut impl Write,
    ) -> Result<Handled<'a>, fmt::Error> {
        let board = self.runner.board().clone();
        let mut read = protocol::read(frame, &board, reply)?;
        if let Read::Document(doc) = read {
            read = protocol::parse(&doc, &board, self.capacity, reply)?;
        }
        match read {
            Read::Answered(h) => Ok(h),
            Read::Document(_) => unreachable!("parsed above"),
            Read::Query(q) => protocol::answer(&q, self.runner.cycle(), &board, reply),
            Read::Program(p) => {
                crate::library::write_unsupported(reply, p.id)?;
                Ok(Handled::new(protocol::Version::V2, p.name))
            }
            Read::History(h) => {
                crate::history::write_unsupported(reply, h.id)?;
                Ok(Handled::new(protocol::Version::V2, h.name))
            }
            Read::Command(cmd) => {
                let outcome = match cmd.action {
                    // `parse` checked it against this storage and wrote the reply: it reads
                    // the same.
                    Action::Load { document, .. } => {
                        let installed = self.install(document, now, out);
                        debug_assert!(installed.is_ok(), "a checked document reads the same");
                        Outcome {
                            result: Ok(()),
                            status: self.snapshot(now),
                        }
                    }
                    Action::Op(op) => self.execute(Work::Op(op), arrival, now, out).outcome,
                };
                protocol::write_outcome(&cmd, &outcome, &board, reply)
            }
        }
    }

    /// The next notice (a phase started or ended, the cycle ended), in order, with the names
    /// the log needs copied out of the cycle it is about.
    pub fn poll_notice(&mut self) -> Option<Named> {
        self.notices.pop_front()
    }

    /// Notices that found the queue full since the last call, for the log to say so.
    pub fn lost_notices(&mut self) -> u32 {
        core::mem::take(&mut self.lost)
    }

    /// Names the notices of the call that just returned from `about` (the loaded cycle unless
    /// told otherwise) while that cycle is still at hand.
    fn name_unnamed(&mut self, about: Option<&Cycle<'_>>) {
        let cycle = about.unwrap_or(self.runner.cycle());
        for n in self.unnamed.drain(..) {
            if let Notice::PhaseEnded { phase, end, .. } = n {
                self.last_end = Some((phase, end));
            }
            let mut named = Named::new(n, cycle);
            if let Notice::CycleEnded { .. } = n
                && let Some(on) = self.meter.ended.take()
            {
                named = named.with_on_ms(on);
            }
            if self.notices.push_back(named).is_err() {
                self.lost = self.lost.saturating_add(1);
            }
        }
    }
}

/// The next tick of a period after `next`, or a new grid from `now` after a stall.
fn on_grid(next: Instant, period: Duration, now: Instant) -> Instant {
    let after = next.saturating_add(period);
    if after <= now {
        now.saturating_add(period)
    } else {
        after
    }
}
