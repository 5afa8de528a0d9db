//! `tumble serve` for real: the binary on loopback, real WebSocket clients.

mod common;

use std::time::Duration;

use common::{Server, repo, state_dir};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const CYCLE: &str = r#"{"phases":[
    {"id":"fill","components":[{"compId":"Cold Valve","duration":60000}]},
    {"id":"wash","components":[{"compId":"Retractor","duration":60000}]},
    {"id":"drain","components":[{"compId":"Drain Pump","duration":60000}]}]}"#;

async fn connect(url: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let hello = next_text(&mut ws).await;
    let hello: Value = serde_json::from_str(&hello).unwrap();
    assert_eq!(hello["type"], "hello");
    ws
}

async fn next_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("the connection stays open")
            .unwrap();
        if let Message::Text(t) = msg {
            return t.to_string();
        }
    }
}

/// The next frame that is not telemetry.
async fn reply(ws: &mut Ws) -> String {
    loop {
        let text = next_text(ws).await;
        if !text.starts_with("{\"type\":\"telemetry\"") {
            return text;
        }
    }
}

async fn ask(ws: &mut Ws, frame: &str) -> String {
    ws.send(Message::Text(frame.into())).await.unwrap();
    reply(ws).await
}

async fn ask2(ws: &mut Ws, frame: Value) -> Value {
    serde_json::from_str(&ask(ws, &frame.to_string()).await).unwrap()
}

/// Loads CYCLE with the original's write_json.
async fn load(ws: &mut Ws) {
    let frame = format!(r#"{{"action":"write_json","data":{CYCLE}}}"#);
    assert_eq!(ask(ws, &frame).await, "ok: cycle loaded");
}

async fn telemetry(ws: &mut Ws) -> Value {
    loop {
        let text = next_text(ws).await;
        if text.starts_with("{\"type\":\"telemetry\"") {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_original_v1_session_works_unchanged() {
    let server = Server::start(&state_dir("v1"), &["--speed", "100"]);
    let mut ws = connect(&server.url()).await;
    let load = format!(r#"{{"action":"write_json","data":{CYCLE}}}"#);
    let session = [
        ("connect", "ok: connected"),
        (r#"{"action":"ping"}"#, "ok: pong"),
        (r#"{"action":"start_cycle"}"#, "error: no cycle loaded"),
        (r#"{"action":"stop_cycle"}"#, "error: cycle not running"),
        (r#"{"action":"nope"}"#, "error: unknown action"),
        ("{bad", "error: invalid json"),
        (
            r#"{"action":"write_json"}"#,
            "error: missing data for write_json",
        ),
        (
            r#"{"action":"write_json","data":{"phases":[{"startTime":-1}]}}"#,
            "error: phases[0].startTime: expected a whole number of milliseconds >= 0, got -1 (negative)",
        ),
        (&load, "ok: cycle loaded"),
        (
            r#"{"action":"toggle_gpio","pin":19,"state":0}"#,
            "ok: GPIO 19 set to 0",
        ),
        (r#"{"action":"start_cycle"}"#, "ok: starting cycle"),
        (
            r#"{"action":"start_cycle"}"#,
            "error: cycle already running",
        ),
        (
            r#"{"action":"toggle_gpio","pin":19,"state":1}"#,
            "error: cycle running",
        ),
        (r#"{"action":"skip_phase"}"#, "ok: phase skipped"),
        (
            r#"{"action":"skip_to_phase","index":7}"#,
            "error: phase index 7 out of range (3 phases)",
        ),
        (
            r#"{"action":"skip_to_phase","index":0}"#,
            "ok: skipping to phase",
        ),
        (r#"{"action":"stop_cycle"}"#, "ok: cycle stopped"),
    ];
    for (frame, want) in session {
        assert_eq!(ask(&mut ws, frame).await, want, "{frame}");
    }
    let t = telemetry(&mut ws).await;
    assert_eq!(t["cycle"]["cycle_running"], false);
    assert!(
        t["gpio"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["state"] == 1),
        "all OFF after stop: {t}"
    );
    assert!(
        server.wait_logged("command: 127.0.0.1"),
        "commands are logged"
    );
    assert!(
        server.wait_logged("Phase 'fill' (1/3) skipped"),
        "phase changes are logged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn v2_commands_reply_with_ids_and_telemetry_has_the_full_shape() {
    let server = Server::start(
        &state_dir("v2"),
        &["--speed", "100", "--telemetry-ms", "50"],
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(server.url())
        .await
        .unwrap();
    let hello: Value = serde_json::from_str(&next_text(&mut ws).await).unwrap();
    assert_eq!(hello["protocols"], json!([1, 2]));
    assert_eq!(hello["outputs"].as_array().unwrap().len(), 8);
    let cycle: Value = serde_json::from_str(CYCLE).unwrap();
    let r = ask2(&mut ws, json!({"cmd":"load_cycle","id":"L","cycle":cycle})).await;
    assert_eq!(
        (
            r["id"].clone(),
            r["ok"].clone(),
            r["result"]["events"].clone()
        ),
        (json!("L"), json!(true), json!(6))
    );
    let r = ask2(&mut ws, json!({"cmd":"start","id":2})).await;
    assert_eq!(r["result"]["cycle"]["status"], "running");
    let r = ask2(&mut ws, json!({"cmd":"bogus","id":3})).await;
    assert_eq!(r["error"]["code"], "unknown_command");
    // At 100x, the fill phase (60 s) ends within a second of real time.
    let mut t = telemetry(&mut ws).await;
    for _ in 0..100 {
        if t["cycle"]["current_phase_index"] == 2 {
            break;
        }
        t = telemetry(&mut ws).await;
    }
    let c = &t["cycle"];
    assert_eq!(c["current_phase_index"], 2, "{t}");
    assert_eq!(c["current_phase_name"], "wash");
    for key in [
        "phase_elapsed_ms",
        "phase_total_duration_ms",
        "cycle_elapsed_ms",
        "cycle_total_duration_ms",
    ] {
        assert!(c[key].is_u64(), "{key}: {t}");
    }
    assert_eq!(c["cycle_total_duration_ms"], 180_000);
    assert!(
        t["sensors"]["pressure_freq"].as_f64().unwrap() > 20_000.0,
        "the simulated sensor reads: {t}"
    );
    assert_eq!(t["sensors"]["sensor_error"], false);
    let r = ask2(&mut ws, json!({"cmd":"pause"})).await;
    assert_eq!(r["result"]["cycle"]["paused"], true);
    let r = ask2(&mut ws, json!({"cmd":"get_timeline","phase":0,"limit":1})).await;
    assert_eq!(r["result"]["events"][0]["output"], "Cold Valve");
}

#[tokio::test(flavor = "multi_thread")]
async fn telemetry_arrives_at_its_rate() {
    let server = Server::start(&state_dir("rate"), &["--telemetry-ms", "50"]);
    let mut ws = connect(&server.url()).await;
    let start = std::time::Instant::now();
    let mut frames = 0;
    while start.elapsed() < Duration::from_secs(2) {
        telemetry(&mut ws).await;
        frames += 1;
    }
    // 2 s at one frame per 50 ms is 40; a loaded machine may lose a few, never double.
    assert!((25..=45).contains(&frames), "{frames} frames in 2 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_loaded_cycle_survives_a_restart_and_a_broken_file_does_not_crash() {
    let state = state_dir("persist");
    let mut server = Server::start(&state, &[]);
    let mut ws = connect(&server.url()).await;
    load(&mut ws).await;
    assert_eq!(
        std::fs::read_to_string(state.join("cycle.json")).unwrap(),
        CYCLE
    );
    server.kill();

    let server = Server::start(&state, &[]);
    assert!(server.logged("loaded"), "loaded at start");
    let mut ws = connect(&server.url()).await;
    let t = telemetry(&mut ws).await;
    assert_eq!(t["cycle"]["total_phases"], 3);
    assert_eq!(
        t["cycle"]["cycle_running"], false,
        "a stored cycle never starts by itself"
    );
    drop(server);

    std::fs::write(
        state.join("cycle.json"),
        "{\"phases\":[{\"startTime\":\"x\"",
    )
    .unwrap();
    let server = Server::start(&state, &[]);
    assert!(
        server.logged("the stored cycle is not valid ("),
        "a warning, not a crash"
    );
    let mut ws = connect(&server.url()).await;
    assert_eq!(
        ask(&mut ws, r#"{"action":"start_cycle"}"#).await,
        "error: no cycle loaded"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_during_a_store_leaves_the_old_or_the_new_cycle() {
    let state = state_dir("kill");
    let old = r#"{"phases":[{"id":"old"}]}"#;
    std::fs::write(state.join("cycle.json"), old).unwrap();
    // A big new document, so the write takes a while.
    let big_phase = format!(
        r#"{{"id":"new","components":[{{"compId":"Motor","motorConfig":{{"pattern":[{}]}}}}]}}"#,
        vec![r#"{"stepTime":10,"pauseTime":5,"direction":"ccw"}"#; 4000].join(",")
    );
    let new = format!(r#"{{"phases":[{big_phase}]}}"#);
    for delay_us in [0u64, 200, 500, 1000, 2000, 5000, 10_000] {
        let mut server = Server::start(&state, &[]);
        let mut ws = connect(&server.url()).await;
        ws.send(Message::Text(
            format!(r#"{{"action":"write_json","data":{new}}}"#).into(),
        ))
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_micros(delay_us)).await;
        server.child.kill().unwrap(); // SIGKILL: no chance to clean up
        server.child.wait().unwrap();
        let stored = std::fs::read_to_string(state.join("cycle.json")).unwrap();
        assert!(
            stored == old || stored == new,
            "after {delay_us} us: {} bytes",
            stored.len()
        );
        std::fs::write(state.join("cycle.json"), old).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_made_at_the_first_start_and_required_for_commands() {
    let dir = state_dir("token");
    let server = Server::start(&dir, &[]);
    let token = server.token.clone().unwrap();
    assert_eq!(token.len(), 32);
    assert!(
        server.wait_logged(&format!("open http://{}/?token={token}", server.addr)),
        "the ready URL is printed"
    );
    // Without the token: the hello, then the reason, and the connection is closed.
    let mut guest = connect(&server.bare_url()).await;
    let closed = tokio::time::timeout(Duration::from_secs(10), guest.next())
        .await
        .expect("closed at once");
    match closed {
        Some(Ok(Message::Close(Some(f)))) => {
            assert_eq!(u16::from(f.code), 1008);
            assert!(
                f.reason
                    .starts_with("unauthorized: this controller needs its token"),
                "{}",
                f.reason
            );
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    // A wrong token is refused at the door.
    let err = tokio_tungstenite::connect_async(format!("{}?token=wrong", server.bare_url()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WsError::Http(ref r) if r.status() == 401),
        "{err:?}"
    );
    // With it, in the query or as a bearer, everything.
    let mut ws = connect(&server.url()).await;
    load_and_start(&mut ws).await;
    let mut req = server.bare_url().into_client_request().unwrap();
    req.headers_mut().insert(
        "Authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    let (mut bearer, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let _hello = next_text(&mut bearer).await;
    assert_eq!(
        ask(&mut bearer, r#"{"action":"stop_cycle"}"#).await,
        "ok: cycle stopped"
    );
    drop(server);
    // The same token after a restart: it is made once.
    let again = Server::start(&dir, &[]);
    assert_eq!(again.token.as_deref(), Some(token.as_str()));
}

async fn load_and_start(ws: &mut Ws) {
    load(ws).await;
    assert_eq!(
        ask(ws, r#"{"action":"start_cycle"}"#).await,
        "ok: starting cycle"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn public_telemetry_gives_status_but_never_commands() {
    let server = Server::start(&state_dir("public"), &["--public-telemetry"]);
    let mut guest = connect(&server.bare_url()).await;
    let t = telemetry(&mut guest).await;
    assert_eq!(t["cycle"]["status"], "idle", "{t}");
    let v2 = ask2(&mut guest, json!({"cmd": "get_status", "id": 1})).await;
    assert_eq!(v2["ok"], true, "{v2}");
    for cmd in ["start", "stop", "get_cycle"] {
        let v2 = ask2(&mut guest, json!({"cmd": cmd, "id": 2})).await;
        assert_eq!(v2["error"]["code"], "unauthorized", "{cmd}: {v2}");
    }
    let v1 = ask(&mut guest, r#"{"action":"toggle_gpio","pin":5,"state":0}"#).await;
    assert!(v1.starts_with("error: unauthorized"), "{v1}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_auth_is_the_original_open_door_and_says_so() {
    let dir = state_dir("no-auth");
    let server = Server::start(&dir, &["--no-auth"]);
    assert!(server.wait_logged("no token (--no-auth): anyone who can reach"));
    let mut ws = connect(&server.bare_url()).await;
    load_and_start(&mut ws).await;
    assert!(!dir.join("token").exists(), "no token is made");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_token_closes_the_clients_of_the_old_one() {
    let dir = state_dir("rotate");
    let server = Server::start(&dir, &[]);
    let mut old = connect(&server.url()).await;
    let (code, out, err) = tumble(&["token", "--rotate", "--state-dir", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let fresh = out.lines().next().unwrap().to_owned();
    assert_ne!(Some(fresh.as_str()), server.token.as_deref());
    // Closed within a few seconds, with a reason.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match old.next().await {
                Some(Ok(Message::Close(Some(f)))) => {
                    return Some((u16::from(f.code), f.reason.to_string()));
                }
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("the old client is closed");
    assert_eq!(
        closed,
        Some((
            1008,
            "the token was rotated: connect with the new one".into()
        ))
    );
    let err = tokio_tungstenite::connect_async(server.url())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WsError::Http(ref r) if r.status() == 401),
        "{err:?}"
    );
    let mut ws = connect(&format!("{}?token={fresh}", server.bare_url())).await;
    assert_eq!(ask(&mut ws, r#"{"action":"ping"}"#).await, "ok: pong");
    let (_, printed, _) = tumble(&["token", "--state-dir", dir.to_str().unwrap()]);
    assert_eq!(printed.lines().next(), Some(fresh.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_tokens_are_slowed_down_for_their_address_only_and_the_cycle_keeps_time() {
    let server = Server::start(&state_dir("attempts"), &[]);
    let mut ws = connect(&server.url()).await;
    // A cycle that switches every 10 ms.
    let busy = r#"{"phases":[{"id":"spin","components":[{"compId":"Motor","motorConfig":{"repeatTimes":100000,"pattern":[{"stepTime":10,"pauseTime":10,"direction":"cw"}]}}]}]}"#;
    let frame = format!(r#"{{"action":"write_json","data":{busy}}}"#);
    assert_eq!(ask(&mut ws, &frame).await, "ok: cycle loaded");
    assert_eq!(
        ask(&mut ws, r#"{"action":"start_cycle"}"#).await,
        "ok: starting cycle"
    );
    let before = telemetry(&mut ws).await;
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..1000 {
        let status =
            match tokio_tungstenite::connect_async(format!("{}?token=wrong", server.bare_url()))
                .await
            {
                Err(WsError::Http(r)) => r.status().as_u16(),
                other => panic!("{other:?}"),
            };
        *statuses.entry(status).or_insert(0) += 1;
    }
    // Five tries, then the address waits: the rest are turned away at once.
    assert_eq!(statuses.get(&401), Some(&6), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&994), "{statuses:?}");
    assert!(server.wait_logged("refused, wrong token"));
    let refusals = server.logged_count("refused, wrong token");
    assert_eq!(refusals, 1, "one log line per address per minute");
    // Meanwhile the client with the token is served and telemetry flows. (The attempts are
    // turned away on the network side: nothing of them reaches the controller thread. Its
    // lateness counters are wall-clock measures on a shared machine, so not asserted here.)
    assert_eq!(ask(&mut ws, r#"{"action":"ping"}"#).await, "ok: pong");
    let after = telemetry(&mut ws).await;
    assert!(
        after["cycle"]["cycle_elapsed_ms"].as_u64() > before["cycle"]["cycle_elapsed_ms"].as_u64()
    );
    let status = ask2(&mut ws, json!({"cmd": "get_status", "id": 1})).await;
    assert_eq!(status["result"]["cycle"]["status"], "running", "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_origins_are_checked() {
    let server = Server::start(
        &state_dir("origin"),
        &["--allow-origin", "http://192.168.1.20:5173"],
    );
    let with_origin = |origin: &'static str| {
        let mut req = server.url().into_client_request().unwrap();
        req.headers_mut()
            .insert("Origin", HeaderValue::from_static(origin));
        req
    };
    let err = tokio_tungstenite::connect_async(with_origin("http://evil.example"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WsError::Http(ref r) if r.status() == 403),
        "{err:?}"
    );
    assert!(
        tokio_tungstenite::connect_async(with_origin("http://192.168.1.20:5173"))
            .await
            .is_ok()
    );
    let same_host = format!("http://{}", server.addr);
    let mut req = server.url().into_client_request().unwrap();
    req.headers_mut()
        .insert("Origin", HeaderValue::from_str(&same_host).unwrap());
    assert!(
        tokio_tungstenite::connect_async(req).await.is_ok(),
        "the page the server serves may connect"
    );
    assert!(
        tokio_tungstenite::connect_async(server.url()).await.is_ok(),
        "scripts send no Origin"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_frames_are_refused_and_the_connection_stays_usable() {
    let server = Server::start(&state_dir("big"), &[]);
    let mut ws = connect(&server.url()).await;
    let big = format!(
        r#"{{"action":"write_json","data":{{"pad":"{}"}}}}"#,
        "x".repeat(300 * 1024)
    );
    let r = ask(&mut ws, &big).await;
    assert!(
        r.starts_with("error: frame of 307")
            && r.ends_with("bytes is larger than the limit of 262144"),
        "{r}"
    );
    assert_eq!(ask(&mut ws, r#"{"action":"ping"}"#).await, "ok: pong");
    let r = ask2(
        &mut ws,
        json!({"cmd":"validate_cycle","id":9,"cycle":{"pad":"x".repeat(300 * 1024)}}),
    )
    .await;
    assert_eq!(
        (r["id"].clone(), r["error"]["code"].clone()),
        (json!(9), json!("too_large"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_clients_at_once_and_the_seventeenth_is_told_why() {
    let server = Server::start(&state_dir("many"), &[]);
    let mut clients = Vec::new();
    for _ in 0..16 {
        clients.push(connect(&server.url()).await);
    }
    for ws in &mut clients {
        assert_eq!(ask(ws, r#"{"action":"ping"}"#).await, "ok: pong");
    }
    let (mut extra, _) = tokio_tungstenite::connect_async(server.url())
        .await
        .unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(10), extra.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match msg {
        Message::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), 1013);
            assert_eq!(frame.reason.as_str(), "too many clients: at most 16");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    drop(clients.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect(&server.url()).await;
    assert_eq!(
        ask(&mut again, r#"{"action":"ping"}"#).await,
        "ok: pong",
        "a freed slot is usable"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_reads_does_not_hold_up_the_others() {
    let server = Server::start(&state_dir("slow"), &["--telemetry-ms", "1"]);
    // This one connects and then never reads: its socket buffers fill up.
    let (_stuck, _) = tokio_tungstenite::connect_async(server.url())
        .await
        .unwrap();
    let mut ws = connect(&server.url()).await;
    let mut last = 0;
    for second in 0..4 {
        let start = std::time::Instant::now();
        let mut frames = 0;
        while start.elapsed() < Duration::from_secs(1) {
            let t = telemetry(&mut ws).await;
            let stamp = t["packet_timestamp_ms"].as_u64().unwrap();
            assert!(stamp >= last, "latest wins, never older");
            last = stamp;
            frames += 1;
        }
        assert!(frames > 100, "second {second}: only {frames} frames");
    }
    assert_eq!(ask(&mut ws, r#"{"action":"ping"}"#).await, "ok: pong");
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_at_full_speed_does_not_stall_the_controller() {
    let server = Server::start(
        &state_dir("garbage"),
        &["--speed", "100", "--telemetry-ms", "20"],
    );
    let mut noisy = connect(&server.url()).await;
    let mut ws = connect(&server.url()).await;
    load(&mut ws).await;
    assert_eq!(
        ask(&mut ws, r#"{"action":"start_cycle"}"#).await,
        "ok: starting cycle"
    );
    let flood = tokio::spawn(async move {
        for i in 0..20_000u32 {
            let frame = format!("{{\"garbage\":{i},[[[[");
            if noisy.send(Message::Text(frame.into())).await.is_err() {
                break;
            }
        }
        noisy
    });
    // The cycle keeps time: at 100x its 180 s end in under 2 s of real time.
    let start = std::time::Instant::now();
    loop {
        let t = telemetry(&mut ws).await;
        if t["cycle"]["cycle_running"] == false {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the cycle stalled: {t}"
        );
    }
    let _ = flood.await;
}

/// A WebSocket handshake by hand, for frames no client library sends.
async fn raw_ws(server: &Server) -> TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = &server.addr;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let token = server.token.as_deref().unwrap_or("");
    let req = format!(
        "GET /ws?token={token} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// The close code of the first close frame the server sends (None: closed without one).
async fn close_code_after(s: &mut TcpStream, frame: &[u8]) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(frame).await.unwrap();
    let read = async {
        loop {
            let mut h = [0u8; 2];
            s.read_exact(&mut h).await.ok()?;
            let len = match h[1] & 0x7f {
                126 => {
                    let mut l = [0u8; 2];
                    s.read_exact(&mut l).await.ok()?;
                    u16::from_be_bytes(l) as usize
                }
                127 => {
                    let mut l = [0u8; 8];
                    s.read_exact(&mut l).await.ok()?;
                    u64::from_be_bytes(l) as usize
                }
                n => n as usize,
            };
            let mut payload = vec![0u8; len];
            s.read_exact(&mut payload).await.ok()?;
            if h[0] & 0x0f == 8 {
                return Some(u16::from_be_bytes([payload[0], payload[1]]));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the server answers within 10 s")
}

/// A client frame: FIN, `opcode`, masked with a zero key (so the payload reads as is).
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

#[tokio::test(flavor = "multi_thread")]
async fn protocol_violations_get_the_close_code_rfc_6455_gives_them() {
    let server = Server::start(&state_dir("close-codes"), &[]);
    // A text frame announcing 5 MiB: past the 4 MiB limit, refused from its header.
    let mut s = raw_ws(&server).await;
    let mut big = vec![0x81, 0x80 | 127];
    big.extend_from_slice(&(5u64 * 1024 * 1024).to_be_bytes());
    big.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(close_code_after(&mut s, &big).await, Some(1009));
    let mut s = raw_ws(&server).await;
    let bad_utf8 = client_frame(0x1, &[0xff, 0xfe, 0xfd]);
    assert_eq!(close_code_after(&mut s, &bad_utf8).await, Some(1007));
    let mut s = raw_ws(&server).await;
    let reserved_opcode = client_frame(0x3, b"");
    assert_eq!(close_code_after(&mut s, &reserved_opcode).await, Some(1002));
    // The server is still there for everyone else.
    let mut ws = connect(&server.url()).await;
    assert_eq!(ask(&mut ws, r#"{"action":"ping"}"#).await, "ok: pong");
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_capped_and_timed_out() {
    use tokio::io::AsyncReadExt;
    let server = Server::start(
        &state_dir("idle"),
        &["--max-connections", "8", "--request-timeout-ms", "300"],
    );
    // Thirty sockets that never send a byte: eight are held until their request deadline,
    // the rest are closed as they come. None of them stays open.
    let mut idle = Vec::new();
    for _ in 0..30 {
        idle.push(TcpStream::connect(&server.addr).await.unwrap());
    }
    for s in &mut idle {
        let mut b = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut b))
            .await
            .expect("closed within 10 s")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }
    // A client that upgrades may then stay quiet for longer than the request deadline.
    let mut ws = connect(&server.url()).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(ask(&mut ws, r#"{"action":"ping"}"#).await, "ok: pong");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fifo_at_the_state_path_is_refused_and_the_server_starts_empty() {
    let dir = state_dir("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(dir.join("cycle.json"))
        .status()
        .unwrap();
    assert!(made.success());
    let server = Server::start(&dir, &[]);
    assert!(server.logged("not a regular file; starting empty"));
    let mut ws = connect(&server.url()).await;
    let r = ask2(&mut ws, json!({"cmd":"get_status","id":1})).await;
    assert_eq!(r["result"]["cycle"]["total_phases"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_is_applied_at_once_while_another_client_sends_the_heaviest_document() {
    let dir = state_dir("stop-first");
    let record = dir.join("record.jsonl");
    let server = Server::start(&dir, &["--record", record.to_str().unwrap()]);
    let rapid =
        std::fs::read_to_string(common::repo().join("examples/cycles/rapid-pattern.json")).unwrap();
    let heavy = std::fs::read_to_string(
        common::repo().join("examples/cycles/broken/overlapping-motors.json"),
    )
    .unwrap();
    let mut a = connect(&server.url()).await;
    let mut b = connect(&server.url()).await;
    let frame = format!(r#"{{"cmd":"load_cycle","id":1,"cycle":{rapid}}}"#);
    let r: Value = serde_json::from_str(&ask(&mut a, &frame).await).unwrap();
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        ask2(&mut a, json!({"cmd":"start","id":2})).await["ok"],
        true
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    let frame = format!(r#"{{"cmd":"validate_cycle","id":3,"cycle":{heavy}}}"#);
    a.send(Message::Text(frame.into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sent = std::time::Instant::now();
    let stop = ask2(&mut b, json!({"cmd":"stop","id":4})).await;
    let took = sent.elapsed();
    // An upper bound a noisy machine still meets: the controller used to be busy for seconds.
    assert!(
        took < Duration::from_millis(100),
        "the stop's reply took {took:?}"
    );
    assert_eq!(stop["ok"], true, "{stop}");
    let gpio = stop["result"]["gpio"].as_array().unwrap();
    assert!(gpio.iter().all(|g| g["on"] == false), "{stop}");
    let late = stop["result"]["cycle"]["worst_lateness_us"]
        .as_u64()
        .unwrap();
    assert!(late < 100_000, "events of the run were {late} us late");

    let invalid: Value = serde_json::from_str(&reply(&mut a).await).unwrap();
    assert_eq!(
        invalid["error"]["path"], "phases[0].components[1]",
        "{invalid}"
    );

    // The record shows what the pins did: the motor ran, and the last change of every output
    // is OFF. Its thread writes behind the controller, so the stop's OFFs may reach the file a
    // moment after the reply.
    let read = || {
        let mut last = std::collections::BTreeMap::new();
        let mut motor_changes = 0;
        let text = std::fs::read_to_string(&record).unwrap();
        // A line still being written has no newline yet.
        for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            let v: Value = serde_json::from_str(line).unwrap();
            let name = v["output"].as_str().unwrap().to_owned();
            motor_changes += (name == "Motor") as u32;
            last.insert(name, v["on"].as_bool().unwrap());
        }
        (last, motor_changes)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let (last, motor_changes) = loop {
        let (last, changes) = read();
        if last.values().all(|on| !on) || std::time::Instant::now() > deadline {
            break (last, changes);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        motor_changes > 100,
        "the motor ran: {motor_changes} changes"
    );
    assert!(last.values().all(|on| !on), "{last:?}");
}

/// `tumble ARGS`, run to its end.
fn tumble(args: &[&str]) -> (i32, String, String) {
    use assert_cmd::cargo::CommandCargoExt;
    let out = std::process::Command::cargo_bin("tumble")
        .unwrap()
        .args(args)
        .env_remove("TUMBLE_TOKEN")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn send_loads_and_starts_on_a_controller_elsewhere_and_watch_follows_it() {
    let server = Server::start(&state_dir("send"), &["--token", "s3cret", "--speed", "10"]);
    let url = server.bare_url();
    let cycle = repo().join("examples/cycles/wash-1600.json");
    let cycle = cycle.to_str().unwrap();
    let (code, out, err) = tumble(&["send", cycle, "--to", &url, "--token", "s3cret", "--start"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("loaded on ws://") && out.contains("3 phases, 1604 events"),
        "{out}"
    );
    assert!(out.contains("started: running phase 1/3 'Fill'"), "{out}");
    assert!(
        server.wait_logged("load_cycle"),
        "the controller saw the load"
    );

    let (code, out, err) = tumble(&["watch", &url, "--token", "s3cret", "--frames", "12"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("connected to {url}: Tumble ")),
        "{out}"
    );
    assert!(
        out.contains("running phase 1/3 'Fill'") && out.contains("ON: "),
        "{out}"
    );

    // A wrong token is the controller's 401, said as such; nothing is loaded.
    let (code, _, err) = tumble(&["send", cycle, "--to", &url, "--token", "wrong"]);
    assert_eq!(code, 2);
    assert!(err.contains("401"), "{err}");
    // A cycle refused here is never sent.
    let typo = state_dir("send-typo").join("typo.json");
    std::fs::write(
        &typo,
        r#"{"phases":[{"components":[{"compId":"Cold Valve","durtion":5}]}]}"#,
    )
    .unwrap();
    let (code, _, err) = tumble(&["send", typo.to_str().unwrap(), "--to", &url]);
    assert_eq!(code, 1);
    assert!(
        err.contains("refused here, not sent") && err.contains("did you mean"),
        "{err}"
    );
    // Nothing listening: a clear error, exit 2.
    let (code, _, err) = tumble(&["watch", "ws://127.0.0.1:9/ws", "--frames", "1"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("tumble: ws://127.0.0.1:9/ws: "), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_v1_load_with_warnings_says_so_in_the_log() {
    let server = Server::start(&state_dir("v1-warnings"), &[]);
    let mut ws = connect(&server.url()).await;
    let frame = r#"{"action":"write_json","data":{"phases":[{"id":"fill","components":[{"compId":"Cold Valve","duration":1000,"ui_note":"x"}]}]}}"#;
    assert_eq!(ask(&mut ws, frame).await, "ok: cycle loaded");
    let said = "write_json: ok: cycle loaded (1 warning: validate_cycle or tumble check lists it)";
    for _ in 0..50 {
        if server.logged(said) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("not logged: {said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn loads_from_several_clients_take_turns_and_a_start_waits_for_them() {
    // A load lends the controller's one cycle storage to the network side while the document
    // is read; four clients loading and starting at once must each find a cycle to start, and
    // a refused document must leave the loaded one in place.
    let server = Server::start(&state_dir("loads-at-once"), &[]);
    let mut tasks = Vec::new();
    for i in 0..4 {
        let url = server.url();
        tasks.push(tokio::spawn(async move {
            let mut ws = connect(&url).await;
            let mut replies = Vec::new();
            for round in 0..10 {
                let doc = CYCLE.replace("\"fill\"", &format!("\"fill-{i}-{round}\""));
                let frame = format!(r#"{{"action":"write_json","data":{doc}}}"#);
                replies.push(ask(&mut ws, &frame).await);
                replies.push(ask(&mut ws, r#"{"action":"start_cycle"}"#).await);
            }
            replies
        }));
    }
    for t in tasks {
        for reply in t.await.unwrap() {
            assert!(
                reply == "ok: cycle loaded"
                    || reply == "ok: starting cycle"
                    || reply == "error: cycle already running",
                "{reply}"
            );
        }
    }
    let mut ws = connect(&server.url()).await;
    let bad = r#"{"action":"write_json","data":{"phases":[{"components":[{"compId":"Nope"}]}]}}"#;
    assert!(
        ask(&mut ws, bad)
            .await
            .starts_with("error: phases[0].components[0].compId")
    );
    let status = ask2(&mut ws, json!({"cmd": "get_status", "id": 1})).await;
    assert_eq!(status["result"]["cycle"]["status"], "running", "{status}");
    assert_eq!(status["result"]["cycle"]["total_phases"], 3, "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_program_library_saves_lists_loads_renames_and_deletes_by_name() {
    let dir = state_dir("library");
    let server = Server::start(&dir, &[]);
    let mut ws = connect(&server.url()).await;
    let cycle: Value = serde_json::from_str(CYCLE).unwrap();
    let ask_ok = |v: &Value| assert_eq!(v["ok"], true, "{v}");
    let saved = ask2(
        &mut ws,
        json!({"cmd":"save_program","id":1,"name":"Cotton 60","cycle":cycle}),
    )
    .await;
    ask_ok(&saved);
    assert_eq!(saved["result"]["name"], "Cotton 60");
    let bytes = saved["result"]["bytes"].as_u64().unwrap();
    assert!(bytes > 100, "{saved}");
    // Saving touches nothing loaded.
    let status = ask2(&mut ws, json!({"cmd":"get_status","id":2})).await;
    assert_eq!(status["result"]["cycle"]["total_phases"], 0, "{status}");
    // Checked as a load would be; bad names and bad documents are refused with their reason.
    let bad = ask2(&mut ws, json!({"cmd":"save_program","id":3,"name":"x","cycle":{"phases":[{"components":[{"compId":"Nope"}]}]}})).await;
    assert_eq!(bad["error"]["code"], "invalid_cycle", "{bad}");
    assert_eq!(
        bad["error"]["path"], "phases[0].components[0].compId",
        "{bad}"
    );
    for name in ["../etc", "", " x", "a/b"] {
        let v = ask2(
            &mut ws,
            json!({"cmd":"save_program","id":4,"name":name,"cycle":cycle}),
        )
        .await;
        assert_eq!(v["error"]["code"], "invalid_name", "{name:?}: {v}");
    }
    ask_ok(
        &ask2(
            &mut ws,
            json!({"cmd":"save_program","id":5,"name":"Quick","cycle":{"phases":[]}}),
        )
        .await,
    );
    let list = ask2(&mut ws, json!({"cmd":"list_programs","id":6})).await;
    assert_eq!(
        list["result"]["programs"],
        json!([{"name":"Cotton 60","bytes":bytes},{"name":"Quick","bytes":13}]),
        "{list}"
    );
    // Loading one by name (case ignored) is a load_cycle of it: summary, loaded, stored.
    let loaded = ask2(
        &mut ws,
        json!({"cmd":"load_program","id":7,"name":"cotton 60"}),
    )
    .await;
    ask_ok(&loaded);
    assert_eq!(
        loaded["result"]["phases"].as_array().map(Vec::len),
        Some(3),
        "{loaded}"
    );
    let status = ask2(&mut ws, json!({"cmd":"get_status","id":8})).await;
    assert_eq!(status["result"]["cycle"]["total_phases"], 3, "{status}");
    // Stored as the current cycle: it is what a restart loads.
    let current: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cycle.json")).unwrap()).unwrap();
    assert_eq!(current, cycle);
    let missing = ask2(
        &mut ws,
        json!({"cmd":"load_program","id":9,"name":"Nothing"}),
    )
    .await;
    assert_eq!(missing["error"]["code"], "not_found", "{missing}");
    assert_eq!(missing["error"]["message"], "no program named \"Nothing\"");
    let clash = ask2(
        &mut ws,
        json!({"cmd":"rename_program","id":10,"name":"Quick","to":"COTTON 60"}),
    )
    .await;
    assert_eq!(clash["error"]["code"], "exists", "{clash}");
    ask_ok(
        &ask2(
            &mut ws,
            json!({"cmd":"rename_program","id":11,"name":"Quick","to":"Quick 30"}),
        )
        .await,
    );
    ask_ok(
        &ask2(
            &mut ws,
            json!({"cmd":"delete_program","id":12,"name":"Quick 30"}),
        )
        .await,
    );
    let gone = ask2(
        &mut ws,
        json!({"cmd":"delete_program","id":13,"name":"Quick 30"}),
    )
    .await;
    assert_eq!(gone["error"]["code"], "not_found", "{gone}");
    // What is stored survives a restart: the library, and the program loaded last.
    drop(ws);
    drop(server);
    let again = Server::start(&dir, &[]);
    let mut ws = connect(&again.url()).await;
    let list = ask2(&mut ws, json!({"cmd":"list_programs","id":1})).await;
    assert_eq!(
        list["result"]["programs"],
        json!([{"name":"Cotton 60","bytes":bytes}]),
        "{list}"
    );
    let status = ask2(&mut ws, json!({"cmd":"get_status","id":2})).await;
    assert_eq!(status["result"]["cycle"]["total_phases"], 3, "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_run_is_in_the_history_with_its_outcome_phases_and_water() {
    let dir = state_dir("history");
    let server = Server::start(&dir, &["--speed", "100"]);
    let mut ws = connect(&server.url()).await;
    let cycle: Value = serde_json::from_str(CYCLE).unwrap();
    let ok = |v: &Value| assert_eq!(v["ok"], true, "{v}");
    ok(&ask2(
        &mut ws,
        json!({"cmd":"save_program","id":1,"name":"Fill wash drain","cycle":cycle}),
    )
    .await);
    ok(&ask2(
        &mut ws,
        // In another case: the history names it as it was saved.
        json!({"cmd":"load_program","id":2,"name":"FILL WASH drain"}),
    )
    .await);
    ok(&ask2(&mut ws, json!({"cmd":"start","id":3})).await);
    // Three minutes at 100x: under two seconds.
    let mut history = json!(null);
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        history = ask2(&mut ws, json!({"cmd":"get_history","id":4})).await;
        if history["result"]["runs"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            break;
        }
    }
    let run = &history["result"]["runs"][0];
    assert_eq!(run["outcome"], "completed", "{history}");
    assert_eq!(run["program"], "Fill wash drain", "{run}");
    assert!(
        run["started_unix_s"].as_u64().unwrap() > 1_700_000_000,
        "{run}"
    );
    let phases = run["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 3, "{run}");
    assert_eq!(phases[0]["name"], "fill");
    assert_eq!(phases[0]["planned_ms"], 60000);
    assert_eq!(phases[0]["actual_ms"], 60000, "{run}");
    assert_eq!(phases[2]["end"], "completed");
    // What the pins did (a write the server made late counts as it happened: at 100x a
    // millisecond late is 0.1 s; the controller's own test holds the exact figures).
    let near = |v: &Value, want: f64, by: f64| (v.as_f64().unwrap() - want).abs() <= by;
    assert!(
        near(&run["outputs_on_ms"]["Cold Valve"], 60000.0, 1000.0),
        "{run}"
    );
    assert!(
        near(&run["outputs_on_ms"]["Drain Pump"], 60000.0, 1000.0),
        "{run}"
    );
    assert_eq!(run["outputs_on_ms"]["Hot Valve"], 0, "{run}");
    assert_eq!(run["motor_on_ms"], 0);
    // The default board's cold valve lets in 15 litres a minute.
    assert!(near(&run["water_litres"], 15.0, 0.3), "{run}");
    // The same from the command line, as a table and as CSV.
    let token = server.token.clone().unwrap();
    let (code, out, err) = tumble(&["history", &server.bare_url(), "--token", &token]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(" UTC  Fill wash drain: completed, 180.000 s (0h03m00s), ")
            && out.contains("3 phases"),
        "{out}"
    );
    let (code, out, err) = tumble(&[
        "history",
        &server.bare_url(),
        "--token",
        &token,
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("started_unix_s,program,outcome,duration_s,phases,skipped,water_litres,motor_on_s")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .contains(",Fill wash drain,completed,180.000,3,0,"),
        "{out}"
    );
    // A run stopped by hand, and a cycle sent as a document (no program).
    let frame = format!(r#"{{"action":"write_json","data":{CYCLE}}}"#);
    assert_eq!(ask(&mut ws, &frame).await, "ok: cycle loaded");
    ok(&ask2(&mut ws, json!({"cmd":"start","id":5})).await);
    ok(&ask2(&mut ws, json!({"cmd":"stop","id":6})).await);
    let mut runs = json!(null);
    for _ in 0..100 {
        runs = ask2(&mut ws, json!({"cmd":"get_history","id":7,"limit":1})).await;
        if runs["result"]["runs"][0]["outcome"] == "stopped" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last = &runs["result"]["runs"];
    assert_eq!(last.as_array().map(Vec::len), Some(1), "limit 1: {runs}");
    assert_eq!(last[0]["outcome"], "stopped", "{runs}");
    assert_eq!(last[0]["program"], Value::Null, "{runs}");
    assert_eq!(last[0]["phases"][0]["end"], "stopped", "{runs}");
    let bad = ask2(&mut ws, json!({"cmd":"get_history","id":8,"limit":1000})).await;
    assert_eq!(bad["error"]["code"], "out_of_range", "{bad}");
    // Kept across a restart.
    drop(ws);
    drop(server);
    let again = Server::start(&dir, &[]);
    let mut ws = connect(&again.url()).await;
    let kept = ask2(&mut ws, json!({"cmd":"get_history","id":1})).await;
    assert_eq!(
        kept["result"]["runs"].as_array().map(Vec::len),
        Some(2),
        "{kept}"
    );
    assert_eq!(
        kept["result"]["runs"][1]["program"], "Fill wash drain",
        "{kept}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_file_sets_the_options_the_command_line_does_not() {
    let dir = state_dir("config");
    let conf = dir.join("serve.toml");
    // public-telemetry from the file; the token from the command line beats the file's.
    std::fs::write(
        &conf,
        "public-telemetry = true\ntoken = \"from-the-file\"\nmax-clients = 8\n",
    )
    .unwrap();
    let server = Server::start(
        &dir,
        &[
            "--config",
            conf.to_str().unwrap(),
            "--token",
            "from-the-line",
        ],
    );
    // Without the token: the telemetry and the status (the file's public-telemetry).
    let mut ws = connect(&server.bare_url()).await;
    let r = ask2(&mut ws, json!({"cmd":"get_status","id":1})).await;
    assert_eq!(r["ok"], true, "{r}");
    let start = ask2(&mut ws, json!({"cmd":"start","id":2})).await;
    assert_eq!(start["error"]["code"], "unauthorized", "{start}");
    // The command line's token is the one.
    let url = format!("{}?token=from-the-line", server.bare_url());
    let mut ws = connect(&url).await;
    let r = ask2(&mut ws, json!({"cmd":"stop","id":3})).await;
    assert_eq!(
        r["error"]["code"], "not_running",
        "let in, and nothing runs: {r}"
    );

    // A key that is no option, or a value of the wrong kind: refused by name, nothing served.
    for (text, said) in [
        ("prot = 8080\n", "prot: not an option of tumble serve"),
        ("no-auth = \"yes\"\n", "no-auth: expected true or false"),
        ("max-clients = \"many\"\n", "invalid value 'many'"),
    ] {
        std::fs::write(&conf, text).unwrap();
        let (code, _, err) = tumble(&["serve", "--config", conf.to_str().unwrap(), "--port", "0"]);
        assert_eq!(code, 2, "{text}: {err}");
        assert!(err.contains(said), "{text}: {err}");
    }
}
