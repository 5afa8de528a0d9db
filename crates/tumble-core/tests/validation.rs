//! The format's rules one by one: defaults, what is accepted with a warning, what is refused.

use tumble_core::board::Board;
use tumble_core::cycle::{
    Cycle, CycleError, Direction, Drive, ErrorKind, MAX_STORAGE, Report, Sensor, TriggerMode,
    WarningCount,
};
use tumble_core::time::Duration;
use tumble_core::timeline::Timeline;

fn parse_on(doc: &str, board: &Board) -> (Cycle<'static>, Result<Report, CycleError>) {
    let mut c = Cycle::new(tumble_rig::storage());
    let r = c.parse(doc.as_bytes(), board);
    (c, r)
}

fn accept(doc: &str) -> (Cycle<'static>, Report) {
    let (c, r) = parse_on(doc, &Board::washer());
    let r = r.unwrap_or_else(|e| panic!("refused: {e}"));
    (c, r)
}

fn refuse(doc: &str) -> CycleError {
    parse_on(doc, &Board::washer())
        .1
        .expect_err("should be refused")
}

fn warnings(r: &Report) -> Vec<String> {
    r.warnings
        .iter()
        .map(|w| format!("{}: {}", w.path, w.message))
        .collect()
}

#[test]
fn the_originals_defaults_apply() {
    let (c, r) = accept(
        r#"{"phases":[{"components":[{"compId":"Motor","motorConfig":{"pattern":[{}]}}],
            "sensorTrigger":{}}]}"#,
    );
    assert!(r.warnings.is_empty(), "{:?}", warnings(&r));
    let p = c.phases()[0];
    assert_eq!(p.start_ms, 0);
    let comp = c.component(&p, 0);
    let Drive::Motor(m) = comp.drive else {
        panic!()
    };
    assert_eq!(m.repeat, 1);
    let step = c.step(m.step_range().start);
    assert_eq!(
        (step.step_ms, step.pause_ms, step.direction),
        (1000, 0, Direction::Cw)
    );
    let t = p.trigger.unwrap();
    assert_eq!(
        (t.sensor, t.threshold, t.above, t.cooldown_ms),
        (Sensor::Rpm, 0, true, 15_000)
    );
    assert_eq!(t.mode, TriggerMode::EndEarly);
    assert_eq!(c.phase_label(&p), "Unknown");
}

#[test]
fn ui_keys_are_kept_and_null_means_absent() {
    let (c, r) = accept(
        r#"{"phases":[{"id":"w","name":"Wash","color":"4ADE80","sensorTrigger":null,
            "components":[{"id":"1","label":"Cold","compId":"Cold Valve","duration":5,"motorConfig":null}]}]}"#,
    );
    assert!(r.warnings.is_empty(), "{:?}", warnings(&r));
    let p = c.phases()[0];
    assert_eq!(
        (c.text(p.id), c.text(p.name), c.text(p.color)),
        ("w", "Wash", "4ADE80")
    );
    assert!(p.trigger.is_none());
    let comp = c.component(&p, 0);
    assert_eq!(c.text(comp.label), "Cold");
}

#[test]
fn output_names_ignore_case_spaces_and_accept_the_ui_alias() {
    let board = Board::washer();
    let (c, _) = accept(
        r#"{"phases":[{"components":[{"compId":" cold VALVE ","duration":1},
            {"compId":"Softener Valve","duration":1},{"compId":"Soft Valve","start":5,"duration":1}]}]}"#,
    );
    let outs: Vec<_> = c
        .phase_components(&c.phases()[0])
        .map(|comp| match comp.drive {
            Drive::Output(o) => board.output(o).pin,
            Drive::Motor(_) => 0,
        })
        .collect();
    assert_eq!(outs, [5, 18, 18]);
}

#[test]
fn unknown_duplicate_and_recased_keys_are_warnings() {
    let (c, r) = accept(
        r#"{"phases":[{"StartTime":5,"startTime":9,"tint":"fff",
            "components":[{"compId":"Retractor","note":5,"duration":1}]}],"version":2}"#,
    );
    assert_eq!(
        c.phases()[0].start_ms,
        5,
        "the first of two duplicates counts"
    );
    assert_eq!(
        warnings(&r),
        [
            "phases[0].startTime: key written as \"StartTime\"",
            "phases[0].startTime: duplicate key, ignored: the first one counts",
            "phases[0].tint: unknown key, ignored",
            "phases[0].components[0].note: unknown key, ignored",
            "version: unknown key, ignored",
        ]
    );
}

#[test]
fn a_near_miss_of_a_known_key_is_refused_with_what_was_meant() {
    let motor = |key: &str| {
        format!(
            r#"{{"phases":[{{"components":[{{"compId":"Motor","motorConfig":{{"{key}":30,
                "pattern":[{{"stepTime":100,"pauseTime":100}}]}}}}]}}]}}"#
        )
    };
    for (doc, path, meant) in [
        (
            r#"{"phases":[{"components":[{"compId":"Cold Valve","durtion":5000}]}]}"#.to_string(),
            "phases[0].components[0].durtion",
            "duration",
        ),
        (
            motor("repeatTime"),
            "phases[0].components[0].motorConfig.repeatTime",
            "repeatTimes",
        ),
        (
            motor("RepeatTimez"),
            "phases[0].components[0].motorConfig.RepeatTimez",
            "repeatTimes",
        ),
        (
            r#"{"phases":[{"colour":"fff"}]}"#.to_string(),
            "phases[0].colour",
            "color",
        ),
        (
            r#"{"phases":[{"components":[{"compid":"Cold Valve","strat":5,"duration":1}]}]}"#
                .to_string(),
            "phases[0].components[0].strat",
            "start",
        ),
        (r#"{"phase":[]}"#.to_string(), "phase", "phases"),
        (
            r#"{"phases":[{"sensorTrigger":{"type":"RPM","threshhold":5}}]}"#.to_string(),
            "phases[0].sensorTrigger.threshhold",
            "threshold",
        ),
    ] {
        let e = refuse(&doc);
        assert_eq!(e.path.as_str(), path, "{doc}");
        let key = path.rsplit('.').next().unwrap();
        assert_eq!(
            e.message.as_str(),
            format!("unknown key \"{key}\": did you mean \"{meant}\"?"),
            "{doc}"
        );
    }
    // Short keys are not guessed at: "ix" is two edits from "id", yet likely its own field.
    let (_, r) = accept(r#"{"phases":[{"ix":1,"tag":"x"}]}"#);
    let w = warnings(&r);
    assert_eq!(
        w[..2],
        [
            "phases[0].ix: unknown key, ignored",
            "phases[0].tag: unknown key, ignored"
        ]
    );
}

#[test]
fn suspicious_but_valid_cycles_get_warnings_with_paths() {
    let (_, r) = accept(
        r#"{"phases":[
            {"components":[{"compId":"Cold Valve","start":0,"duration":0}]},
            {"components":[
                {"compId":"Motor","duration":1000,"motorConfig":{"repeatTimes":2,"pattern":[
                    {"stepTime":300,"pauseTime":0,"direction":"cw"},
                    {"stepTime":300,"pauseTime":200,"direction":"ccw"}]}},
                {"compId":"Hot Valve","start":0,"duration":100},
                {"compId":"Hot Valve","start":50,"duration":100}]},
            {"startTime":700,"components":[]}]}"#,
    );
    assert_eq!(
        warnings(&r),
        [
            "phases[0].components[0].duration: 0 ms: this component switches nothing",
            "phases[0]: no events: the phase is a pure wait of 0 ms",
            "phases[1].components[0].motorConfig.pattern[0].pauseTime: 0 ms before the motor reverses from cw to ccw: played as 100 ms, this board's reverse dead time",
            "phases[1].components[0].duration: the motor pattern runs for 1600 ms, past this duration of 1000 ms",
            "phases[1].components[2]: Hot Valve is also driven by components[1] from 50 to 100 ms",
            "phases[2]: no events: the phase is a pure wait of 700 ms",
        ]
    );
}

#[test]
fn a_motor_config_overrides_the_comp_id_with_a_warning() {
    let (c, r) = accept(
        r#"{"phases":[{"components":[{"compId":"Drain Pump","motorConfig":{"pattern":[{"stepTime":5}]}}]}]}"#,
    );
    assert!(matches!(
        c.component(&c.phases()[0], 0).drive,
        Drive::Motor(_)
    ));
    assert_eq!(
        warnings(&r),
        [
            "phases[0].components[0].compId: ignored: a motorConfig always drives Motor and Motor Direction"
        ]
    );
}

#[test]
fn trigger_modes_and_thresholds() {
    let (c, r) = accept(
        r#"{"phases":[{"sensorTrigger":{"type":"pressure","threshold":26000.7,"triggerAbove":false,
            "mode":"wait","timeoutMs":60000,"cooldownMs":1000,"pinNumber":3}},
            {"sensorTrigger":{"type":"RPM","threshold":5,"timeoutMs":9}}]}"#,
    );
    let t = c.phases()[0].trigger.unwrap();
    assert_eq!(t.threshold, 26000);
    assert_eq!(t.mode, TriggerMode::Wait { timeout_ms: 60_000 });
    assert_eq!((t.cooldown_ms, t.pin_number), (1000, Some(3)));
    assert!(t.holds(25_999.9) && !t.holds(26_000.5));
    assert_eq!(
        warnings(&r),
        [
            "phases[0].sensorTrigger.threshold: 26000.7 is compared as 26000: readings and thresholds are whole numbers",
            "phases[0]: no events: the phase is a pure wait of 0 ms",
            "phases[1].sensorTrigger.timeoutMs: ignored: a timeout applies only with \"mode\": \"wait\"",
            "phases[1]: no events: the phase is a pure wait of 0 ms",
        ]
    );
}

#[test]
fn refusals_name_the_path_and_the_reason() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"phases":[{"components":[{"compId":"Retractor","duration":-5}]}]}"#,
            "phases[0].components[0].duration: expected a whole number of milliseconds >= 0, got -5 (negative)",
        ),
        (
            r#"{"phases":[{"startTime":4294967296}]}"#,
            "phases[0].startTime: expected a whole number of milliseconds >= 0, got 4294967296 (larger than 4294967295)",
        ),
        (
            r#"{"phases":[{"startTime":true}]}"#,
            "phases[0].startTime: expected a whole number of milliseconds >= 0, got a boolean",
        ),
        (
            r#"{"phases":[{"id":5}]}"#,
            "phases[0].id: expected a string, got 5",
        ),
        (
            r#"{"phases":[7]}"#,
            "phases[0]: expected a phase object, got 7",
        ),
        (
            r#"{"phases":[{"components":[{"compId":"Motor","motorConfig":{}}]}]}"#,
            "phases[0].components[0].motorConfig.pattern: missing: a motorConfig needs a pattern of at least one step",
        ),
        (
            r#"{"phases":[{"components":[{"compId":"Motor","motorConfig":{"repeatTimes":1.5,"pattern":[{}]}}]}]}"#,
            "phases[0].components[0].motorConfig.repeatTimes: expected a whole number >= 1, got 1.5 (not a whole number)",
        ),
        (
            r#"{"phases":[{"components":[{"compId":"Motor","motorConfig":{"pattern":[{"direction":"CW "}]}}]}]}"#,
            "phases[0].components[0].motorConfig.pattern[0].direction: unknown direction \"CW \" (known: cw, ccw)",
        ),
        (
            r#"{"phases":[{"sensorTrigger":{"type":1}}]}"#,
            "phases[0].sensorTrigger.type: expected \"RPM\" or \"Pressure\", got 1",
        ),
        (
            r#"{"phases":[]} x"#,
            "invalid JSON at line 1, column 15 (byte 14): data after the end of the document",
        ),
        (
            "{\"phases\": [\n  {\"id\": \"é\" x}\n]}",
            "invalid JSON at line 2, column 14 (byte 27): expected ',' or '}'",
        ),
        (
            "phases:\n  - id: fill\n",
            "invalid JSON at line 1, column 1 (byte 0): unexpected character 'p'; this looks like YAML: a cycle is a JSON document, {\"phases\": [...]}",
        ),
        (
            "cycle.txt",
            "invalid JSON at line 1, column 1 (byte 0): unexpected character 'c'; a cycle is a JSON document, {\"phases\": [...]}",
        ),
        (
            " \n",
            "invalid JSON at line 2, column 1 (byte 2): unexpected end of input; the file is empty: a cycle is a JSON object, {\"phases\": [...]}",
        ),
    ];
    for (doc, want) in cases {
        assert_eq!(refuse(doc).to_string(), *want, "{doc}");
    }
}

#[test]
fn text_limits_count_utf8_bytes_and_the_storage_is_the_only_capacity() {
    let id = "é".repeat(32); // 64 bytes: fits
    accept(&format!(r#"{{"phases":[{{"id":"{id}"}}]}}"#));
    let err = refuse(&format!(r#"{{"phases":[{{"id":"{id}x"}}]}}"#));
    assert_eq!(err.path.as_str(), "phases[0].id");

    // A cycle costs what its document holds: its strings, 44 bytes per component, 9 per pattern
    // step. 11 phases of 64 + 64 + 44 bytes and a last one of 64 + 64 + 28 bytes of strings
    // fill 2048 bytes exactly; one byte more is refused where it overflowed.
    const CAP: usize = 2048;
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    let phase = format!(
        r#"{{"id":"{a}","components":[{{"id":"{b}","compId":"Retractor","duration":1}}]}}"#
    );
    let doc = |color: usize, label: &str| {
        let first = phase.replacen(r#""compId""#, &format!(r#"{label}"compId""#), 1);
        let mut phases = vec![first];
        phases.extend(vec![phase.clone(); 10]);
        let c = "c".repeat(color);
        phases.push(format!(r#"{{"id":"{a}","name":"{b}","color":"{c}"}}"#));
        format!(r#"{{"phases":[{}]}}"#, phases.join(","))
    };
    let full_message = format!(
        "the cycle takes more than the {CAP} bytes of storage this controller keeps for it"
    );
    let board = Board::washer();
    let mut storage = [0u8; CAP];
    let mut c = Cycle::new(&mut storage);
    assert_eq!(c.capacity(), CAP);
    // Fits exactly, and checking it without storing says the same.
    let fits = doc(28, "");
    c.parse(fits.as_bytes(), &board).unwrap();
    assert_eq!((c.phases().len(), c.storage_used()), (12, CAP));
    assert_eq!(c.text(c.phases()[11].color), "c".repeat(28));
    let checked = Cycle::validate(fits.as_bytes(), &board, CAP, &mut Report::default());
    assert_eq!(checked, Ok(CAP));
    // One byte more, in the last string or anywhere before it.
    for over in [doc(29, ""), doc(28, r#""label":"x","#)] {
        let err = c.parse(over.as_bytes(), &board).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Capacity, "{err}");
        assert_eq!(err.path.as_str(), "phases[11].color", "{err}");
        assert_eq!(err.message.as_str(), full_message);
        assert!(
            c.phases().is_empty() && c.storage_used() == 0,
            "refused whole"
        );
        let checked = Cycle::validate(over.as_bytes(), &board, CAP, &mut Report::default());
        assert_eq!(
            checked,
            Err(err),
            "validate refuses the same at the same path"
        );
        // A storage one byte larger takes it.
        let larger = Cycle::validate(over.as_bytes(), &board, CAP + 1, &mut Report::default());
        assert_eq!(larger, Ok(CAP + 1));
    }

    // Pattern steps: 222 steps (1998 bytes) and the component's record (44) fit; with 223 the
    // record no longer does; with 228 the steps alone do not.
    let motor = |steps: usize| {
        let pattern = vec![r#"{"stepTime":1,"pauseTime":1}"#; steps].join(",");
        format!(
            r#"{{"phases":[{{"components":[{{"compId":"Motor","motorConfig":{{"pattern":[{pattern}]}}}}]}}]}}"#
        )
    };
    c.parse(motor(222).as_bytes(), &board).unwrap();
    assert_eq!(c.storage_used(), 222 * 9 + 44);
    let checked = Cycle::validate(motor(222).as_bytes(), &board, CAP, &mut Report::default());
    assert_eq!(checked, Ok(222 * 9 + 44));
    for (steps, path) in [
        (223, "phases[0].components[0]"),
        (228, "phases[0].components[0].motorConfig.pattern[227]"),
    ] {
        let err = c.parse(motor(steps).as_bytes(), &board).unwrap_err();
        assert_eq!(
            (err.kind, err.path.as_str(), err.message.as_str()),
            (ErrorKind::Capacity, path, full_message.as_str()),
            "{steps} steps"
        );
        let checked = Cycle::validate(motor(steps).as_bytes(), &board, CAP, &mut Report::default());
        assert_eq!(checked, Err(err), "{steps} steps");
    }

    // A larger buffer is used up to MAX_STORAGE; the old limits (4096 steps, 8192 bytes of
    // text) are gone: 5000 steps fit in it.
    let mut big = vec![0u8; MAX_STORAGE + 100];
    let mut c = Cycle::new(&mut big);
    assert_eq!(c.capacity(), MAX_STORAGE);
    c.parse(motor(5000).as_bytes(), &board).unwrap();
    assert_eq!(c.storage_used(), 5000 * 9 + 44);
}

/// The `.json` files of `examples/{dir}`, by name, with their bytes.
#[test]
fn checking_an_example_takes_what_reading_it_stores_and_finds_the_same() {
    let board = Board::washer();
    let mut c = Cycle::new(tumble_rig::storage());
    let mut seen = 0;
    for dir in ["cycles", "templates"] {
        for (name, doc) in tumble_rig::example_files(dir) {
            let mut checked = Report::default();
            let used = Cycle::validate(&doc, &board, MAX_STORAGE, &mut checked)
                .unwrap_or_else(|e| panic!("{dir}/{name}: {e}"));
            let mut read = Report::default();
            c.read(&doc, &board, &mut read).unwrap();
            assert_eq!(used, c.storage_used(), "{dir}/{name}");
            assert!(used > 0, "{dir}/{name}");
            assert_eq!(checked.count(), read.count(), "{dir}/{name}");
            assert_eq!(checked, read, "{dir}/{name}: the same warnings, in order");
            seen += 1;
        }
    }
    assert!(seen >= 8, "{seen}");
    // A broken example is refused the same way by both.
    for (name, doc) in tumble_rig::example_files("cycles/broken") {
        let checked = Cycle::validate(&doc, &board, MAX_STORAGE, &mut Report::default());
        let read = c.read(&doc, &board, &mut Report::default());
        assert_eq!(checked.err(), read.err(), "broken/{name}");
    }
}

#[test]
fn direction_may_not_change_while_the_motor_is_on() {
    let err = refuse(
        r#"{"phases":[{"components":[
            {"compId":"Motor","start":1000,"duration":3000},
            {"compId":"Motor Direction","start":2000,"duration":5000}]}]}"#,
    );
    assert_eq!(
        err.to_string(),
        "phases[0].components[1]: changes Motor Direction at 2000 ms while Motor is ON (interlock)"
    );
    // Set the direction first, run the motor, then release the direction: fine.
    accept(
        r#"{"phases":[{"components":[
            {"compId":"Motor Direction","start":0,"duration":5000},
            {"compId":"Motor","start":1000,"duration":3000}]}]}"#,
    );
    // Two motor patterns one after the other are fine too, the dead time apart when the second
    // turns the other way.
    let two = |start: u32| {
        format!(
            r#"{{"phases":[{{"components":[
            {{"compId":"Motor","motorConfig":{{"pattern":[{{"stepTime":1000,"pauseTime":500,"direction":"ccw"}}]}}}},
            {{"compId":"Motor","start":{start},"motorConfig":{{"pattern":[{{"stepTime":100,"direction":"cw"}}]}}}}]}}]}}"#
        )
    };
    accept(&two(1100));
    assert_eq!(
        refuse(&two(1000)).to_string(),
        "phases[0].components[1].motorConfig.pattern[0]: reverses the motor at 1000 ms, 0 ms after Motor went OFF; this board requires a reverse dead time of 100 ms"
    );
}

#[test]
fn a_reversal_pauses_for_at_least_the_boards_dead_time() {
    let toggle = |pause: u32| {
        format!(
            r#"{{"phases":[{{"components":[{{"compId":"Motor","start":200,"motorConfig":{{"repeatTimes":3,"pattern":[
                {{"stepTime":300,"pauseTime":{pause},"direction":"cw"}},
                {{"stepTime":300,"pauseTime":{pause},"direction":"ccw"}}]}}}}]}}]}}"#
        )
    };
    let direction_changes = |c: &Cycle| -> Vec<u64> {
        Timeline::new(c, &c.phases()[0])
            .filter(|e| e.output == c.motor_outputs().1)
            .map(|e| e.at.as_millis())
            .collect()
    };
    // A 150 ms pause on a 200 ms board is played as 200 ms, with a warning that says so.
    let (c, r) = parse_on(&toggle(150), &tumble_rig::board_with_dead_time(200));
    let r = r.unwrap();
    assert_eq!(
        warnings(&r)[0],
        "phases[0].components[0].motorConfig.pattern[0].pauseTime: 150 ms before the motor reverses from cw to ccw: played as 200 ms, this board's reverse dead time"
    );
    assert_eq!(direction_changes(&c), [200, 700, 1200, 1700, 2200, 2700]);
    assert_eq!(c.phases()[0].duration_ms(), 2700 + 300);
    // Longer pauses are played as written; without a dead time, a 0 ms pause too.
    let (c, _) = parse_on(&toggle(250), &tumble_rig::board_with_dead_time(200));
    assert_eq!(direction_changes(&c), [200, 750, 1300, 1850, 2400, 2950]);
    let (c, _) = parse_on(&toggle(0), &tumble_rig::board_with_dead_time(0));
    assert_eq!(direction_changes(&c), [200, 500, 800, 1100, 1400, 1700]);
    // A phase may begin with its motor at once: the runner keeps the dead time across phases.
    parse_on(
        &toggle(0).replace("\"start\":200", "\"start\":0"),
        &tumble_rig::board_with_dead_time(200),
    )
    .1
    .unwrap();
}

#[test]
fn the_loaded_form_expands_like_the_document() {
    let (c, _) = accept(
        r#"{"phases":[{"startTime":100,"components":[{"compId":"Drain Pump","start":10,"duration":5}]}]}"#,
    );
    let events: Vec<_> = Timeline::new(&c, &c.phases()[0])
        .map(|e| (e.at, e.on))
        .collect();
    assert_eq!(
        events,
        [
            (Duration::from_micros(110_000), true),
            (Duration::from_micros(115_000), false)
        ]
    );
    assert_eq!(c.phases()[0].duration_ms(), 115);
}

#[test]
fn motor_times_that_overflow_are_refused_not_wrapped() {
    // Found in review: 2 passes of 2^31 + 2^32 - 1 ms overflow u64 only in the last addition.
    let err = refuse(
        r#"{"phases":[{"components":[{"motorConfig":{"repeatTimes":2863311532,"pattern":[{"stepTime":2147483648,"pauseTime":4294967295}]}}]}]}"#,
    );
    assert_eq!(
        err.path.as_str(),
        "phases[0].components[0].motorConfig.repeatTimes"
    );
}

#[test]
fn a_huge_reversing_pattern_is_checked_and_timed_without_a_walk() {
    // 42 million events on a dead-time board, reversals shorter than the dead time: the pauses
    // are lengthened in the arithmetic, not by walking the passes.
    let doc = r#"{"phases":[{"startTime":500,"components":[{"motorConfig":{"repeatTimes":7000000,"pattern":[
        {"stepTime":1,"pauseTime":200,"direction":"cw"},{"stepTime":1,"pauseTime":200,"direction":"ccw"}]}}]}]}"#;
    let (c, r) = parse_on(doc, &tumble_rig::board_with_dead_time(250));
    r.unwrap();
    assert_eq!(c.phases()[0].events(), 3 * 2 * 7_000_000);
    // Each pass is 1 + 250 + 1 + 250 ms; the last pause is not waited out.
    assert_eq!(
        c.phases()[0].duration_ms() as u64,
        500 + 7_000_000 * 502 - 250
    );
    // The last direction change, found by seeking, not by walking.
    let last_pass = 500 + 6_999_999 * 502;
    let tail: Vec<_> = Timeline::starting_at(&c, &c.phases()[0], Duration::from_millis(last_pass))
        .map(|e| e.at.as_millis())
        .collect();
    assert_eq!(
        tail,
        [
            last_pass,
            last_pass,
            last_pass + 1,
            last_pass + 251,
            last_pass + 251,
            last_pass + 252
        ]
    );
}

#[test]
fn the_chips_storage_takes_any_frame_but_thousands_of_empty_steps() {
    use tumble_core::limits::CHIP_CYCLE_STORAGE;
    let board = Board::washer();
    let steps = |n: usize| {
        let pattern = vec!["{}"; n].join(",");
        format!(
            r#"{{"phases":[{{"components":[{{"compId":"Motor","motorConfig":{{"pattern":[{pattern}]}}}}]}}]}}"#
        )
    };
    // 1,815 steps and the component's record fill all but 5 of the chip's 16,384 bytes.
    let fits = steps(1815);
    let used = Cycle::validate(
        fits.as_bytes(),
        &board,
        CHIP_CYCLE_STORAGE,
        &mut WarningCount::default(),
    );
    assert_eq!(used, Ok(1815 * 9 + 44));
    // A frame of at most 6 KiB can still carry more than that: refused where it runs out.
    let over = steps(2000);
    assert!(over.len() < 6 * 1024);
    let err = Cycle::validate(
        over.as_bytes(),
        &board,
        CHIP_CYCLE_STORAGE,
        &mut WarningCount::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Capacity);
    assert_eq!(
        err.path.as_str(),
        "phases[0].components[0].motorConfig.pattern[1820]"
    );
    assert_eq!(
        err.message.as_str(),
        "the cycle takes more than the 16384 bytes of storage this controller keeps for it"
    );
}
