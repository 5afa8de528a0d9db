//! `tumble serve --mqtt` against a real Mosquitto on loopback (Debian's `mosquitto`).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Server, needs, state_dir};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

const CYCLE: &str = r#"{"phases":[
    {"id":"fill","components":[{"compId":"Cold Valve","duration":60000}]},
    {"id":"wash","components":[{"compId":"Retractor","duration":60000}]},
    {"id":"drain","components":[{"compId":"Drain Pump","duration":60000}]}]}"#;

fn mosquitto_binary() -> Result<PathBuf, String> {
    ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| "no mosquitto (apt-get install mosquitto)".into())
}

struct Broker {
    child: Child,
    bin: PathBuf,
    conf: PathBuf,
    port: u16,
}

/// A free port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Broker {
    fn start(bin: PathBuf, dir: &Path) -> Broker {
        Self::start_with(bin, dir, "")
    }

    /// A broker with a plain listener (`port`) and `more` of its configuration.
    fn start_with(bin: PathBuf, dir: &Path, more: &str) -> Broker {
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "per_listener_settings false\nallow_anonymous true\npersistence true\npersistence_location {}/\nlistener {port} 127.0.0.1\n{more}",
                dir.display()
            ),
        )
        .unwrap();
        let child = Self::spawn(&bin, &conf);
        let b = Broker {
            child,
            bin,
            conf,
            port,
        };
        b.wait_listening();
        b
    }

    fn spawn(bin: &Path, conf: &Path) -> Child {
        Command::new(bin)
            .arg("-c")
            .arg(conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn wait_listening(&self) {
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("mosquitto did not start");
    }

    /// Stops it the way a service manager does (it saves its retained messages), starts again.
    fn restart(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        self.child = Self::spawn(&self.bin, &self.conf);
        self.wait_listening();
    }

    fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that keeps the last message of every topic it sees.
struct Watcher {
    client: AsyncClient,
    seen: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl Watcher {
    async fn start(port: u16, name: &str) -> Watcher {
        let mut opts = MqttOptions::new(name, "127.0.0.1", port);
        opts.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(opts, 64);
        let seen = Arc::new(Mutex::new(HashMap::<String, Vec<String>>::new()));
        let sink = seen.clone();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let text = String::from_utf8_lossy(&p.payload).into_owned();
                        sink.lock().unwrap().entry(p.topic).or_default().push(text);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        // Every washer's topics: a test that expects one to stay away sees it if it comes.
        for topic in ["tumble/#", "homeassistant/#"] {
            client.subscribe(topic, QoS::AtLeastOnce).await.unwrap();
        }
        Watcher { client, seen }
    }

    fn last(&self, topic: &str) -> Option<String> {
        self.seen.lock().unwrap().get(topic)?.last().cloned()
    }

    fn all(&self, topic: &str) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }

    fn topics(&self) -> Vec<String> {
        self.seen.lock().unwrap().keys().cloned().collect()
    }

    async fn until(&self, what: &str, f: impl Fn(&Self) -> bool) {
        for _ in 0..200 {
            if f(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: never came; seen {:?}", self.topics());
    }

    async fn command(&self, cmd: Value) {
        self.client
            .publish(
                "tumble/w1/command",
                QoS::AtLeastOnce,
                false,
                cmd.to_string(),
            )
            .await
            .unwrap();
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn serve(dir: &Path, broker: &Broker) -> Server {
    Server::start(
        dir,
        &[
            "--speed",
            "100",
            "--mqtt",
            &broker.url(),
            "--mqtt-id",
            "w1",
            "--mqtt-commands",
            "--mqtt-telemetry-ms",
            "200",
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_washer_on_a_real_broker_home_assistant_commands_and_its_last_will() {
    let Some(bin) = needs("Debian's mosquitto", mosquitto_binary()) else {
        return;
    };
    let dir = state_dir("mqtt");
    let mut broker = Broker::start(bin, &dir);
    let mut server = serve(&dir.join("washer"), &broker);
    let w = Watcher::start(broker.port, "test").await;
    w.until("online", |w| {
        w.last("tumble/w1/availability").as_deref() == Some("online")
    })
    .await;

    // Home Assistant's discovery: each entity with what its type requires.
    w.until("discovery", |w| {
        w.last("homeassistant/button/w1/stop/config").is_some()
    })
    .await;
    let status = json(&w.last("homeassistant/sensor/w1/status/config").unwrap());
    assert_eq!(status["state_topic"], "tumble/w1/state", "{status}");
    assert_eq!(status["availability_topic"], "tumble/w1/availability");
    assert_eq!(status["unique_id"], "tumble_w1_status");
    assert_eq!(status["device"]["identifiers"][0], "tumble_w1");
    for sensor in ["phase", "time_left", "water", "drum", "fault"] {
        let c = json(
            &w.last(&format!("homeassistant/sensor/w1/{sensor}/config"))
                .unwrap(),
        );
        assert!(
            c["value_template"]
                .as_str()
                .is_some_and(|t| t.contains("value_json")),
            "{c}"
        );
    }
    let outputs = w
        .topics()
        .into_iter()
        .filter(|t| t.starts_with("homeassistant/binary_sensor/w1/"))
        .count();
    assert_eq!(outputs, 8, "one binary sensor per output");
    let stop = json(&w.last("homeassistant/button/w1/stop/config").unwrap());
    assert_eq!(stop["command_topic"], "tumble/w1/command");
    assert_eq!(json(stop["payload_press"].as_str().unwrap())["cmd"], "stop");

    // The state, retained, at its rate.
    w.until("state", |w| w.last("tumble/w1/state").is_some())
        .await;
    assert_eq!(
        json(&w.last("tumble/w1/state").unwrap())["cycle"]["status"],
        "idle"
    );

    // Commands: the WebSocket's v2 frames, replies on the reply topic.
    let cycle: Value = serde_json::from_str(CYCLE).unwrap();
    w.command(json!({"cmd":"load_cycle","id":"l","cycle":cycle}))
        .await;
    w.until("load reply", |w| {
        w.all("tumble/w1/reply")
            .iter()
            .any(|r| json(r)["id"] == "l")
    })
    .await;
    w.command(json!({"cmd":"start","id":"s"})).await;
    w.until("start reply", |w| {
        w.all("tumble/w1/reply")
            .iter()
            .any(|r| json(r)["id"] == "s" && json(r)["ok"] == true)
    })
    .await;
    w.until("running", |w| {
        w.last("tumble/w1/state")
            .is_some_and(|s| json(&s)["cycle"]["status"] == "running")
    })
    .await;
    w.until("a phase event", |w| {
        w.all("tumble/w1/events")
            .iter()
            .any(|e| json(e)["event"] == "phase_started" && json(e)["name"] == "fill")
    })
    .await;

    // The library as Home Assistant's select: a program saved appears as an option, and the
    // option published to program/set loads it (stopping the run), named in program.
    w.command(json!({"cmd":"save_program","id":"p","name":"Quick Rinse","cycle":cycle}))
        .await;
    w.until("the program select, with the saved program", |w| {
        w.last("homeassistant/select/w1/program/config")
            .is_some_and(|c| json(&c)["options"] == json!(["Quick Rinse"]))
    })
    .await;
    let select = json(&w.last("homeassistant/select/w1/program/config").unwrap());
    assert_eq!(select["command_topic"], "tumble/w1/program/set", "{select}");
    assert_eq!(select["state_topic"], "tumble/w1/program");
    assert_eq!(select["device"]["identifiers"][0], "tumble_w1");
    w.client
        .publish(
            "tumble/w1/program/set",
            QoS::AtLeastOnce,
            false,
            "Quick Rinse",
        )
        .await
        .unwrap();
    w.until("the program loaded by its name", |w| {
        w.all("tumble/w1/reply")
            .iter()
            .any(|r| json(r)["id"] == "program/set" && json(r)["ok"] == true)
    })
    .await;
    w.until("the loaded program as the select's state", |w| {
        w.last("tumble/w1/program").as_deref() == Some("Quick Rinse")
    })
    .await;
    w.command(json!({"cmd":"start","id":"s2"})).await;
    w.until("started again", |w| {
        w.all("tumble/w1/reply")
            .iter()
            .any(|r| json(r)["id"] == "s2" && json(r)["ok"] == true)
    })
    .await;

    // The broker goes away and comes back: the washer reconnects, its cycle untouched.
    broker.restart();
    let w = Watcher::start(broker.port, "test-2").await;
    w.until("retained state across the broker's restart", |w| {
        w.last("tumble/w1/state").is_some()
    })
    .await;
    w.until("online again", |w| {
        w.last("tumble/w1/availability").as_deref() == Some("online")
    })
    .await;
    w.until("the same cycle, still running", |w| {
        w.last("tumble/w1/state").is_some_and(|s| {
            let s = json(&s);
            s["cycle"]["total_phases"] == 3 && s["cycle"]["status"] == "running"
        })
    })
    .await;

    // A command published retained is answered once, as it comes; the broker hands it out
    // again at the next connection, where it must not run again (see the washer's restart below).
    w.client
        .publish(
            "tumble/w1/command",
            QoS::AtLeastOnce,
            true,
            json!({"cmd":"get_status","id":"kept"}).to_string(),
        )
        .await
        .unwrap();
    w.until("the retained command answered as it came", |w| {
        w.all("tumble/w1/reply")
            .iter()
            .any(|r| json(r)["id"] == "kept")
    })
    .await;
    // A kill -9: the broker tells everyone, from the last will.
    server.kill();
    w.until("offline after kill -9", |w| {
        w.last("tumble/w1/availability").as_deref() == Some("offline")
    })
    .await;

    // The washer comes back: the broker hands it the retained command again, which must not
    // run again (a retained `start` would start the machine at every reconnection).
    let again = serve(&dir.join("washer"), &broker);
    assert!(
        again.wait_logged("a retained message on tumble/w1/command ignored"),
        "the retained command is not run again at the reconnection"
    );
    let replies = w.all("tumble/w1/reply");
    let kept = replies.iter().filter(|r| json(r)["id"] == "kept").count();
    assert_eq!(
        kept, 1,
        "no second reply to the retained command: {replies:?}"
    );
}

/// `openssl ARGS` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `NAME.key` and `NAME.pem` in `dir`: a key, and its certificate for `subject` with the
/// extension `ext`, signed by `dir`'s `ca.pem` for a day.
fn signed(dir: &Path, name: &str, subject: &str, ext: &str) {
    let file = |suffix: &str| format!("{name}.{suffix}");
    std::fs::write(dir.join(file("ext")), format!("{ext}\n")).unwrap();
    let (key, csr, pem, extfile) = (file("key"), file("csr"), file("pem"), file("ext"));
    openssl(
        dir,
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subject,
        ],
    );
    let ca = [
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
    ];
    let sign = [
        "x509", "-req", "-in", &csr, "-out", &pem, "-extfile", &extfile,
    ];
    openssl(dir, &[&sign[..], &ca].concat());
    // Started as root, mosquitto reads its files as the user `mosquitto`: a test key may be
    // read by anyone.
    use std::os::unix::fs::PermissionsExt;
    let anyone = std::fs::Permissions::from_mode(0o644);
    std::fs::set_permissions(dir.join(&key), anyone).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_washer_on_a_tls_listener_trusts_its_ca_and_nothing_else_and_shows_its_certificate_where_asked()
 {
    let Some(bin) = needs("Debian's mosquitto", mosquitto_binary()) else {
        return;
    };
    let have_openssl = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if needs(
        "the openssl command",
        if have_openssl {
            Ok(())
        } else {
            Err("no openssl (apt-get install openssl)".to_string())
        },
    )
    .is_none()
    {
        return;
    }
    let dir = state_dir("mqtts");
    // A CA made here.
    let one_day = ["-days", "1"];
    openssl(
        &dir,
        &[
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=tumble test CA",
            ][..],
            &one_day,
        ]
        .concat(),
    );
    // The broker's certificate for 127.0.0.1, and a washer's own for the listener that asks for
    // one (extensions make it X.509 v3, which rustls requires), both signed by that CA.
    signed(
        &dir,
        "broker",
        "/CN=127.0.0.1",
        "subjectAltName=IP:127.0.0.1",
    );
    signed(&dir, "washer", "/CN=w3", "extendedKeyUsage=clientAuth");
    let (tls, mutual) = (free_port(), free_port());
    let listener = |port: u16| {
        format!(
            "listener {port} 127.0.0.1\ncafile {0}/ca.pem\ncertfile {0}/broker.pem\nkeyfile {0}/broker.key\n",
            dir.display()
        )
    };
    let broker = Broker::start_with(
        bin,
        &dir,
        &format!(
            "{}{}require_certificate true\n",
            listener(tls),
            listener(mutual)
        ),
    );
    let w = Watcher::start(broker.port, "tls-watch").await;
    let url = format!("mqtts://127.0.0.1:{tls}");
    let ca = dir.join("ca.pem");
    let _trusting = Server::start(
        &dir.join("w1"),
        &[
            "--mqtt",
            &url,
            "--mqtt-ca",
            ca.to_str().unwrap(),
            "--mqtt-id",
            "w1",
        ],
    );
    // The system's CAs do not know this one: that washer never gets in, and says why.
    let doubting = Server::start(&dir.join("w2"), &["--mqtt", &url, "--mqtt-id", "w2"]);
    w.until("online over TLS, with the CA", |w| {
        w.last("tumble/w1/availability").as_deref() == Some("online")
            && w.last("tumble/w1/state").is_some()
    })
    .await;
    assert!(
        doubting.wait_logged("retrying in"),
        "the untrusted broker is retried"
    );
    assert_eq!(w.last("tumble/w2/availability"), None, "{:?}", w.topics());

    // A listener that lets in only the certificates its CA signed.
    let mutual_url = format!("mqtts://127.0.0.1:{mutual}");
    let (cert, key) = (dir.join("washer.pem"), dir.join("washer.key"));
    let _known = Server::start(
        &dir.join("w3"),
        &[
            "--mqtt",
            &mutual_url,
            "--mqtt-ca",
            ca.to_str().unwrap(),
            "--mqtt-cert",
            cert.to_str().unwrap(),
            "--mqtt-key",
            key.to_str().unwrap(),
            "--mqtt-id",
            "w3",
        ],
    );
    let stranger = Server::start(
        &dir.join("w4"),
        &[
            "--mqtt",
            &mutual_url,
            "--mqtt-ca",
            ca.to_str().unwrap(),
            "--mqtt-id",
            "w4",
        ],
    );
    w.until("online with its certificate", |w| {
        w.last("tumble/w3/availability").as_deref() == Some("online")
            && w.last("tumble/w3/state").is_some()
    })
    .await;
    assert!(
        stranger.wait_logged("retrying in"),
        "a washer without a certificate is retried"
    );
    assert_eq!(w.last("tumble/w4/availability"), None, "{:?}", w.topics());
}
