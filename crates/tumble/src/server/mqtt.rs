//! `tumble serve --mqtt mqtt://HOST:1883`: the controller on an MQTT broker, beside its
//! WebSocket, for a laundry of many washers (docs/mqtt.md). Under `PREFIX/ID/`:
//!
//! - `availability`: `online`, retained; the broker's last will says `offline` when the
//!   connection dies (a kill -9, a power cut);
//! - `state`: the telemetry frame, retained, at most every `--mqtt-telemetry-ms` (1 s);
//! - `events`: phase started / ended (and by what), cycle ended, as JSON;
//! - `command` (with `--mqtt-commands`): v2 commands, answered on `reply` (the same frames the
//!   WebSocket takes; access is the broker's ACLs' business, so commands are off by default).
//!
//! - `program` (retained): the library program the loaded cycle came from ("" for a cycle sent
//!   as a document); with `--mqtt-commands`, a program's name published to `program/set` loads
//!   it (`load_program`, replied on `reply`).
//!
//! Home Assistant finds the washer by MQTT discovery (`homeassistant/.../config`, retained):
//! status, phase, time left, water, drum speed, fault, each output, and with commands buttons
//! to start, pause, skip and stop and a select of the library's programs (published again
//! when the library changes). All of it runs on the network side: the controller thread
//! never waits for the broker; an unreachable broker is retried with a growing wait.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, Event, LastWill, MqttOptions, Packet, QoS, TlsConfiguration, Transport,
};
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;
use tumble_core::mqtt::{self, Washer};

use super::App;
use super::log;
use crate::cli::Failure;

/// `--mqtt` and its options.
#[derive(clap::Args, Clone, Debug)]
#[command(next_help_heading = "MQTT")]
pub struct Options {
    /// Publish to (and with --mqtt-commands take commands from) this MQTT broker:
    /// mqtt://[USER[:PASSWORD]@]HOST[:PORT] (plain TCP, port 1883) or mqtts://... (TLS, port
    /// 8883)
    #[arg(long, value_name = "URL", env = "TUMBLE_MQTT")]
    pub mqtt: Option<String>,
    /// With mqtts://: trust the broker's certificate if this CA (PEM) signed it, instead of
    /// the system's CAs
    #[arg(long, value_name = "CA.pem", env = "TUMBLE_MQTT_CA")]
    pub mqtt_ca: Option<std::path::PathBuf>,
    /// With mqtts://: this washer's certificate (PEM, its chain after it), for a broker that
    /// lets in only clients it knows (mosquitto's `require_certificate`); with --mqtt-key
    #[arg(
        long,
        value_name = "CERT.pem",
        env = "TUMBLE_MQTT_CERT",
        requires = "mqtt_key"
    )]
    pub mqtt_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) of --mqtt-cert
    #[arg(
        long,
        value_name = "KEY.pem",
        env = "TUMBLE_MQTT_KEY",
        requires = "mqtt_cert"
    )]
    pub mqtt_key: Option<std::path::PathBuf>,
    /// This washer's name on the broker (topics PREFIX/ID/..., the MQTT client id)
    #[arg(
        long,
        value_name = "ID",
        default_value = "washer",
        env = "TUMBLE_MQTT_ID"
    )]
    pub mqtt_id: String,
    /// The first level of every topic
    #[arg(
        long,
        value_name = "PREFIX",
        default_value = "tumble",
        env = "TUMBLE_MQTT_PREFIX"
    )]
    pub mqtt_prefix: String,
    /// Take v2 commands on PREFIX/ID/command (replies on PREFIX/ID/reply): who may publish
    /// there is the broker's ACLs' to decide
    #[arg(long, env = "TUMBLE_MQTT_COMMANDS")]
    pub mqtt_commands: bool,
    /// The state is published at most this often, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 1000, env = "TUMBLE_MQTT_TELEMETRY_MS",
          value_parser = clap::value_parser!(u64).range(100..))]
    pub mqtt_telemetry_ms: u64,
    /// Home Assistant's discovery prefix; "" turns discovery off
    #[arg(
        long,
        value_name = "PREFIX",
        default_value = "homeassistant",
        env = "TUMBLE_MQTT_DISCOVERY"
    )]
    pub mqtt_discovery: String,
}

/// Where a broker is, from `mqtt[s]://[user[:password]@]host[:port]`.
#[derive(Debug, PartialEq, Eq)]
struct Broker {
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
    /// mqtts://: TLS (rustls).
    tls: bool,
}

fn broker(url: &str) -> Result<Broker, String> {
    let (tls, rest) = match (url.strip_prefix("mqtt://"), url.strip_prefix("mqtts://")) {
        (Some(rest), _) => (false, rest),
        (None, Some(rest)) => (true, rest),
        (None, None) => {
            return Err(format!(
                "--mqtt {url}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
            ));
        }
    };
    let (credentials, hostport) = match rest.rsplit_once('@') {
        Some((cred, hp)) => {
            let (u, p) = cred.split_once(':').unwrap_or((cred, ""));
            (Some((u.to_owned(), p.to_owned())), hp)
        }
        None => (None, rest),
    };
    let hostport = hostport.trim_end_matches('/');
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse()
                .map_err(|_| format!("--mqtt {url}: bad port {p}"))?,
        ),
        None => (hostport, if tls { 8883 } else { 1883 }),
    };
    if host.is_empty() {
        return Err(format!("--mqtt {url}: no host"));
    }
    Ok(Broker {
        host: host.to_owned(),
        port,
        credentials,
        tls,
    })
}

/// The files mqtts:// reads, read at the start (a missing or broken one is a usage error,
/// named by its option) and again at each connection.
#[derive(Default)]
struct TlsFiles {
    /// The CA to trust (PEM), or None: the system's.
    ca: Option<Vec<u8>>,
    /// This washer's certificate chain and key (PEM), for a broker that asks for one.
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

fn read_file(option: &str, path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{option} {}: {e}", path.display()))
}

impl TlsFiles {
    fn read(a: &Options) -> Result<Self, String> {
        let ca = match &a.mqtt_ca {
            Some(path) => Some(read_file("--mqtt-ca", path)?),
            None => None,
        };
        let identity = match (&a.mqtt_cert, &a.mqtt_key) {
            (Some(cert), Some(key)) => Some((
                read_file("--mqtt-cert", cert)?,
                read_file("--mqtt-key", key)?,
            )),
            // clap lets neither come alone.
            _ => None,
        };
        Ok(TlsFiles { ca, identity })
    }

    /// TLS with rustls (ring): trusting the certificates of the CA, or the system's; with this
    /// washer's certificate when it has one. Errors name the option whose file is wrong.
    fn config(&self, a: &Options) -> Result<TlsConfiguration, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let named = |option: &str, path: &Option<std::path::PathBuf>, why: String| {
            let path = path.as_deref().unwrap_or(std::path::Path::new(""));
            format!("{option} {}: {why}", path.display())
        };
        let certs = |pem: &[u8]| -> Result<Vec<CertificateDer<'static>>, String> {
            let certs = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("not a PEM certificate ({e})"))?;
            match certs.is_empty() {
                true => Err("no certificate in it".into()),
                false => Ok(certs),
            }
        };
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca {
            Some(pem) => {
                for cert in certs(pem).map_err(|why| named("--mqtt-ca", &a.mqtt_ca, why))? {
                    roots.add(cert).map_err(|e| {
                        named(
                            "--mqtt-ca",
                            &a.mqtt_ca,
                            format!("a certificate refused ({e})"),
                        )
                    })?;
                }
            }
            // Unreadable ones are skipped: a broker they would have vouched for is refused, and
            // the connection retried, as for any broker the CAs do not know.
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        let config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = certs(cert).map_err(|why| named("--mqtt-cert", &a.mqtt_cert, why))?;
                let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| {
                    named(
                        "--mqtt-key",
                        &a.mqtt_key,
                        format!("no private key in it ({e})"),
                    )
                })?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    let path = |p: &Option<std::path::PathBuf>| {
                        let p = p.as_deref().unwrap_or(std::path::Path::new(""));
                        p.display().to_string()
                    };
                    let (cert, key) = (path(&a.mqtt_cert), path(&a.mqtt_key));
                    // rustls refuses an X.509 v1 certificate, or a key that is not the cert's.
                    format!("--mqtt-cert {cert} with --mqtt-key {key}: unusable ({e})")
                })?
            }
        };
        Ok(TlsConfiguration::Rustls(Arc::new(config)))
    }
}

/// Checks the options before the server starts (a bad URL is a usage error, not a retry loop).
pub fn check(a: &Options) -> Result<(), Failure> {
    if let Some(url) = &a.mqtt {
        let b = broker(url).map_err(Failure::Usage)?;
        for (given, option) in [
            (a.mqtt_ca.is_some(), "--mqtt-ca"),
            (a.mqtt_cert.is_some(), "--mqtt-cert"),
        ] {
            if given && !b.tls {
                return Err(Failure::Usage(format!(
                    "{option} is for an mqtts:// broker"
                )));
            }
        }
        if b.tls {
            let files = TlsFiles::read(a).map_err(Failure::Usage)?;
            // The system's CAs are read when connecting; here only the given files matter.
            if files.ca.is_some() || files.identity.is_some() {
                files.config(a).map_err(Failure::Usage)?;
            }
        }
    }
    if !mqtt::is_level(&a.mqtt_id) || !mqtt::is_level(&a.mqtt_prefix) {
        return Err(Failure::Usage(format!(
            "--mqtt-id and --mqtt-prefix: {}",
            mqtt::BAD_LEVEL
        )));
    }
    Ok(())
}

/// This washer's names on the broker; what is published under them is tumble_core::mqtt's.
struct Topics<'a>(Washer<'a>);

impl<'a> Topics<'a> {
    fn new(a: &'a Options) -> Self {
        Topics(Washer {
            id: &a.mqtt_id,
            prefix: &a.mqtt_prefix,
            discovery: &a.mqtt_discovery,
            commands: a.mqtt_commands,
            version: env!("CARGO_PKG_VERSION"),
        })
    }

    fn of(&self, leaf: &str) -> String {
        written(|s| self.0.write_topic(s, leaf))
    }
}

/// What `write` writes, as a String (writing into a String cannot fail).
fn written(write: impl FnOnce(&mut String) -> std::fmt::Result) -> String {
    let mut s = String::new();
    let _ = write(&mut s);
    s
}

/// Runs the MQTT side until the server stops: connects (and reconnects), publishes, answers.
pub async fn run(app: Arc<App>, a: Options, mut events: UnboundedReceiver<String>) {
    let Some(url) = a.mqtt.clone() else { return };
    let Ok(b) = broker(&url) else { return };
    let topics = Topics::new(&a);
    let mut opts = MqttOptions::new(a.mqtt_id.clone(), b.host.clone(), b.port);
    opts.set_keep_alive(Duration::from_secs(15));
    opts.set_last_will(LastWill::new(
        topics.of("availability"),
        "offline",
        QoS::AtLeastOnce,
        true,
    ));
    if let Some((u, p)) = &b.credentials {
        opts.set_credentials(u.clone(), p.clone());
    }
    if b.tls {
        // Checked at the start (`check`): it reads the same now.
        let Ok(config) = TlsFiles::read(&a).and_then(|files| files.config(&a)) else {
            return;
        };
        opts.set_transport(Transport::tls_with_config(config));
    }
    // Big enough for a cycle document in a command.
    opts.set_max_packet_size(512 * 1024, 512 * 1024);
    let (client, mut eventloop) = AsyncClient::new(opts, 64);
    let mut tick = tokio::time::interval(Duration::from_millis(a.mqtt_telemetry_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut telemetry = app.telemetry.clone();
    let mut wait = Duration::from_secs(1);
    let mut last_state: Option<Arc<str>> = None;
    // The program names and the loaded program last published (None: publish at connect).
    let mut known: Option<(Vec<String>, String)> = None;
    loop {
        tokio::select! {
            ev = eventloop.poll() => match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    wait = Duration::from_secs(1);
                    log::now('I', "mqtt", format_args!("connected to {}:{} as {}", b.host, b.port, a.mqtt_id));
                    announce(&client, &app, &a, &topics).await;
                    last_state = None;
                    known = None;
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.retain => {
                    // A command the broker kept would run again at every reconnection.
                    log::now('W', "mqtt", format_args!("a retained message on {} ignored: publish commands without retain", p.topic));
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topics.of("command") => {
                    let reply = super::commands::command(&app, &p.payload, &"mqtt", access_level()).await;
                    let _ = client.publish(topics.of("reply"), QoS::AtLeastOnce, false, reply).await;
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topics.of("program/set") => {
                    // Home Assistant's select sends the option as it is: the program's name.
                    let name = String::from_utf8_lossy(&p.payload);
                    let frame = json!({"cmd": "load_program", "id": "program/set", "name": name.trim()});
                    let reply = super::commands::command(&app, frame.to_string().as_bytes(), &"mqtt", access_level()).await;
                    let _ = client.publish(topics.of("reply"), QoS::AtLeastOnce, false, reply).await;
                }
                Ok(_) => {}
                Err(e) => {
                    log::now('W', "mqtt", format_args!("{}:{}: {e}; retrying in {} s", b.host, b.port, wait.as_secs()));
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            },
            _ = tick.tick() => {
                // The library and the loaded program, as Home Assistant's select shows them.
                let now = (programs(&app), loaded_program(&app));
                if known.as_ref() != Some(&now) {
                    if known.as_ref().is_none_or(|(names, _)| *names != now.0) {
                        announce_programs(&client, &a, &topics, &now.0).await;
                    }
                    let _ = client.try_publish(topics.of("program"), QoS::AtLeastOnce, true, now.1.clone());
                    known = Some(now);
                }
                let frame = telemetry.borrow_and_update().clone();
                if !frame.is_empty() && last_state.as_ref() != Some(&frame) {
                    // try_publish: a full queue (the broker is away) drops a state, never waits.
                    let _ = client.try_publish(topics.of("state"), QoS::AtMostOnce, true, frame.as_bytes().to_vec());
                    last_state = Some(frame);
                }
            }
            Some(event) = events.recv() => {
                let _ = client.try_publish(topics.of("events"), QoS::AtLeastOnce, false, event.into_bytes());
            }
        }
    }
}

/// MQTT commands have the broker's word for who sent them.
fn access_level() -> tumble_core::access::Access {
    tumble_core::access::Access::Control
}

/// After each connection: online, the command subscription, Home Assistant's discovery.
async fn announce(client: &AsyncClient, app: &App, a: &Options, topics: &Topics<'_>) {
    let _ = client
        .publish(topics.of("availability"), QoS::AtLeastOnce, true, "online")
        .await;
    if a.mqtt_commands {
        for leaf in ["command", "program/set"] {
            let _ = client.subscribe(topics.of(leaf), QoS::AtLeastOnce).await;
        }
    }
    if a.mqtt_discovery.is_empty() {
        return;
    }
    let washer = &topics.0;
    for entity in washer.entities(&app.board) {
        let topic = written(|s| washer.write_discovery_topic(s, &entity));
        let config = written(|s| washer.write_config(s, &entity));
        let _ = client.publish(topic, QoS::AtLeastOnce, true, config).await;
    }
}

/// The library's program names, in its order.
fn programs(app: &App) -> Vec<String> {
    use tumble_core::library::Programs;
    let mut names = Vec::new();
    let mut lib = app.programs.lock().unwrap_or_else(|e| e.into_inner());
    let _ = lib.list(&mut |name, _| names.push(name.to_owned()));
    names
}

/// The library program the loaded cycle came from, or "".
fn loaded_program(app: &App) -> String {
    let p = app.program.lock().unwrap_or_else(|e| e.into_inner());
    p.clone().unwrap_or_default()
}

/// Home Assistant's select of the programs (with commands and a library that is not empty;
/// an empty config removes it: Home Assistant wants at least one option).
async fn announce_programs(
    client: &AsyncClient,
    a: &Options,
    topics: &Topics<'_>,
    names: &[String],
) {
    if a.mqtt_discovery.is_empty() || !a.mqtt_commands {
        return;
    }
    let washer = &topics.0;
    let topic = written(|s| washer.write_program_select_topic(s));
    let config = match names.is_empty() {
        true => String::new(),
        false => written(|s| washer.write_program_select(s, names.iter().map(String::as_str))),
    };
    let _ = client.publish(topic, QoS::AtLeastOnce, true, config).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        o: Options,
    }

    fn opts(args: &[&str]) -> Options {
        use clap::Parser;
        Cli::parse_from([&["t"], args].concat()).o
    }

    fn usage(o: &Options) -> String {
        match check(o) {
            Err(Failure::Usage(why)) => why,
            Err(_) => panic!("not a usage error"),
            Ok(()) => panic!("accepted"),
        }
    }

    #[test]
    fn a_ca_is_for_mqtts_and_must_be_readable() {
        let missing = opts(&["--mqtt", "mqtts://b", "--mqtt-ca", "/nonexistent/ca.pem"]);
        assert!(
            usage(&missing).starts_with("--mqtt-ca /nonexistent/ca.pem: "),
            "{}",
            usage(&missing)
        );
        let junk = std::env::temp_dir().join(format!("tumble-junk-ca-{}.pem", std::process::id()));
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let junk_ca = opts(&["--mqtt", "mqtts://b", "--mqtt-ca", junk.to_str().unwrap()]);
        assert_eq!(
            usage(&junk_ca),
            format!("--mqtt-ca {}: no certificate in it", junk.display())
        );
        let _ = std::fs::remove_file(&junk);
        let plain = opts(&["--mqtt", "mqtt://b", "--mqtt-ca", "/nonexistent/ca.pem"]);
        assert_eq!(usage(&plain), "--mqtt-ca is for an mqtts:// broker");
        assert!(check(&opts(&["--mqtt", "mqtts://b"])).is_ok());
    }

    #[test]
    fn a_client_certificate_comes_with_its_key_for_mqtts_and_both_must_read() {
        use clap::Parser;
        let alone = Cli::try_parse_from(["t", "--mqtt", "mqtts://b", "--mqtt-cert", "c.pem"]);
        assert!(alone.is_err(), "--mqtt-cert without --mqtt-key");
        let alone = Cli::try_parse_from(["t", "--mqtt", "mqtts://b", "--mqtt-key", "k.pem"]);
        assert!(alone.is_err(), "--mqtt-key without --mqtt-cert");
        let pair = [
            "--mqtt-cert",
            "/nonexistent/c.pem",
            "--mqtt-key",
            "/nonexistent/k.pem",
        ];
        let plain = opts(&[&["--mqtt", "mqtt://b"][..], &pair].concat());
        assert_eq!(usage(&plain), "--mqtt-cert is for an mqtts:// broker");
        let missing = opts(&[&["--mqtt", "mqtts://b"][..], &pair].concat());
        assert!(
            usage(&missing).starts_with("--mqtt-cert /nonexistent/c.pem: "),
            "{}",
            usage(&missing)
        );
        let junk = std::env::temp_dir().join(format!("tumble-junk-id-{}.pem", std::process::id()));
        std::fs::write(&junk, "neither a certificate nor a key\n").unwrap();
        let j = junk.to_str().unwrap();
        let junk_both = opts(&["--mqtt", "mqtts://b", "--mqtt-cert", j, "--mqtt-key", j]);
        assert_eq!(
            usage(&junk_both),
            format!("--mqtt-cert {j}: no certificate in it")
        );
        let _ = std::fs::remove_file(&junk);
    }

    #[test]
    fn broker_urls() {
        assert_eq!(
            broker("mqtt://127.0.0.1:1884").unwrap(),
            Broker {
                host: "127.0.0.1".into(),
                port: 1884,
                credentials: None,
                tls: false
            }
        );
        assert_eq!(
            broker("mqtt://laundry:s3cret@broker.local").unwrap(),
            Broker {
                host: "broker.local".into(),
                port: 1883,
                credentials: Some(("laundry".into(), "s3cret".into())),
                tls: false
            }
        );
        assert_eq!(
            broker("mqtts://broker.local").unwrap(),
            Broker {
                host: "broker.local".into(),
                port: 8883,
                credentials: None,
                tls: true
            }
        );
        assert!(broker("tcp://x").unwrap_err().contains("expected mqtt://"));
        assert!(broker("mqtt://:1883").is_err());
        assert!(broker("mqtt://h:port").is_err());
    }
}
