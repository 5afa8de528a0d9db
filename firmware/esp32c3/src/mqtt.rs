//! MQTT on the chip (feature `mqtt`): the washer on a broker as `tumble serve --mqtt` puts it
//! there, the same topics and payloads (tumble-core's `mqtt`): its state (retained, every
//! second), `online`/`offline` with a last will, its phase and cycle events, Home Assistant's
//! discovery, and, with commands on, v2 commands on `PREFIX/ID/command` answered on
//! `PREFIX/ID/reply` under the WebSocket's rules (the same `commands::execute`).
//!
//! The broker is the build's (`TUMBLE_MQTT=mqtt://A.B.C.D[:PORT]`, see docs/mqtt.md). While
//! connected, the MQTT client is one of the WebSocket clients: it holds one of their buffers
//! (the TCP socket's buffers, the packet being read, the reply), so it costs no buffer of its
//! own; a fourth WebSocket then gets 1013. When the broker cannot be reached the controller,
//! its cycle and the WebSocket carry on, and this task retries every 1 s to 30 s.
//!
//! Thread mode, below the control loop; it never holds the controller lock but through
//! `commands::execute`, as a WebSocket client does.

use core::fmt::Write as _;
use core::ops::Range;

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

use crate::config::{HEADROOM, MQTT, VERSION};
use crate::log::{info, warning};
use crate::shared::Shared;

/// The slot buffer, cut up: the TCP socket's receive and transmit buffers, the packets being
/// read, and the rest for what is written (a frame and its reply, a config, a state).
const SOCKET_RX: usize = 1024;
const SOCKET_TX: usize = 1536;
const PACKETS: usize = 1536;
/// The MQTT keep-alive: the state goes out every second, so the link is never idle that long.
const KEEP_ALIVE_S: u16 = 30;

/// Notices on their way to `PREFIX/ID/events` (copies, from the telemetry task); dropped while
/// nothing is connected or when the broker is slower than the phases.
static EVENTS: Channel<CriticalSectionRawMutex, Named, 4> = Channel::new();

/// Hands a notice to the broker (called where the notices are logged).
pub fn event(n: &Named) {
    let _ = EVENTS.try_send(n.clone());
}

fn washer() -> Washer<'static> {
    Washer {
        id: MQTT.id,
        prefix: MQTT.prefix,
        discovery: MQTT.discovery,
        commands: MQTT.commands,
        version: VERSION,
    }
}

/// Starts the MQTT task when the build names a broker it can reach.
pub fn start(spawner: &embassy_executor::Spawner, stack: Stack<'static>, shared: &'static Shared) {
    if MQTT.url.is_empty() {
        return;
    }
    let broker = match Broker::parse(MQTT.url) {
        Ok(b) => b,
        Err(why) => {
            warning!("mqtt", "TUMBLE_MQTT {}: {why}; no MQTT", MQTT.url);
            return;
        }
    };
    let level = tumble_core::mqtt::is_level;
    if !level(MQTT.id) || !level(MQTT.prefix) {
        warning!(
            "mqtt",
            "TUMBLE_MQTT_ID and TUMBLE_MQTT_PREFIX: {}; no MQTT",
            tumble_core::mqtt::BAD_LEVEL
        );
        return;
    }
    spawner.spawn(run(stack, shared, broker).unwrap());
}

#[embassy_executor::task]
async fn run(stack: Stack<'static>, shared: &'static Shared, broker: Broker<'static>) {
    let [a, b, c, d] = broker.ip;
    let mut wait = Duration::from_secs(1);
    loop {
        stack.wait_config_up().await;
        let (slot, mut buf) = crate::net::take_slot().await;
        let started = Instant::now();
        let why = session(stack, shared, &broker, &mut buf[..]).await;
        drop(buf);
        info!("mqtt", "slot {} free", slot + 1);
        if started.elapsed() > Duration::from_secs(60) {
            wait = Duration::from_secs(1);
        }
        warning!(
            "mqtt",
            "{a}.{b}.{c}.{d}:{}: {why}; retrying in {} s",
            broker.port,
            wait.as_secs()
        );
        // Whatever happened meanwhile is not news when it comes back.
        EVENTS.clear();
        Timer::after(wait).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// One connection, until it fails: why.
async fn session(
    stack: Stack<'static>,
    shared: &'static Shared,
    broker: &Broker<'static>,
    buf: &mut [u8],
) -> &'static str {
    let (socket_rx, rest) = buf.split_at_mut(SOCKET_RX);
    let (socket_tx, rest) = rest.split_at_mut(SOCKET_TX);
    let (packets, work) = rest.split_at_mut(PACKETS);
    let mut socket = TcpSocket::new(stack, socket_rx, socket_tx);
    socket.set_timeout(Some(Duration::from_secs(u64::from(KEEP_ALIVE_S) * 2)));
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
        washer: washer(),
    };
    let why = link.serve(shared, broker).await;
    link.socket.abort();
    let _ = link.socket.flush().await;
    why
}

struct Link<'b> {
    socket: TcpSocket<'b>,
    packets: &'b mut [u8],
    fill: usize,
    work: &'b mut [u8],
    washer: Washer<'static>,
}

impl Link<'_> {
    async fn serve(&mut self, shared: &'static Shared, broker: &Broker<'static>) -> &'static str {
        let mut topic = heapless::String::<96>::new();
        let _ = self.washer.write_topic(&mut topic, "availability");
        let c = Connect {
            client_id: MQTT.id,
            keep_alive_s: KEEP_ALIVE_S,
            will: Some(Will {
                topic: &topic,
                payload: "offline",
            }),
            user: broker.user,
            password: broker.password,
        };
        let Ok(packet) = mqtt::connect(self.work, &c) else {
            return "the connect packet does not fit";
        };
        if self.send(packet).await.is_err() {
            return "the connection failed";
        }
        match self.next(Duration::from_secs(10)).await {
            Ok(Some(Incoming::ConnAck { code: 0 })) => {}
            Ok(Some(Incoming::ConnAck { code })) => return mqtt::refusal(code),
            Ok(_) => return "no answer to connect",
            Err(why) => return why,
        }
        info!("mqtt", "connected as {}", MQTT.id);
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
                    next_state += Duration::from_millis(MQTT.state_ms);
                    let n = crate::telemetry::copy_latest(self.work).await;
                    if n > 0 && self.publish_work(true, "state", 0..n).await.is_err() {
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
        if MQTT.commands {
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
            let mut head = [0u8; 128];
            let Ok(h) = mqtt::publish_head(
                &mut head,
                true,
                |t| washer.write_discovery_topic(t, &entity),
                len,
            ) else {
                continue;
            };
            self.send_from(&head, h).await.map_err(|_| failed)?;
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
                Ok(Some((Incoming::Publish { topic, payload }, used))) => {
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
        let mut head = [0u8; 128];
        let Ok(h) = mqtt::publish_head(
            &mut head,
            retain,
            |t| washer.write_topic(t, leaf),
            payload.len(),
        ) else {
            return Ok(());
        };
        self.send_from(&head, h).await?;
        self.send(payload).await
    }

    async fn send(&mut self, range: Range<usize>) -> Result<(), embassy_net::tcp::Error> {
        let mut at = range.start;
        while at < range.end {
            at += self.socket.write(&self.work[at..range.end]).await?;
        }
        Ok(())
    }

    async fn send_from(
        &mut self,
        buf: &[u8],
        range: Range<usize>,
    ) -> Result<(), embassy_net::tcp::Error> {
        let mut at = range.start;
        while at < range.end {
            at += self.socket.write(&buf[at..range.end]).await?;
        }
        Ok(())
    }

    /// The next packet within `timeout` (None: none came).
    async fn next(&mut self, timeout: Duration) -> Result<Option<Incoming<'_>>, &'static str> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((_, used)) = mqtt::read(&self.packets[..self.fill])
                .map_err(|_| "the broker sent something that is not MQTT")?
            {
                // Owned out of the buffer before it moves on: only CONNACK is asked for.
                let packet = match mqtt::read(&self.packets[..used]) {
                    Ok(Some((Incoming::ConnAck { code }, _))) => Incoming::ConnAck { code },
                    _ => Incoming::Other(0),
                };
                self.packets.copy_within(used..self.fill, 0);
                self.fill -= used;
                return Ok(Some(packet));
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
    let _ = w.write_str("");
    Some(w.len())
}
