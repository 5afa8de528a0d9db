//! Random valid cycles for property tests, with a naive reference expansion written straight
//! from the format's rules (materialise every event, stable-sort), independent of the core.
#![allow(dead_code)]

use proptest::prelude::*;

pub const PLAIN_OUTPUTS: [&str; 6] = [
    "Retractor",
    "Detergent Valve",
    "Cold Valve",
    "Drain Pump",
    "Hot Valve",
    "Soft Valve",
];

#[derive(Debug, Clone)]
pub struct GenStep {
    pub step: u32,
    pub pause: u32,
    pub ccw: bool,
}

#[derive(Debug, Clone)]
pub enum GenComp {
    Plain {
        output: &'static str,
        start: u32,
        duration: u32,
    },
    Motor {
        start: u32,
        repeat: u32,
        pattern: Vec<GenStep>,
    },
}

/// A sensor trigger that ends the phase early.
#[derive(Debug, Clone)]
pub struct GenTrigger {
    pub rpm: bool,
    pub threshold: u32,
    pub above: bool,
    pub cooldown: u32,
}

impl GenTrigger {
    pub fn holds(&self, rpm: f32, pressure: f32) -> bool {
        let v = if self.rpm { rpm } else { pressure } as u32;
        if self.above {
            v > self.threshold
        } else {
            v < self.threshold
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenPhase {
    pub start_time: u32,
    pub comps: Vec<GenComp>,
    pub trigger: Option<GenTrigger>,
}

#[derive(Debug, Clone)]
pub struct GenCycle {
    pub phases: Vec<GenPhase>,
}

/// One expected event: (offset from phase start in µs, output name, ON?).
pub type RefEvent = (u64, &'static str, bool);

impl GenCycle {
    pub fn to_json(&self) -> String {
        let phases: Vec<String> = self
            .phases
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let comps: Vec<String> = p.comps.iter().map(GenComp::to_json).collect();
                let trigger = p.trigger.as_ref().map_or(String::new(), |t| {
                    format!(
                        r#","sensorTrigger":{{"type":"{}","threshold":{},"triggerAbove":{},"cooldownMs":{}}}"#,
                        if t.rpm { "RPM" } else { "Pressure" },
                        t.threshold,
                        t.above,
                        t.cooldown
                    )
                });
                format!(
                    r#"{{"id":"p{i}","startTime":{},"components":[{}]{trigger}}}"#,
                    p.start_time,
                    comps.join(",")
                )
            })
            .collect();
        format!(r#"{{"phases":[{}]}}"#, phases.join(","))
    }
}

impl GenComp {
    fn to_json(&self) -> String {
        match self {
            GenComp::Plain {
                output,
                start,
                duration,
            } => format!(r#"{{"compId":"{output}","start":{start},"duration":{duration}}}"#),
            GenComp::Motor {
                start,
                repeat,
                pattern,
            } => {
                let steps: Vec<String> = pattern
                    .iter()
                    .map(|s| {
                        format!(
                            r#"{{"stepTime":{},"pauseTime":{},"direction":"{}"}}"#,
                            s.step,
                            s.pause,
                            if s.ccw { "ccw" } else { "cw" }
                        )
                    })
                    .collect();
                format!(
                    r#"{{"compId":"Motor","start":{start},"motorConfig":{{"repeatTimes":{repeat},"pattern":[{}]}}}}"#,
                    steps.join(",")
                )
            }
        }
    }
}

impl GenPhase {
    /// Every event in generation order, then a stable sort by (time, OFF < direction < ON,
    /// component index): the rules of docs/cycle-format.md, written the slow, obvious way, on a
    /// board with a reverse dead time of `dead_ms`.
    pub fn reference_events(&self, dead_ms: u32) -> Vec<RefEvent> {
        let mut all = Vec::new(); // (at_us, class, component, event)
        for (ci, c) in self.comps.iter().enumerate() {
            match c {
                GenComp::Plain {
                    output,
                    start,
                    duration,
                } => {
                    if *duration > 0 {
                        let on = (self.start_time + start) as u64 * 1000;
                        let off = on + *duration as u64 * 1000;
                        all.push((on, 2, ci, (on, *output, true)));
                        all.push((off, 0, ci, (off, *output, false)));
                    }
                }
                GenComp::Motor {
                    start,
                    repeat,
                    pattern,
                } => {
                    // A reversal is played after a pause of at least the board's dead time.
                    let dead = dead_ms;
                    let mut cursor = (self.start_time + start) as u64;
                    for _ in 0..*repeat {
                        for (i, s) in pattern.iter().enumerate() {
                            let t = cursor * 1000;
                            let off = t + s.step as u64 * 1000;
                            all.push((t, 1, ci, (t, "Motor Direction", !s.ccw)));
                            all.push((t, 2, ci, (t, "Motor", true)));
                            all.push((off, 0, ci, (off, "Motor", false)));
                            let next = &pattern[(i + 1) % pattern.len()];
                            let pause = if next.ccw != s.ccw {
                                s.pause.max(dead)
                            } else {
                                s.pause
                            };
                            cursor += (s.step + pause) as u64;
                        }
                    }
                }
            }
        }
        all.sort_by_key(|&(t, class, ci, _)| (t, class, ci));
        all.into_iter().map(|(_, _, _, e)| e).collect()
    }

    /// The phase's duration by the rules: last event, or startTime when there is none.
    pub fn reference_duration_us(&self, dead_ms: u32) -> u64 {
        self.reference_events(dead_ms)
            .iter()
            .map(|e| e.0)
            .max()
            .unwrap_or(self.start_time as u64 * 1000)
    }
}

/// Milliseconds, zero often: ties at the phase start are where ordering bugs hide.
fn ms(max: u32) -> impl Strategy<Value = u32> {
    prop_oneof![1 => Just(0u32), 2 => 0..max]
}

fn step() -> impl Strategy<Value = GenStep> {
    (1u32..40, ms(30), any::<bool>()).prop_map(|(step, pause, ccw)| GenStep { step, pause, ccw })
}

fn plain() -> impl Strategy<Value = GenComp> {
    (prop::sample::select(&PLAIN_OUTPUTS[..]), ms(80), ms(80)).prop_map(
        |(output, start, duration)| GenComp::Plain {
            output,
            start,
            duration,
        },
    )
}

fn motor() -> impl Strategy<Value = GenComp> {
    (ms(50), 1u32..4, prop::collection::vec(step(), 1..4)).prop_map(|(start, repeat, pattern)| {
        GenComp::Motor {
            start,
            repeat,
            pattern,
        }
    })
}

/// A phase: plain components, and at most one motor so the interlock always holds.
fn phase() -> impl Strategy<Value = GenPhase> {
    (
        ms(40),
        prop::collection::vec(plain(), 0..5),
        prop::option::of(motor()),
        0usize..5,
        prop::option::weighted(0.3, trigger()),
    )
        .prop_map(|(start_time, mut comps, motor, at, trigger)| {
            if let Some(m) = motor {
                comps.insert(at.min(comps.len()), m);
            }
            GenPhase {
                start_time,
                comps,
                trigger,
            }
        })
}

fn trigger() -> impl Strategy<Value = GenTrigger> {
    (any::<bool>(), 0u32..100, any::<bool>(), ms(60)).prop_map(
        |(rpm, threshold, above, cooldown)| GenTrigger {
            rpm,
            threshold,
            above,
            cooldown,
        },
    )
}

pub fn cycle() -> impl Strategy<Value = GenCycle> {
    prop::collection::vec(phase(), 1..4).prop_map(|phases| GenCycle { phases })
}
