//! The load-time motor interlock against an independent model: every event of the phase expanded
//! into a list (reversals paused for at least the board's dead time), sorted the way the timeline orders an instant, and walked. The check under test
//! never walks events; on every generated phase it must refuse exactly what the walk finds.

use proptest::prelude::*;
use tumble_core::board::Board;
use tumble_core::cycle::{Cycle, MAX_STORAGE};

#[derive(Debug, Clone)]
enum Comp {
    /// compId and duration.
    Plain(&'static str, u32),
    /// (stepTime, pauseTime, cw) steps and repeatTimes.
    Pattern(Vec<(u32, u32, bool)>, u32),
}

fn comp() -> impl Strategy<Value = (u32, Comp)> {
    let plain = (
        prop::sample::select(vec!["Motor", "Motor Direction", "Drain Pump"]),
        0u32..200,
    )
        .prop_map(|(id, d)| Comp::Plain(id, d));
    let pattern = (
        prop::collection::vec((1u32..60, 0u32..60, any::<bool>()), 1..4),
        1u32..4,
    )
        .prop_map(|(s, r)| Comp::Pattern(s, r));
    (0u32..400, prop_oneof![plain, pattern])
}

fn document(start_time: u32, comps: &[(u32, Comp)]) -> String {
    let comps: Vec<String> = comps
        .iter()
        .map(|(start, c)| match c {
            Comp::Plain(id, d) => format!(r#"{{"compId":"{id}","start":{start},"duration":{d}}}"#),
            Comp::Pattern(steps, repeat) => {
                let steps: Vec<String> = steps
                    .iter()
                    .map(|(s, p, cw)| {
                        let dir = if *cw { "cw" } else { "ccw" };
                        format!(r#"{{"stepTime":{s},"pauseTime":{p},"direction":"{dir}"}}"#)
                    })
                    .collect();
                format!(
                    r#"{{"compId":"Motor","start":{start},"motorConfig":{{"repeatTimes":{repeat},"pattern":[{}]}}}}"#,
                    steps.join(",")
                )
            }
        })
        .collect();
    format!(
        r#"{{"phases":[{{"startTime":{start_time},"components":[{}]}}]}}"#,
        comps.join(",")
    )
}

/// What the walk concludes: nothing, an overlap at a component, or a reversal message.
#[derive(Debug, PartialEq)]
enum Expected {
    Fine,
    Overlap(usize),
    Refused(String),
}

const OFF: u8 = 0;
const DIR: u8 = 1;
const ON: u8 = 2;

fn model(start_time: u32, comps: &[(u32, Comp)], dead_ms: u64) -> Expected {
    let touches = |c: &Comp| !matches!(c, Comp::Plain("Drain Pump", _) | Comp::Plain(_, 0));
    // The pause played after step i: a reversal pauses for at least the dead time.
    let pause = |steps: &[(u32, u32, bool)], i: usize| -> u64 {
        let next = (i + 1) % steps.len();
        let p = steps[i].1 as u64;
        if steps[i].2 != steps[next].2 {
            p.max(dead_ms)
        } else {
            p
        }
    };
    // (start, end) in ms of the components that drive the motor or its direction.
    let span = |(start, c): &(u32, Comp)| -> (u64, u64) {
        let b = (start_time + start) as u64;
        match c {
            Comp::Plain(_, d) => (b, b + *d as u64),
            Comp::Pattern(steps, r) => {
                let period: u64 = (0..steps.len())
                    .map(|i| steps[i].0 as u64 + pause(steps, i))
                    .sum();
                let last_pause = pause(steps, steps.len() - 1);
                (b, b + *r as u64 * period - last_pause)
            }
        }
    };
    for j in 0..comps.len() {
        for i in 0..j {
            let (a, b) = (&comps[i], &comps[j]);
            let pattern = matches!(a.1, Comp::Pattern(..)) || matches!(b.1, Comp::Pattern(..));
            let (sa, sb) = (span(a), span(b));
            if pattern && touches(&a.1) && touches(&b.1) && sa.0 < sb.1 && sb.0 < sa.1 {
                let other = if matches!(a.1, Comp::Pattern(..)) {
                    j
                } else {
                    i
                };
                return Expected::Overlap(other);
            }
        }
    }
    // (at_us, class, component, seq, is_motor, on, step)
    let mut events = Vec::new();
    for (k, (start, c)) in comps.iter().enumerate() {
        let b = (start_time + start) as u64 * 1000;
        match c {
            Comp::Plain(id, d) if *d > 0 && *id != "Drain Pump" => {
                let motor = *id == "Motor";
                events.push((b, ON, k, 0, motor, true, None));
                events.push((b + *d as u64 * 1000, OFF, k, 1, motor, false, None));
            }
            Comp::Plain(..) => {}
            Comp::Pattern(steps, r) => {
                let mut t = b;
                let mut seq = 0;
                for _ in 0..*r {
                    for (i, (s, _, cw)) in steps.iter().enumerate() {
                        events.push((t, DIR, k, seq, false, *cw, Some(i)));
                        events.push((t, ON, k, seq + 1, true, true, None));
                        events.push((t + *s as u64 * 1000, OFF, k, seq + 2, true, false, None));
                        seq += 3;
                        t += (*s as u64 + pause(steps, i)) * 1000;
                    }
                }
            }
        }
    }
    events.sort_by_key(|e| (e.0, e.1, e.2, e.3));
    // A phase starts with both OFF and no Motor OFF to count from.
    let (mut motor_on, mut dir_on, mut off_at) = (false, false, None::<u64>);
    for (at, _, k, _, is_motor, on, step) in events {
        if is_motor {
            if motor_on && !on {
                off_at = Some(at);
            }
            motor_on = on;
            continue;
        }
        if on == dir_on {
            continue;
        }
        dir_on = on;
        let off_for = off_at.map_or(u64::MAX, |t| at - t);
        if motor_on || off_for < dead_ms * 1000 {
            let path = match step {
                Some(s) => format!("phases[0].components[{k}].motorConfig.pattern[{s}]"),
                None => format!("phases[0].components[{k}]"),
            };
            let ms = |us: u64| {
                if us.is_multiple_of(1000) {
                    format!("{}", us / 1000)
                } else {
                    format!("{}.{:03}", us / 1000, us % 1000)
                }
            };
            return Expected::Refused(if motor_on {
                format!(
                    "{path}: changes Motor Direction at {} ms while Motor is ON (interlock)",
                    ms(at)
                )
            } else {
                format!(
                    "{path}: reverses the motor at {} ms, {} ms after Motor went OFF; this board requires a reverse dead time of {dead_ms} ms",
                    ms(at),
                    ms(off_for)
                )
            });
        }
    }
    Expected::Fine
}

fn checked(doc: &str, board: &Board) -> Expected {
    let mut storage = vec![0u8; MAX_STORAGE];
    let mut c = Cycle::new(&mut storage);
    match c.parse(doc.as_bytes(), board) {
        Ok(_) => Expected::Fine,
        Err(e) if e.message.as_str().contains("during the motor pattern") => {
            let k = e.path.as_str()["phases[0].components[".len()..]
                .trim_end_matches(']')
                .parse()
                .unwrap();
            Expected::Overlap(k)
        }
        Err(e) => Expected::Refused(e.to_string()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn the_check_refuses_exactly_what_a_walk_of_every_event_finds(
        start_time in 0u32..100,
        comps in prop::collection::vec(comp(), 1..6),
        dead_ms in prop::sample::select(vec![0u64, 5, 40]),
    ) {
        let board = tumble_rig::board_with_dead_time(dead_ms as u32);
        let doc = document(start_time, &comps);
        prop_assert_eq!(checked(&doc, &board), model(start_time, &comps, dead_ms), "{}", doc);
    }
}

#[test]
fn two_motor_patterns_at_once_are_refused_outright() {
    let doc = r#"{"phases":[{"components":[
        {"compId":"Motor","motorConfig":{"pattern":[{"stepTime":1000,"pauseTime":500,"direction":"ccw"}]}},
        {"compId":"Motor","start":100,"motorConfig":{"pattern":[{"stepTime":100,"direction":"cw"}]}}]}]}"#;
    let mut c = Cycle::new(tumble_rig::storage());
    let err = c.parse(doc.as_bytes(), &Board::washer()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "phases[0].components[1]: its motor pattern runs from 100 to 200 ms, during the motor pattern of components[0] (0 to 1000 ms): a motor pattern alone drives Motor and Motor Direction while it runs"
    );
}

#[test]
fn the_worst_document_is_checked_without_walking_its_events() {
    // Issue 10's document: 32 phases of two identical 3,000,000-pass motor patterns (18 M
    // events a phase). The old check walked all 576 M events (4.7 s); this one reads spans.
    let phase = r#"{"components":[
        {"compId":"Motor","motorConfig":{"repeatTimes":3000000,"pattern":[{"stepTime":1,"pauseTime":1}]}},
        {"compId":"Motor","motorConfig":{"repeatTimes":3000000,"pattern":[{"stepTime":1,"pauseTime":1}]}}]}"#;
    let doc = format!(r#"{{"phases":[{}]}}"#, vec![phase; 32].join(","));
    let mut c = Cycle::new(tumble_rig::storage());
    let err = c.parse(doc.as_bytes(), &Board::washer()).unwrap_err();
    assert!(err.to_string().starts_with("phases[0].components[1]: its motor pattern runs from 0 to 5999999 ms, during the motor pattern of components[0]"), "{err}");
    // One pattern per phase: accepted, 576 M events in all, still without a walk.
    let lone = phase.replacen(",\n        {\"compId\":\"Motor\",\"motorConfig\":{\"repeatTimes\":3000000,\"pattern\":[{\"stepTime\":1,\"pauseTime\":1}]}}", "", 1);
    let doc = format!(r#"{{"phases":[{}]}}"#, vec![lone.as_str(); 32].join(","));
    c.parse(doc.as_bytes(), &Board::washer()).unwrap();
    assert_eq!(c.total_events(), 32 * 3 * 3_000_000);
}
