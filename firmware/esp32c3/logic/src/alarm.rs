//! The control loop's use of the runner, as on the host (docs/architecture.md):
//!
//! ```text
//! loop {
//!     wait until schedule.deadline(runner)   // the one alarm: next event, sample or telemetry
//!     schedule.step(now, runner, pins, sensors)
//!     if step.telemetry { publish telemetry::write_frame(runner, now) }
//! }
//! ```
//!
//! The platform owns the waiting (an embassy `Timer::at` on the chip, woken early when a
//! command changed the runner) and the clock; this owns what happens at each wake-up, so the
//! host tests it with a virtual clock.

use tumble_core::board::Sensors;
use tumble_core::runner::{Outputs, Runner};

/// When the loop next has something to do besides the runner's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    sample_us: u64,
    telemetry_us: u64,
    next_sample: u64,
    next_telemetry: u64,
}

/// What a wake-up did besides applying the runner's due events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Sensors were read and handed to the runner.
    pub sampled: bool,
    /// A telemetry frame is due: the platform writes one from the runner now.
    pub telemetry: bool,
}

impl Schedule {
    /// The first sample and the first telemetry frame are due at `now`.
    pub fn new(now: u64, sample_us: u64, telemetry_us: u64) -> Self {
        Schedule {
            sample_us: sample_us.max(1),
            telemetry_us: telemetry_us.max(1),
            next_sample: now,
            next_telemetry: now,
        }
    }

    /// The one deadline to arm: the runner's next event, phase end, wait timeout or delayed
    /// resume, the next sensor sample, or the next telemetry frame, whichever comes first.
    pub fn deadline(&self, runner: &Runner) -> u64 {
        runner
            .poll_timeout()
            .unwrap_or(u64::MAX)
            .min(self.next_sample)
            .min(self.next_telemetry)
    }

    pub fn next_sample(&self) -> u64 {
        self.next_sample
    }

    pub fn next_telemetry(&self) -> u64 {
        self.next_telemetry
    }

    /// The loop woke at `now` (its alarm fired, or a command changed the runner): apply every
    /// event due, in order; read the sensors if a sample is due; say whether telemetry is due.
    pub fn step<O: Outputs, S: Sensors>(
        &mut self,
        now: u64,
        runner: &mut Runner,
        out: &mut O,
        sensors: &mut S,
    ) -> Step {
        runner.handle_timeout(now, out);
        let sampled = now >= self.next_sample;
        if sampled {
            let readings = sensors.read(now);
            runner.handle_readings(now, readings, out);
            // As the host: on the sample grid, so the rate does not drift with lateness; after
            // a stall, one sample and a new grid from now.
            let next = self.next_sample.saturating_add(self.sample_us);
            self.next_sample = if next <= now {
                now.saturating_add(self.sample_us)
            } else {
                next
            };
        }
        let telemetry = now >= self.next_telemetry;
        if telemetry {
            // On the period's grid; after a stall, one frame and back on a grid from now.
            let next = self.next_telemetry.saturating_add(self.telemetry_us);
            self.next_telemetry = if next <= now {
                now.saturating_add(self.telemetry_us)
            } else {
                next
            };
        }
        Step { sampled, telemetry }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pins::MaskPins;
    use crate::testutil::{FakeSensors, example, load};
    use std::vec::Vec;
    use tumble_core::board::{Board, Readings};
    use tumble_core::cycle::Cycle;
    use tumble_core::runner::Status;

    const MS: u64 = 1000;

    struct Rig {
        runner: Runner,
        pins: MaskPins<Timed>,
        sensors: FakeSensors,
    }

    /// Records each register write with the loop's `now`.
    #[derive(Default)]
    struct Timed {
        now: u64,
        writes: Vec<(u64, u32, u32)>,
    }

    impl crate::pins::GpioWrite for Timed {
        fn write(&mut self, set: u32, clear: u32) {
            self.writes.push((self.now, set, clear));
        }
    }

    fn rig(json: &str) -> Rig {
        let board = Board::washer();
        let mut runner = Runner::new(board.clone());
        let mut pins = MaskPins::new(Timed::default(), &board);
        runner.boot(0, &mut pins);
        let mut spare = Cycle::new();
        load(&mut runner, &mut spare, &mut pins, json);
        pins.gpio_mut().writes.clear();
        let sensors = FakeSensors {
            readings: Readings {
                rpm: Some(0.0),
                pressure_hz: Some(28_000.0),
            },
            ..Default::default()
        };
        Rig {
            runner,
            pins,
            sensors,
        }
    }

    /// The loop on a virtual clock: wake exactly at each deadline up to `until`. Returns the
    /// telemetry instants.
    fn play(r: &mut Rig, sched: &mut Schedule, until: u64) -> Vec<u64> {
        let mut frames = Vec::new();
        loop {
            let now = sched.deadline(&r.runner);
            if now > until {
                return frames;
            }
            r.pins.gpio_mut().now = now;
            if sched
                .step(now, &mut r.runner, &mut r.pins, &mut r.sensors)
                .telemetry
            {
                frames.push(now);
            }
        }
    }

    /// The same cycle on the bare runner: the reference the loop must reproduce.
    fn reference(json: &str) -> Vec<(u64, u32, u32)> {
        let mut r = rig(json);
        r.runner.start(0, &mut r.pins).unwrap();
        while let Some(t) = r.runner.poll_timeout() {
            r.pins.gpio_mut().now = t;
            r.runner.handle_timeout(t, &mut r.pins);
        }
        r.pins.gpio().writes.clone()
    }

    #[test]
    fn the_deadline_is_the_earliest_of_the_three() {
        let r = rig(&example("original-example.json"));
        let s = Schedule::new(0, 100 * MS, 250 * MS);
        assert_eq!(
            s.deadline(&r.runner),
            0,
            "idle: the first sample is due at once"
        );
        let mut r = r;
        let mut s = s;
        s.step(0, &mut r.runner, &mut r.pins, &mut r.sensors);
        assert_eq!(s.deadline(&r.runner), 100 * MS, "idle: the next sample");
        r.runner.start(50 * MS, &mut r.pins).unwrap();
        // The pattern's first event is at the phase start; it was applied by start().
        let runner_next = r.runner.poll_timeout().unwrap();
        assert_eq!(s.deadline(&r.runner), runner_next.min(100 * MS));
    }

    #[test]
    fn samples_and_telemetry_keep_their_periods() {
        let mut r = rig(&example("original-example.json"));
        let mut s = Schedule::new(0, 100 * MS, 100 * MS);
        let frames = play(&mut r, &mut s, 2_000 * MS);
        assert_eq!(frames.len(), 21);
        let reads = &r.sensors.reads;
        assert_eq!(reads.len(), 21);
        for w in reads.windows(2) {
            assert_eq!(w[1] - w[0], 100 * MS);
        }
    }

    #[test]
    fn the_loop_reproduces_the_bare_runner_exactly() {
        for name in [
            "original-example.json",
            "wash-1600.json",
            "full-featured.json",
        ] {
            let json = example(name);
            let expected = reference(&json);
            let mut r = rig(&json);
            let mut s = Schedule::new(0, 100 * MS, 100 * MS);
            s.step(0, &mut r.runner, &mut r.pins, &mut r.sensors);
            r.runner.start(0, &mut r.pins).unwrap();
            let until = 24 * 3600 * 1000 * MS;
            let mut frames = 0u64;
            while r.runner.status() != Status::Idle {
                let now = s.deadline(&r.runner);
                assert!(now <= until);
                r.pins.gpio_mut().now = now;
                if s.step(now, &mut r.runner, &mut r.pins, &mut r.sensors)
                    .telemetry
                {
                    frames += 1;
                }
            }
            assert_eq!(r.pins.gpio().writes, expected, "{name}");
            let stats = r.runner.stats();
            assert_eq!(stats.late_events, 0, "{name}");
            assert_eq!(stats.worst_lateness_us, 0, "{name}");
            assert!(frames > 0);
            // One write per instant.
            let mut per_instant = std::collections::BTreeMap::<u64, usize>::new();
            for (t, _, _) in &expected {
                *per_instant.entry(*t).or_default() += 1;
            }
            assert!(
                per_instant.values().all(|&n| n == 1),
                "{name}: {per_instant:?}"
            );
        }
    }

    #[test]
    fn a_late_wake_catches_up_in_one_write_of_the_net_change() {
        let json = example("original-example.json");
        let expected = reference(&json);
        let mut r = rig(&json);
        let mut s = Schedule::new(0, 100 * MS, 100 * MS);
        r.runner.start(0, &mut r.pins).unwrap();
        // The controller was stalled for 5 s (a flash erase, say): one wake-up at 5 s.
        r.pins.gpio_mut().now = 5_000 * MS;
        s.step(5_000 * MS, &mut r.runner, &mut r.pins, &mut r.sensors);
        // The pins where the bare runner has them at 5 s, reached in one write at 5 s.
        let mut want = 0u32;
        let mut have = 0u32;
        for (i, &(t, set, clear)) in expected.iter().enumerate() {
            if t <= 5_000 * MS {
                want = (want | set) & !clear;
            }
            if i == 0 {
                have = (have | set) & !clear;
            }
        }
        let writes = &r.pins.gpio().writes;
        assert_eq!(
            writes.len(),
            2,
            "the start's instant, then one: {writes:x?}"
        );
        assert_eq!(writes[1], (5_000 * MS, want & !have, have & !want));
        let stats = r.runner.stats();
        assert!(stats.late_events > 0);
        assert!(stats.worst_lateness_us >= 4_000 * MS);
        // One sample and one frame for the whole stall, then back on the 100 ms grid.
        assert_eq!(r.sensors.reads, [5_000 * MS]);
        assert_eq!(s.next_sample(), 5_100 * MS);
        assert_eq!(s.next_telemetry(), 5_100 * MS);
    }

    #[test]
    fn a_pressure_reading_ends_a_triggered_phase_at_the_first_sample_after_its_cooldown() {
        let json = example("sensor-fill.json");
        let mut r = rig(&json);
        let mut s = Schedule::new(0, 100 * MS, 100 * MS);
        r.runner.start(0, &mut r.pins).unwrap();
        // The tub is full already: 25,000 Hz is below the 26,000 threshold.
        r.sensors.readings.pressure_hz = Some(25_000.0);
        let mut ended_at = None;
        for _ in 0..100 {
            let now = s.deadline(&r.runner);
            r.pins.gpio_mut().now = now;
            s.step(now, &mut r.runner, &mut r.pins, &mut r.sensors);
            let (notices, _) = r.pins.drain_notices();
            if let Some(tumble_core::runner::Notice::PhaseEnded { at_us, end, .. }) =
                notices.first().copied()
            {
                assert_eq!(end, tumble_core::runner::PhaseEnd::Triggered);
                ended_at = Some(at_us);
                break;
            }
        }
        // cooldownMs is 2000: the sample at 2.0 s is the first that may end it.
        assert_eq!(ended_at, Some(2_000 * MS));
    }

    #[test]
    fn a_million_event_phase_runs_like_a_short_one() {
        let json = example("million.json");
        let mut r = rig(&json);
        let mut s = Schedule::new(0, 100 * MS, 100 * MS);
        r.runner.start(0, &mut r.pins).unwrap();
        let mut wakes = 0u64;
        let mut writes = 0usize;
        let mut frames = 0u64;
        while r.runner.status() != Status::Idle {
            let now = s.deadline(&r.runner);
            r.pins.gpio_mut().now = now;
            if s.step(now, &mut r.runner, &mut r.pins, &mut r.sensors)
                .telemetry
            {
                frames += 1;
            }
            wakes += 1;
            // Keep memory flat in the test too.
            writes += r.pins.gpio().writes.len();
            r.pins.gpio_mut().writes.clear();
            r.pins.drain_notices();
        }
        let stats = r.runner.stats();
        assert_eq!(stats.events_fired, 1_000_004);
        assert_eq!(stats.late_events, 0);
        // 333,334 pulses of the motor (ON and OFF) plus the direction and the retractor.
        assert!(writes >= 666_668, "{writes}");
        // 33,333.4 s at 100 ms: one frame per period, no more.
        assert!((333_330..=333_340).contains(&frames), "{frames}");
        assert!(wakes < 2_000_000, "{wakes}");
    }

    #[test]
    fn samples_stay_on_their_grid_when_a_wake_is_a_little_late() {
        let mut r = rig(&example("original-example.json"));
        let mut s = Schedule::new(0, 100 * MS, 100 * MS);
        s.step(0, &mut r.runner, &mut r.pins, &mut r.sensors);
        // Woken 3 ms late for the 100 ms sample: the next is still at 200 ms.
        s.step(103 * MS, &mut r.runner, &mut r.pins, &mut r.sensors);
        assert_eq!(s.next_sample(), 200 * MS);
        assert_eq!(r.sensors.reads, [0, 103 * MS]);
    }

    #[test]
    fn telemetry_after_a_stall_resyncs_instead_of_bursting() {
        let mut r = rig(&example("original-example.json"));
        let mut s = Schedule::new(0, 100 * MS, 100 * MS);
        assert!(
            s.step(0, &mut r.runner, &mut r.pins, &mut r.sensors)
                .telemetry
        );
        assert!(
            !s.step(50 * MS, &mut r.runner, &mut r.pins, &mut r.sensors)
                .telemetry
        );
        assert!(
            s.step(100 * MS, &mut r.runner, &mut r.pins, &mut r.sensors)
                .telemetry
        );
        assert!(
            s.step(1_000 * MS, &mut r.runner, &mut r.pins, &mut r.sensors)
                .telemetry
        );
        assert!(
            !s.step(1_050 * MS, &mut r.runner, &mut r.pins, &mut r.sensors)
                .telemetry
        );
        assert_eq!(s.next_telemetry(), 1_100 * MS);
    }
}
