//! Property: for random cycles and random sequences of commands, time and sensor readings, the
//! runner agrees after every call with a small independent model built on the reference
//! timeline: same replies, same outputs, every event fired once and in order, and every stop
//! or skip leaves the outputs the model says, each instant written once with its net changes.

mod common;

use std::collections::BTreeMap;

use common::{GenCycle, RefEvent};
use proptest::prelude::*;
use tumble_core::board::Readings;
use tumble_core::cycle::{Cycle, MAX_STORAGE};
use tumble_core::runner::{CommandError, Runner};
use tumble_rig::{Pins, t};

#[derive(Debug, Clone)]
enum Step {
    Wait(u64),
    Start,
    Stop,
    Pause,
    Resume,
    Skip,
    SkipTo(usize),
    Readings(f32, f32),
    Manual(usize, bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u64..80_000).prop_map(Step::Wait),
        3 => (0u64..80).prop_map(|ms| Step::Wait(ms * 1000)),
        2 => Just(Step::Start),
        1 => Just(Step::Stop),
        1 => Just(Step::Pause),
        1 => Just(Step::Resume),
        1 => Just(Step::Skip),
        1 => (0usize..5).prop_map(Step::SkipTo),
        2 => (0f32..120.0, 0f32..120.0).prop_map(|(r, p)| Step::Readings(r, p)),
        1 => (0usize..6, any::<bool>()).prop_map(|(o, on)| Step::Manual(o, on)),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Idle,
    Running { phase: usize, start: u64 },
    Paused { phase: usize, elapsed: u64 },
}

/// The runner's rules, restated from the reference timeline.
struct Model {
    doc: GenCycle,
    events: Vec<Vec<RefEvent>>,
    durations: Vec<u64>,
    state: State,
    /// Events of the current phase already fired.
    consumed: usize,
    /// Events fired in this run (the runner's counters start again at each start).
    fired: u64,
    manual: BTreeMap<&'static str, bool>,
}

impl Model {
    fn new(doc: GenCycle) -> Self {
        Model {
            events: doc.phases.iter().map(|p| p.reference_events(0)).collect(),
            durations: doc
                .phases
                .iter()
                .map(|p| p.reference_duration_us(0))
                .collect(),
            doc,
            state: State::Idle,
            consumed: 0,
            fired: 0,
            manual: BTreeMap::new(),
        }
    }

    fn advance(&mut self, now: u64) {
        while let State::Running { phase, start } = self.state {
            let events = &self.events[phase];
            while self.consumed < events.len() && start + events[self.consumed].0 <= now {
                self.consumed += 1;
                self.fired += 1;
            }
            let end = start + self.durations[phase];
            if self.consumed < events.len() || end > now {
                return;
            }
            self.enter(phase + 1, end);
        }
    }

    fn enter(&mut self, phase: usize, at: u64) {
        self.consumed = 0;
        self.state = match self.state {
            _ if phase >= self.events.len() => State::Idle,
            State::Paused { .. } => State::Paused { phase, elapsed: 0 },
            _ => State::Running { phase, start: at },
        };
    }

    fn phase(&self) -> Option<usize> {
        match self.state {
            State::Idle => None,
            State::Running { phase, .. } | State::Paused { phase, .. } => Some(phase),
        }
    }

    fn apply(&mut self, now: u64, step: &Step) -> Result<(), CommandError> {
        self.advance(now);
        let result = match *step {
            Step::Wait(_) => Ok(()),
            Step::Start if self.state != State::Idle => Err(CommandError::Running),
            Step::Start => {
                self.manual.clear();
                self.state = State::Running {
                    phase: 0,
                    start: now,
                };
                self.consumed = 0;
                self.fired = 0;
                Ok(())
            }
            Step::Manual(..) if self.state != State::Idle => Err(CommandError::Running),
            Step::Manual(o, on) => {
                self.manual.insert(common::PLAIN_OUTPUTS[o], on);
                Ok(())
            }
            Step::Stop => {
                self.manual.clear();
                let was = self.state;
                self.state = State::Idle;
                if was == State::Idle {
                    Err(CommandError::NotRunning)
                } else {
                    Ok(())
                }
            }
            _ if self.state == State::Idle => match step {
                Step::Readings(..) => Ok(()),
                _ => Err(CommandError::NotRunning),
            },
            Step::Pause => match self.state {
                State::Running { phase, start } => {
                    self.state = State::Paused {
                        phase,
                        elapsed: now - start,
                    };
                    Ok(())
                }
                _ => Err(CommandError::AlreadyPaused),
            },
            Step::Resume => match self.state {
                State::Paused { phase, elapsed } => {
                    self.state = State::Running {
                        phase,
                        start: now - elapsed,
                    };
                    Ok(())
                }
                _ => Err(CommandError::NotPaused),
            },
            Step::Skip => {
                self.enter(self.phase().unwrap() + 1, now);
                Ok(())
            }
            Step::SkipTo(i) if i >= self.events.len() => Err(CommandError::PhaseOutOfRange {
                index: i,
                phases: self.events.len(),
            }),
            Step::SkipTo(i) => {
                self.enter(i, now);
                Ok(())
            }
            Step::Readings(rpm, pressure) => {
                if let State::Running { phase, start } = self.state
                    && let Some(t) = &self.doc.phases[phase].trigger
                    && now - start >= t.cooldown as u64 * 1000
                    && t.holds(rpm, pressure)
                {
                    self.enter(phase + 1, now);
                }
                Ok(())
            }
        };
        self.advance(now);
        result
    }

    /// What each output should be: (name, ON?).
    fn outputs(&self) -> BTreeMap<&'static str, bool> {
        let mut on: BTreeMap<&'static str, bool> = BTreeMap::new();
        match self.state {
            State::Idle => on.extend(self.manual.iter().map(|(k, v)| (*k, *v))),
            State::Paused { .. } => {}
            State::Running { phase, .. } => {
                for &(_, name, level) in &self.events[phase][..self.consumed] {
                    on.insert(name, level);
                }
            }
        }
        on.retain(|_, v| *v);
        on
    }
}

fn run_case(doc: GenCycle, steps: Vec<Step>) -> Result<(), TestCaseError> {
    // No reverse dead time: the model's resumes do not wait (tests/runner.rs covers the wait).
    let board = tumble_rig::board_with_dead_time(0);
    let (mut loaded, mut lent) = (vec![0u8; MAX_STORAGE], vec![0u8; MAX_STORAGE]);
    let mut cycle = Cycle::new(&mut lent);
    cycle
        .parse(doc.to_json().as_bytes(), &board)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut runner = Box::new(Runner::new(board.clone(), &mut loaded));
    let mut pins = Pins::new();
    runner.boot(t(0), &mut pins);
    runner.load(t(0), &mut cycle, &mut pins);
    let mut model = Model::new(doc);
    let mut now = 0;
    for step in &steps {
        if let Step::Wait(dt) = step {
            now += dt;
        }
        let before = pins.levels.clone();
        let first_write = pins.writes.len();
        let got = match *step {
            Step::Wait(_) => {
                runner.handle_timeout(t(now), &mut pins);
                Ok(())
            }
            Step::Start => runner.start(t(now), &mut pins),
            Step::Stop => runner.stop(t(now), &mut pins),
            Step::Pause => runner.pause(t(now), &mut pins),
            Step::Resume => runner.resume(t(now), &mut pins),
            Step::Skip => runner.skip_phase(t(now), &mut pins),
            Step::SkipTo(i) => runner.skip_to_phase(t(now), i, &mut pins),
            Step::Readings(rpm, p) => {
                let r = Readings {
                    rpm: Some(rpm),
                    pressure_hz: Some(p),
                };
                runner.handle_readings(t(now), r, &mut pins);
                Ok(())
            }
            Step::Manual(o, on) => {
                let id = board.find(common::PLAIN_OUTPUTS[o]).unwrap();
                runner.set_output(t(now), id, on, &mut pins)
            }
        };
        let want = model.apply(now, step);
        prop_assert_eq!(got, want, "reply to {:?} at {}", step, now);

        let expected = model.outputs();
        for (_, def) in board.outputs() {
            let on = expected.contains_key(def.name.as_str());
            prop_assert_eq!(
                pins.levels[&def.pin],
                def.level(on),
                "{} after {:?} at {} (model {:?})",
                def.name,
                step,
                now,
                model.state
            );
        }
        prop_assert_eq!(
            runner.stats().events_fired,
            model.fired,
            "events fired after {:?}",
            step
        );

        let writes = &pins.writes[first_write..];
        prop_assert!(
            writes.iter().all(|w| w.0 <= now),
            "nothing is written ahead of time"
        );
        // One write per instant of its net changes: no pin is written twice at one instant, and
        // none is written to the level it already had.
        let mut levels = before;
        let mut seen = std::collections::BTreeSet::new();
        for &(due, pin, level) in writes {
            prop_assert!(
                seen.insert((due, pin)),
                "pin {} written twice at {}",
                pin,
                due
            );
            let was = levels.insert(pin, tumble_core::board::Level::from_bool(level == 1));
            prop_assert!(
                was.map(|l| l.as_u8()) != Some(level),
                "pin {} rewritten at {}",
                pin,
                due
            );
        }
    }
    let dues: Vec<u64> = pins.writes.iter().map(|w| w.0).collect();
    prop_assert!(
        dues.windows(2).all(|w| w[0] <= w[1]),
        "writes in time order"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_runner_agrees_with_the_model(
        doc in common::cycle(),
        steps in prop::collection::vec(step(), 1..60),
    ) {
        run_case(doc, steps)?;
    }
}
