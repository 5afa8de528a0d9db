//! `tumble send`, `tumble watch` and `tumble history`: a controller that is not on this machine
//! (`tumble serve` elsewhere, or the chip), over its WebSocket and the v2 protocol.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};

use crate::cli::{self, Failure, Secs};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a reply may take before the controller is given up on.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the controller is.
#[derive(clap::Args)]
pub struct Target {
    /// The controller's WebSocket, e.g. ws://192.168.1.20:8080/ws
    #[arg(long = "to", value_name = "URL")]
    url: String,
    /// Its token (sent as Authorization: Bearer) [default: for a controller on this machine,
    /// the token in `tumble serve`'s default state directory]
    #[arg(long, value_name = "T", env = "TUMBLE_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// `tumble send`.
#[derive(clap::Args)]
pub struct SendArgs {
    /// The cycle document (JSON): checked here first, then loaded on the controller
    #[arg(value_name = "FILE")]
    file: String,
    #[command(flatten)]
    target: Target,
    /// Start the cycle once it is loaded
    #[arg(long)]
    start: bool,
    #[command(flatten)]
    board: cli::BoardArg,
}

/// `tumble watch`.
#[derive(clap::Args)]
pub struct WatchArgs {
    /// The controller's WebSocket, e.g. ws://192.168.1.20:8080/ws
    #[arg(value_name = "URL")]
    url: String,
    /// Its token (sent as Authorization: Bearer) [default: for a controller on this machine,
    /// the token in `tumble serve`'s default state directory]
    #[arg(long, value_name = "T", env = "TUMBLE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Stop after this many telemetry frames (default: until Ctrl-C or the controller closes)
    #[arg(long, value_name = "N")]
    frames: Option<u64>,
}

/// `tumble history`.
#[derive(clap::Args)]
pub struct HistoryArgs {
    /// The controller's WebSocket, e.g. ws://192.168.1.20:8080/ws
    #[arg(value_name = "URL")]
    url: String,
    /// Its token (sent as Authorization: Bearer) [default: for a controller on this machine,
    /// the token in `tumble serve`'s default state directory]
    #[arg(long, value_name = "T", env = "TUMBLE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// How many runs, newest first (at most 100)
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: u64,
    /// A table for people, CSV for a spreadsheet, or the controller's JSON (one run a line)
    #[arg(long, value_enum, default_value_t = HistoryFormat::Table)]
    format: HistoryFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum HistoryFormat {
    Table,
    Csv,
    Json,
}

pub fn history(a: HistoryArgs) -> cli::Result {
    let runs = runtime()?.block_on(async {
        let mut ws = connect(&a.url, a.token.as_deref()).await?;
        let reply = ask(&mut ws, json!({"cmd":"get_history","id":1,"limit":a.limit})).await?;
        let _ = ws.close(None).await;
        if reply["ok"] != true {
            return Err(Failure::Io(format!("{}: {}", a.url, error_text(&reply))));
        }
        Ok(reply["result"]["runs"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    })?;
    let mut out = String::new();
    match a.format {
        HistoryFormat::Json => {
            for r in &runs {
                out.push_str(&format!("{r}\n"));
            }
        }
        HistoryFormat::Csv => {
            out.push_str("started_unix_s,program,outcome,duration_s,phases,skipped,water_litres,motor_on_s\n");
            for r in &runs {
                out.push_str(&format!(
                    "{},{},{},{:.3},{},{},{},{:.3}\n",
                    r["started_unix_s"]
                        .as_u64()
                        .map_or(String::new(), |s| s.to_string()),
                    csv_field(r["program"].as_str().unwrap_or("")),
                    r["outcome"].as_str().unwrap_or(""),
                    r["duration_ms"].as_f64().unwrap_or(0.0) / 1000.0,
                    r["phases"].as_array().map_or(0, Vec::len),
                    r["skipped"],
                    r["water_litres"]
                        .as_f64()
                        .map_or(String::new(), |l| format!("{l:.1}")),
                    r["motor_on_ms"].as_f64().unwrap_or(0.0) / 1000.0,
                ));
            }
        }
        HistoryFormat::Table => {
            if runs.is_empty() {
                out.push_str("no runs yet\n");
            }
            for r in &runs {
                let water = r["water_litres"]
                    .as_f64()
                    .map_or(String::new(), |l| format!(", {l:.1} L"));
                out.push_str(&format!(
                    "{}  {}: {}, {}{water}, {}\n",
                    r["started_unix_s"].as_u64().map_or("?".into(), utc),
                    r["program"]
                        .as_str()
                        .unwrap_or("(a cycle sent as a document)"),
                    r["outcome"].as_str().unwrap_or("?"),
                    Secs(r["duration_ms"].as_u64().unwrap_or(0)),
                    cli::Count(r["phases"].as_array().map_or(0, Vec::len) as u64, "phase"),
                ));
            }
        }
    }
    cli::print(&out)
}

/// A CSV field, quoted when it must be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Seconds since 1970 as `YYYY-MM-DD HH:MM UTC` (civil from days, Howard Hinnant's algorithm).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{d:02} {h:02}:{m:02} UTC")
}

pub fn send(a: SendArgs) -> cli::Result {
    // Checked here first: a refusal with its path costs no round trip and names the file.
    let board = cli::load_profile(a.board.board.as_deref())?.board;
    let (_, result) = cli::load(&a.file, &board)?;
    if let Err(e) = result {
        eprintln!("{}: refused here, not sent\n{e}", a.file);
        return Err(Failure::Refused);
    }
    let doc = std::fs::read_to_string(&a.file).map_err(|e| Failure::io(&a.file, e))?;
    let cycle: Value =
        serde_json::from_str(&doc).map_err(|e| Failure::Io(format!("{}: {e}", a.file)))?;
    runtime()?.block_on(async {
        let mut ws = connect(&a.target.url, a.target.token.as_deref()).await?;
        let loaded = ask(&mut ws, json!({"cmd":"load_cycle","id":1,"cycle":cycle})).await?;
        if loaded["ok"] != true {
            eprintln!(
                "{}: refused by {}\n{}",
                a.file,
                a.target.url,
                error_text(&loaded)
            );
            return Err(Failure::Refused);
        }
        let r = &loaded["result"];
        cli::print(&format!(
            "{}: loaded on {}: {} phases, {} events, {}\n",
            a.file,
            a.target.url,
            r["phases"].as_array().map_or(0, Vec::len),
            r["events"],
            Secs(r["duration_ms"].as_u64().unwrap_or(0))
        ))?;
        if a.start {
            let started = ask(&mut ws, json!({"cmd":"start","id":2})).await?;
            if started["ok"] != true {
                eprintln!("start refused: {}", error_text(&started));
                return Err(Failure::Refused);
            }
            cli::print(&format!("started: {}\n", status_line(&started["result"])))?;
        }
        let _ = ws.close(None).await;
        Ok(())
    })
}

pub fn watch(a: WatchArgs) -> cli::Result {
    runtime()?.block_on(async {
        let mut ws = connect(&a.url, a.token.as_deref()).await?;
        // The hello comes first.
        let hello: Value = serde_json::from_str(&next_text(&mut ws).await?).unwrap_or_default();
        cli::print(&format!(
            "connected to {}: Tumble {}, {} outputs\n",
            a.url,
            hello["version"].as_str().unwrap_or("?"),
            hello["outputs"].as_array().map_or(0, Vec::len)
        ))?;
        // Without the token a controller sends no telemetry: say so rather than wait forever.
        let status = ask(&mut ws, json!({"cmd":"get_status","id":0})).await?;
        if status["ok"] != true {
            return Err(Failure::Io(format!("{}: {}", a.url, error_text(&status))));
        }
        let mut frames = 0u64;
        let mut last = String::new();
        while a.frames.is_none_or(|n| frames < n) {
            let text = tokio::select! {
                t = next_text(&mut ws) => t?,
                _ = tokio::signal::ctrl_c() => break,
            };
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if v["type"] != "telemetry" {
                continue;
            }
            frames += 1;
            let line = status_line(&v);
            // Like `esphome logs`: a line when something changes, not ten a second.
            if line != last {
                let at = v["packet_timestamp_ms"].as_u64().unwrap_or(0);
                cli::print(&format!("[{}] {line}\n", Secs(at)))?;
                last = line;
            }
        }
        let _ = ws.close(None).await;
        Ok(())
    })
}

fn runtime() -> cli::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Io(format!("cannot start the network runtime: {e}")))
}

async fn connect(url: &str, token: Option<&str>) -> cli::Result<Ws> {
    let mut request = url
        .into_client_request()
        .map_err(|e| Failure::Io(format!("{url}: {e}")))?;
    let local = request.uri().host().is_some_and(|h| {
        h == "localhost"
            || h.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    let stored = match (token, local) {
        (None, true) => crate::server::token::read(&crate::server::default_state_dir())
            .ok()
            .flatten(),
        _ => None,
    };
    if let Some(t) = token.or(stored.as_deref()).filter(|t| !t.is_empty()) {
        let value = HeaderValue::from_str(&format!("Bearer {t}"))
            .map_err(|_| Failure::Io("--token: not a valid header value".into()))?;
        request.headers_mut().insert("authorization", value);
    }
    let (ws, _) = tokio::time::timeout(REPLY_TIMEOUT, tokio_tungstenite::connect_async(request))
        .await
        .map_err(|_| Failure::Io(format!("{url}: no answer within 10 s")))?
        .map_err(|e| Failure::Io(format!("{url}: {e}")))?;
    Ok(ws)
}

async fn next_text(ws: &mut Ws) -> cli::Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.to_string()),
            Some(Ok(Message::Close(frame))) => {
                let why = frame.map_or(String::new(), |f| format!(": {} {}", f.code, f.reason));
                return Err(Failure::Io(format!(
                    "the controller closed the connection{why}"
                )));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(Failure::Io(format!("connection: {e}"))),
            None => return Err(Failure::Io("the controller closed the connection".into())),
        }
    }
}

/// Sends a v2 command and waits for its reply (telemetry and the hello are skipped).
async fn ask(ws: &mut Ws, cmd: Value) -> cli::Result<Value> {
    let id = cmd["id"].clone();
    ws.send(Message::Text(cmd.to_string().into()))
        .await
        .map_err(|e| Failure::Io(format!("connection: {e}")))?;
    let wait = async {
        loop {
            let text = next_text(ws).await?;
            if let Ok(v) = serde_json::from_str::<Value>(&text)
                && v["type"] == "reply"
                && v["id"] == id
            {
                return Ok(v);
            }
        }
    };
    tokio::time::timeout(REPLY_TIMEOUT, wait)
        .await
        .map_err(|_| Failure::Io("no reply within 10 s".into()))?
}

fn error_text(reply: &Value) -> String {
    let e = &reply["error"];
    match e["path"].as_str() {
        Some(p) if !p.is_empty() => format!("{p}: {} ({})", e["message"], e["code"]),
        _ => format!("{} ({})", e["message"], e["code"]),
    }
}

/// One line for a telemetry frame or a status: what runs, which outputs are ON, the sensors.
fn status_line(t: &Value) -> String {
    let c = &t["cycle"];
    let state = match c["status"].as_str() {
        Some("running") | Some("paused") => format!(
            "{} phase {}/{} '{}' {} of {}",
            c["status"].as_str().unwrap_or("?"),
            c["current_phase_index"],
            c["total_phases"],
            c["current_phase_title"]
                .as_str()
                .or(c["current_phase_name"].as_str())
                .unwrap_or("?"),
            Secs(c["phase_elapsed_ms"].as_u64().unwrap_or(0) / 1000 * 1000),
            Secs(c["phase_total_duration_ms"].as_u64().unwrap_or(0)),
        ),
        _ => "idle".to_owned(),
    };
    let on: Vec<&str> = t["gpio"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["on"] == true)
        .filter_map(|g| g["name"].as_str())
        .collect();
    let fault = match c["fault"]["message"].as_str() {
        Some(m) => format!(", FAULT: {m}"),
        None => String::new(),
    };
    format!(
        "{state}; ON: {}{fault}",
        if on.is_empty() {
            "none".to_owned()
        } else {
            on.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_csv_fields() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_796_139_231), "2026-12-01 15:33 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(csv_field("Cotton 60"), "Cotton 60");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
