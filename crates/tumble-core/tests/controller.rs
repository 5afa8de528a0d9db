//! The controller every platform drives, on a virtual clock: its one deadline, the sample and
//! telemetry periods, commands against stops, notices named from the right cycle, the boot
//! restore. What the firmware's control loop and `tumble serve`'s controller thread do, with
//! nothing but `now` passed in.

use tumble_core::board::{Board, Readings, Sensors};
use tumble_core::controller::{Applied, Arrival, Config, Controller, Restored, Step, Work};
use tumble_core::cycle::{Cycle, MAX_STORAGE, WarningCount};
use tumble_core::protocol::Op;
use tumble_core::runner::{CommandError, Notice, PhaseEnd, Status};
use tumble_core::time::{Duration, Instant};
use tumble_rig::{Pins, t};

const MS: u64 = 1000;
const SECOND: Duration = Duration::from_millis(1_000);

/// Sensors that read what the test says, and remember when they were read.
#[derive(Default)]
struct FakeSensors {
    readings: Readings,
    reads: Vec<Instant>,
}

impl Sensors for FakeSensors {
    fn read(&mut self, now: Instant) -> Readings {
        self.reads.push(now);
        self.readings
    }
}

struct Rig {
    ctl: Box<Controller<'static>>,
    pins: Pins,
    sensors: FakeSensors,
}

fn config(sample_ms: u64, telemetry_ms: u64) -> Config {
    tumble_rig::config(sample_ms, Some(telemetry_ms))
}

fn rig_with(json: &str, config: Config) -> Rig {
    let mut pins = Pins::new();
    let mut r = Rig {
        ctl: tumble_rig::controller(Board::washer(), config, MAX_STORAGE, &mut pins),
        pins,
        sensors: FakeSensors {
            readings: Readings {
                rpm: Some(0.0),
                pressure_hz: Some(28_000.0),
            },
            ..Default::default()
        },
    };
    let restored = r.ctl.restore(json.as_bytes(), t(0), &mut r.pins);
    assert!(matches!(restored, Restored::Loaded { .. }), "{restored}");
    r.pins.writes.clear();
    r
}

fn rig(json: &str) -> Rig {
    rig_with(json, config(100, 100))
}

impl Rig {
    /// A wake-up at `now`, reading the sensors when a sample is due, as every platform does.
    fn wake(&mut self, now: Instant) -> (Step, u64) {
        let step = self.ctl.handle_timeout(now, &mut self.pins);
        let triggered = match step.sample_due {
            true => {
                let readings = self.sensors.read(now);
                self.ctl.handle_sample(now, readings, &mut self.pins)
            }
            false => 0,
        };
        (step, triggered)
    }

    /// A load as the platforms do it: the document checked against the controller's storage
    /// (storing nothing), the run stopped and the storage lent out, the document read into it,
    /// and the storage handed back, loaded. Returns what the release and the load did.
    fn load(&mut self, doc: &str, arrival: u64, now: Instant) -> (Applied, Applied) {
        let board = self.ctl.board().clone();
        let capacity = self.ctl.cycle_capacity();
        let mut count = WarningCount::default();
        Cycle::validate(doc.as_bytes(), &board, capacity, &mut count).unwrap();
        let mut lent = Cycle::none();
        let released = self.ctl.execute(
            Work::Release(&mut lent),
            Arrival(arrival),
            now,
            &mut self.pins,
        );
        assert_eq!(lent.capacity(), capacity, "the storage is lent out");
        let mut again = WarningCount::default();
        lent.read(doc.as_bytes(), &board, &mut again).unwrap();
        assert_eq!(again, count, "the check and the read find the same");
        let loaded = self
            .ctl
            .execute(Work::Load(&mut lent), Arrival(arrival), now, &mut self.pins);
        assert_eq!(lent.capacity(), 0, "nothing left over: one cycle storage");
        (released, loaded)
    }

    fn op(&mut self, op: Op, arrival: u64, now: Instant) -> Applied {
        self.ctl
            .execute(Work::Op(op), Arrival(arrival), now, &mut self.pins)
    }

    /// Wakes exactly at each deadline up to `until`; returns the telemetry instants.
    fn play(&mut self, until: Instant) -> Vec<Instant> {
        let mut frames = Vec::new();
        loop {
            let now = self.ctl.poll_timeout();
            if now > until {
                return frames;
            }
            let (step, _) = self.wake(now);
            if let Some(s) = step.telemetry {
                assert_eq!(s.at, now);
                frames.push(now);
            }
        }
    }

    fn notices(&mut self) -> Vec<(Notice, String)> {
        std::iter::from_fn(|| self.ctl.poll_notice())
            .map(|n| (n.notice(), n.line().message.to_string()))
            .collect()
    }
}

/// The same cycle on the bare runner: the reference the controller must reproduce.
fn reference(json: &str) -> Vec<(u64, u8, u8)> {
    let mut pins = Pins::new();
    let mut runner = tumble_rig::runner(Board::washer(), &mut pins);
    let mut spare = tumble_rig::cycle(json, runner.board());
    runner.load(t(0), &mut spare, &mut pins);
    pins.writes.clear();
    runner.start(t(0), &mut pins).unwrap();
    while let Some(t) = runner.poll_timeout() {
        runner.handle_timeout(t, &mut pins);
    }
    pins.writes
}

#[test]
fn the_deadline_is_the_earliest_of_event_sample_and_telemetry() {
    let mut r = rig_with(
        &tumble_rig::example("original-example.json"),
        config(100, 250),
    );
    assert_eq!(
        r.ctl.poll_timeout(),
        t(0),
        "idle: the first sample is due at once"
    );
    r.wake(t(0));
    assert_eq!(r.ctl.poll_timeout(), t(100 * MS), "idle: the next sample");
    r.op(Op::Start, 1, t(50 * MS));
    let next_event = r.ctl.runner().poll_timeout().unwrap();
    assert_eq!(r.ctl.poll_timeout(), next_event.min(t(100 * MS)));
}

#[test]
fn samples_and_telemetry_keep_their_periods() {
    let mut r = rig(&tumble_rig::example("original-example.json"));
    let frames = r.play(t(2_000 * MS));
    assert_eq!(frames.len(), 21);
    assert_eq!(r.sensors.reads.len(), 21);
    for w in r.sensors.reads.windows(2) {
        assert_eq!(w[1] - w[0], Duration::from_micros(100 * MS));
    }
}

#[test]
fn a_player_without_telemetry_gets_no_frames() {
    let config = Config {
        sample: Duration::from_micros(100 * MS),
        telemetry: None,
    };
    let mut r = rig_with(&tumble_rig::example("original-example.json"), config);
    assert!(r.play(t(1_000 * MS)).is_empty());
    assert_eq!(r.sensors.reads.len(), 11);
}

#[test]
fn the_controller_reproduces_the_bare_runner_exactly() {
    for name in [
        "original-example.json",
        "wash-1600.json",
        "full-featured.json",
    ] {
        let json = tumble_rig::example(name);
        let expected = reference(&json);
        let mut r = rig(&json);
        r.wake(t(0));
        r.op(Op::Start, 1, t(0));
        let mut frames = 0;
        while r.ctl.runner().status() != Status::Idle {
            let now = r.ctl.poll_timeout();
            let step = r.wake(now).0;
            frames += step.telemetry.is_some() as u64;
        }
        assert_eq!(r.pins.writes, expected, "{name}");
        let stats = r.ctl.runner().stats();
        assert_eq!(
            (stats.late_events, stats.worst_lateness),
            (0, Duration::ZERO),
            "{name}"
        );
        assert!(frames > 0);
    }
}

#[test]
fn a_late_wake_applies_the_overdue_events_and_samples_once() {
    let mut r = rig(&tumble_rig::example("original-example.json"));
    r.op(Op::Start, 1, t(0));
    // The controller was stalled for 5 s (a flash erase, say): one wake-up at 5 s.
    let (step, _) = r.wake(t(5_000 * MS));
    assert!(step.due_events > 0);
    assert!(step.sample_due && step.telemetry.is_some());
    assert!(r.ctl.runner().stats().worst_lateness >= Duration::from_micros(4_000 * MS));
    // One sample and one frame for the whole stall, then back on a 100 ms grid from there.
    assert_eq!(r.sensors.reads, [t(5_000 * MS)]);
    let next = r.ctl.poll_timeout();
    assert!(next <= t(5_100 * MS), "{next:?}");
    let mut frames = Vec::new();
    while frames.len() < 2 {
        let now = r.ctl.poll_timeout();
        if let Some(s) = r.wake(now).0.telemetry {
            frames.push(s.at);
        }
    }
    assert_eq!(frames, [t(5_100 * MS), t(5_200 * MS)]);
}

#[test]
fn a_wake_a_little_late_keeps_the_sample_grid() {
    let mut r = rig(&tumble_rig::example("original-example.json"));
    r.wake(t(0));
    // Woken 3 ms late for the 100 ms sample: the next is still at 200 ms.
    r.wake(t(103 * MS));
    assert_eq!(r.ctl.poll_timeout(), t(200 * MS));
    assert_eq!(r.sensors.reads, [t(0), t(103 * MS)]);
}

#[test]
fn a_trigger_ends_its_phase_at_the_first_sample_after_the_cooldown() {
    let mut r = rig(&tumble_rig::example("sensor-fill.json"));
    r.op(Op::Start, 1, t(0));
    r.notices();
    // The tub is full already: 25,000 Hz is below the 26,000 threshold.
    r.sensors.readings.pressure_hz = Some(25_000.0);
    let mut ended = None;
    while ended.is_none() {
        let now = r.ctl.poll_timeout();
        let (step, triggered) = r.wake(now);
        if let Some((Notice::PhaseEnded { at, end, .. }, _)) = r.notices().first().cloned() {
            assert_eq!(end, PhaseEnd::Triggered);
            assert!(step.sample_due);
            assert!(triggered > 0, "the next phase starts on the sample");
            ended = Some(at);
        }
    }
    // cooldownMs is 2000: the sample at 2.0 s is the first that may end it.
    assert_eq!(ended, Some(t(2_000 * MS)));
    // Telemetry can tell it, too.
    assert_eq!(
        r.ctl.snapshot(t(2_000 * MS)).last_phase_end,
        Some((0, PhaseEnd::Triggered))
    );
}

#[test]
fn a_command_that_arrived_before_a_stop_applied_first_starts_nothing() {
    let mut r = rig(&tumble_rig::example("original-example.json"));
    // Frames 1 (start) and 2 (stop) arrive; the stop is applied first, as it jumps the queue.
    let stop = r.op(Op::Stop, 2, t(0));
    assert_eq!(stop.outcome.result, Err(CommandError::NotRunning));
    let start = r.op(Op::Start, 1, t(0));
    assert_eq!(start.outcome.result, Err(CommandError::Overtaken));
    assert_eq!(r.ctl.runner().status(), Status::Idle);
    assert!(r.pins.writes.is_empty(), "nothing switched");
    // What does not move anything still goes through, and a later start works.
    let status = r.op(Op::Status, 1, t(0));
    assert_eq!(status.outcome.result, Ok(()));
    let start = r.op(Op::Start, 3, t(0));
    assert_eq!(start.outcome.result, Ok(()));
    assert_eq!(r.ctl.runner().status(), Status::Running);
}

#[test]
fn every_kind_of_moving_command_is_overtaken_and_no_other() {
    let id = Board::washer().find("Cold Valve").unwrap();
    for (op, moves) in [
        (Op::Start, true),
        (Op::Resume, true),
        (Op::SkipPhase, true),
        (Op::SkipToPhase(1), true),
        (
            Op::SetOutput {
                output: id,
                on: true,
            },
            true,
        ),
        (
            Op::SetOutput {
                output: id,
                on: false,
            },
            false,
        ),
        (Op::Pause, false),
        (Op::Status, false),
        (Op::Stop, false),
    ] {
        let mut r = rig(&tumble_rig::example("original-example.json"));
        r.op(Op::Stop, 5, t(0));
        let applied = r.op(op, 4, t(0));
        assert_eq!(
            applied.outcome.result == Err(CommandError::Overtaken),
            moves,
            "{op:?}"
        );
    }
}

#[test]
fn loads_are_numbered_and_their_notices_name_the_replaced_cycle() {
    let mut r = rig(&tumble_rig::example("original-example.json"));
    r.op(Op::Start, 1, t(0));
    let first = r.notices();
    assert!(first[0].1.starts_with("Phase '"), "{first:?}");
    let old_label = first[0].1.clone();
    let (released, applied) = r.load(&tumble_rig::example("wash-1600.json"), 2, t(10 * MS));
    assert_eq!(released.load, None, "a release is not a load");
    assert_eq!(applied.load, Some(2), "the restore was load 1");
    let replaced = r.notices();
    assert!(
        matches!(
            replaced[0].0,
            Notice::PhaseEnded {
                end: PhaseEnd::Replaced,
                ..
            }
        ),
        "{replaced:?}"
    );
    // Named from the cycle that ran, not the one that replaced it.
    let name = old_label.split('\'').nth(1).unwrap();
    assert!(replaced[0].1.contains(name), "{replaced:?} vs {old_label}");
    assert!(r.pins.all_off());
}

#[test]
fn notices_beyond_the_queue_are_counted_not_kept() {
    // 40 phases of one instant each: one late wake-up gives 80 notices and more.
    let phase = r#"{"components":[{"compId":"Cold Valve","duration":1}]}"#;
    let json = format!(r#"{{"phases":[{}]}}"#, vec![phase; 30].join(","));
    let mut r = rig(&json);
    r.op(Op::Start, 1, t(0));
    r.wake(t(10_000 * MS));
    let kept = r.notices().len();
    assert_eq!(kept, tumble_core::controller::MAX_NOTICES);
    assert!(r.ctl.lost_notices() > 0);
    assert_eq!(r.ctl.lost_notices(), 0, "counted once");
}

#[test]
fn a_restore_of_an_invalid_document_loads_nothing_and_says_why() {
    let mut pins = Pins::new();
    let mut ctl = tumble_rig::controller(Board::washer(), config(100, 100), MAX_STORAGE, &mut pins);
    let restored = ctl.restore(
        br#"{"phases":[{"components":[{"compId":"Nope"}]}]}"#,
        t(0),
        &mut pins,
    );
    assert_eq!(restored.level(), 'W');
    let line = restored.to_string();
    assert!(
        line.starts_with("the stored cycle is not valid (phases[0].components[0]"),
        "{line}"
    );
    assert!(line.ends_with("; starting empty"), "{line}");
    assert_eq!(ctl.runner().cycle().phases().len(), 0);
    let ok = ctl.restore(
        tumble_rig::example("wash-1600.json").as_bytes(),
        t(0),
        &mut pins,
    );
    assert_eq!(
        ok.to_string(),
        "loaded the stored cycle (3 phases, 1604 events), idle"
    );
    assert_eq!(ctl.runner().status(), Status::Idle);
}

#[test]
fn a_million_event_phase_runs_like_a_short_one() {
    let mut r = rig(&tumble_rig::example("million.json"));
    r.op(Op::Start, 1, t(0));
    let (mut wakes, mut frames) = (0u64, 0u64);
    while r.ctl.runner().status() != Status::Idle {
        let now = r.ctl.poll_timeout();
        let step = r.wake(now).0;
        frames += step.telemetry.is_some() as u64;
        wakes += 1;
        // Keep memory flat in the test too.
        r.pins.writes.clear();
        r.pins.notices.clear();
        r.notices();
    }
    let stats = r.ctl.runner().stats();
    assert_eq!((stats.events_fired, stats.late_events), (1_000_004, 0));
    // 33,333.4 s at 100 ms: one frame per period, no more.
    assert!((333_330..=333_340).contains(&frames), "{frames}");
    assert!(wakes < 2_000_000, "{wakes}");
}

#[test]
fn a_delayed_start_starts_on_time_and_a_stop_or_a_load_cancels_it() {
    let mut r = rig(&tumble_rig::example("original-example.json"));
    let applied = r.op(
        Op::StartIn {
            delay: Duration::from_millis(60_000),
        },
        1,
        t(0),
    );
    assert_eq!(applied.outcome.result, Ok(()));
    assert_eq!(
        applied.outcome.status.start_in,
        Some(Duration::from_millis(60_000))
    );
    assert_eq!(r.ctl.runner().status(), Status::Idle, "nothing runs yet");
    assert!(r.pins.writes.is_empty());
    // Telemetry says so while it waits.
    let frames = r.play(t(59_999 * MS));
    assert!(!frames.is_empty());
    assert_eq!(
        r.ctl.snapshot(t(30_000 * MS)).start_in,
        Some(Duration::from_millis(30_000))
    );
    assert_eq!(r.ctl.runner().status(), Status::Idle);
    // The one deadline includes it: the first write is at exactly 60 s.
    assert!(r.ctl.poll_timeout() <= t(60_000 * MS));
    r.play(t(60_000 * MS));
    assert_eq!(r.ctl.runner().status(), Status::Running);
    assert_eq!(r.pins.writes.first().map(|w| w.0), Some(60_000 * MS));
    assert_eq!(r.ctl.snapshot(t(60_000 * MS)).start_in, None);

    // Again, after that run was stopped (its stats start over at the new start).
    r.op(Op::Stop, 2, t(61_000 * MS));
    r.op(Op::StartIn { delay: SECOND }, 3, t(61_000 * MS));
    r.play(t(62_000 * MS));
    assert_eq!(r.ctl.runner().status(), Status::Running);

    // A stop cancels a waiting start; so does a load.
    let mut r = rig(&tumble_rig::example("original-example.json"));
    r.op(Op::StartIn { delay: SECOND }, 1, t(0));
    let stop = r.op(Op::Stop, 2, t(500 * MS));
    assert_eq!(stop.outcome.result, Ok(()), "the stop called the start off");
    assert_eq!(stop.outcome.status.start_in, None);
    let again = r.op(Op::Stop, 3, t(600 * MS));
    assert_eq!(
        again.outcome.result,
        Err(CommandError::NotRunning),
        "nothing to stop"
    );
    r.play(t(5_000 * MS));
    assert_eq!(r.ctl.runner().status(), Status::Idle);
    let mut r = rig(&tumble_rig::example("original-example.json"));
    r.op(Op::StartIn { delay: SECOND }, 1, t(0));
    r.load(&tumble_rig::example("wash-1600.json"), 2, t(500 * MS));
    r.play(t(5_000 * MS));
    assert_eq!(r.ctl.runner().status(), Status::Idle);
    // A start now replaces the wait; a second delayed start while running is refused.
    let mut r = rig(&tumble_rig::example("original-example.json"));
    r.op(Op::StartIn { delay: SECOND }, 1, t(0));
    r.op(Op::Start, 2, t(100 * MS));
    assert_eq!(r.ctl.snapshot(t(100 * MS)).start_in, None);
    let again = r.op(Op::StartIn { delay: SECOND }, 3, t(200 * MS));
    assert_eq!(again.outcome.result, Err(CommandError::Running));
    // With nothing loaded there is nothing to schedule.
    let mut pins = Pins::new();
    let mut ctl = tumble_rig::controller(Board::washer(), config(100, 100), MAX_STORAGE, &mut pins);
    let none = ctl.execute(
        Work::Op(Op::StartIn {
            delay: Duration::from_millis(5),
        }),
        Arrival(1),
        t(0),
        &mut pins,
    );
    assert_eq!(none.outcome.result, Err(CommandError::NoCycle));
}

#[test]
fn a_runs_end_says_how_long_each_output_was_on() {
    use tumble_core::history::Recorder;
    let mut pins = Pins::new();
    let config = tumble_rig::config(100, None);
    let mut ctl = tumble_rig::controller(Board::washer(), config, MAX_STORAGE, &mut pins);
    let doc = r#"{"phases":[{"id":"fill","components":[{"compId":"Cold Valve","duration":60000}]},
        {"id":"wash","components":[{"compId":"Motor","motorConfig":{"repeatTimes":3,"pattern":[{"stepTime":1000,"pauseTime":500}]}}]}]}"#;
    ctl.install(doc.as_bytes(), Instant::from_micros(0), &mut pins)
        .unwrap();
    // A valve switched by hand before the start does not count.
    ctl.execute(
        Work::Op(Op::SetOutput {
            output: Board::washer().find("Hot Valve").unwrap(),
            on: true,
        }),
        Arrival(1),
        Instant::from_micros(0),
        &mut pins,
    );
    ctl.execute(
        Work::Op(Op::Start),
        Arrival(2),
        Instant::from_micros(5_000_000),
        &mut pins,
    );
    while ctl.runner().status() != tumble_core::runner::Status::Idle {
        let t = ctl.poll_timeout();
        ctl.handle_timeout(t, &mut pins);
    }
    let mut rec = Recorder::default();
    let mut ended = 0;
    while let Some(n) = ctl.poll_notice() {
        ended += rec.notice(&n) as u32;
    }
    assert_eq!(ended, 1);
    let run = rec.ended().expect("the run ended");
    let board = Board::washer();
    let on = |name: &str| run.on_ms[board.find(name).unwrap().index()];
    assert_eq!(on("Cold Valve"), 60_000);
    assert_eq!(on("Hot Valve"), 0);
    assert_eq!(on("Motor"), 3_000);
    assert_eq!(run.outcome(), "completed");
    assert_eq!(run.phases.len(), 2);
    assert_eq!(
        run.phases[1].actual_ms, 4_000,
        "three passes, the last pause not played"
    );
}
