//! The `tumble` binary, run for real on the shipped examples.

use std::path::PathBuf;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

fn example(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/cycles")
        .join(name);
    p.to_string_lossy().into_owned()
}

fn tumble(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("tumble")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `tumble run --instant --quiet ARGS...`
fn run_instant(args: &[&str]) -> (i32, String, String) {
    let all: Vec<&str> = ["run", "--instant", "--quiet"]
        .iter()
        .chain(args)
        .copied()
        .collect();
    tumble(&all)
}

fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    dir.join(name)
}

#[test]
fn check_summarises_or_refuses_with_the_path() {
    let (code, out, _) = tumble(&["check", &example("original-example.json")]);
    assert_eq!(code, 0);
    assert!(out.contains("ok, 2 phases, 184 events, 53.500 s"), "{out}");
    assert!(
        out.contains("phase 0 'Wash' (id phase-1): 2 components, 182 events, 47.500 s"),
        "{out}"
    );

    let (code, _, err) = tumble(&["check", &example("broken/negative-duration.json")]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "phases[2].components[0].duration: expected a whole number of milliseconds >= 0, got -5"
        ),
        "{err}"
    );

    let (code, out, _) = tumble(&["check", "--json", &example("sensor-fill.json")]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["events"], 36);
    assert_eq!(v["duration_ms"], 158_000);
    assert_eq!(
        v["phases"][1],
        serde_json::json!({"index":1,"id":"wash","events":32,"duration_ms":8000})
    );

    let (code, out, _) = tumble(&["check", "--json", &example("broken/not-json.json")]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["path"], "");
    assert_eq!(
        v["error"]["message"],
        "invalid JSON at line 1, column 22 (byte 21): unexpected end of input"
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(tumble(&["check"]).0, 2);
    assert_eq!(tumble(&["check", "/nonexistent.json"]).0, 2);
    assert_eq!(tumble(&["frobnicate"]).0, 2);
    assert_eq!(
        tumble(&[
            "timeline",
            "--format",
            "xml",
            &example("original-example.json")
        ])
        .0,
        2
    );
    assert_eq!(
        tumble(&["run", "--speed", "0", &example("original-example.json")]).0,
        2
    );
    let (code, _, err) = tumble(&[
        "timeline",
        "--phase",
        "2",
        &example("original-example.json"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--phase 2: the cycle has 2 phases"), "{err}");
}

#[test]
fn timeline_lists_every_event_in_order() {
    let (code, out, _) = tumble(&[
        "timeline",
        "--format",
        "jsonl",
        "--phase",
        "1",
        &example("wash-1600.json"),
    ]);
    assert_eq!(code, 0);
    let events = jsonl(&out);
    assert_eq!(events.len(), 1600);
    assert_eq!(
        events[0],
        serde_json::json!({"phase":1,"at_us":0,"pin":10,"output":"Motor Direction","level":0})
    );
    let times: Vec<u64> = events
        .iter()
        .map(|e| e["at_us"].as_u64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    let (_, text, _) = tumble(&[
        "timeline",
        "--phase",
        "1",
        &example("original-example.json"),
    ]);
    assert_eq!(
        text,
        "phase 1 'Fill': 2 events\n             0 ms  Cold Valve       pin  5 level 0 ON\n          6000 ms  Cold Valve       pin  5 level 1 OFF\n"
    );
}

/// The record's output changes are the timeline's, instant by instant: each phase's events from
/// its recorded start, every output OFF at its end (the safe state), and at each instant only
/// the net change of each pin (an output switched OFF and ON at one instant is not written).
fn assert_record_follows_timeline(cycle: &str) {
    use std::collections::BTreeMap;
    let rec = tmp(&format!("{cycle}.jsonl"));
    let (code, out, _) = run_instant(&["--record", rec.to_str().unwrap(), &example(cycle)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("outputs all OFF"), "{out}");
    let record = jsonl(&std::fs::read_to_string(&rec).unwrap());
    let (_, tl, _) = tumble(&["timeline", "--format", "jsonl", &example(cycle)]);
    let timeline = jsonl(&tl);
    let pins = [7u64, 8, 5, 19, 9, 18, 4, 10];

    // What each instant wants, in timeline order (later wins), then the net change.
    let mut wanted: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
    let mut got = Vec::new();
    for line in &record {
        match line["kind"].as_str().unwrap() {
            "phase_start" => {
                let start = line["t_us"].as_u64().unwrap();
                let p = line["phase"].as_u64().unwrap();
                for ev in timeline.iter().filter(|e| e["phase"] == p) {
                    let (pin, level) = (ev["pin"].as_u64().unwrap(), ev["level"].as_u64().unwrap());
                    let at = start + ev["at_us"].as_u64().unwrap();
                    wanted.entry(at).or_default().push((pin, level));
                }
                let end = start + line["duration_ms"].as_u64().unwrap() * 1000;
                // The safe state comes after the phase's own events of its last instant and
                // before the next phase's first (which the record lists after this one).
                let at_end = wanted.entry(end).or_default();
                at_end.extend(pins.iter().map(|&p| (p, 1)));
            }
            "output" => got.push((
                line["t_us"].as_u64().unwrap(),
                line["pin"].as_u64().unwrap(),
                line["level"].as_u64().unwrap(),
            )),
            _ => {}
        }
    }
    let mut levels: BTreeMap<u64, u64> = pins.iter().map(|&p| (p, 1)).collect();
    let mut expected = Vec::new();
    for (at, changes) in wanted {
        let mut end = levels.clone();
        for (pin, level) in changes {
            end.insert(pin, level);
        }
        for (&pin, &level) in &end {
            if levels[&pin] != level {
                expected.push((at, pin, level));
            }
        }
        levels = end;
    }
    // Boot and the start write every output OFF at 0: only changes count.
    got.retain(|&(t, _, level)| !(t == 0 && level == 1));
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "{cycle}");
    let last = record.last().unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["completed"].as_bool()),
        (Some("cycle_end"), Some(true))
    );
}

#[test]
fn run_instant_records_the_timeline() {
    for cycle in [
        "original-example.json",
        "rapid-pattern.json",
        "full-featured.json",
    ] {
        assert_record_follows_timeline(cycle);
    }
}

#[test]
fn a_sensor_triggered_fill_ends_at_the_profile_level() {
    let rec = tmp("sensor-fill.jsonl");
    let (code, _, _) = run_instant(&[
        "--record",
        rec.to_str().unwrap(),
        &example("sensor-fill.json"),
    ]);
    assert_eq!(code, 0);
    let record = jsonl(&std::fs::read_to_string(&rec).unwrap());
    let end = record
        .iter()
        .position(|l| l["kind"] == "phase_end" && l["phase"] == 0)
        .unwrap();
    assert_eq!(record[end]["end"], "triggered");
    let sample = record[..end]
        .iter()
        .rev()
        .find(|l| l["kind"] == "sensors")
        .unwrap();
    // The default profile: 15 L/min cold fill, 26,000 Hz at 20 L (70,000 raw per litre).
    let litres = sample["level_litres"].as_f64().unwrap();
    assert!((19.9..20.1).contains(&litres), "{sample}");
    assert!(sample["pressure_hz"].as_f64().unwrap() < 26_000.0);
    let t = record[end]["t_us"].as_u64().unwrap();
    assert!(
        (79_500_000..80_500_000).contains(&t),
        "20 L at 15 L/min is 80 s, got {t}"
    );
}

#[test]
fn a_wait_fill_with_too_little_flow_faults_on_its_timeout() {
    let (_, profile, _) = tumble(&["board"]);
    let slow = tmp("slow-board.toml");
    std::fs::write(
        &slow,
        profile.replacen("inflow_lpm = 15.0", "inflow_lpm = 1.0", 1),
    )
    .unwrap();
    let rec = tmp("fill-wait.jsonl");
    let (code, out, _) = run_instant(&[
        "--board",
        slow.to_str().unwrap(),
        "--record",
        rec.to_str().unwrap(),
        &example("fill-wait.json"),
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("result: fault after 210.000 s"), "{out}");
    assert!(out.contains("outputs all OFF"), "{out}");
    let record = jsonl(&std::fs::read_to_string(&rec).unwrap());
    let fault = record.iter().find(|l| l["kind"] == "fault").unwrap();
    assert_eq!(
        fault,
        &serde_json::json!({"t_us":210_000_000u64,"kind":"fault","fault":"wait_timeout","phase":0})
    );
    // With the default flow the same cycle fills in time.
    let (code, _, _) = run_instant(&[&example("fill-wait.json")]);
    assert_eq!(code, 0);
}

#[test]
fn run_instant_plays_a_million_events() {
    let (code, out, _) = run_instant(&[&example("million.json")]);
    assert_eq!(code, 0);
    assert!(
        out.contains("1000004 events fired, 0 late, outputs all OFF"),
        "{out}"
    );
}

#[test]
fn the_default_board_profile_round_trips() {
    let (code, profile, _) = tumble(&["board"]);
    assert_eq!(code, 0);
    let file = tmp("board.toml");
    std::fs::write(&file, &profile).unwrap();
    let (code, _, _) = run_instant(&[
        "--board",
        file.to_str().unwrap(),
        &example("original-example.json"),
    ]);
    assert_eq!(code, 0);
    std::fs::write(&file, profile.replace("pin = 8", "pin = 7")).unwrap();
    let (code, _, err) = tumble(&[
        "run",
        "--instant",
        "--board",
        file.to_str().unwrap(),
        &example("original-example.json"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("two outputs use pin 7"), "{err}");
}

#[test]
fn ctrl_c_stops_the_cycle_with_every_output_off() {
    let mut child = Command::cargo_bin("tumble")
        .unwrap()
        .args(["run", &example("wash-1600.json")])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first phase to start, then interrupt.
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let started = line.contains("Phase 'Fill'");
        seen.push(line);
        if started {
            break;
        }
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    seen.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen:?}");
    let text = seen.join("\n");
    assert!(text.contains("Phase 'Fill' (1/3) stopped"), "{text}");
    assert!(text.contains("Cycle stopped, all outputs OFF"), "{text}");
    assert!(text.contains("result: interrupted"), "{text}");
    assert!(text.contains("outputs all OFF"), "{text}");
}

#[test]
fn charts_of_a_plan_and_of_a_run() {
    let plan = tmp("plan.svg");
    let (code, _, err) = tumble(&[
        "timeline",
        &example("original-example.json"),
        "--svg",
        plan.to_str().unwrap(),
        "--from",
        "750ms",
        "--to",
        "1.7s",
    ]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(&plan).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains("original-example.json: plan"));
    assert!(
        svg.contains("Motor ON: 0:00.800 to 0:01.100 (300.000 ms)"),
        "one motor pulse, exactly"
    );

    let rec = tmp("chart-run.jsonl");
    run_instant(&[
        "--record",
        rec.to_str().unwrap(),
        &example("sensor-fill.json"),
    ]);
    let out = tmp("run.svg");
    let (code, _, err) = tumble(&["plot", rec.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(&out).unwrap();
    for part in [
        "1 Fill",
        "2 Wash",
        "3 Drain",
        "water level (L)",
        "RPM sensor",
        "<polyline",
        "Cold Valve (5)",
    ] {
        assert!(svg.contains(part), "{part} missing");
    }
    let (code, _, err) = tumble(&[
        "plot",
        rec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--from",
        "5s",
        "--to",
        "2s",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--to must come after --from"), "{err}");
}

#[test]
fn every_command_has_help_and_the_binary_a_version() {
    let (code, out, _) = tumble(&["--version"]);
    assert_eq!(
        (code, out.trim()),
        (0, concat!("tumble ", env!("CARGO_PKG_VERSION")))
    );
    for cmd in [
        "check",
        "timeline",
        "run",
        "plot",
        "serve",
        "board",
        "completions",
    ] {
        let (code, out, err) = tumble(&[cmd, "--help"]);
        assert_eq!(code, 0, "{cmd}: {err}");
        assert!(
            out.contains(&format!("Usage: tumble {cmd}")),
            "{cmd}: {out}"
        );
    }
    // Every option of serve says what it is for.
    let (_, out, _) = tumble(&["serve", "--help"]);
    for opt in [
        "--state-dir",
        "--telemetry-ms",
        "--allow-origin",
        "--max-clients",
        "--token",
    ] {
        let line = out.lines().find(|l| l.contains(opt)).unwrap_or("");
        assert!(
            line.len() > opt.len() + 20,
            "{opt} is undocumented: {line:?}"
        );
    }
    let (code, out, _) = tumble(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("_tumble()") && out.contains("timeline"),
        "{out}"
    );
}

#[test]
fn usage_errors_are_claps_with_the_commands_usage() {
    for (args, says) in [
        (
            vec!["run", "--instant", "--speed", "5", "x.json"],
            "cannot be used with",
        ),
        (
            vec!["check", "--frobnicate", "x.json"],
            "unexpected argument '--frobnicate'",
        ),
        (
            vec!["timeline", "--from", "5s", "x.json"],
            "--from and --to need --svg",
        ),
        (vec!["run", "--speed", "-1", "x.json"], "must be > 0"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ] {
        let (code, _, err) = tumble(&args);
        assert_eq!(code, 2, "{args:?}");
        assert!(
            err.starts_with("error: ") && err.contains(says),
            "{args:?}: {err}"
        );
        assert!(err.contains("try '--help'"), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_stdout_ends_quietly_with_success() {
    use std::io::Read;
    use std::process::Stdio;
    for args in [
        vec!["timeline", "--format", "jsonl"],
        vec!["run", "--instant"],
    ] {
        let mut child = Command::cargo_bin("tumble")
            .unwrap()
            .args(&args)
            .arg(example("million.json"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Like `| head -c 100`: read a little, then close the pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 100];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert!(
            !err.contains("Broken pipe") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_misspelt_key_is_refused_and_strict_refuses_warnings() {
    let dir = tmp("typos");
    std::fs::create_dir_all(&dir).unwrap();
    let typo = dir.join("typo.json");
    std::fs::write(
        &typo,
        r#"{"phases":[{"components":[{"compId":"Cold Valve","durtion":5000}]}]}"#,
    )
    .unwrap();
    let (code, _, err) = tumble(&["check", typo.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            r#"phases[0].components[0].durtion: unknown key "durtion": did you mean "duration"?"#
        ),
        "{err}"
    );
    let warned = dir.join("warned.json");
    std::fs::write(
        &warned,
        r#"{"phases":[{"components":[{"compId":"Cold Valve","duration":5000,"ui_note":"x"}]}]}"#,
    )
    .unwrap();
    let (code, out, _) = tumble(&["check", warned.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("1 warning:"), "{out}");
    let (code, _, err) = tumble(&["check", "--strict", warned.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("refused (--strict: every warning is an error)"),
        "{err}"
    );
    let (code, out, _) = tumble(&["check", "--strict", "--json", warned.to_str().unwrap()]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["strict"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(v["warnings"][0]["path"], "phases[0].components[0].ui_note");
}

#[test]
fn a_file_that_is_not_json_gets_its_line_and_column_and_a_hint() {
    let dir = tmp("notjson");
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = dir.join("cycle.yaml");
    std::fs::write(&yaml, "phases:\n  - id: fill\n").unwrap();
    let (code, _, err) = tumble(&["check", yaml.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("invalid JSON at line 1, column 1 (byte 0)")
            && err.contains("this looks like YAML"),
        "{err}"
    );
}

#[test]
fn charts_say_what_they_wrote() {
    let out = tmp("plan-said.svg");
    let (code, _, err) = tumble(&[
        "timeline",
        &example("original-example.json"),
        "--svg",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.starts_with(&format!("wrote {}", out.display())),
        "{err}"
    );
}

#[test]
fn every_template_passes_a_strict_check_and_plays_to_the_end() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/templates");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.to_str().unwrap();
        let (code, out, err) = tumble(&["check", "--strict", file]);
        assert_eq!(code, 0, "{file}: {out}{err}");
        // On the simulated washer, fills end on their pressure trigger: no fault.
        let (code, out, err) = run_instant(&[file]);
        assert_eq!(code, 0, "{file}: {out}{err}");
        assert!(
            out.contains("result: completed") && out.contains("outputs all OFF"),
            "{out}"
        );
        n += 1;
    }
    assert_eq!(n, 5, "the templates web/files.rs lists");
}
