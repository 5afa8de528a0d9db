//! The player: drives the runner on the simulated washer, in virtual time or in real time.
//!
//! It is a shell around tumble-core's `Controller`, which says what is due (the runner's next
//! deadline, merged with the next sensor sample): this owns the clock, the waiting and the pins
//! (the simulator). Everything it observes goes out on a channel, so the timing thread never
//! waits on a terminal or a disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use tumble_core::board::{Level, Sensors};
use tumble_core::controller::{Arrival, Controller, Work};
use tumble_core::protocol::Op;
use tumble_core::runner::{Notice, OutputChange, Outputs, Stats};
use tumble_core::time;

use crate::sim::Washer;

/// How the player keeps time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Virtual time: jump from deadline to deadline as fast as the machine can.
    Instant,
    /// Wall-clock time, `speed` times faster than real.
    RealTime { speed: f64 },
}

/// What the timing thread saw, in order. Times are from the cycle start (virtual).
#[derive(Debug, Clone, Copy)]
pub enum Seen {
    Output(Change),
    Sample {
        at: time::Instant,
        rpm: f32,
        pressure_hz: f32,
        level_litres: f64,
        drum_rpm: f64,
    },
    Notice(Notice),
}

/// One output write: scheduled at `due_us`, applied at `actual_us` (µs on the controller's
/// clock, as a record line writes them).
#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub due_us: u64,
    pub actual_us: u64,
    pub pin: u8,
    pub level: Level,
    pub on: bool,
}

impl Change {
    /// This change as a line of a `--record` file (without its newline): `{"t_us":..,"kind":
    /// "output","pin":..,"output":NAME,"level":..,"on":..,"actual_us":..}`. `tumble run` and
    /// `tumble serve` write the same.
    pub fn record_line(&self, output: &str) -> String {
        crate::cli::json_object(|o| {
            o.field("t_us", self.due_us)?
                .field("kind", "output")?
                .field("pin", self.pin)?
                .field("output", output)?
                .field("level", self.level.as_u8())?
                .field("on", self.on)?
                .field("actual_us", self.actual_us)?;
            Ok(())
        })
    }
}

/// The end of a play.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub stats: Stats,
    pub lateness: Lateness,
    pub interrupted: bool,
    /// The timing thread ran under a real-time scheduling policy (real-time pace only).
    pub realtime_policy: bool,
    pub end: time::Instant,
    /// Every output at its OFF level when the player stopped.
    pub all_off: bool,
}

/// Lateness of every event, in real µs, as a histogram with 1 µs buckets up to 100 ms.
#[derive(Debug, Clone)]
pub struct Lateness {
    buckets: Vec<u64>,
    beyond: u64,
    pub max_us: u64,
    pub events: u64,
}

const BUCKETS: usize = 100_000;

impl Lateness {
    fn new() -> Self {
        Lateness {
            buckets: vec![0; BUCKETS],
            beyond: 0,
            max_us: 0,
            events: 0,
        }
    }

    fn add(&mut self, late_us: u64, events: u64) {
        if events == 0 {
            return;
        }
        match self.buckets.get_mut(late_us as usize) {
            Some(b) => *b += events,
            None => self.beyond += events,
        }
        self.max_us = self.max_us.max(late_us);
        self.events += events;
    }

    /// The lateness that `q` (0..1) of the events did not exceed; `None` past the histogram.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let want = (q * self.events as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (us, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Some(us as u64);
            }
        }
        None
    }
}

/// Progress the main thread shows, updated without locks.
#[derive(Debug, Default)]
pub struct Progress {
    pub now_us: AtomicU64,
    pub phase: AtomicU64,
}

/// The pins as the runner sees them: the simulator, plus a tap that reports each change.
struct Pins<'a> {
    washer: &'a mut Washer,
    seen: &'a Sender<Seen>,
    actual: time::Instant,
}

impl Outputs for Pins<'_> {
    fn set(&mut self, change: OutputChange) {
        self.washer.set(change);
        let _ = self.seen.send(Seen::Output(Change {
            due_us: change.due.as_micros(),
            actual_us: self.actual.as_micros(),
            pin: change.pin,
            level: change.level,
            on: change.on,
        }));
    }
}

/// Wall-clock or virtual time, the controller's clock: its epoch is the start.
pub struct Clock {
    pace: Pace,
    origin: Instant,
    virtual_now: time::Instant,
}

/// Sleep until this close to a deadline, then spin: sleeping overshoots by tens of µs.
const SPIN_US: u64 = 250;
/// Longest single sleep, so an interrupt is noticed quickly.
const SLEEP_SLICE: Duration = Duration::from_millis(20);

impl Clock {
    /// Wall-clock time from now on, `speed` times faster than real.
    pub fn real_time(speed: f64) -> Self {
        Clock {
            pace: Pace::RealTime { speed },
            origin: Instant::now(),
            virtual_now: time::Instant::from_micros(0),
        }
    }

    pub fn now(&self) -> time::Instant {
        match self.pace {
            Pace::Instant => self.virtual_now,
            Pace::RealTime { speed } => time::Instant::from_micros(
                (self.origin.elapsed().as_nanos() as f64 * speed / 1000.0) as u64,
            ),
        }
    }

    /// Waits until virtual time `t` (or an interrupt) and returns the time it woke.
    fn wait_until(&mut self, t: time::Instant, stop: &AtomicBool) -> time::Instant {
        let Pace::RealTime { speed } = self.pace else {
            self.virtual_now = self.virtual_now.max(t);
            return self.virtual_now;
        };
        let target =
            self.origin + Duration::from_nanos((t.as_micros() as f64 * 1000.0 / speed) as u64);
        loop {
            let now = Instant::now();
            if stop.load(Ordering::Relaxed) {
                return self.now();
            }
            if now >= target {
                // Not before the deadline, whatever the float conversions round to.
                return self.now().max(t);
            }
            let left = target - now;
            if left > Duration::from_micros(SPIN_US) {
                std::thread::sleep((left - Duration::from_micros(SPIN_US)).min(SLEEP_SLICE));
            } else {
                std::hint::spin_loop();
            }
        }
    }

    /// How long in real time until virtual time `t` (zero when it has passed).
    pub fn real_until(&self, t: time::Instant) -> Duration {
        Duration::from_micros(self.real_us(t.saturating_duration_since(self.now())))
    }

    /// Virtual time as real µs.
    fn real_us(&self, virtual_time: time::Duration) -> u64 {
        match self.pace {
            Pace::Instant => 0,
            Pace::RealTime { speed } => (virtual_time.as_micros() as f64 / speed) as u64,
        }
    }
}

/// Plays the loaded cycle from start to end (or interrupt), reporting on `seen`.
pub fn play(
    ctl: &mut Controller,
    washer: &mut Washer,
    pace: Pace,
    seen: &Sender<Seen>,
    progress: &Arc<Progress>,
    stop: &AtomicBool,
) -> Outcome {
    let realtime_policy = pace != Pace::Instant && raise_priority();
    let start = time::Instant::from_micros(0);
    let mut clock = Clock {
        pace,
        origin: Instant::now(),
        virtual_now: start,
    };
    let mut lateness = Lateness::new();
    let mut pins = Pins {
        washer,
        seen,
        actual: start,
    };
    ctl.boot(start, &mut pins);
    let started = ctl.execute(Work::Op(Op::Start), Arrival(1), start, &mut pins);
    report_notices(ctl, seen, progress);
    // Events due at the start fire inside `start`, on time by definition.
    lateness.add(0, ctl.runner().stats().events_fired);
    let mut interrupted = false;
    let mut now = start;
    while started.outcome.result.is_ok() && ctl.runner().poll_timeout().is_some() {
        if stop.load(Ordering::Relaxed) {
            interrupted = true;
            let at = clock.now().max(now);
            ctl.execute(Work::Op(Op::Stop), Arrival::LAST, at, &mut pins);
            report_notices(ctl, seen, progress);
            break;
        }
        let deadline = ctl.runner().poll_timeout().unwrap_or(time::Instant::MAX);
        now = clock.wait_until(ctl.poll_timeout(), stop);
        pins.actual = now;
        let step = ctl.handle_timeout(now, &mut pins);
        if step.due_events > 0 {
            let late = now.saturating_duration_since(deadline);
            lateness.add(clock.real_us(late), step.due_events);
        }
        if step.sample_due {
            let r = pins.washer.read(now);
            let _ = seen.send(Seen::Sample {
                at: now,
                rpm: r.rpm.unwrap_or(0.0),
                pressure_hz: r.pressure_hz.unwrap_or(0.0),
                level_litres: pins.washer.level_litres(),
                drum_rpm: pins.washer.drum_rpm(),
            });
            // A trigger starts the next phase now: its first events are due now, not late.
            lateness.add(0, ctl.handle_sample(now, r, &mut pins));
        }
        report_notices(ctl, seen, progress);
        progress.now_us.store(now.as_micros(), Ordering::Relaxed);
    }
    let runner = ctl.runner();
    let board = runner.board();
    Outcome {
        stats: runner.stats(),
        lateness,
        interrupted,
        realtime_policy,
        end: now,
        all_off: board
            .outputs()
            .all(|(id, def)| runner.level(id) == def.level(false)),
    }
}

/// The controller's notices, after the outputs of the instants they are about.
fn report_notices(ctl: &mut Controller, seen: &Sender<Seen>, progress: &Progress) {
    while let Some(n) = ctl.poll_notice() {
        let notice = n.notice();
        if let Notice::PhaseStarted { phase, .. } = notice {
            progress.phase.store(phase as u64, Ordering::Relaxed);
        }
        let _ = seen.send(Seen::Notice(notice));
    }
}

/// Asks for SCHED_FIFO at its lowest priority: above every ordinary thread, so a busy machine
/// delays the alarm less, yet below the kernel's own real-time work. Unprivileged users get
/// `false` and the ordinary scheduler.
pub fn raise_priority() -> bool {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            RealtimeThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Min,
            ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
        )
        .is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_quantiles() {
        let mut l = Lateness::new();
        l.add(1, 98);
        l.add(50, 1);
        l.add(200_000, 1);
        assert_eq!(l.quantile(0.5), Some(1));
        assert_eq!(l.quantile(0.99), Some(50));
        assert_eq!(l.quantile(1.0), None);
        assert_eq!((l.max_us, l.events), (200_000, 100));
    }
}
