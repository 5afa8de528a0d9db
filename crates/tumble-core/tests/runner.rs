//! The runner's behaviours one by one, in virtual time.

use tumble_core::board::{Board, OutputDef, OutputId, Readings};
use tumble_core::cycle::Cycle;
use tumble_core::runner::{CommandError, Fault, Notice, PhaseEnd, Runner, Status};
use tumble_core::time::{Duration, Instant};
use tumble_rig::{Pins, t};

const MS: u64 = 1000;
// Pins of the default board.
const RETRACTOR: u8 = 7;
const COLD: u8 = 5;
const DRAIN: u8 = 19;
const MOTOR: u8 = 4;
const DIRECTION: u8 = 10;

struct Rig {
    runner: Box<Runner<'static>>,
    pins: Pins,
}

impl Rig {
    fn new(doc: &str) -> Self {
        Self::on_board(doc, Board::washer())
    }

    fn on_board(doc: &str, board: Board) -> Self {
        let mut pins = Pins::new();
        let mut rig = Rig {
            runner: tumble_rig::runner(board, &mut pins),
            pins,
        };
        tumble_rig::load(&mut rig.runner, &mut rig.pins, doc);
        rig
    }

    fn out(&self, name: &str) -> OutputId {
        self.runner.board().find(name).unwrap()
    }

    fn at(&mut self, ms: u64) {
        self.runner.handle_timeout(t(ms * MS), &mut self.pins);
    }

    /// Follows the runner's deadlines until it has none; returns the time of the last one.
    fn run_to_end(&mut self) -> Instant {
        let mut last = t(0);
        while let Some(t) = self.runner.poll_timeout() {
            assert!(t >= last, "deadlines never go backwards");
            last = t;
            self.runner.handle_timeout(t, &mut self.pins);
        }
        last
    }

    fn notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.pins.notices)
    }

    fn readings(&mut self, ms: u64, pressure: f32) {
        let r = Readings {
            rpm: Some(0.0),
            pressure_hz: Some(pressure),
        };
        self.runner.handle_readings(t(ms * MS), r, &mut self.pins);
    }
}

const TWO_PHASES: &str = r#"{"phases":[
    {"id":"fill","components":[{"compId":"Cold Valve","start":100,"duration":1000},
                               {"compId":"Retractor","start":0,"duration":2000}]},
    {"id":"drain","startTime":500,"components":[{"compId":"Drain Pump","duration":3000}]}]}"#;

#[test]
fn boot_drives_every_output_off() {
    let rig = Rig::new(TWO_PHASES);
    assert_eq!(rig.pins.levels.len(), 8);
    assert!(rig.pins.all_off());
    assert_eq!(rig.runner.status(), Status::Idle);
    assert_eq!(rig.runner.poll_timeout(), None);
}

#[test]
fn commands_that_cannot_apply_say_why() {
    let mut rig = Rig::new(TWO_PHASES);
    let p = &mut rig.pins;
    assert_eq!(
        rig.runner.skip_phase(t(0), p),
        Err(CommandError::NotRunning)
    );
    assert_eq!(rig.runner.pause(t(0), p), Err(CommandError::NotRunning));
    assert_eq!(rig.runner.resume(t(0), p), Err(CommandError::NotRunning));
    assert_eq!(
        rig.runner.skip_to_phase(t(0), 0, p),
        Err(CommandError::NotRunning)
    );
    assert_eq!(rig.runner.stop(t(0), p), Err(CommandError::NotRunning));
    rig.runner.start(t(0), p).unwrap();
    assert_eq!(rig.runner.start(t(0), p), Err(CommandError::Running));
    assert_eq!(rig.runner.resume(t(0), p), Err(CommandError::NotPaused));
    assert_eq!(
        rig.runner.skip_to_phase(t(0), 2, p),
        Err(CommandError::PhaseOutOfRange {
            index: 2,
            phases: 2
        })
    );
    let cold = rig.runner.board().find("Cold Valve").unwrap();
    assert_eq!(
        rig.runner.set_output(t(0), cold, true, p),
        Err(CommandError::Running)
    );
    rig.runner.pause(t(0), p).unwrap();
    assert_eq!(rig.runner.pause(t(0), p), Err(CommandError::AlreadyPaused));
    assert_eq!(
        rig.runner.set_output(t(0), cold, true, p),
        Err(CommandError::Running)
    );

    let mut empty = Rig::new(r#"{"phases":[]}"#);
    assert_eq!(
        empty.runner.start(t(0), &mut empty.pins),
        Err(CommandError::NoCycle)
    );
    let mut nothing = Rig {
        runner: Box::new(Runner::new(Board::washer(), tumble_rig::storage())),
        pins: Pins::new(),
    };
    assert_eq!(
        nothing.runner.start(t(0), &mut nothing.pins),
        Err(CommandError::NoCycle)
    );
}

#[test]
fn phases_run_in_order_and_end_at_their_last_event() {
    let mut rig = Rig::new(TWO_PHASES);
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    assert_eq!(rig.pins.on(), [RETRACTOR]);
    assert_eq!(rig.runner.poll_timeout(), Some(t(100 * MS)));
    rig.at(100);
    assert_eq!(rig.pins.on(), [COLD, RETRACTOR]);
    rig.at(1999);
    assert_eq!(rig.pins.on(), [RETRACTOR]);
    // The fill phase ends at 2000 (its last event); drain starts then and waits its startTime.
    rig.at(2000);
    assert!(rig.pins.all_off());
    let snap = rig.runner.snapshot(t(2000 * MS));
    assert_eq!((snap.phase_index, snap.phase_id.as_str()), (2, "drain"));
    rig.at(2500);
    assert_eq!(rig.pins.on(), [DRAIN]);
    let end = rig.run_to_end();
    assert_eq!(end, t(5500 * MS));
    assert!(rig.pins.all_off());
    assert_eq!(rig.runner.status(), Status::Idle);
    assert_eq!(rig.runner.stats().events_fired, 6);
    assert_eq!(
        rig.notices(),
        [
            Notice::PhaseStarted { at: t(0), phase: 0 },
            Notice::PhaseEnded {
                at: t(2000 * MS),
                phase: 0,
                end: PhaseEnd::Completed
            },
            Notice::PhaseStarted {
                at: t(2000 * MS),
                phase: 1
            },
            Notice::PhaseEnded {
                at: t(5500 * MS),
                phase: 1,
                end: PhaseEnd::Completed
            },
            Notice::CycleEnded {
                at: t(5500 * MS),
                completed: true
            },
        ]
    );
}

#[test]
fn a_pure_wait_phase_ends_after_its_start_time() {
    let mut rig = Rig::new(r#"{"phases":[{"id":"soak","startTime":30000},{"id":"empty"}]}"#);
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    assert_eq!(rig.runner.poll_timeout(), Some(t(30_000 * MS)));
    assert_eq!(rig.run_to_end(), t(30_000 * MS));
    assert_eq!(rig.runner.status(), Status::Idle);
}

#[test]
fn the_direction_relay_is_parked_between_phases() {
    let mut rig = Rig::new(
        r#"{"phases":[{"components":[{"compId":"Motor","motorConfig":{"pattern":[{"stepTime":500,"direction":"cw"}]}}]},
                      {"startTime":1000}]}"#,
    );
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    assert_eq!(rig.pins.on(), [MOTOR, DIRECTION]);
    rig.at(500);
    // The original left the direction relay energised here; the safe state parks it.
    assert!(rig.pins.all_off());
    assert_eq!(rig.runner.snapshot(t(500 * MS)).phase_index, 2);
}

#[test]
fn an_instant_is_one_commit_of_its_net_changes() {
    let mut rig = Rig::new(
        r#"{"phases":[{"components":[
            {"compId":"Cold Valve","duration":1000},
            {"compId":"Cold Valve","start":1000,"duration":1000},
            {"compId":"Motor","start":0,"motorConfig":{"repeatTimes":2,"pattern":[
                {"stepTime":1000,"pauseTime":0,"direction":"cw"},{"stepTime":500,"direction":"ccw"}]}},
            {"compId":"Drain Pump","start":1000,"duration":100}]}]}"#,
    );
    rig.pins.batches.clear();
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    assert_eq!(rig.pins.batches, [3], "the first instant: one commit");
    rig.pins.writes.clear();
    rig.pins.batches.clear();
    rig.at(1000);
    // One component of Cold Valve ends as the next begins: the valve is not written. The motor
    // stops for its reversal and the drain pump comes on: one commit.
    assert_eq!(
        rig.pins.writes,
        [(1000 * MS, DRAIN, 0), (1000 * MS, MOTOR, 1)]
    );
    assert_eq!(rig.pins.batches, [2], "one commit for the instant");
    rig.pins.writes.clear();
    rig.pins.batches.clear();
    // The pattern's pauseTime 0 is played as the board's 100 ms dead time: at 1.1 s the drain
    // pump goes OFF, the direction turns to ccw and the motor starts again, in one commit.
    rig.at(1100);
    assert_eq!(
        rig.pins.writes,
        [
            (1100 * MS, DRAIN, 1),
            (1100 * MS, MOTOR, 0),
            (1100 * MS, DIRECTION, 1)
        ]
    );
    assert_eq!(rig.pins.batches, [3]);
}

#[test]
fn on_a_board_without_dead_time_a_pauseless_reversal_writes_only_the_direction() {
    let mut rig = Rig::on_board(
        r#"{"phases":[{"components":[{"compId":"Motor","motorConfig":{"repeatTimes":2,"pattern":[
            {"stepTime":1000,"pauseTime":0,"direction":"cw"},{"stepTime":500,"direction":"ccw"}]}}]}]}"#,
        tumble_rig::board_with_dead_time(0),
    );
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.pins.writes.clear();
    rig.at(1000);
    // As the timeline says: Motor OFF and ON at one instant is no change; the direction turns.
    assert_eq!(rig.pins.writes, [(1000 * MS, DIRECTION, 1)]);
}

#[test]
fn stop_skip_and_jump_leave_every_output_off() {
    let mut rig = Rig::new(TWO_PHASES);
    let p = &mut rig.pins;
    rig.runner.start(t(0), p).unwrap();
    rig.runner.handle_timeout(t(150 * MS), p);
    assert_eq!(p.on(), [COLD, RETRACTOR]);
    rig.runner.skip_phase(t(150 * MS), p).unwrap();
    assert!(p.all_off());
    assert_eq!(rig.runner.snapshot(t(150 * MS)).phase_index, 2);
    rig.runner.handle_timeout(t(700 * MS), p);
    assert_eq!(p.on(), [DRAIN]);
    // Backwards, to the first phase.
    rig.runner.skip_to_phase(t(700 * MS), 0, p).unwrap();
    assert_eq!(
        p.on(),
        [RETRACTOR],
        "phase 0 restarted at once: its t=0 events fire"
    );
    rig.runner.stop(t(800 * MS), p).unwrap();
    assert!(p.all_off());
    assert_eq!(rig.runner.status(), Status::Idle);
    let n = rig.notices();
    assert!(n.contains(&Notice::PhaseEnded {
        at: t(150 * MS),
        phase: 0,
        end: PhaseEnd::Skipped
    }));
    assert!(n.contains(&Notice::PhaseStarted {
        at: t(700 * MS),
        phase: 0
    }));
    assert_eq!(
        n.last(),
        Some(&Notice::CycleEnded {
            at: t(800 * MS),
            completed: false
        })
    );
    // Skipping the last phase ends the cycle.
    rig.runner.start(t(1000 * MS), &mut rig.pins).unwrap();
    rig.runner
        .skip_to_phase(t(1000 * MS), 1, &mut rig.pins)
        .unwrap();
    rig.runner.skip_phase(t(1000 * MS), &mut rig.pins).unwrap();
    assert_eq!(rig.runner.status(), Status::Idle);
}

#[test]
fn stop_when_idle_still_switches_manual_outputs_off() {
    let mut rig = Rig::new(TWO_PHASES);
    let cold = rig.out("Cold Valve");
    rig.runner
        .set_output(t(0), cold, true, &mut rig.pins)
        .unwrap();
    assert_eq!(rig.pins.on(), [COLD]);
    assert_eq!(
        rig.runner.stop(t(0), &mut rig.pins),
        Err(CommandError::NotRunning)
    );
    assert!(rig.pins.all_off());
}

#[test]
fn pause_freezes_the_phase_and_resume_restores_direction_before_motor() {
    let mut rig = Rig::new(
        r#"{"phases":[{"components":[{"compId":"Retractor","duration":5000},
            {"compId":"Motor","start":1000,"motorConfig":{"pattern":[{"stepTime":2000,"direction":"cw"}]}}]}]}"#,
    );
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.at(1000);
    assert_eq!(rig.pins.on(), [MOTOR, RETRACTOR, DIRECTION]);
    rig.runner.pause(t(1500 * MS), &mut rig.pins).unwrap();
    assert!(rig.pins.all_off());
    assert_eq!(rig.runner.status(), Status::Paused);
    assert_eq!(
        rig.runner.poll_timeout(),
        None,
        "a paused cycle has no deadline"
    );
    let snap = rig.runner.snapshot(t(60_000 * MS));
    assert_eq!(
        (snap.phase_elapsed, snap.cycle_elapsed),
        (Duration::from_millis(1500), Duration::from_millis(1500))
    );
    rig.pins.writes.clear();
    rig.runner.resume(t(61_500 * MS), &mut rig.pins).unwrap();
    assert_eq!(
        rig.pins.writes,
        [
            (61_500 * MS, RETRACTOR, 0),
            (61_500 * MS, MOTOR, 0),
            (61_500 * MS, DIRECTION, 0),
        ]
    );
    // The motor step had 1,500 ms left: it ends at 63,000 ms, the phase at 65,000 ms.
    assert_eq!(rig.runner.poll_timeout(), Some(t(63_000 * MS)));
    assert_eq!(rig.run_to_end(), t(65_000 * MS));
    assert_eq!(rig.runner.stats().late_events, 0);
}

#[test]
fn resume_waits_out_the_reverse_dead_time() {
    let mut rig = Rig::on_board(
        r#"{"phases":[{"components":[{"compId":"Motor","start":500,"motorConfig":{"pattern":[{"stepTime":2000,"direction":"cw"}]}}]}]}"#,
        tumble_rig::board_with_dead_time(300),
    );
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.at(1000);
    rig.runner.pause(t(1000 * MS), &mut rig.pins).unwrap();
    rig.runner.resume(t(1100 * MS), &mut rig.pins).unwrap();
    assert!(
        rig.pins.all_off(),
        "the direction may not turn before 1300 ms"
    );
    assert_eq!(rig.runner.status(), Status::Paused);
    assert_eq!(rig.runner.poll_timeout(), Some(t(1300 * MS)));
    rig.at(1300);
    assert_eq!(rig.pins.on(), [MOTOR, DIRECTION]);
    assert_eq!(
        rig.runner.poll_timeout(),
        Some(t(2800 * MS)),
        "1500 ms of the step remain"
    );
}

#[test]
fn manual_outputs_respect_the_interlock_and_the_dead_time() {
    let mut rig = Rig::on_board(TWO_PHASES, tumble_rig::board_with_dead_time(200));
    let (motor, dir) = (rig.out("Motor"), rig.out("Motor Direction"));
    let p = &mut rig.pins;
    // Boot is not a change to wait after: the relays have been released since the reset (the
    // chip's ROM and bootloader alone take longer than any dead time).
    rig.runner.set_output(t(200 * MS), motor, true, p).unwrap();
    assert_eq!(
        rig.runner.set_output(t(210 * MS), dir, true, p),
        Err(CommandError::Interlock)
    );
    rig.runner
        .set_output(t(1000 * MS), motor, false, p)
        .unwrap();
    assert_eq!(
        rig.runner.set_output(t(1050 * MS), dir, true, p),
        Err(CommandError::DeadTime { wait_ms: 150 })
    );
    rig.runner.set_output(t(1200 * MS), dir, true, p).unwrap();
    assert_eq!(
        rig.runner.set_output(t(1300 * MS), motor, true, p),
        Err(CommandError::DeadTime { wait_ms: 100 })
    );
    rig.runner.set_output(t(1400 * MS), motor, true, p).unwrap();
    assert_eq!(p.on(), [MOTOR, DIRECTION]);
    // Setting the direction to the level it already has is no change, so it is allowed.
    rig.runner.set_output(t(1500 * MS), dir, true, p).unwrap();
    let foreign = Board::new(
        (0..10)
            .map(|i| OutputDef {
                name: if i == 0 {
                    "Motor".try_into().unwrap()
                } else if i == 1 {
                    "Motor Direction".try_into().unwrap()
                } else {
                    heapless::format!("X{i}").unwrap()
                },
                aliases: heapless::Vec::new(),
                pin: i,
                active_low: true,
            })
            .collect(),
        0,
    )
    .unwrap();
    let beyond = foreign.find("X9").unwrap();
    assert_eq!(
        rig.runner.set_output(t(0), beyond, true, p),
        Err(CommandError::UnknownOutput)
    );
}

const FILL: &str = r#"{"phases":[
    {"id":"fill","components":[{"compId":"Cold Valve","duration":60000}],
     "sensorTrigger":{"type":"Pressure","threshold":26000,"triggerAbove":false,"cooldownMs":2000}},
    {"id":"wash","components":[{"compId":"Retractor","duration":1000}]}]}"#;

#[test]
fn a_sensor_trigger_ends_the_phase_after_its_cooldown() {
    let mut rig = Rig::new(FILL);
    for run in 0..2 {
        let t0 = run * 100_000;
        rig.runner.start(t(t0 * MS), &mut rig.pins).unwrap();
        rig.readings(t0 + 1000, 25_000.0); // below the threshold, but inside the cooldown
        assert_eq!(rig.runner.snapshot(t((t0 + 1000) * MS)).phase_index, 1);
        rig.readings(t0 + 2500, 26_000.9); // 26000 is not < 26000: strict, truncated
        assert_eq!(rig.runner.snapshot(t((t0 + 2500) * MS)).phase_index, 1);
        assert_eq!(rig.pins.on(), [COLD]);
        rig.readings(t0 + 3000, 25_999.0);
        assert_eq!(
            rig.runner.snapshot(t((t0 + 3000) * MS)).phase_index,
            2,
            "run {run}: re-armed"
        );
        assert_eq!(rig.pins.on(), [RETRACTOR]);
        rig.run_to_end();
        let n = rig.notices();
        assert!(n.contains(&Notice::PhaseEnded {
            at: t((t0 + 3000) * MS),
            phase: 0,
            end: PhaseEnd::Triggered
        }));
    }
    // No reading (a sensor error) never triggers.
    rig.runner.start(t(500_000 * MS), &mut rig.pins).unwrap();
    rig.runner
        .handle_readings(t(510_000 * MS), Readings::default(), &mut rig.pins);
    assert_eq!(rig.runner.snapshot(t(510_000 * MS)).phase_index, 1);
}

const WAIT_FILL: &str = r#"{"phases":[
    {"id":"fill","components":[{"compId":"Cold Valve","duration":10000}],
     "sensorTrigger":{"type":"Pressure","threshold":26000,"triggerAbove":false,"cooldownMs":0,"mode":"wait","timeoutMs":5000}},
    {"id":"wash","components":[{"compId":"Retractor","duration":1000}]}]}"#;

#[test]
fn a_wait_phase_holds_until_its_condition() {
    let mut rig = Rig::new(WAIT_FILL);
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.at(10_000);
    assert!(rig.pins.all_off());
    assert_eq!(
        rig.runner.snapshot(t(10_000 * MS)).phase_index,
        1,
        "held open after its last event"
    );
    assert_eq!(rig.runner.poll_timeout(), Some(t(15_000 * MS)));
    rig.readings(12_000, 25_000.0);
    assert_eq!(rig.runner.snapshot(t(12_000 * MS)).phase_index, 2);
    rig.run_to_end();
    assert_eq!(rig.runner.snapshot(t(0)).fault, None);
}

#[test]
fn the_safe_state_is_one_commit() {
    let mut rig = Rig::new(
        r#"{"phases":[{"components":[{"compId":"Cold Valve","duration":5000},
        {"compId":"Motor","motorConfig":{"pattern":[{"stepTime":5000,"direction":"cw"}]}}]}]}"#,
    );
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.pins.writes.clear();
    rig.pins.batches.clear();
    rig.runner.stop(t(1000 * MS), &mut rig.pins).unwrap();
    assert_eq!(
        rig.pins.batches,
        [3],
        "valve, motor and direction in one write"
    );
    assert!(rig.pins.all_off());
    // Stopping again changes nothing: nothing is written, not even an empty commit.
    rig.pins.batches.clear();
    let _ = rig.runner.stop(t(2000 * MS), &mut rig.pins);
    assert_eq!(rig.pins.batches, Vec::<usize>::new());
}

#[test]
fn a_new_cycle_clears_the_last_fault() {
    let mut rig = Rig::new(WAIT_FILL);
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.run_to_end();
    assert!(rig.runner.snapshot(t(20_000 * MS)).fault.is_some());
    let mut next = Cycle::new(tumble_rig::storage());
    next.parse(TWO_PHASES.as_bytes(), rig.runner.board())
        .unwrap();
    rig.runner.load(t(20_000 * MS), &mut next, &mut rig.pins);
    assert_eq!(
        rig.runner.snapshot(t(20_000 * MS)).fault,
        None,
        "a fault names a phase of its own cycle"
    );
}

#[test]
fn a_skip_while_a_resume_waits_keeps_the_resume() {
    let mut rig = Rig::on_board(
        r#"{"phases":[{"components":[{"compId":"Motor","start":500,"motorConfig":{"pattern":[{"stepTime":2000,"direction":"cw"}]}}]},
                      {"components":[{"compId":"Retractor","duration":1000}]}]}"#,
        tumble_rig::board_with_dead_time(300),
    );
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.at(1000);
    rig.runner.pause(t(1000 * MS), &mut rig.pins).unwrap();
    rig.runner.resume(t(1100 * MS), &mut rig.pins).unwrap();
    rig.runner.skip_phase(t(1200 * MS), &mut rig.pins).unwrap();
    assert_eq!(
        rig.runner.poll_timeout(),
        Some(t(1300 * MS)),
        "the asked-for resume still comes"
    );
    rig.at(1300);
    assert_eq!(rig.runner.status(), Status::Running);
    assert_eq!(rig.pins.on(), [RETRACTOR]);
}

#[test]
fn a_wait_phase_faults_on_its_timeout() {
    let mut rig = Rig::new(WAIT_FILL);
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.readings(14_000, 27_000.0);
    assert_eq!(rig.run_to_end(), t(15_000 * MS));
    assert!(rig.pins.all_off());
    assert_eq!(rig.runner.status(), Status::Idle);
    let fault = Fault::WaitTimeout { phase: 0 };
    assert_eq!(rig.runner.snapshot(t(15_000 * MS)).fault, Some(fault));
    let n = rig.notices();
    assert_eq!(
        &n[n.len() - 2..],
        [
            Notice::PhaseEnded {
                at: t(15_000 * MS),
                phase: 0,
                end: PhaseEnd::Faulted(fault)
            },
            Notice::CycleEnded {
                at: t(15_000 * MS),
                completed: false
            },
        ]
    );
    // The fault shows until the next start.
    rig.runner.start(t(20_000 * MS), &mut rig.pins).unwrap();
    assert_eq!(rig.runner.snapshot(t(20_000 * MS)).fault, None);
}

#[test]
fn a_late_call_applies_everything_due_in_order() {
    let mut rig = Rig::new(include_str!(
        "../../../examples/cycles/original-example.json"
    ));
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.at(60_000); // the platform slept through both phases
    assert_eq!(rig.runner.status(), Status::Idle);
    let stats = rig.runner.stats();
    assert_eq!(stats.events_fired, 184);
    assert_eq!(stats.late_events, 181, "all but the three due at t=0");
    assert_eq!(
        stats.worst_lateness,
        Duration::from_micros(59_700 * MS),
        "the first motor OFF, due at 300 ms"
    );
    let dues: Vec<u64> = rig.pins.writes.iter().map(|w| w.0).collect();
    assert!(
        dues.windows(2).all(|w| w[0] <= w[1]),
        "scheduled order kept"
    );
    assert!(rig.pins.all_off());
}

#[test]
fn loading_over_a_running_cycle_stops_it_first() {
    let mut rig = Rig::new(TWO_PHASES);
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    let mut next = Cycle::new(tumble_rig::storage());
    next.parse(FILL.as_bytes(), rig.runner.board()).unwrap();
    rig.runner.load(t(500 * MS), &mut next, &mut rig.pins);
    assert!(rig.pins.all_off());
    assert_eq!(rig.runner.status(), Status::Idle);
    assert_eq!(rig.runner.cycle().phases().len(), 2);
    assert_eq!(
        rig.runner.cycle().text(rig.runner.cycle().phases()[0].id),
        "fill"
    );
    assert_eq!(
        next.text(next.phases()[0].id),
        "fill",
        "the old cycle is handed back"
    );
    let n = rig.notices();
    assert!(n.contains(&Notice::PhaseEnded {
        at: t(500 * MS),
        phase: 0,
        end: PhaseEnd::Replaced
    }));
}

#[test]
fn the_snapshot_reports_progress() {
    let mut rig = Rig::new(TWO_PHASES);
    let s = rig.runner.snapshot(t(0));
    assert_eq!(
        (s.status, s.phase_index, s.total_phases, s.cycle_total),
        (Status::Idle, 0, 2, Duration::from_millis(5500))
    );
    rig.runner.start(t(1000 * MS), &mut rig.pins).unwrap();
    rig.at(3500);
    let s = rig.runner.snapshot(t(3500 * MS));
    assert_eq!(
        (s.status, s.phase_index, s.phase_id.as_str()),
        (Status::Running, 2, "drain")
    );
    assert_eq!(
        (s.phase_elapsed, s.phase_total, s.cycle_elapsed),
        (
            Duration::from_millis(500),
            Duration::from_millis(3500),
            Duration::from_millis(2500)
        )
    );
    assert_eq!(s.stats.events_fired, 5);
}

/// Two phases of one motor step each; the second turns `second` ("cw" or "ccw").
fn back_to_back(second: &str) -> String {
    format!(
        r#"{{"phases":[
        {{"components":[{{"compId":"Motor","motorConfig":{{"pattern":[{{"stepTime":1000,"direction":"cw"}}]}}}}]}},
        {{"components":[{{"compId":"Motor","motorConfig":{{"pattern":[{{"stepTime":1000,"direction":"{second}"}}]}}}},
                        {{"compId":"Drain Pump","duration":500}}]}}]}}"#
    )
}

#[test]
fn a_phase_that_reverses_a_running_motor_waits_out_the_dead_time() {
    let mut rig = Rig::new(&back_to_back("ccw"));
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.pins.writes.clear();
    // At 1 s phase 1 begins by turning ccw: the motor stops, the drain pump starts, the
    // direction and the motor's restart wait 100 ms.
    rig.at(1000);
    assert_eq!(
        rig.pins.writes,
        [(1000 * MS, DRAIN, 0), (1000 * MS, MOTOR, 1)]
    );
    assert_eq!(rig.runner.poll_timeout(), Some(t(1100 * MS)));
    rig.pins.writes.clear();
    rig.at(1100);
    assert_eq!(
        rig.pins.writes,
        [(1100 * MS, MOTOR, 0), (1100 * MS, DIRECTION, 1)]
    );
    // The phase keeps its own clock: the step ends at 2 s as the timeline says.
    rig.pins.writes.clear();
    rig.at(1500);
    assert_eq!(rig.pins.writes, [(1500 * MS, DRAIN, 1)]);
    let end = rig.run_to_end();
    assert_eq!(end, t(2000 * MS));
    assert!(rig.pins.all_off());
}

#[test]
fn a_phase_that_keeps_the_direction_keeps_the_motor_running() {
    let mut rig = Rig::new(&back_to_back("cw"));
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.pins.writes.clear();
    rig.at(1000);
    // Motor OFF (phase 0's end, the safe state) and ON (phase 1) at one instant: no change.
    assert_eq!(rig.pins.writes, [(1000 * MS, DRAIN, 0)]);
    assert_eq!(rig.pins.on(), [MOTOR, DIRECTION, DRAIN]);
}

#[test]
fn a_stop_during_a_held_reversal_leaves_everything_off() {
    let mut rig = Rig::new(&back_to_back("ccw"));
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.at(1000);
    rig.runner.stop(t(1050 * MS), &mut rig.pins).unwrap();
    assert!(rig.pins.all_off());
    assert_eq!(rig.runner.poll_timeout(), None, "nothing is held any more");
    rig.pins.writes.clear();
    rig.at(1200);
    assert!(rig.pins.writes.is_empty());
}

#[test]
fn a_phase_that_runs_the_motor_by_hand_after_a_cw_pattern_waits_for_the_direction() {
    // Found in review: phase 1 has a plain Motor component and no direction of its own; the
    // safe state releases Motor Direction (cw -> ccw) while phase 1 keeps the Motor ON.
    let mut rig = Rig::new(
        r#"{"phases":[
        {"components":[{"compId":"Motor","motorConfig":{"pattern":[{"stepTime":1000,"direction":"cw"}]}}]},
        {"components":[{"compId":"Motor","duration":1000}]}]}"#,
    );
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.pins.writes.clear();
    rig.at(1000);
    assert_eq!(
        rig.pins.writes,
        [(1000 * MS, MOTOR, 1)],
        "the motor stops first"
    );
    rig.pins.writes.clear();
    rig.at(1100);
    assert_eq!(
        rig.pins.writes,
        [(1100 * MS, MOTOR, 0), (1100 * MS, DIRECTION, 1)]
    );
    assert_eq!(rig.run_to_end(), t(2000 * MS));
    assert!(rig.pins.all_off());
}

#[test]
fn a_held_reversal_cut_short_by_the_phase_end_still_waits() {
    // cw, then a 50 ms ccw phase (its turn held until 1.1 s), then a plain Motor phase at 1.05 s:
    // the direction has not turned yet, and the motor may not start until it has, at 1.1 s.
    let mut rig = Rig::new(
        r#"{"phases":[
        {"components":[{"compId":"Motor","motorConfig":{"pattern":[{"stepTime":1000,"direction":"cw"}]}}]},
        {"components":[{"compId":"Motor","motorConfig":{"pattern":[{"stepTime":50,"direction":"ccw"}]}}]},
        {"components":[{"compId":"Motor","duration":1000}]}]}"#,
    );
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.at(1000);
    rig.pins.writes.clear();
    rig.at(1050);
    assert!(rig.pins.writes.is_empty(), "{:?}", rig.pins.writes);
    rig.at(1100);
    assert_eq!(
        rig.pins.writes,
        [(1100 * MS, MOTOR, 0), (1100 * MS, DIRECTION, 1)]
    );
}

#[test]
fn a_late_call_catches_up_in_one_write_of_the_net_change() {
    let mut rig = Rig::new(
        r#"{"phases":[{"components":[
            {"compId":"Cold Valve","start":10,"duration":2},
            {"compId":"Drain Pump","start":11,"duration":100}]}]}"#,
    );
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.pins.writes.clear();
    rig.pins.batches.clear();
    // The platform was busy until 20 ms: the valve's 2 ms pulse is over, the pump is ON.
    rig.at(20);
    assert_eq!(rig.pins.writes, [(20 * MS, DRAIN, 0)]);
    assert_eq!(rig.pins.batches, [1]);
    assert_eq!(rig.runner.stats().late_events, 3);
}

#[test]
fn a_late_call_never_turns_the_direction_under_a_running_motor() {
    // cw for 1 s, a 200 ms pause, ccw: a call 1.5 s late would net "motor stays ON, direction
    // turns". The motor stops instead, and the turn and restart wait out the dead time.
    let mut rig = Rig::new(
        r#"{"phases":[{"components":[{"compId":"Motor","motorConfig":{"pattern":[
            {"stepTime":1000,"pauseTime":200,"direction":"cw"},{"stepTime":1000,"direction":"ccw"}]}}]}]}"#,
    );
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.pins.writes.clear();
    rig.at(1500);
    assert_eq!(rig.pins.writes, [(1500 * MS, MOTOR, 1)]);
    rig.pins.writes.clear();
    rig.at(1600);
    assert_eq!(
        rig.pins.writes,
        [(1600 * MS, MOTOR, 0), (1600 * MS, DIRECTION, 1)]
    );
}

#[test]
fn a_reversal_spaced_the_dead_time_is_not_split_by_a_few_microseconds_of_lateness() {
    // cw 1 s, then ccw after exactly the 100 ms dead time. The Motor OFF is written 40 µs late,
    // the reversal on time: still one write (found on the emulated chip).
    let mut rig = Rig::new(
        r#"{"phases":[{"components":[{"compId":"Motor","motorConfig":{"pattern":[
            {"stepTime":1000,"pauseTime":100,"direction":"cw"},{"stepTime":1000,"direction":"ccw"}]}}]}]}"#,
    );
    rig.runner.start(t(0), &mut rig.pins).unwrap();
    rig.runner.handle_timeout(t(1000 * MS + 40), &mut rig.pins);
    rig.pins.writes.clear();
    rig.pins.batches.clear();
    rig.at(1100);
    assert_eq!(rig.pins.batches, [2]);
    assert_eq!(
        rig.pins.writes,
        [(1100 * MS, MOTOR, 0), (1100 * MS, DIRECTION, 1)]
    );
}
