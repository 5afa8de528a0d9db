//! The runner: plays a loaded cycle on the outputs. A sans-IO state machine in the manner of
//! quinn-proto: no clock, thread, allocation or I/O inside.
//!
//! The platform owns time and pins. It calls in with `now` (an [`Instant`] on its monotonic
//! clock) when its one alarm fires ([`Runner::handle_timeout`]), when a command arrives (the
//! command methods) or when a sensor sample arrives ([`Runner::handle_readings`]). Every call
//! first applies every event due by `now`, in timeline order, then does its own work; afterwards
//! the platform re-arms its alarm to [`Runner::poll_timeout`]. Output changes and notices (phase
//! changes, the cycle end) reach the platform through [`Outputs`], in the exact order they
//! happen.

use core::fmt;

use crate::board::{Board, Level, OutputId, Readings};
use crate::cycle::{Cycle, Phase, Sensor, TriggerMode};
use crate::limits::MAX_OUTPUTS;
use crate::time::{Duration, Instant};
use crate::timeline::Cursor;

/// Notices one instant may hold back until its commit; a cascade of more zero-length phases
/// than this in one instant commits early (correct, one write more).
const PENDING_NOTICES: usize = 8;

/// An event applied more than this long after its scheduled instant counts as late.
pub const LATE_AFTER: Duration = Duration::from_micros(100);

/// One output's net change in an instant: which output, the pin and level to drive, and what
/// that level means, so that no platform maps pins back to outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputChange {
    /// The output, in board order.
    pub output: OutputId,
    /// Its GPIO (the board profile's `pin`).
    pub pin: u8,
    /// The level to drive the pin to.
    pub level: Level,
    /// The load is ON at that level (the output's active level).
    pub on: bool,
    /// The instant the timeline scheduled it (for a command, the time of the call).
    pub due: Instant,
}

/// The platform's output pins, as the runner drives them.
pub trait Outputs {
    /// Drives one output. Only net changes come: an output switched OFF and ON again within one
    /// instant is not set at all, and each output at most once per commit.
    fn set(&mut self, change: OutputChange);

    /// The changes since the last commit are one instant, whole: a driver writes them at once,
    /// e.g. in one set/clear register pair. There is one commit per instant that changes
    /// anything (the safe state included).
    fn commit(&mut self) {}

    /// Something happened (a phase started or ended, the cycle ended), right after the commit
    /// of the instant it happened in, in order. For the platform's log; nothing depends on it.
    fn notice(&mut self, notice: Notice) {
        let _ = notice;
    }
}

/// Why a command was refused. Nothing changed when a command returns one of these, except
/// that `stop` always leaves the outputs in the safe state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandError {
    /// start: no cycle is loaded, or the loaded cycle has no phases.
    NoCycle,
    /// start while a cycle runs or is paused; set_output while a cycle runs or is paused.
    Running,
    /// stop, skip, pause or resume with no cycle running.
    NotRunning,
    /// pause while the cycle is already paused.
    AlreadyPaused,
    /// resume while the cycle runs (it is not paused).
    NotPaused,
    /// skip_to_phase past the loaded cycle's last phase.
    PhaseOutOfRange {
        /// The 0-based index asked for.
        index: usize,
        /// Phases the loaded cycle has.
        phases: usize,
    },
    /// set_output with an id that is not one of the board's outputs.
    UnknownOutput,
    /// Motor Direction may not change while the Motor is ON.
    Interlock,
    /// The board's reverse dead time has not passed yet.
    DeadTime {
        /// Milliseconds left before the change is allowed, rounded up: the figure its message
        /// says.
        wait_ms: u64,
    },
    /// A stop arrived after this command (which would start or switch something): the stop
    /// stands, this is not applied. Raised by platforms that queue commands.
    Overtaken,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::NoCycle => f.write_str("no cycle loaded"),
            CommandError::Running => f.write_str("cycle running"),
            CommandError::NotRunning => f.write_str("cycle not running"),
            CommandError::AlreadyPaused => f.write_str("cycle already paused"),
            CommandError::NotPaused => f.write_str("cycle not paused"),
            CommandError::PhaseOutOfRange { index, phases } => {
                write!(f, "phase index {index} out of range ({phases} phases)")
            }
            CommandError::UnknownOutput => f.write_str("unknown output"),
            CommandError::Interlock => {
                f.write_str("motor direction cannot change while the motor is on")
            }
            CommandError::DeadTime { wait_ms } => {
                write!(f, "reverse dead time: wait {wait_ms} ms")
            }
            CommandError::Overtaken => f.write_str("a stop came after this command: not applied"),
        }
    }
}

/// Why a cycle stopped on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A `"mode": "wait"` phase's condition did not hold within its timeout.
    WaitTimeout {
        /// 0-based index of the phase that timed out.
        phase: u8,
    },
}

/// Why a phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseEnd {
    /// Its timeline ran out.
    Completed,
    /// Its sensor trigger held.
    Triggered,
    /// A skip command ended it (skip_phase or skip_to_phase).
    Skipped,
    /// A stop command ended it, and the cycle with it.
    Stopped,
    /// A fault ended it, and the cycle with it.
    Faulted(Fault),
    /// A new cycle was loaded over it.
    Replaced,
}

impl PhaseEnd {
    /// How records and telemetry spell it: completed, triggered, skipped, stopped, fault,
    /// replaced.
    pub fn word(self) -> &'static str {
        match self {
            PhaseEnd::Completed => "completed",
            PhaseEnd::Triggered => "triggered",
            PhaseEnd::Skipped => "skipped",
            PhaseEnd::Stopped => "stopped",
            PhaseEnd::Faulted(_) => "fault",
            PhaseEnd::Replaced => "replaced",
        }
    }
}

/// Things that happened, for the platform's log. `at` is the instant they were due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A phase began; its clock starts at `at`.
    PhaseStarted {
        /// When, on the platform's monotonic clock.
        at: Instant,
        /// 0-based index of the phase in the cycle.
        phase: u8,
    },
    /// A phase ended, its outputs in the safe state.
    PhaseEnded {
        /// When, on the platform's monotonic clock.
        at: Instant,
        /// 0-based index of the phase in the cycle.
        phase: u8,
        /// Why it ended.
        end: PhaseEnd,
    },
    /// The cycle is over: after its last phase, a stop, a fault or a reload.
    CycleEnded {
        /// When, on the platform's monotonic clock.
        at: Instant,
        /// True when its last phase ended normally (completed, triggered or skipped); false
        /// after a stop, a fault or a reload.
        completed: bool,
    },
}

/// Whether a cycle is in progress, and whether its phase clock runs; telemetry reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No cycle in progress: outputs may be switched by hand.
    Idle,
    /// A cycle is in progress and its phase clock runs.
    Running,
    /// A cycle is in progress with its phase clock frozen and its outputs in the safe state.
    Paused,
}

/// Timing quality of the events of the current run (or the last one): reset at each start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Timeline events applied.
    pub events_fired: u64,
    /// Events applied more than [`LATE_AFTER`] after their scheduled instant.
    pub late_events: u64,
    /// The longest an event was applied after its scheduled instant.
    pub worst_lateness: Duration,
}

/// What an instant sets each output to (None: untouched), and who asked.
type Levels = [Option<(Level, Source)>; MAX_OUTPUTS];

/// Who asked for an output's level at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The timeline: subject to the reverse dead time at run time.
    Timeline,
    /// The safe state, a resume or a command, each checked on its own.
    Other,
}

/// A reversal waiting for the dead time: what Motor Direction and the Motor become then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    until: Instant,
    direction: bool,
    motor_on: bool,
}

/// Where the phase clock stands.
#[derive(Debug, Clone, Copy)]
enum Clock {
    /// Phase offset = now - `phase_start`.
    Running { phase_start: Instant },
    /// Frozen at `elapsed` since `since`; `resume_at` is set once resume was asked for
    /// (later than the request when the reverse dead time delays it).
    Paused {
        elapsed: Duration,
        since: Instant,
        resume_at: Option<Instant>,
    },
}

/// A cycle in progress.
#[derive(Debug, Clone)]
struct Run {
    phase: u8,
    cursor: Cursor,
    clock: Clock,
    /// Cycle elapsed = now - `cycle_start`, shifted forward by every pause.
    cycle_start: Instant,
    /// Where the timeline has each output at the current position (ON?): what resume restores.
    intended: [bool; MAX_OUTPUTS],
}

impl Run {
    fn elapsed(&self, now: Instant) -> Duration {
        match self.clock {
            Clock::Running { phase_start } => now.saturating_duration_since(phase_start),
            Clock::Paused { elapsed, .. } => elapsed,
        }
    }

    fn cycle_elapsed(&self, now: Instant) -> Duration {
        let until = match self.clock {
            Clock::Running { .. } => now,
            Clock::Paused { since, .. } => since,
        };
        until.saturating_duration_since(self.cycle_start)
    }
}

/// A name as telemetry shows it (a phase's id or name: at most `MAX_TEXT` bytes).
pub type Label = heapless::String<{ crate::limits::MAX_TEXT }>;

/// A consistent copy of the runner's state at one instant, owned: the controller takes it and
/// hands it over, and the telemetry frame or reply is written from it elsewhere (in the wire's
/// whole ms), so no formatting ever holds the runner.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The instant it was taken, on the platform's monotonic clock.
    pub at: Instant,
    /// Idle, running or paused.
    pub status: Status,
    /// 1-based, 0 when idle (as the original firmware).
    pub phase_index: u8,
    /// The current phase's `id`; empty when idle.
    pub phase_id: Label,
    /// How people see the phase: its name, else its id, else "Unknown" (`Cycle::phase_label`).
    pub phase_label: Label,
    /// Phases in the loaded cycle.
    pub total_phases: u8,
    /// Time into the current phase, pauses excluded; zero when idle.
    pub phase_elapsed: Duration,
    /// The current phase's length, to its last event (a wait's timeout not counted); zero when
    /// idle.
    pub phase_total: Duration,
    /// Time since the cycle started, pauses excluded; zero when idle.
    pub cycle_elapsed: Duration,
    /// The loaded cycle's length: the sum of its phases' lengths.
    pub cycle_total: Duration,
    /// The last level written to each output, in board order.
    pub levels: [Level; MAX_OUTPUTS],
    /// The latest sensor readings the runner was handed.
    pub readings: Readings,
    /// Event timing of the current run, or of the last one.
    pub stats: Stats,
    /// Why the last cycle stopped on its own, if it did; a start or a load clears it.
    pub fault: Option<Fault>,
    /// The label of the phase the fault names.
    pub fault_label: Label,
    /// A delayed start is waiting: the cycle starts this long after `at` (the controller's
    /// schedule; the runner itself is idle until then).
    pub start_in: Option<Duration>,
    /// How the last phase that ended ended, and its index (the controller's memory of its
    /// notices), so a client can say "ended by its sensor" without the log.
    pub last_phase_end: Option<(u8, PhaseEnd)>,
}

/// Plays one loaded cycle on one board's outputs, enforcing the motor interlock and the reverse
/// dead time; see the module docs for how a platform drives it.
pub struct Runner<'p> {
    board: Board,
    cycle: Cycle<'p>,
    run: Option<Run>,
    /// The last level written to each output.
    levels: [Level; MAX_OUTPUTS],
    motor_off_at: Option<Instant>,
    direction_changed_at: Option<Instant>,
    readings: Readings,
    stats: Stats,
    fault: Option<Fault>,
    /// The instant being written, and the level each output is to have at its end (and
    /// whether the timeline asked for it, rather than the safe state, a resume or a command).
    pending: Option<(Instant, Levels)>,
    /// The `now` of the call being handled: everything due by then is one write at `now`.
    now: Instant,
    /// A reversal the timeline asked for sooner than the dead time after the Motor stopped.
    held: Option<Held>,
    /// Notices of that instant, given once it is committed.
    notices: heapless::Vec<Notice, PENDING_NOTICES>,
}

impl<'p> Runner<'p> {
    /// A runner with nothing loaded, keeping its cycle in `storage` (a cycle costs the bytes
    /// its document holds; see [`Cycle::new`]). Call [`Runner::boot`] before anything else.
    pub fn new(board: Board, storage: &'p mut [u8]) -> Self {
        let levels = [Level::High; MAX_OUTPUTS];
        Runner {
            cycle: Cycle::new(storage),
            run: None,
            levels,
            motor_off_at: None,
            direction_changed_at: None,
            readings: Readings::default(),
            stats: Stats::default(),
            fault: None,
            pending: None,
            now: Instant::from_micros(0),
            held: None,
            notices: heapless::Vec::new(),
            board,
        }
    }

    /// Drives every output to OFF, whatever the runner believed they were.
    pub fn boot(&mut self, now: Instant, out: &mut impl Outputs) {
        // Mark every output ON-unknown so the safe state writes each one.
        for (id, def) in self.board.outputs() {
            self.levels[id.index()] = def.level(true);
        }
        self.safe_state(now, out);
        self.flush(out);
        // The relays have been released since the reset, longer ago than any dead time (the
        // chip spends 100 ms and more in its ROM and bootloader): nothing to wait for.
        self.motor_off_at = None;
        self.direction_changed_at = None;
    }

    /// The board profile whose outputs it drives.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// The loaded cycle (empty when none).
    pub fn cycle(&self) -> &Cycle<'p> {
        &self.cycle
    }

    /// Loads a validated cycle, stopping a running one first (safe state). The previous cycle is
    /// handed back in `cycle`, with its storage. The cycle must have been read against this
    /// runner's board.
    pub fn load(&mut self, now: Instant, cycle: &mut Cycle<'p>, out: &mut impl Outputs) {
        self.advance(now, out);
        if self.run.is_some() {
            self.finish(now, PhaseEnd::Replaced, out);
        }
        self.flush(out);
        // A fault names a phase of the cycle it happened in.
        self.fault = None;
        core::mem::swap(&mut self.cycle, cycle);
    }

    /// Starts the loaded cycle at its first phase, from the safe state; clears the last fault
    /// and the stats.
    pub fn start(&mut self, now: Instant, out: &mut impl Outputs) -> Result<(), CommandError> {
        self.advance(now, out);
        self.may_start()?;
        self.fault = None;
        self.stats = Stats::default();
        self.safe_state(now, out);
        self.run = Some(Run {
            phase: 0,
            cursor: Cursor::default(),
            clock: Clock::Running { phase_start: now },
            cycle_start: now,
            intended: [false; MAX_OUTPUTS],
        });
        self.enter_phase(0, now, out);
        self.advance(now, out);
        Ok(())
    }

    /// Whether [`Runner::start`] would start now (a delayed start is checked the same way when
    /// it is asked for): not while a cycle runs or is paused, not without a cycle.
    pub fn may_start(&self) -> Result<(), CommandError> {
        if self.run.is_some() {
            return Err(CommandError::Running);
        }
        if self.cycle.phases().is_empty() {
            return Err(CommandError::NoCycle);
        }
        Ok(())
    }

    /// Stops the cycle. Whatever the state, every output is OFF afterwards.
    pub fn stop(&mut self, now: Instant, out: &mut impl Outputs) -> Result<(), CommandError> {
        self.advance(now, out);
        if self.run.is_none() {
            self.safe_state(now, out);
            self.flush(out);
            return Err(CommandError::NotRunning);
        }
        self.finish(now, PhaseEnd::Stopped, out);
        self.flush(out);
        Ok(())
    }

    /// Ends the current phase now and starts the next (a paused cycle stays paused).
    pub fn skip_phase(&mut self, now: Instant, out: &mut impl Outputs) -> Result<(), CommandError> {
        self.advance(now, out);
        let run = self.run.as_ref().ok_or(CommandError::NotRunning)?;
        let next = run.phase as usize + 1;
        self.end_phase(now, PhaseEnd::Skipped, Some(next), out);
        self.advance(now, out);
        Ok(())
    }

    /// Ends the current phase now and starts phase `index` (0-based; backwards is allowed).
    pub fn skip_to_phase(
        &mut self,
        now: Instant,
        index: usize,
        out: &mut impl Outputs,
    ) -> Result<(), CommandError> {
        self.advance(now, out);
        if self.run.is_none() {
            return Err(CommandError::NotRunning);
        }
        let phases = self.cycle.phases().len();
        if index >= phases {
            return Err(CommandError::PhaseOutOfRange { index, phases });
        }
        self.end_phase(now, PhaseEnd::Skipped, Some(index), out);
        self.advance(now, out);
        Ok(())
    }

    /// Freezes the phase clock and puts the outputs in the safe state.
    pub fn pause(&mut self, now: Instant, out: &mut impl Outputs) -> Result<(), CommandError> {
        self.advance(now, out);
        let run = self.run.as_mut().ok_or(CommandError::NotRunning)?;
        if let Clock::Paused { .. } = run.clock {
            return Err(CommandError::AlreadyPaused);
        }
        run.clock = Clock::Paused {
            elapsed: run.elapsed(now),
            since: now,
            resume_at: None,
        };
        self.safe_state(now, out);
        self.flush(out);
        Ok(())
    }

    /// Restores the outputs the timeline has ON at this point (Motor Direction first, Motor
    /// last) and lets the phase clock run on. When the direction must change and the board's
    /// reverse dead time has not passed since the motor stopped, the resume waits for it.
    pub fn resume(&mut self, now: Instant, out: &mut impl Outputs) -> Result<(), CommandError> {
        self.advance(now, out);
        let dir = self.board.direction();
        let dir_on = self.is_on(dir);
        let earliest = self.motor_off_at.map(|t| t + self.dead_time());
        let run = self.run.as_mut().ok_or(CommandError::NotRunning)?;
        let Clock::Paused { resume_at, .. } = &mut run.clock else {
            return Err(CommandError::NotPaused);
        };
        let turns = run.intended[dir.index()] != dir_on;
        *resume_at = Some(match earliest {
            Some(t) if turns => now.max(t),
            _ => now,
        });
        self.advance(now, out);
        Ok(())
    }

    /// Switches one output by hand. Only with no cycle running, and never against the motor
    /// interlock or the reverse dead time.
    pub fn set_output(
        &mut self,
        now: Instant,
        output: OutputId,
        on: bool,
        out: &mut impl Outputs,
    ) -> Result<(), CommandError> {
        self.advance(now, out);
        if output.index() >= self.board.len() {
            return Err(CommandError::UnknownOutput);
        }
        if self.run.is_some() {
            return Err(CommandError::Running);
        }
        let dead = self.dead_time();
        let wait = |since: Option<Instant>| {
            since
                .map(|t| (t + dead).saturating_duration_since(now))
                .filter(|&w| w > Duration::ZERO)
                .map(|w| CommandError::DeadTime {
                    wait_ms: w.as_micros().div_ceil(1000),
                })
        };
        let (motor, dir) = (self.board.motor(), self.board.direction());
        if output == dir && on != self.is_on(dir) {
            if self.is_on(motor) {
                return Err(CommandError::Interlock);
            }
            if let Some(e) = wait(self.motor_off_at) {
                return Err(e);
            }
        }
        if output == motor
            && on
            && !self.is_on(motor)
            && let Some(e) = wait(self.direction_changed_at)
        {
            return Err(e);
        }
        self.write(now, output, on, out);
        self.flush(out);
        Ok(())
    }

    /// The platform's alarm fired: apply everything due by `now`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut impl Outputs) {
        self.advance(now, out);
    }

    /// New sensor readings: a phase whose trigger now holds ends here.
    pub fn handle_readings(&mut self, now: Instant, readings: Readings, out: &mut impl Outputs) {
        self.advance(now, out);
        self.readings = readings;
        let Some(run) = &self.run else { return };
        let Clock::Running { .. } = run.clock else {
            return;
        };
        let phase = self.cycle.phases()[run.phase as usize];
        let Some(t) = phase.trigger else { return };
        let reading = match t.sensor {
            Sensor::Rpm => readings.rpm,
            Sensor::Pressure => readings.pressure_hz,
        };
        let cooled = run.elapsed(now) >= Duration::from_millis(t.cooldown_ms as u64);
        if cooled && reading.is_some_and(|v| t.holds(v)) {
            let next = run.phase as usize + 1;
            self.end_phase(now, PhaseEnd::Triggered, Some(next), out);
            self.advance(now, out);
        }
    }

    /// When to call [`Runner::handle_timeout`] next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let run = self.run.as_ref()?;
        match run.clock {
            Clock::Paused { resume_at, .. } => resume_at,
            Clock::Running { phase_start } => {
                let phase = &self.cycle.phases()[run.phase as usize];
                let next = phase_start + self.next_offset(run, phase);
                Some(self.held.map_or(next, |h| next.min(h.until)))
            }
        }
    }

    /// Idle, running or paused.
    pub fn status(&self) -> Status {
        match &self.run {
            None => Status::Idle,
            Some(Run {
                clock: Clock::Paused { .. },
                ..
            }) => Status::Paused,
            Some(_) => Status::Running,
        }
    }

    /// The level last written to an output.
    pub fn level(&self, output: OutputId) -> Level {
        self.levels[output.index()]
    }

    /// Event timing of the current run, or of the last one.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The platform wrote the instant it had the runner work out for `due` (by calling it with
    /// `now = due` ahead of time, its writes held back) at `written`, with `events` of the
    /// timeline in it: that is their lateness, which the runner could not see itself.
    pub fn note_written(&mut self, due: Instant, written: Instant, events: u64) {
        let late = written.saturating_duration_since(due);
        self.stats.worst_lateness = self.stats.worst_lateness.max(late);
        if late > LATE_AFTER {
            self.stats.late_events += events;
        }
    }

    /// A copy of the state at `now`, for telemetry and replies; elapsed times count to `now`.
    pub fn snapshot(&self, now: Instant) -> Snapshot {
        let cycle = &self.cycle;
        let label = |i: usize| {
            let text = cycle.phases().get(i).map_or("?", |p| cycle.phase_label(p));
            // A label is a cycle string: it fits.
            Label::try_from(text).unwrap_or_default()
        };
        let mut s = Snapshot {
            at: now,
            status: self.status(),
            phase_index: 0,
            phase_id: Label::new(),
            phase_label: Label::new(),
            total_phases: cycle.phases().len() as u8,
            phase_elapsed: Duration::ZERO,
            phase_total: Duration::ZERO,
            cycle_elapsed: Duration::ZERO,
            cycle_total: Duration::from_millis(cycle.duration_ms()),
            levels: self.levels,
            readings: self.readings,
            stats: self.stats,
            fault: self.fault,
            fault_label: match self.fault {
                Some(Fault::WaitTimeout { phase }) => label(phase as usize),
                None => Label::new(),
            },
            start_in: None,
            last_phase_end: None,
        };
        if let Some(run) = &self.run {
            let phase = &cycle.phases()[run.phase as usize];
            s.phase_index = run.phase + 1;
            s.phase_id = Label::try_from(cycle.text(phase.id)).unwrap_or_default();
            s.phase_label = label(run.phase as usize);
            s.phase_elapsed = run.elapsed(now);
            s.phase_total = Duration::from_millis(phase.duration_ms() as u64);
            s.cycle_elapsed = run.cycle_elapsed(now);
        }
        s
    }

    fn dead_time(&self) -> Duration {
        Duration::from_millis(self.board.reverse_dead_time_ms() as u64)
    }

    fn is_on(&self, output: OutputId) -> bool {
        self.board.output(output).is_on(self.levels[output.index()])
    }

    /// Offset in the phase of the next thing to do: an event, the phase end, or a wait timeout.
    fn next_offset(&self, run: &Run, phase: &Phase) -> Duration {
        if let Some(ev) = run.cursor.peek() {
            return ev.at;
        }
        let end = Duration::from_millis(phase.duration_ms() as u64);
        match phase.trigger.map(|t| t.mode) {
            Some(TriggerMode::Wait { timeout_ms }) => {
                end + Duration::from_millis(timeout_ms as u64)
            }
            _ => end,
        }
    }

    /// Applies everything due by `now`: events, phase ends, a delayed resume.
    fn advance(&mut self, now: Instant, out: &mut impl Outputs) {
        self.now = self.now.max(now);
        while let Some(run) = &self.run {
            let phase = self.cycle.phases()[run.phase as usize];
            let phase_start = match run.clock {
                Clock::Paused {
                    resume_at: Some(at),
                    ..
                } if at <= now => {
                    self.restore(at, out);
                    continue;
                }
                Clock::Paused { .. } => break,
                Clock::Running { phase_start } => phase_start,
            };
            let due = phase_start + self.next_offset(run, &phase);
            if let Some(h) = self.held.filter(|h| h.until <= now && h.until <= due) {
                self.release(h, out);
                continue;
            }
            if due > now {
                break;
            }
            if run.cursor.peek().is_some() {
                self.fire(now, phase_start, out);
            } else if let Some(TriggerMode::Wait { .. }) = phase.trigger.map(|t| t.mode) {
                let fault = Fault::WaitTimeout { phase: run.phase };
                self.fault = Some(fault);
                self.finish(due, PhaseEnd::Faulted(fault), out);
            } else {
                let next = run.phase as usize + 1;
                self.end_phase(due, PhaseEnd::Completed, Some(next), out);
            }
        }
        self.flush(out);
    }

    /// Applies the next event of the current phase.
    fn fire(&mut self, now: Instant, phase_start: Instant, out: &mut impl Outputs) {
        let Some(run) = self.run.as_mut() else { return };
        let Some(ev) = run.cursor.pop(&self.cycle) else {
            return;
        };
        run.intended[ev.output.index()] = ev.on;
        let at = phase_start + ev.at;
        let late = now - at;
        self.stats.events_fired += 1;
        self.stats.worst_lateness = self.stats.worst_lateness.max(late);
        if late > LATE_AFTER {
            self.stats.late_events += 1;
        }
        self.write_from(at, ev.output, ev.on, Source::Timeline, out);
    }

    /// Holds a notice back until the instant it belongs to is committed.
    fn notice(&mut self, notice: Notice, out: &mut impl Outputs) {
        if self.notices.is_full() {
            self.flush(out);
        }
        // Room was just made.
        let _ = self.notices.push(notice);
    }

    /// Sends the instant being written: the outputs whose level it changes, one commit, then
    /// the notices of the instant.
    fn flush(&mut self, out: &mut impl Outputs) {
        self.commit(out);
        for n in self.notices.drain(..) {
            out.notice(n);
        }
    }

    fn commit(&mut self, out: &mut impl Outputs) {
        let Some((at, mut levels)) = self.pending.take() else {
            return;
        };
        self.hold_reversal(at, &mut levels);
        let mut changed = false;
        for (id, def) in self.board.outputs() {
            let i = id.index();
            let Some((level, _)) = levels[i].filter(|&(l, _)| l != self.levels[i]) else {
                continue;
            };
            if id == self.board.motor() && !def.is_on(level) {
                self.motor_off_at = Some(at);
            }
            if id == self.board.direction() {
                self.direction_changed_at = Some(at);
            }
            self.levels[i] = level;
            out.set(OutputChange {
                output: id,
                pin: def.pin,
                level,
                on: def.is_on(level),
                due: at,
            });
            changed = true;
        }
        if changed {
            out.commit();
        }
    }

    /// Sets an output's level at the end of instant `at`; an earlier instant still being
    /// written is sent first.
    fn write(&mut self, at: Instant, output: OutputId, on: bool, out: &mut impl Outputs) {
        self.write_from(at, output, on, Source::Other, out);
    }

    fn write_from(
        &mut self,
        at: Instant,
        output: OutputId,
        on: bool,
        source: Source,
        out: &mut impl Outputs,
    ) {
        // A late call (the platform was busy) catches up in one write at `now`, of the net
        // change of everything overdue: replaying each missed instant microseconds apart would
        // only chatter the relays (a 2 ms pulse shrunk to a few µs).
        let instant = at.max(self.now);
        if self.pending.is_some_and(|(t, _)| t != instant) {
            self.flush(out);
        }
        let level = self.board.output(output).level(on);
        // Built only when the instant is first written: most writes join one already open.
        if self.pending.is_none() {
            self.pending = Some((instant, [None; MAX_OUTPUTS]));
        }
        let Some((_, levels)) = &mut self.pending else {
            unreachable!("opened above")
        };
        levels[output.index()] = Some((level, source));
    }

    /// The reverse dead time across what the load-time check cannot see (phase boundaries,
    /// triggers, skips, jumps): Motor Direction turns only when the Motor has been OFF for the
    /// dead time. An instant that would turn it sooner holds the turn, and the Motor's restart
    /// with it, until then; the Motor stops now. While held, the timeline's later Motor and
    /// Motor Direction changes go into the hold. The one exception is an instant that leaves the
    /// Motor OFF and whose direction is the safe state's: releasing every relay at once never
    /// reverses a running motor, and stopping is never delayed; it ends a hold.
    fn hold_reversal(&mut self, at: Instant, levels: &mut Levels) {
        let (motor, dir) = (self.board.motor(), self.board.direction());
        let (m, d) = (motor.index(), dir.index());
        let motor_def = self.board.output(motor);
        let wants_motor_on = |l: Option<(Level, Source)>, otherwise: bool| match l {
            Some((level, _)) => motor_def.is_on(level),
            None => otherwise,
        };
        let from_elsewhere = levels[d].is_some_and(|(_, s)| s == Source::Other);
        if let Some(h) = &mut self.held {
            if !from_elsewhere {
                // The timeline's changes go into the hold; the pins stay put.
                if let Some((level, _)) = levels[d].take() {
                    h.direction = self.board.output(dir).is_on(level);
                }
                h.motor_on = wants_motor_on(levels[m].take(), h.motor_on);
                return;
            }
            // The safe state or a resume: the hold is over, the instant is judged afresh.
            self.held = None;
        }
        let Some((level, _)) = levels[d].filter(|&(l, _)| l != self.levels[d]) else {
            return;
        };
        let motor_on_after = wants_motor_on(levels[m], self.is_on(motor));
        if from_elsewhere && !motor_on_after {
            return;
        }
        let quiet_since = match (self.is_on(motor), self.motor_off_at) {
            (true, _) => Some(at),
            (false, off) => off,
        };
        let dead = self.dead_time();
        // Times here are when writes happened, a few µs after they were due: a reversal the
        // timeline spaced exactly the dead time from its Motor OFF must not be split off by that
        // (within the same 100 µs the runner counts as on time).
        let Some(until) = quiet_since
            .map(|t| t + dead)
            .filter(|&u| u > at + LATE_AFTER)
        else {
            return;
        };
        self.held = Some(Held {
            until,
            direction: self.board.output(dir).is_on(level),
            motor_on: motor_on_after,
        });
        levels[d] = None;
        levels[m] = Some((motor_def.level(false), Source::Timeline));
    }

    /// Ends a hold at its time: the direction turns, and the Motor restarts if the timeline has
    /// it ON by then.
    fn release(&mut self, h: Held, out: &mut impl Outputs) {
        self.held = None;
        let (motor, dir) = (self.board.motor(), self.board.direction());
        self.write(h.until, dir, h.direction, out);
        self.write(h.until, motor, h.motor_on, out);
    }

    fn output_ids(&self) -> heapless::Vec<OutputId, MAX_OUTPUTS> {
        self.board.outputs().map(|(id, _)| id).collect()
    }

    /// Every output OFF, in the write of instant `at` (one register pair on the chip). The only
    /// way outputs are forced off. What the same instant then switches ON (the next phase's
    /// first events) shares that write, so an output ON on both sides of a phase boundary is
    /// not switched at all, as in the original firmware.
    fn safe_state(&mut self, at: Instant, out: &mut impl Outputs) {
        for id in self.output_ids() {
            self.write(at, id, false, out);
        }
    }

    /// Ends the current phase at `at` (safe state first), then starts phase `next` or, when
    /// there is none, ends the cycle.
    fn end_phase(
        &mut self,
        at: Instant,
        end: PhaseEnd,
        next: Option<usize>,
        out: &mut impl Outputs,
    ) {
        let Some(run) = &self.run else { return };
        let phase = run.phase;
        self.safe_state(at, out);
        self.notice(Notice::PhaseEnded { at, phase, end }, out);
        match next.filter(|&n| n < self.cycle.phases().len()) {
            Some(n) => self.enter_phase(n, at, out),
            None => {
                self.run = None;
                let completed = matches!(
                    end,
                    PhaseEnd::Completed | PhaseEnd::Triggered | PhaseEnd::Skipped
                );
                self.notice(Notice::CycleEnded { at, completed }, out);
            }
        }
    }

    /// Ends the cycle where it stands (a stop, a fault or a reload).
    fn finish(&mut self, at: Instant, end: PhaseEnd, out: &mut impl Outputs) {
        self.end_phase(at, end, None, out);
    }

    /// Phase `index` starts at `at` (its clock keeps a pause if the cycle is paused).
    fn enter_phase(&mut self, index: usize, at: Instant, out: &mut impl Outputs) {
        let Some(run) = self.run.as_mut() else { return };
        let phase = &self.cycle.phases()[index];
        run.phase = index as u8;
        // In place: the cursor is 656 bytes, a copy a phase change need not pay for.
        run.cursor.restart(&self.cycle, phase);
        run.intended = [false; MAX_OUTPUTS];
        run.clock = match run.clock {
            Clock::Running { .. } => Clock::Running { phase_start: at },
            // A resume already asked for still stands in the new phase.
            Clock::Paused {
                since, resume_at, ..
            } => Clock::Paused {
                elapsed: Duration::ZERO,
                since,
                resume_at,
            },
        };
        self.notice(
            Notice::PhaseStarted {
                at,
                phase: index as u8,
            },
            out,
        );
    }

    /// Ends a pause at `at`: the intended outputs come back, direction first, motor last.
    fn restore(&mut self, at: Instant, out: &mut impl Outputs) {
        let Some(run) = self.run.as_mut() else { return };
        let Clock::Paused { elapsed, since, .. } = run.clock else {
            return;
        };
        run.clock = Clock::Running {
            phase_start: at - elapsed,
        };
        run.cycle_start += at - since;
        let intended = run.intended;
        let (motor, dir) = (self.board.motor(), self.board.direction());
        let others = self
            .output_ids()
            .into_iter()
            .filter(|&o| o != motor && o != dir);
        // One instant: the direction, the rest and the motor in one write.
        for id in [dir]
            .into_iter()
            .chain(others.collect::<heapless::Vec<_, MAX_OUTPUTS>>())
            .chain([motor])
        {
            self.write(at, id, intended[id.index()], out);
        }
    }
}
