//! `tumble fleet`: many simulated washers on one MQTT broker, for demos and load tests. Each is
//! a `tumble serve` process of its own (its own port, state directory, token and MQTT id,
//! `washer-1`...), as a laundry's controllers would be; Ctrl-C stops them all (each stops its
//! cycle, every output OFF, and says `offline`).

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cli::{self, Failure};

/// `tumble fleet`.
#[derive(clap::Args)]
pub struct Args {
    /// How many washers
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u16).range(1..=500))]
    washers: u16,
    /// The broker, as `tumble serve --mqtt`
    #[arg(long, value_name = "URL")]
    mqtt: String,
    /// Each washer takes v2 commands on tumble/washer-N/command
    #[arg(long)]
    mqtt_commands: bool,
    /// Their state every this many milliseconds
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    mqtt_telemetry_ms: u64,
    /// Run the washers' clocks this many times faster than real time
    #[arg(long, value_name = "X", value_parser = cli::speed, default_value_t = 1.0)]
    speed: f64,
    /// The first washer's page and WebSocket port; the next ones count up
    #[arg(long, value_name = "PORT", default_value_t = 8100)]
    base_port: u16,
    /// Where the washers keep their state, one folder each [default: a folder in the system's
    /// temporary directory]
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

pub fn run(a: Args) -> cli::Result {
    let exe =
        std::env::current_exe().map_err(|e| Failure::Io(format!("cannot find myself: {e}")))?;
    let dir = a
        .state_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("tumble-fleet"));
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .map_err(|e| Failure::Io(format!("cannot catch Ctrl-C: {e}")))?;
    let mut washers: Vec<Child> = Vec::new();
    for i in 1..=a.washers {
        let id = format!("washer-{i}");
        let port = a
            .base_port
            .checked_add(i - 1)
            .ok_or_else(|| Failure::Usage("--base-port + --washers is past port 65535".into()))?;
        let mut cmd = Command::new(&exe);
        cmd.args([
            "serve",
            "--port",
            &port.to_string(),
            "--mqtt",
            &a.mqtt,
            "--mqtt-id",
            &id,
        ])
        .arg("--state-dir")
        .arg(dir.join(&id))
        .args(["--speed", &a.speed.to_string()])
        .args(["--mqtt-telemetry-ms", &a.mqtt_telemetry_ms.to_string()]);
        if a.mqtt_commands {
            cmd.arg("--mqtt-commands");
        }
        match cmd.spawn() {
            Ok(child) => washers.push(child),
            Err(e) => {
                stop_all(&mut washers);
                return Err(Failure::Io(format!("cannot start {id}: {e}")));
            }
        }
    }
    eprintln!(
        "{} washers on {} (ports {}..{}, state in {}); Ctrl-C stops them all",
        a.washers,
        a.mqtt,
        a.base_port,
        a.base_port + a.washers - 1,
        dir.display()
    );
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        if let Some(i) = washers
            .iter_mut()
            .position(|c| c.try_wait().is_ok_and(|s| s.is_some()))
        {
            stop_all(&mut washers);
            return Err(Failure::Io(format!("washer-{} stopped by itself", i + 1)));
        }
    }
    stop_all(&mut washers);
    Ok(())
}

/// SIGTERM to each, as a service manager would: each stops its cycle and goes offline.
fn stop_all(washers: &mut [Child]) {
    for c in washers.iter() {
        let _ = Command::new("kill").arg(c.id().to_string()).status();
    }
    for c in washers.iter_mut() {
        let _ = c.wait();
    }
}
