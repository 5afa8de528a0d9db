//! One wake-up of the control loop, written at its instant.
//!
//! The work of an instant (the events due, a phase's end and the next one's start, a sample
//! and the trigger it may fire, a telemetry snapshot) takes a few µs on the chip, and several
//! times that at a phase boundary. Done after the deadline, that work is the write's lateness,
//! and it varies with what the instant holds (the emulated chip measured 5.6 µs for a motor
//! step and 34 µs at a phase boundary). So the alarm wakes `lead` early, has the controller
//! work the instant out as of its time with the pins held, waits out the rest on the clock,
//! and writes the instant's one register pair when it comes: the write is then late by a clock
//! read and two register writes, whatever the instant holds.
//!
//! Nothing can come between the working out and the write: the alarm is the highest-priority
//! task and does both without yielding. A wake-up that is late (past the deadline) writes at
//! once, the net change of everything overdue, as the runner catches up. A wake-up by a
//! command (before the lead) works at the time it woke.
//!
//! A command that starts a phase clock ([`starts_a_clock`]: a start, a resume, a skip, a
//! jump) is applied the same way: as of `lead` from when it is applied, with the pins held
//! until then ([`MaskPins::hold_until`]), and this alarm writes its first instant at that
//! origin. Applied at once, its first instant went out after the command's work (22 to 36 µs
//! on the emulated chip) while the phase's later instants are timed from the origin, so the
//! phase's first interval came out short by that much.

use tumble_core::board::Sensors;
use tumble_core::controller::Controller;
use tumble_core::protocol::Op;
use tumble_core::runner::Snapshot;
use tumble_core::time::{Duration, Instant};

use crate::pins::{GpioWrite, MaskPins};

/// The one alarm: the deadline it waits for and how early it wakes for it.
#[derive(Debug, Clone)]
pub struct Alarm {
    lead: Duration,
    deadline: Instant,
}

impl Alarm {
    /// An alarm that wakes `lead` before each deadline, due at once.
    pub const fn new(lead: Duration) -> Self {
        Alarm {
            lead,
            deadline: Instant::from_micros(0),
        }
    }

    /// When to wake: `lead` before the controller's deadline.
    pub fn wake_at(&self) -> Instant {
        self.deadline.saturating_sub(self.lead)
    }

    /// One wake-up, on `clock` (the platform's, read again while waiting for the instant):
    /// what is due at the deadline worked out and written at it. Returns the telemetry snapshot
    /// due, for the platform to send.
    pub fn wake<G: GpioWrite>(
        &mut self,
        ctl: &mut Controller<'_>,
        pins: &mut MaskPins<G>,
        sensors: &mut impl Sensors,
        clock: &mut impl FnMut() -> Instant,
    ) -> Option<Snapshot> {
        let woke = clock();
        let at = match woke >= self.wake_at() {
            true => self.deadline.max(woke),
            // A command woke it to re-arm.
            false => woke,
        };
        pins.hold();
        let step = ctl.handle_timeout(at, pins);
        let mut events = step.due_events;
        if step.sample_due {
            let readings = sensors.read(woke);
            events += ctl.handle_sample(at, readings, pins);
        }
        self.deadline = ctl.poll_timeout();
        let at = pins.not_before().map_or(at, |t| t.max(at));
        while clock() < at {
            core::hint::spin_loop();
        }
        if pins.write_held() {
            ctl.note_written(at, clock(), events);
        }
        step.telemetry
    }
}

/// Whether `op` starts a phase clock, so that the chip applies it `lead` ahead with the pins
/// held, for this alarm to write at its origin (see the module's doc). A stop, a pause and a
/// hand-switched output are applied at once.
pub fn starts_a_clock(op: &Op) -> bool {
    matches!(
        op,
        Op::Start | Op::Resume | Op::SkipPhase | Op::SkipToPhase(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::CYCLE_STORAGE;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::vec::Vec;
    use tumble_core::board::{Board, Readings};
    use tumble_core::controller::{Arrival, Work};
    use tumble_core::runner::Status;
    use tumble_rig::example;

    const LEAD: Duration = Duration::from_micros(100);

    /// A clock that moves on by `step` µs at each read, as a spinning chip's does.
    #[derive(Clone)]
    struct Clock {
        us: Rc<Cell<u64>>,
        /// What the last read said: when a write that follows it happens.
        last: Rc<Cell<u64>>,
        step: u64,
    }

    impl Clock {
        fn read(&self) -> Instant {
            let t = self.us.get();
            self.us.set(t + self.step);
            self.last.set(t);
            Instant::from_micros(t)
        }

        fn set(&self, t: Instant) {
            self.us.set(self.us.get().max(t.as_micros()));
        }
    }

    /// Each register write with the clock's time when it happened.
    struct Timed {
        clock: Clock,
        writes: Vec<(u64, u32, u32)>,
    }

    impl GpioWrite for Timed {
        fn write(&mut self, set: u32, clear: u32) {
            self.writes.push((self.clock.last.get(), set, clear));
        }
    }

    /// Sensors reading `rpm` from `from` on, 0 before.
    struct Drum {
        from: Instant,
        rpm: f32,
    }

    impl Sensors for Drum {
        fn read(&mut self, now: Instant) -> Readings {
            Readings {
                rpm: Some(if now >= self.from { self.rpm } else { 0.0 }),
                ..Readings::default()
            }
        }
    }

    struct Rig {
        ctl: std::boxed::Box<Controller<'static>>,
        pins: MaskPins<Timed>,
        clock: Clock,
        alarm: Alarm,
    }

    /// `json` loaded and started at 0 on a clock of `step` µs per read.
    fn started(json: &str, step: u64) -> Rig {
        let mut r = loaded(json, step);
        let start = Instant::from_micros(0);
        r.ctl
            .execute(Work::Op(Op::Start), Arrival(1), start, &mut r.pins);
        r.alarm.deadline = r.ctl.poll_timeout();
        r
    }

    /// `json` loaded at 0 on a clock of `step` µs per read.
    fn loaded(json: &str, step: u64) -> Rig {
        let board = Board::washer();
        let clock = Clock {
            us: Rc::new(Cell::new(0)),
            last: Rc::new(Cell::new(0)),
            step,
        };
        let timed = Timed {
            clock: clock.clone(),
            writes: Vec::new(),
        };
        let mut pins = MaskPins::new(timed, &board);
        let config = tumble_rig::config(100, Some(100));
        let mut ctl = tumble_rig::controller(board, config, CYCLE_STORAGE, &mut pins);
        let start = Instant::from_micros(0);
        ctl.restore(json.as_bytes(), start, &mut pins);
        let mut alarm = Alarm::new(LEAD);
        alarm.deadline = ctl.poll_timeout();
        Rig {
            ctl,
            pins,
            clock,
            alarm,
        }
    }

    impl Rig {
        /// Wakes the alarm when its timer would (or at `late`, once) until the cycle ends;
        /// `work` µs pass while the controller works each instant out.
        fn play(&mut self, sensors: &mut impl Sensors, late: Option<u64>, work: u64) {
            while self.ctl.runner().status() != Status::Idle {
                let wake = late.map_or(self.alarm.wake_at(), Instant::from_micros);
                self.clock.set(wake);
                let (clock, step) = (self.clock.clone(), self.clock.step);
                let mut reads = 0;
                let mut read = || {
                    reads += 1;
                    // The second read is the first after the work.
                    if reads == 2 {
                        clock.us.set(clock.us.get() + work.saturating_sub(step));
                    }
                    clock.read()
                };
                self.alarm
                    .wake(&mut self.ctl, &mut self.pins, sensors, &mut read);
                if late.is_some() {
                    break;
                }
            }
        }

        fn writes(&mut self) -> Vec<(u64, u32, u32)> {
            core::mem::take(&mut self.pins.gpio_mut().writes)
        }
    }

    fn still() -> Drum {
        Drum {
            from: Instant::MAX,
            rpm: 0.0,
        }
    }

    /// The instants of the runner's timeline, each the pins' net change, from the runner woken
    /// at each deadline exactly (no lead, no held writes).
    fn planned(json: &str) -> Vec<(u64, u32, u32)> {
        let mut r = started(json, 0);
        r.writes();
        let mut planned = Vec::new();
        while r.ctl.runner().status() != Status::Idle {
            let now = r.ctl.poll_timeout();
            r.clock.set(now);
            r.clock.read();
            if r.ctl.handle_timeout(now, &mut r.pins).sample_due {
                r.ctl.handle_sample(now, Readings::default(), &mut r.pins);
            }
            planned.extend(r.writes());
        }
        planned
    }

    #[test]
    fn every_instant_is_written_at_its_time_in_one_write_whatever_its_work() {
        for name in [
            "original-example.json",
            "wash-1600.json",
            "full-featured.json",
        ] {
            let json = example(name);
            let planned = planned(&json);
            assert!(planned.len() > 5, "{name}");
            // 60 µs of work per instant, within the 100 µs lead: no write is late.
            let mut r = started(&json, 1);
            r.writes();
            r.play(&mut still(), None, 60);
            assert_eq!(r.writes(), planned, "{name}");
            // The clock read after the write is one step on.
            let stats = r.ctl.runner().stats();
            assert_eq!(stats.worst_lateness, Duration::from_micros(1), "{name}");
            assert_eq!(stats.late_events, 0, "{name}");
        }
    }

    #[test]
    fn work_past_the_lead_makes_the_write_late_by_the_overrun_and_the_stats_say_so() {
        let json = example("original-example.json");
        let planned = planned(&json);
        let mut r = started(&json, 1);
        r.writes();
        let at_start = r.ctl.runner().stats().events_fired;
        // 250 µs of work: each write 150 µs after its instant.
        r.play(&mut still(), None, 250);
        let writes = r.writes();
        assert_eq!(writes.len(), planned.len());
        for (w, p) in writes.iter().zip(&planned) {
            assert_eq!((w.1, w.2), (p.1, p.2));
            assert_eq!(w.0, p.0 + 150, "{w:?} planned {p:?}");
        }
        let stats = r.ctl.runner().stats();
        assert_eq!(stats.worst_lateness, Duration::from_micros(151));
        assert_eq!(stats.late_events, stats.events_fired - at_start);
    }

    #[test]
    fn a_late_wake_catches_up_in_one_write_of_the_net_change() {
        let json = example("original-example.json");
        let planned = planned(&json);
        let mut r = started(&json, 0);
        let at_start = r.writes();
        // Stalled until 5 s (a flash erase, say): the pins where they would be at 5 s, at once.
        r.play(&mut still(), Some(5_000_000), 0);
        let late = r.writes();
        let level = |writes: &[(u64, u32, u32)], until: u64| {
            writes
                .iter()
                .filter(|w| w.0 <= until)
                .fold(0u32, |l, &(_, set, clear)| (l | set) & !clear)
        };
        let (want, have) = (
            level(&[at_start.as_slice(), &planned].concat(), 5_000_000),
            level(&at_start, 0),
        );
        assert_eq!(late, [(5_000_000, want & !have, have & !want)], "{late:x?}");
    }

    #[test]
    fn a_trigger_at_an_instant_of_the_timeline_is_the_same_write() {
        // The valve opens at 1 s, and the drum reaches 100 rpm at 1 s, which ends the phase:
        // the valve's ON and the phase end's OFF are one instant, so the valve is not written
        // at all (two writes a few µs apart would pulse the relay).
        let json = r#"{"phases":[
            {"id":"a","sensorTrigger":{"type":"RPM","threshold":50,"cooldownMs":0},
             "components":[{"compId":"Cold Valve","start":1000,"duration":5000},
                           {"compId":"Drain Pump","duration":5000}]},
            {"id":"b","components":[{"compId":"Hot Valve","duration":1000}]}]}"#;
        let mut r = started(json, 1);
        let pump = 1u32 << 19;
        let (cold, hot) = (1u32 << 5, 1u32 << 9);
        assert_eq!(
            r.writes().last(),
            Some(&(0, 0, pump)),
            "the pump's ON at the start"
        );
        // Read when the alarm wakes, `LEAD` before the instant.
        let mut drum = Drum {
            from: Instant::from_micros(1_000_000) - LEAD,
            rpm: 100.0,
        };
        r.play(&mut drum, None, 20);
        let writes = r.writes();
        assert_eq!(
            writes[0],
            (1_000_000, pump, hot),
            "one write at 1 s: the pump OFF, phase b's valve ON, the cold valve not at all"
        );
        assert!(
            writes.iter().all(|w| (w.1 | w.2) & cold == 0),
            "{writes:x?}"
        );
    }

    #[test]
    fn a_start_applied_ahead_is_written_at_its_origin_so_its_first_interval_is_whole() {
        let json = example("original-example.json");
        let planned = planned(&json);
        let mut r = loaded(&json, 1);
        let mut read = || r.clock.read();
        r.alarm
            .wake(&mut r.ctl, &mut r.pins, &mut still(), &mut read);
        r.writes();
        // The command, at 5 s: applied as of the lead from then, the pins held until it.
        let now = Instant::from_micros(5_000_000);
        assert!(starts_a_clock(&Op::Start));
        r.clock.set(now);
        let origin = now + LEAD;
        r.pins.hold_until(origin);
        r.ctl
            .execute(Work::Op(Op::Start), Arrival(1), origin, &mut r.pins);
        assert!(r.writes().is_empty(), "held for the alarm");
        // Its WAKE: 30 µs of the command's work later, the alarm writes it at the origin, and
        // every later instant keeps its distance from it.
        r.clock.set(now + Duration::from_micros(30));
        r.play(&mut still(), None, 20);
        let shifted: Vec<_> = planned
            .iter()
            .map(|&(t, set, clear)| (t + origin.as_micros(), set, clear))
            .collect();
        let writes = r.writes();
        assert_eq!(writes[1..], shifted, "after the start's instant");
        assert_eq!(
            writes[0].0,
            origin.as_micros(),
            "the start's instant at its origin"
        );
    }

    #[test]
    fn a_command_wake_works_at_its_time_and_holds_nothing_back() {
        let json = example("original-example.json");
        let mut r = started(&json, 1);
        let mut read = || r.clock.read();
        r.alarm
            .wake(&mut r.ctl, &mut r.pins, &mut still(), &mut read);
        r.writes();
        let before = r.alarm.wake_at();
        assert!(before > Instant::from_micros(1_000));
        // Woken 1 ms before the lead by a command: nothing is due yet, nothing is written, and
        // the alarm waits for the same deadline.
        r.clock.set(before.saturating_sub(Duration::from_millis(1)));
        let mut read = || r.clock.read();
        r.alarm
            .wake(&mut r.ctl, &mut r.pins, &mut still(), &mut read);
        assert!(r.writes().is_empty());
        assert!(!r.pins.is_holding());
        assert_eq!(r.alarm.wake_at(), before);
    }
}
