//! Both protocol versions, frame by frame: exact v1 replies, v2 replies and error codes.

use serde_json::{Value, json};
use tumble_core::board::Board;
use tumble_core::controller::{Arrival, Controller};
use tumble_core::cycle::{Cycle, MAX_STORAGE};
use tumble_core::protocol::{self, Handled, MAX_FRAME, Version};
use tumble_core::runner::Status;
use tumble_core::telemetry;
use tumble_rig::{Pins, t};

const CYCLE: &str = r#"{"phases":[
    {"id":"fill","components":[{"compId":"Cold Valve","duration":5000}]},
    {"id":"wash","components":[{"compId":"Retractor","duration":1000},
        {"compId":"Motor","motorConfig":{"repeatTimes":2,"pattern":[{"stepTime":100,"pauseTime":50},{"stepTime":100,"pauseTime":50,"direction":"ccw"}]}}]},
    {"id":"drain","components":[{"compId":"Drain Pump","duration":3000}]}]}"#;

struct Device {
    ctl: Box<Controller<'static>>,
    arrivals: u64,
    pins: Pins,
    now_us: u64,
}

impl Device {
    fn new() -> Self {
        let mut pins = Pins::new();
        let config = tumble_rig::config(100, None);
        Device {
            ctl: tumble_rig::controller(Board::washer(), config, MAX_STORAGE, &mut pins),
            arrivals: 0,
            pins,
            now_us: 0,
        }
    }

    fn send_at(&mut self, ms: u64, frame: &str) -> (String, Option<String>, Version) {
        self.now_us = ms * 1000;
        let mut reply = String::new();
        self.arrivals += 1;
        let h: Handled<'_> = self
            .ctl
            .handle_frame(
                frame.as_bytes(),
                Arrival(self.arrivals),
                t(self.now_us),
                &mut self.pins,
                &mut reply,
            )
            .unwrap();
        let stored = h.store.map(|b| String::from_utf8(b.to_vec()).unwrap());
        (reply, stored, h.version)
    }

    fn send(&mut self, frame: &str) -> String {
        let now = self.now_us / 1000;
        self.send_at(now, frame).0
    }

    fn v2(&mut self, frame: Value) -> Value {
        let reply = self.send(&frame.to_string());
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("{reply}: {e}"))
    }
}

#[test]
fn v1_replies_are_the_originals() {
    let mut d = Device::new();
    let load = format!(r#"{{"action":"write_json","data":{CYCLE}}}"#);
    let cases: Vec<(String, &str)> = vec![
        ("connect".into(), "ok: connected"),
        (r#"{"action":"ping"}"#.into(), "ok: pong"),
        ("not json".into(), "error: invalid json"),
        (r#"{"act":"x"}"#.into(), "error: missing action"),
        (r#"[1,2]"#.into(), "error: missing action"),
        (r#"{"action":5}"#.into(), "error: missing action"),
        (r#"{"action":"dance"}"#.into(), "error: unknown action"),
        (
            r#"{"action":"start_cycle"}"#.into(),
            "error: no cycle loaded",
        ),
        (
            r#"{"action":"stop_cycle"}"#.into(),
            "error: cycle not running",
        ),
        (
            r#"{"action":"skip_phase"}"#.into(),
            "error: cycle not running",
        ),
        (
            r#"{"action":"skip_to_phase","index":1}"#.into(),
            "error: cycle not running",
        ),
        (
            r#"{"action":"write_json"}"#.into(),
            "error: missing data for write_json",
        ),
        (
            r#"{"action":"write_json","data":[]}"#.into(),
            "error: data field must be an object",
        ),
        (
            r#"{"action":"write_json","data":{"phases":{}}}"#.into(),
            "error: phases: expected an array, got an object",
        ),
        (load.clone(), "ok: cycle loaded"),
        (
            r#"{"action":"toggle_gpio","pin":7,"state":0}"#.into(),
            "ok: GPIO 7 set to 0",
        ),
        (
            r#"{"action":"toggle_gpio","pin":7,"state":1}"#.into(),
            "ok: GPIO 7 set to 1",
        ),
        (
            r#"{"action":"toggle_gpio","pin":3,"state":1}"#.into(),
            "error: pin 3 is not an output (outputs: 7, 8, 5, 19, 9, 18, 4, 10)",
        ),
        (
            r#"{"action":"toggle_gpio","state":1}"#.into(),
            "error: missing or invalid pin number",
        ),
        (
            r#"{"action":"toggle_gpio","pin":7,"state":2}"#.into(),
            "error: missing or invalid state (0 or 1)",
        ),
        (
            r#"{"action":"toggle_gpio","pin":7}"#.into(),
            "error: missing or invalid state (0 or 1)",
        ),
        (r#"{"action":"start_cycle"}"#.into(), "ok: starting cycle"),
        (
            r#"{"action":"start_cycle"}"#.into(),
            "error: cycle already running",
        ),
        (
            r#"{"action":"toggle_gpio","pin":7,"state":0}"#.into(),
            "error: cycle running",
        ),
        (
            r#"{"action":"skip_to_phase"}"#.into(),
            "error: missing or invalid index for skip_to_phase",
        ),
        (
            r#"{"action":"skip_to_phase","index":-1}"#.into(),
            "error: missing or invalid index for skip_to_phase",
        ),
        (
            r#"{"action":"skip_to_phase","index":7}"#.into(),
            "error: phase index 7 out of range (3 phases)",
        ),
        (
            r#"{"action":"skip_to_phase","index":2}"#.into(),
            "ok: skipping to phase",
        ),
        (r#"{"action":"skip_phase"}"#.into(), "ok: phase skipped"),
        (r#"{"action":"start_cycle"}"#.into(), "ok: starting cycle"),
        (r#"{"action":"pause_cycle"}"#.into(), "ok: cycle paused"),
        (
            r#"{"action":"pause_cycle"}"#.into(),
            "error: cycle already paused",
        ),
        (r#"{"action":"resume_cycle"}"#.into(), "ok: cycle resumed"),
        (r#"{"ACTION":"stop_cycle"}"#.into(), "ok: cycle stopped"),
    ];
    for (frame, want) in cases {
        let (reply, _, version) = d.send_at(1, &frame);
        assert_eq!(reply, want, "{frame}");
        assert_eq!(version, Version::V1);
    }
}

#[test]
fn a_bad_document_changes_nothing_and_a_good_one_stops_the_run() {
    let mut d = Device::new();
    let (reply, stored, _) = d.send_at(0, &format!(r#"{{"data":{CYCLE},"action":"write_json"}}"#));
    assert_eq!(reply, "ok: cycle loaded");
    assert_eq!(
        stored.as_deref(),
        Some(CYCLE),
        "the document to store, byte for byte"
    );
    d.send_at(0, r#"{"action":"start_cycle"}"#);
    assert_eq!(d.pins.on(), [5]);
    let (reply, stored, _) = d.send_at(
        100,
        r#"{"action":"write_json","data":{"phases":[{"components":[{"compId":"Pump","duration":5}]}]}}"#,
    );
    assert_eq!(
        reply,
        "error: phases[0].components[0].compId: unknown output \"Pump\" (known: Retractor, Detergent Valve, Cold Valve, Drain Pump, Hot Valve, Soft Valve, Motor, Motor Direction)"
    );
    assert_eq!(stored, None);
    assert_eq!(
        d.ctl.runner().status(),
        Status::Running,
        "the running cycle carries on"
    );
    assert_eq!(d.ctl.runner().cycle().phases().len(), 3);
    assert_eq!(d.pins.on(), [5]);

    let (reply, _, _) = d.send_at(
        200,
        r#"{"action":"write_json","data":{"phases":[{"id":"only"}]}}"#,
    );
    assert_eq!(reply, "ok: cycle loaded");
    assert_eq!(
        d.ctl.runner().status(),
        Status::Idle,
        "loading stops the run, and never starts"
    );
    assert!(d.pins.all_off());
    assert_eq!(d.ctl.runner().cycle().phases().len(), 1);
}

#[test]
fn toggle_gpio_never_breaks_the_motor_interlock() {
    let mut d = Device::new();
    let at = |d: &mut Device, ms: u64, frame: &str| d.send_at(ms, frame).0;
    // Direction first, then the motor once the dead time has passed.
    assert_eq!(
        at(
            &mut d,
            500,
            r#"{"action":"toggle_gpio","pin":10,"state":0}"#
        ),
        "ok: GPIO 10 set to 0"
    );
    assert_eq!(
        at(&mut d, 550, r#"{"action":"toggle_gpio","pin":4,"state":0}"#),
        "error: reverse dead time: wait 50 ms"
    );
    assert_eq!(
        at(
            &mut d,
            1000,
            r#"{"action":"toggle_gpio","pin":4,"state":0}"#
        ),
        "ok: GPIO 4 set to 0"
    );
    assert_eq!(
        at(
            &mut d,
            2000,
            r#"{"action":"toggle_gpio","pin":10,"state":1}"#
        ),
        "error: motor direction cannot change while the motor is on"
    );
    assert_eq!(
        at(
            &mut d,
            3000,
            r#"{"action":"toggle_gpio","pin":4,"state":1}"#
        ),
        "ok: GPIO 4 set to 1"
    );
    assert_eq!(
        at(
            &mut d,
            3040,
            r#"{"action":"toggle_gpio","pin":10,"state":1}"#
        ),
        "error: reverse dead time: wait 60 ms"
    );
    assert_eq!(
        at(
            &mut d,
            3100,
            r#"{"action":"toggle_gpio","pin":10,"state":1}"#
        ),
        "ok: GPIO 10 set to 1"
    );
}

#[test]
fn v2_replies_carry_the_id_and_a_result() {
    let mut d = Device::new();
    let cycle: Value = serde_json::from_str(CYCLE).unwrap();
    let r = d.v2(json!({"cmd":"validate_cycle","id":1,"cycle":cycle}));
    assert_eq!(r["ok"], true);
    assert_eq!(r["id"], 1);
    assert_eq!(r["result"]["events"], 2 + 2 + 12 + 2);
    assert_eq!(
        d.ctl.runner().cycle().phases().len(),
        0,
        "validate loads nothing"
    );

    let r = d.v2(json!({"cmd":"load_cycle","id":"a","cycle":cycle}));
    assert_eq!(
        (r["ok"].clone(), r["id"].clone()),
        (json!(true), json!("a"))
    );
    assert_eq!(
        r["result"]["phases"][1],
        json!({"index":1,"id":"wash","events":14,"duration_ms":1000})
    );

    let r = d.v2(json!({"cmd":"start","id":{"n":[1,2]}}));
    assert_eq!(r["id"], json!({"n":[1,2]}), "any id comes back as sent");
    assert_eq!(r["result"]["cycle"]["status"], "running");
    assert_eq!(r["result"]["cycle"]["current_phase_name"], "fill");

    let r = d.v2(json!({"cmd":"start","id":2}));
    assert_eq!(r["ok"], false);
    assert_eq!(
        r["error"],
        json!({"code":"running","message":"cycle running","path":""})
    );
    for (cmd, status) in [("pause", "paused"), ("resume", "running")] {
        let r = d.v2(json!({"cmd":cmd}));
        assert_eq!(r["result"]["cycle"]["status"], status);
        assert_eq!(r["id"], Value::Null);
    }
    let r = d.v2(json!({"cmd":"skip_to_phase","index":9}));
    assert_eq!(r["error"]["code"], "out_of_range");
    assert_eq!(
        r["error"]["message"],
        "phase index 9 out of range (3 phases)"
    );
    let r = d.v2(json!({"cmd":"skip_to_phase","index":1}));
    assert_eq!(r["result"]["cycle"]["current_phase_index"], 2);
    let r = d.v2(json!({"cmd":"set_output","output":"Cold Valve","on":true}));
    assert_eq!(r["error"]["code"], "running");
    let r = d.v2(json!({"cmd":"stop"}));
    assert_eq!(r["result"]["cycle"]["cycle_running"], false);
    let r = d.v2(json!({"cmd":"stop"}));
    assert_eq!(r["error"]["code"], "not_running");

    let r = d.v2(json!({"cmd":"set_output","output":" softener valve ","on":true}));
    assert_eq!(r["ok"], true, "{r}");
    let gpio = &r["result"]["gpio"];
    assert_eq!(
        gpio[5],
        json!({"pin":18,"state":0,"name":"Soft Valve","on":true})
    );
    let r = d.v2(json!({"cmd":"set_output","output":18,"on":false}));
    assert_eq!(r["result"]["gpio"][5]["state"], 1);
    let r = d.v2(json!({"cmd":"set_output","output":"Pump","on":false}));
    assert_eq!(r["error"]["code"], "unknown_output");
    assert_eq!(r["error"]["path"], "output");
    let r = d.v2(json!({"cmd":"set_output","output":"Motor","on":"yes"}));
    assert_eq!(
        r["error"],
        json!({"code":"invalid_request","message":"on must be true or false","path":"on"})
    );
}

#[test]
fn a_refused_cycle_says_what_kind_of_fault_and_where() {
    let mut d = Device::new();
    let motor =
        r#"{"compId":"Motor","motorConfig":{"repeatTimes":1,"pattern":[{"stepTime":1000}]}}"#;
    for (cycle, kind, phase, component) in [
        (
            r#"{"phases":[{},{"components":[{"compId":"Pump","duration":5}]}]}"#.to_string(),
            "unknown_output",
            Some(1),
            Some(0),
        ),
        (
            format!(
                r#"{{"phases":[{{"components":[{motor},{{"compId":"Motor Direction","start":500,"duration":10}}]}}]}}"#
            ),
            "interlock",
            Some(0),
            Some(1),
        ),
        (
            r#"{"phases":[{"components":[{"compId":"Cold Valve","duration":"x"}]}]}"#.to_string(),
            "invalid",
            Some(0),
            Some(0),
        ),
        (r#"{"phases":{}}"#.to_string(), "invalid", None, None),
    ] {
        let frame = format!(r#"{{"cmd":"validate_cycle","cycle":{cycle}}}"#);
        let r = d.v2(serde_json::from_str(&frame).unwrap());
        let e = &r["error"];
        assert_eq!(e["code"], "invalid_cycle", "{r}");
        assert_eq!(e["kind"], kind, "{r}");
        assert_eq!(e["phase"].as_u64(), phase.map(|p: u64| p), "{r}");
        assert_eq!(e["component"].as_u64(), component.map(|c: u64| c), "{r}");
    }
}

#[test]
fn v2_errors_have_codes_and_paths() {
    let mut d = Device::new();
    let r = d.v2(json!({"cmd":"load_cycle","id":7,"cycle":{"phases":[{"startTime":-5}]}}));
    assert_eq!(
        r,
        json!({"type":"reply","id":7,"ok":false,"error":{"code":"invalid_cycle",
            "message":"expected a whole number of milliseconds >= 0, got -5 (negative)","path":"phases[0].startTime",
            "kind":"range","phase":0}})
    );
    let r = d.v2(json!({"cmd":"load_cycle"}));
    assert_eq!(r["error"]["code"], "invalid_request");
    assert_eq!(r["error"]["path"], "cycle");
    let r = d.v2(json!({"cmd":"fly"}));
    assert_eq!(
        r["error"],
        json!({"code":"unknown_command","message":"unknown command \"fly\"","path":"cmd"})
    );
    let r = d.v2(json!({"cmd":42}));
    assert_eq!(r["error"]["code"], "invalid_request");
    let r = d.v2(json!({"cmd":"start"}));
    assert_eq!(r["error"]["code"], "no_cycle");
    let reply = d.send(r#"{"cmd":"start","id":3"#);
    let r: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(
        r["error"]["code"], "invalid_json",
        "a broken v2 frame still gets a v2 reply"
    );
}

#[test]
fn get_cycle_and_get_timeline() {
    let mut d = Device::new();
    let r = d.v2(json!({"cmd":"get_cycle"}));
    assert_eq!(r["result"], json!({"phases":[]}));
    let cycle: Value = serde_json::from_str(CYCLE).unwrap();
    d.v2(json!({"cmd":"load_cycle","cycle":cycle}));
    let r = d.v2(json!({"cmd":"get_cycle"}));
    let doc = &r["result"];
    assert_eq!(
        doc["phases"][1]["components"][1]["motorConfig"]["pattern"][1]["direction"],
        "ccw"
    );
    assert_eq!(doc["phases"][0]["components"][0]["compId"], "Cold Valve");

    let r = d.v2(json!({"cmd":"get_timeline","phase":1,"offset":2,"limit":3}));
    let page = &r["result"];
    assert_eq!(
        (page["total"].clone(), page["offset"].clone()),
        (json!(14), json!(2))
    );
    assert_eq!(
        page["events"],
        json!([
            {"at_us":0,"pin":4,"output":"Motor","level":0,"on":true},
            {"at_us":100000,"pin":4,"output":"Motor","level":1,"on":false},
            // pauseTime 50 before the reversal, played as the board's 100 ms dead time.
            {"at_us":200000,"pin":10,"output":"Motor Direction","level":1,"on":false}
        ])
    );
    let r = d.v2(json!({"cmd":"get_timeline","phase":1,"from_us":100000,"limit":2}));
    assert_eq!(
        r["result"]["events"],
        json!([
            {"at_us":100000,"pin":4,"output":"Motor","level":1,"on":false},
            {"at_us":200000,"pin":10,"output":"Motor Direction","level":1,"on":false}
        ]),
        "a page can start at a time"
    );
    let r = d.v2(json!({"cmd":"get_timeline","phase":1,"offset":100001}));
    assert_eq!(r["error"]["path"], "offset");
    let r = d.v2(json!({"cmd":"get_timeline","phase":1,"limit":501}));
    assert_eq!(r["error"]["path"], "limit");
    let r = d.v2(json!({"cmd":"get_timeline","phase":3}));
    assert_eq!(r["error"]["code"], "out_of_range");
    let r = d.v2(json!({"cmd":"get_timeline","phase":1}));
    assert_eq!(r["result"]["events"].as_array().unwrap().len(), 14);
}

#[test]
fn whole_numbers_out_of_range_are_told_so() {
    let mut d = Device::new();
    let cycle: Value = serde_json::from_str(CYCLE).unwrap();
    d.v2(json!({"cmd":"load_cycle","cycle":cycle}));
    // Frames as written: serde_json would turn 1e30 into a float first.
    let ask =
        |d: &mut Device, frame: &str| -> Value { serde_json::from_str(&d.send(frame)).unwrap() };
    let r = ask(&mut d, r#"{"cmd":"get_timeline","phase":4294967296}"#);
    assert_eq!(
        (r["error"]["code"].as_str(), r["error"]["message"].as_str()),
        (
            Some("out_of_range"),
            Some("phase index 4294967296 out of range (3 phases)")
        )
    );
    let r = ask(
        &mut d,
        r#"{"cmd":"get_timeline","phase":99999999999999999999999}"#,
    );
    assert_eq!(r["error"]["code"], "out_of_range");
    let r = ask(&mut d, r#"{"cmd":"get_timeline","phase":0,"from_us":1e30}"#);
    assert_eq!(
        r["error"]["message"],
        "from_us 1e30 is out of range: at most 18446744073709551615"
    );
    assert_eq!(r["error"]["path"], "from_us");
    let r = ask(&mut d, r#"{"cmd":"get_timeline","phase":0,"limit":501}"#);
    assert_eq!(
        r["error"]["message"],
        "limit 501 is out of range: at most 500"
    );
    let r = ask(&mut d, r#"{"cmd":"get_timeline","phase":1e0,"limit":1}"#);
    assert_eq!(r["result"]["phase"], 1, "1e0 is the whole number 1");
    let r = ask(&mut d, r#"{"cmd":"skip_to_phase","index":4294967296}"#);
    assert_eq!(r["error"]["code"], "out_of_range");
    // Not a whole number at all is another message.
    let r = ask(&mut d, r#"{"cmd":"get_timeline","phase":0,"from_us":-1}"#);
    assert_eq!(r["error"]["message"], "from_us must be a whole number >= 0");
    let r = ask(&mut d, r#"{"cmd":"get_timeline","phase":"0"}"#);
    assert_eq!(r["error"]["message"], "phase must be a whole number >= 0");
}

#[test]
fn timing_counters_start_again_with_each_run() {
    let mut d = Device::new();
    let cycle: Value = serde_json::from_str(CYCLE).unwrap();
    d.v2(json!({"cmd":"load_cycle","cycle":cycle}));
    d.v2(json!({"cmd":"start"}));
    // 2 s late: every event of the first phase that was due is late.
    d.now_us = 7_000_000;
    let r = d.v2(json!({"cmd":"stop"}));
    let first = &r["result"]["cycle"];
    assert!(first["events_fired"].as_u64().unwrap() > 0, "{first}");
    assert!(first["late_events"].as_u64().unwrap() > 0, "{first}");
    let r = d.v2(json!({"cmd":"start"}));
    let second = &r["result"]["cycle"];
    assert_eq!(
        (&second["late_events"], &second["worst_lateness_us"]),
        (&json!(0), &json!(0)),
        "{second}"
    );
    assert!(second["events_fired"].as_u64().unwrap() <= 1, "{second}");
}

#[test]
fn oversized_frames_are_refused_in_either_version() {
    let mut d = Device::new();
    let big = format!(
        r#"{{"action":"write_json","data":{{"x":"{}"}}}}"#,
        "a".repeat(MAX_FRAME)
    );
    assert_eq!(
        d.send(&big),
        format!(
            "error: frame of {} bytes is larger than the limit of 262144",
            big.len()
        )
    );
    let big = format!(
        r#"{{"cmd":"load_cycle","id":1,"cycle":{{"x":"{}"}}}}"#,
        "a".repeat(MAX_FRAME)
    );
    let r: Value = serde_json::from_str(&d.send(&big)).unwrap();
    assert_eq!(r["error"]["code"], "too_large");
}

#[test]
fn hello_and_telemetry_have_the_original_shape() {
    let mut d = Device::new();
    let mut hello = String::new();
    protocol::write_hello(&mut hello, d.ctl.runner().board(), "0.1.0", MAX_FRAME).unwrap();
    let h: Value = serde_json::from_str(&hello).unwrap();
    assert_eq!(h["type"], "hello");
    assert_eq!(h["protocols"], json!([1, 2]));
    assert_eq!(
        h["outputs"][0],
        json!({"role":null,"name":"Retractor","aliases":[],"pin":7,"active_low":true})
    );
    assert_eq!(h["outputs"][5]["aliases"], json!(["Softener Valve"]));
    assert_eq!(
        (
            h["outputs"][6]["role"].clone(),
            h["outputs"][7]["role"].clone()
        ),
        (json!("motor"), json!("direction"))
    );

    d.send_at(0, &format!(r#"{{"action":"write_json","data":{CYCLE}}}"#));
    d.send_at(1000, r#"{"action":"start_cycle"}"#);
    let mut frame = String::new();
    telemetry::write_frame(
        &mut frame,
        d.ctl.runner().board(),
        &d.ctl.runner().snapshot(t(3_500_000)),
    )
    .unwrap();
    let t: Value = serde_json::from_str(&frame).unwrap();
    assert_eq!(t["type"], "telemetry");
    assert_eq!(t["packet_timestamp_ms"], 3500);
    let pins: Vec<u64> = t["gpio"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["pin"].as_u64().unwrap())
        .collect();
    assert_eq!(pins, [7, 8, 5, 19, 9, 18, 4, 10]);
    assert_eq!(t["gpio"][2]["state"], 0, "Cold Valve ON is level 0");
    assert_eq!(
        t["sensors"],
        json!({"rpm":0.0,"pressure_freq":0.0,"sensor_error":true,"level_litres":null})
    );
    let c = &t["cycle"];
    assert_eq!(c["cycle_running"], true);
    assert_eq!(c["current_phase_index"], 1);
    assert_eq!(c["current_phase_name"], "fill");
    assert_eq!(c["total_phases"], 3);
    assert_eq!(c["phase_elapsed_ms"], 2500);
    assert_eq!(c["phase_total_duration_ms"], 5000);
    assert_eq!(c["cycle_elapsed_ms"], 2500);
    assert_eq!(c["cycle_total_duration_ms"], 5000 + 1000 + 3000);
    assert_eq!(
        (c["paused"].clone(), c["fault"].clone()),
        (json!(false), Value::Null)
    );
}

#[test]
fn a_summarys_warnings_are_the_reports_though_the_parse_keeps_none() {
    // 20 warnings, over two phases: more than a summary lists.
    let comps = [r#"{"compId":"Cold Valve","duration":0}"#; 10].join(",");
    let phase = format!(r#"{{"id":"p","components":[{comps}]}}"#);
    let cycle = format!(r#"{{"phases":[{phase},{phase}]}}"#);
    let mut d = Device::new();
    let frame = format!(r#"{{"cmd":"validate_cycle","cycle":{cycle}}}"#);
    let r = d.v2(serde_json::from_str(&frame).unwrap());
    let listed = r["result"]["warnings"].as_array().expect("accepted");
    let report = Cycle::new(tumble_rig::storage())
        .parse(cycle.as_bytes(), &Board::washer())
        .unwrap();
    assert_eq!(listed.len(), report.warnings.len());
    for (l, w) in listed.iter().zip(&report.warnings) {
        assert_eq!(l["path"], w.path.as_str());
        assert_eq!(l["message"], w.message.as_str());
    }
    assert_eq!(r["result"]["more_warnings"], report.more_warnings);
    assert!(report.more_warnings > 0);
}

#[test]
fn a_v2_start_can_wait_and_says_when_it_will_start() {
    let mut d = Device::new();
    d.send(&format!(r#"{{"action":"write_json","data":{CYCLE}}}"#));
    let r = d.v2(json!({"cmd":"start","id":1,"delay_ms":90000}));
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["result"]["cycle"]["status"], "scheduled");
    assert_eq!(r["result"]["cycle"]["start_in_ms"], 90000);
    assert_eq!(r["result"]["cycle"]["cycle_running"], false);
    let r = d.v2(json!({"cmd":"start","delay_ms":-1}));
    assert_eq!(r["error"]["code"], "invalid_request", "{r}");
    let r = d.v2(json!({"cmd":"start","delay_ms":604800001u64}));
    assert_eq!(r["error"]["code"], "out_of_range", "{r}");
    // A stop cancels the wait (and says nothing was running).
    d.v2(json!({"cmd":"stop"}));
    let r = d.v2(json!({"cmd":"get_status"}));
    assert_eq!(r["result"]["cycle"]["status"], "idle");
    assert_eq!(r["result"]["cycle"]["start_in_ms"], Value::Null);
    // The original's start is unchanged.
    assert_eq!(d.send(r#"{"action":"start_cycle"}"#), "ok: starting cycle");
}

#[test]
fn telemetry_says_the_water_in_litres() {
    let d = Device::new();
    let board = d.ctl.board();
    let mut s = d.ctl.snapshot(t(0));
    let curve = board
        .level()
        .expect("the default board knows its tub")
        .curve;
    s.readings.pressure_hz = Some(curve.hz(20.0 * 70_000.0));
    s.readings.rpm = Some(0.0);
    let mut frame = String::new();
    telemetry::write_frame(&mut frame, board, &s).unwrap();
    let t: Value = serde_json::from_str(&frame).unwrap();
    let litres = t["sensors"]["level_litres"].as_f64().unwrap();
    assert!((litres - 20.0).abs() < 0.11, "{litres}");
}

#[test]
fn library_commands_are_read_with_their_names_checked() {
    let mut d = Device::new();
    // The bare controller keeps no library: it says so, after the names passed.
    let v = d.v2(json!({"cmd":"list_programs","id":1}));
    assert_eq!(v["error"]["code"], "unsupported", "{v}");
    let v = d.v2(json!({"cmd":"load_program","id":2,"name":"Cotton 60"}));
    assert_eq!(v["error"]["code"], "unsupported", "{v}");
    for (frame, path) in [
        (json!({"cmd":"load_program","id":3}), "name"),
        (json!({"cmd":"delete_program","id":3,"name":7}), "name"),
        (
            json!({"cmd":"save_program","id":3,"name":"a/b","cycle":{"phases":[]}}),
            "name",
        ),
        (
            json!({"cmd":"rename_program","id":3,"name":"ok","to":".hidden"}),
            "to",
        ),
        (
            json!({"cmd":"save_program","id":3,"name":"x".repeat(33),"cycle":{"phases":[]}}),
            "name",
        ),
    ] {
        let v = d.v2(frame.clone());
        assert_eq!(v["error"]["code"], "invalid_name", "{frame}: {v}");
        assert_eq!(v["error"]["path"], path, "{frame}: {v}");
        assert_eq!(v["id"], 3);
    }
    let v = d.v2(json!({"cmd":"save_program","id":4,"name":"ok"}));
    assert_eq!(v["error"]["code"], "invalid_request", "{v}");
    assert_eq!(v["error"]["path"], "cycle", "{v}");
}
