//! MQTT on the chip (feature `mqtt`): the washer on a broker as `tumble serve --mqtt` puts it
//! there, the same topics and payloads (tumble-core's `mqtt`): its state (retained, every
//! second), `online`/`offline` with a last will, its phase and cycle events, Home Assistant's
//! discovery, and, with commands on, v2 commands on `PREFIX/ID/command` answered on
//! `PREFIX/ID/reply` under the WebSocket's rules (the same `commands::execute`).
//!
//! The broker is set on the console (`{"cmd":"set_mqtt","url":"mqtt://A.B.C.D",...}`, stored
//! in flash like the Wi-Fi credentials) or at build time (`TUMBLE_MQTT=...`); see docs/mqtt.md.
//! A new broker applies at once: the connection starts over. While
//! connected, the MQTT client is one of the WebSocket clients: it holds one of their buffers
//! (the TCP socket's buffers, the packet being read, the reply), so it costs no buffer of its
//! own; a fourth WebSocket then gets 1013. When the broker cannot be reached the controller,
//! its cycle and the WebSocket carry on, and this task retries every 1 s to 30 s.
//!
//! Thread mode, below the control loop; it never holds the controller lock but through
//! `commands::execute`, as a WebSocket client does.

use core::cell::RefCell;
use core::ops::Range;

use critical_section::Mutex as CsMutex;
use embassy_sync::signal::Signal;
use tumble_fw_logic::local::{self, Local};
use tumble_fw_logic::record::{self, MAX_URL, MAX_WASHER};

use embassy_futures::select::{Either3, select3};
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpAddress, Stack};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_time::{Duration, Instant, Timer};
use tumble_core::access::Access;
use tumble_core::json::Object;
use tumble_core::logline::Named;
use tumble_core::mqtt::Washer;
use tumble_core::protocol;
use tumble_fw_logic::mqtt::{self, Broker, Connect, Incoming, Will};
use tumble_fw_logic::writer::SliceWriter;

use crate::config::{CLIENT_BUF, HEADROOM, MQTT, VERSION};
use crate::log::{info, warning};
use crate::shared::Shared;

/// The slot buffer, cut up: the TCP socket's receive and transmit buffers, the packets being
/// read, and the rest for what is written (a frame and its reply, a config, a state).
const SOCKET_RX: usize = 1024;
const SOCKET_TX: usize = 768;
const PACKETS: usize = 1024;
/// The work area holds a `load_program` as a WebSocket's buffer does: its frame, the reply's
/// room and the library's largest item, which the map reads every item it walks past into.
const _: () = assert!(
    CLIENT_BUF - SOCKET_RX - SOCKET_TX - PACKETS
        >= HEADROOM
            + 128
            + tumble_fw_logic::session::MIN_REPLY
            + tumble_fw_logic::programs::MAX_ITEM
);
/// A publish's head: the topic (at most `homeassistant/binary_sensor/` and a 32-byte washer id
/// and `/output_19/config`, 77 bytes) after the fixed header and its length.
const HEAD: usize = 96;
/// The MQTT keep-alive: the state goes out every second, so the link is never idle that long.
const KEEP_ALIVE_S: u16 = 30;

/// Notices on their way to `PREFIX/ID/events` (copies, from the telemetry task, 170 bytes
/// each); dropped while nothing is connected or when the broker is slower than the phases.
/// Three: an instant gives at most a phase's end, the next one's start, and the cycle's end.
static EVENTS: Channel<CriticalSectionRawMutex, Named, 3> = Channel::new();

/// Hands a notice to the broker (called where the notices are logged).
pub fn event(n: &Named) {
    let _ = EVENTS.try_send(n.clone());
}

/// The broker in use: the console's (stored) over the build's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    url: heapless::String<MAX_URL>,
    washer: heapless::String<MAX_WASHER>,
    commands: bool,
}

impl Settings {
    fn built_in() -> Option<Self> {
        (!MQTT.url.is_empty()).then(|| Settings {
            url: MQTT.url.try_into().unwrap_or_default(),
            washer: MQTT.id.try_into().unwrap_or_default(),
            commands: MQTT.commands,
        })
    }

    fn washer(&self) -> Washer<'_> {
        Washer {
            id: &self.washer,
            prefix: MQTT.prefix,
            discovery: MQTT.discovery,
            commands: self.commands,
            version: VERSION,
        }
    }
}

static CURRENT: CsMutex<RefCell<Option<Settings>>> = CsMutex::new(RefCell::new(None));
/// The broker changed: the task connects to the new one.
static CHANGED: Signal<CriticalSectionRawMutex, ()> = Signal::new();

fn current() -> Option<Settings> {
    critical_section::with(|cs| CURRENT.borrow_ref(cs).clone())
}

fn set_current(s: Option<Settings>) {
    critical_section::with(|cs| *CURRENT.borrow_ref_mut(cs) = s);
    CHANGED.signal(());
}

/// At boot: the stored broker (a stored empty URL means "none stored"), else the build's.
pub fn init(stored: Option<&[u8]>) {
    let stored = stored
        .and_then(|p| record::decode_mqtt(p).ok())
        .filter(|m| !m.url.is_empty())
        .and_then(|m| {
            Some(Settings {
                url: m.url.try_into().ok()?,
                washer: m.washer.try_into().ok()?,
                commands: m.commands,
            })
        });
    // Not logged here: the boot log's queue is short (the task says where it connects).
    let settings = stored.or_else(Settings::built_in);
    critical_section::with(|cs| *CURRENT.borrow_ref_mut(cs) = settings);
}

/// The record payload of the broker in use (see `wifi_settings::Setting`): the clearing record
/// when it is the build's.
pub fn payload(out: &mut [u8]) -> Option<usize> {
    let s = current().filter(|s| Settings::built_in().as_ref() != Some(s));
    let m = s.as_ref().map_or(
        record::MqttSettings {
            url: "",
            washer: "",
            commands: false,
        },
        |s| record::MqttSettings {
            url: &s.url,
            washer: &s.washer,
            commands: s.commands,
        },
    );
    record::encode_mqtt(&m, out).ok()
}

/// `set_mqtt` and `clear_mqtt` from the console: applied at once, stored as the Wi-Fi
/// credentials are. The reply shows the broker now in use.
pub async fn handle(shared: &Shared, cmd: Local<'_>, w: &mut impl core::fmt::Write) {
    let id = match cmd {
        Local::SetMqtt {
            id,
            url,
            washer,
            commands,
        } => {
            set_current(Some(Settings {
                url,
                washer,
                commands,
            }));
            id
        }
        Local::ClearMqtt { id } => {
            set_current(Settings::built_in());
            id
        }
        _ => return,
    };
    let saved = crate::wifi_settings::persist(shared, crate::wifi_settings::Setting::Mqtt).await;
    let shown = current();
    let (url, washer, commands) = shown.as_ref().map_or(("", "", false), |s| {
        (s.url.as_str(), s.washer.as_str(), s.commands)
    });
    match saved {
        Ok(saved) => {
            let _ = local::write_mqtt_ok(w, id, url, washer, commands, saved);
        }
        Err(why) => crate::wifi_settings::write_not_stored(w, id, why),
    }
}

/// Starts the MQTT task; it connects whenever a broker is set (on the console or at build time).
pub fn start(spawner: &embassy_executor::Spawner, stack: Stack<'static>, shared: &'static Shared) {
    let level = tumble_core::mqtt::is_level;
    if !level(MQTT.id) || !level(MQTT.prefix) || MQTT.id.len() > MAX_WASHER {
        warning!(
            "mqtt",
            "TUMBLE_MQTT_ID and TUMBLE_MQTT_PREFIX: {}; no MQTT",
            tumble_core::mqtt::BAD_LEVEL
        );
        return;
    }
    spawner.spawn(run(stack, shared).unwrap());
}

#[embassy_executor::task]
async fn run(stack: Stack<'static>, shared: &'static Shared) {
    let mut wait = Duration::from_secs(1);
    loop {
        CHANGED.reset();
        let Some(settings) = current() else {
            CHANGED.wait().await;
            continue;
        };
        let broker = match Broker::parse(&settings.url) {
            Ok(b) => b,
            Err(why) => {
                // Not the URL itself: one the parser could not read may hide a password.
                warning!("mqtt", "the broker's URL: {why}; set another with set_mqtt");
                CHANGED.wait().await;
                continue;
            }
        };
        stack.wait_config_up().await;
        info!(
            "mqtt",
            "connecting to {} as {}",
            local::hide_password(&settings.url),
            settings.washer
        );
        let (slot, mut buf) = crate::net::take_slot().await;
        let started = Instant::now();
        let (socket_rx, rest) = buf.split_at_mut(SOCKET_RX);
        let (socket_tx, rest) = rest.split_at_mut(SOCKET_TX);
        let (packets, work) = rest.split_at_mut(PACKETS);
        let mut socket = TcpSocket::new(stack, socket_rx, socket_tx);
        socket.set_timeout(Some(Duration::from_secs(u64::from(KEEP_ALIVE_S) * 2)));
        let ended = embassy_futures::select::select(
            session(&mut socket, packets, work, shared, &broker, &settings),
            CHANGED.wait(),
        )
        .await;
        // A reset, so that the broker lets the washer go at once (and publishes its will).
        socket.abort();
        let rst = socket.flush();
        let _ = embassy_futures::select::select(rst, Timer::after(Duration::from_secs(2))).await;
        drop(socket);
        drop(buf);
        let [a, b, c, d] = broker.ip;
        let why = match ended {
            embassy_futures::select::Either::First(why) => why,
            embassy_futures::select::Either::Second(()) => {
                info!(
                    "mqtt",
                    "the broker changed: leaving {a}.{b}.{c}.{d}:{} (slot {} free)",
                    broker.port,
                    slot + 1
                );
                wait = Duration::from_secs(1);
                continue;
            }
        };
        if started.elapsed() > Duration::from_secs(60) {
            wait = Duration::from_secs(1);
        }
        warning!(
            "mqtt",
            "{a}.{b}.{c}.{d}:{}: {why}; retrying in {} s",
            broker.port,
            wait.as_secs()
        );
        // A new broker need not wait for the retry.
        let _ = embassy_futures::select::select(Timer::after(wait), CHANGED.wait()).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// One connection on `socket`, until it fails: why.
async fn session(
    socket: &mut TcpSocket<'_>,
    packets: &mut [u8],
    work: &mut [u8],
    shared: &'static Shared,
    broker: &Broker<'_>,
    settings: &Settings,
) -> &'static str {
    let [a, b, c, d] = broker.ip;
    let remote = (IpAddress::v4(a, b, c, d), broker.port);
    if socket.connect(remote).await.is_err() {
        return "cannot connect";
    }
    let mut link = Link {
        socket,
        packets,
        fill: 0,
        work,
        washer: settings.washer(),
    };
    link.serve(shared, broker).await
}

struct Link<'s, 'b, 'w> {
    socket: &'s mut TcpSocket<'b>,
    packets: &'s mut [u8],
    fill: usize,
    work: &'s mut [u8],
    washer: Washer<'w>,
}

impl Link<'_, '_, '_> {
    async fn serve(&mut self, shared: &'static Shared, broker: &Broker<'_>) -> &'static str {
        // In a block of its own: the topic is not kept in the task's future past the packet.
        let packet = {
            let mut topic = heapless::String::<HEAD>::new();
            let _ = self.washer.write_topic(&mut topic, "availability");
            let c = Connect {
                client_id: self.washer.id,
                keep_alive_s: KEEP_ALIVE_S,
                will: Some(Will {
                    topic: &topic,
                    payload: "offline",
                }),
                user: broker.user,
                password: broker.password,
            };
            mqtt::connect(self.work, &c)
        };
        let Ok(packet) = packet else {
            return "the connect packet does not fit";
        };
        if self.send(packet).await.is_err() {
            return "the connection failed";
        }
        match self.connack(Duration::from_secs(10)).await {
            Ok(Some(0)) => {}
            Ok(Some(code)) => return mqtt::refusal(code),
            Ok(None) => return "no answer to connect",
            Err(why) => return why,
        }
        info!("mqtt", "connected as {}", self.washer.id);
        // What happened while nothing was connected is not news now.
        EVENTS.clear();
        if let Err(why) = self.announce(shared).await {
            return why;
        }
        let mut next_state = Instant::now();
        loop {
            let read = self.socket.read(&mut self.packets[self.fill..]);
            match select3(read, Timer::at(next_state), EVENTS.receive()).await {
                Either3::First(Ok(0)) | Either3::First(Err(_)) => {
                    return "the broker closed the connection";
                }
                Either3::First(Ok(n)) => {
                    self.fill += n;
                    if let Err(why) = self.received(shared).await {
                        return why;
                    }
                }
                Either3::Second(()) => {
                    // On the clock: a send that was held up does not make a burst of states.
                    next_state =
                        (next_state + Duration::from_millis(MQTT.state_ms)).max(Instant::now());
                    let n = crate::telemetry::copy_latest(self.work).await;
                    let sent = match n {
                        // No frame (none yet, or too large): the keep-alive still goes out.
                        0 => write_all(self.socket, &mqtt::PINGREQ).await,
                        n => self.publish_work(true, "state", 0..n).await,
                    };
                    if sent.is_err() {
                        return "the connection failed";
                    }
                }
                Either3::Third(n) => {
                    let mut w = SliceWriter::new(self.work);
                    let written = tumble_core::mqtt::write_event(&mut w, &n).is_ok();
                    let len = w.len();
                    if written && self.publish_work(false, "events", 0..len).await.is_err() {
                        return "the connection failed";
                    }
                }
            }
        }
    }

    /// `online`, the subscriptions, Home Assistant's discovery.
    async fn announce(&mut self, shared: &'static Shared) -> Result<(), &'static str> {
        let failed = "the connection failed";
        self.work[..6].copy_from_slice(b"online");
        self.publish_work(true, "availability", 0..6)
            .await
            .map_err(|_| failed)?;
        if self.washer.commands {
            for (id, leaf) in [(1, "command"), (2, "program/set")] {
                let w = self.washer;
                let packet = mqtt::subscribe(self.work, id, |t| w.write_topic(t, leaf))
                    .map_err(|_| "a subscription does not fit")?;
                self.send(packet).await.map_err(|_| failed)?;
            }
        }
        if self.washer.discovery.is_empty() {
            return Ok(());
        }
        for entity in self.washer.entities(&shared.board) {
            let mut w = SliceWriter::new(self.work);
            if self.washer.write_config(&mut w, &entity).is_err() {
                continue; // cannot happen: a config is a few hundred bytes
            }
            let len = w.len();
            let washer = self.washer;
            let mut head = [0u8; HEAD];
            let Ok(h) = mqtt::publish_head(
                &mut head,
                true,
                |t| washer.write_discovery_topic(t, &entity),
                len,
            ) else {
                continue;
            };
            write_all(self.socket, &head[h]).await.map_err(|_| failed)?;
            self.send(0..len).await.map_err(|_| failed)?;
        }
        Ok(())
    }

    /// Acts on every whole packet received.
    async fn received(&mut self, shared: &'static Shared) -> Result<(), &'static str> {
        loop {
            let (used, command) = match mqtt::read(&self.packets[..self.fill]) {
                Err(_) => return Err("the broker sent something that is not MQTT"),
                Ok(None) if self.fill == self.packets.len() => {
                    // A message larger than the chip takes (a cycle document): refused, and
                    // the connection started over, since its rest cannot be told from what
                    // follows it.
                    self.refuse_large().await;
                    return Err("a message larger than the chip takes");
                }
                Ok(None) => return Ok(()),
                Ok(Some((Incoming::Publish { retained: true, .. }, used))) => {
                    // A command kept by the broker would run again at every reconnection.
                    warning!(
                        "mqtt",
                        "a retained command message ignored: publish commands without retain"
                    );
                    (used, None)
                }
                Ok(Some((Incoming::Publish { topic, payload, .. }, used))) => {
                    let leaf = topic
                        .strip_prefix(self.washer.prefix)
                        .and_then(|t| t.strip_prefix('/'))
                        .and_then(|t| t.strip_prefix(self.washer.id))
                        .and_then(|t| t.strip_prefix('/'));
                    let len = match leaf {
                        Some("command") => copy_frame(self.work, payload),
                        Some("program/set") => program_frame(self.work, payload),
                        _ => None,
                    };
                    (used, len)
                }
                Ok(Some((Incoming::SubAck { granted: 0x80, .. }, used))) => {
                    warning!("mqtt", "the broker refused a subscription");
                    (used, None)
                }
                Ok(Some((_, used))) => (used, None),
            };
            self.packets.copy_within(used..self.fill, 0);
            self.fill -= used;
            if let Some(len) = command {
                let reply =
                    crate::commands::execute(shared, self.work, len, "mqtt", Access::Control).await;
                self.publish_work(false, "reply", reply)
                    .await
                    .map_err(|_| "the connection failed")?;
            }
        }
    }

    /// `too_large` on the reply topic, for a message the packet buffer cannot hold.
    async fn refuse_large(&mut self) {
        let mut w = SliceWriter::new(self.work);
        let msg = format_args!(
            "a message of more than {PACKETS} bytes is larger than this controller takes over MQTT"
        );
        if protocol::write_v2_error(&mut w, None, "too_large", msg, "").is_ok() {
            let len = w.len();
            let _ = self.publish_work(false, "reply", 0..len).await;
        }
    }

    /// PUBLISH of `self.work[payload]` on `PREFIX/ID/leaf`.
    async fn publish_work(
        &mut self,
        retain: bool,
        leaf: &str,
        payload: Range<usize>,
    ) -> Result<(), embassy_net::tcp::Error> {
        let washer = self.washer;
        let mut head = [0u8; HEAD];
        let Ok(h) = mqtt::publish_head(
            &mut head,
            retain,
            |t| washer.write_topic(t, leaf),
            payload.len(),
        ) else {
            return Ok(());
        };
        write_all(self.socket, &head[h]).await?;
        self.send(payload).await
    }

    /// `self.work[range]` to the broker.
    async fn send(&mut self, range: Range<usize>) -> Result<(), embassy_net::tcp::Error> {
        write_all(self.socket, &self.work[range]).await
    }

    /// The return code of the broker's CONNACK, if it is the first packet within `timeout`.
    async fn connack(&mut self, timeout: Duration) -> Result<Option<u8>, &'static str> {
        let deadline = Instant::now() + timeout;
        loop {
            let first = mqtt::read(&self.packets[..self.fill])
                .map_err(|_| "the broker sent something that is not MQTT")?
                .map(|(packet, used)| match packet {
                    Incoming::ConnAck { code } => (Some(code), used),
                    _ => (None, used),
                });
            if let Some((code, used)) = first {
                self.packets.copy_within(used..self.fill, 0);
                self.fill -= used;
                return Ok(code);
            }
            let read = self.socket.read(&mut self.packets[self.fill..]);
            match embassy_futures::select::select(read, Timer::at(deadline)).await {
                embassy_futures::select::Either::First(Ok(n)) if n > 0 => self.fill += n,
                embassy_futures::select::Either::First(_) => {
                    return Err("the broker closed the connection");
                }
                embassy_futures::select::Either::Second(()) => return Ok(None),
            }
        }
    }
}

/// A command's frame into `work` after its headroom, as `commands::execute` reads it: its
/// length (None: it does not fit with room for a reply).
fn copy_frame(work: &mut [u8], payload: &[u8]) -> Option<usize> {
    let room = work.len().checked_sub(HEADROOM + 1024)?;
    if payload.len() > room {
        return None;
    }
    work[HEADROOM..HEADROOM + payload.len()].copy_from_slice(payload);
    Some(payload.len())
}

/// A program name from Home Assistant's select, as the `load_program` it asks for.
fn program_frame(work: &mut [u8], payload: &[u8]) -> Option<usize> {
    let name = core::str::from_utf8(payload).ok()?.trim();
    let (_, frame) = work.split_at_mut(HEADROOM);
    let mut w = SliceWriter::new(&mut frame[..512]);
    let mut o = Object::open(&mut w).ok()?;
    o.field("cmd", "load_program")
        .and_then(|o| o.field("id", "program/set"))
        .and_then(|o| o.field("name", name))
        .ok()?;
    o.close().ok()?;
    Some(w.len())
}

/// All of `bytes` to the broker.
async fn write_all(
    socket: &mut TcpSocket<'_>,
    bytes: &[u8],
) -> Result<(), embassy_net::tcp::Error> {
    let mut at = 0;
    while at < bytes.len() {
        at += socket.write(&bytes[at..]).await?;
    }
    Ok(())
}
