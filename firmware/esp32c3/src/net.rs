//! HTTP on port 8080 and the WebSocket at `/ws`, speaking tumble-core's protocol (v1 and v2)
//! exactly as `tumble serve` does: the hello on connect, one reply per frame, telemetry every
//! 100 ms, the token and Origin rules, `too_large` for frames over the chip's limit. The link
//! under it is the build's: the Wi-Fi station (`wifi.rs`) or the emulator's Ethernet MAC
//! (`emu.rs`); both hand this module an embassy-net stack with DHCP.

use core::str;

use core::cell::RefCell;
use embassy_executor::Spawner;
use embassy_net::driver::Driver;
use embassy_net::{Runner as NetRunner, Stack, StackResources};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_time::Duration;
use picoserve::extract::FromRequestParts;
use picoserve::futures::Either as WsEither;
use picoserve::io::{Read, Write};
use picoserve::request::RequestParts;
use picoserve::response::StatusCode;
use picoserve::response::ws::{
    Control, Data, Frame, Opcode, ReadFrameError, SocketRx, SocketTx, WebSocketCallback,
    WebSocketUpgrade,
};
use picoserve::routing::{get, get_service, parse_path_segment};
use static_cell::StaticCell;

use critical_section::Mutex as CsMutex;
use tumble_core::access::{self, Access, Denied};
use tumble_core::protocol;
use tumble_fw_logic::session::{self, write_too_large};
use tumble_fw_logic::writer::Truncating;

use crate::config::{
    CLIENT_BUF, FRAME_MAX, HEADROOM, HTTP_BUF, HTTP_PORT, TCP_RX, TCP_TX, VERSION, WEB_TASKS,
    WS_CLIENTS,
};
use crate::log::{info, warning};
use crate::shared::Shared;

/// Sockets: one per web task, one for DHCP, one for MQTT.
const SOCKETS: usize = WEB_TASKS + 1 + cfg!(feature = "mqtt") as usize;

/// The log tag of the address lines: the link's name.
const LINK: &str = if cfg!(feature = "wifi") {
    "wifi"
} else {
    "eth"
};

/// One buffer per WebSocket client: frame, reply and telemetry copies (see
/// `tumble_fw_logic::session`). A client holds its slot while connected.
static SLOTS: [Mutex<CriticalSectionRawMutex, [u8; CLIENT_BUF]>; WS_CLIENTS] =
    [const { Mutex::new([0; CLIENT_BUF]) }; WS_CLIENTS];

/// A free client buffer, held until the guard is dropped (MQTT is a client too): waits while
/// every WebSocket client has one.
#[cfg(feature = "mqtt")]
pub async fn take_slot() -> (
    usize,
    embassy_sync::mutex::MutexGuard<'static, CriticalSectionRawMutex, [u8; CLIENT_BUF]>,
) {
    loop {
        let free = SLOTS
            .iter()
            .enumerate()
            .find_map(|(i, m)| m.try_lock().ok().map(|g| (i, g)));
        if let Some(found) = free {
            return found;
        }
        embassy_time::Timer::after(Duration::from_secs(1)).await;
    }
}

/// The embassy-net stack on the link's driver, configured by DHCP. Once: the socket storage is
/// a single static. The runner must be spawned by the link (a task cannot be generic).
pub fn stack<D: Driver>(driver: D) -> (Stack<'static>, NetRunner<'static, D>) {
    let seed = {
        let rng = esp_hal::rng::Rng::new();
        (u64::from(rng.random()) << 32) | u64::from(rng.random())
    };
    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    embassy_net::new(
        driver,
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        seed,
    )
}

/// Starts the web tasks on `stack`, and the task that logs its address.
pub fn start(spawner: &Spawner, stack: Stack<'static>, shared: &'static Shared) {
    spawner.spawn(address(stack).unwrap());
    #[cfg(feature = "mqtt")]
    crate::mqtt::start(spawner, stack, shared);
    for id in 0..WEB_TASKS {
        spawner.spawn(web(id, stack, shared).unwrap());
    }
}

/// Logs the address to connect to, each time DHCP gives one.
#[embassy_executor::task]
async fn address(stack: Stack<'static>) {
    loop {
        stack.wait_config_up().await;
        if let Some(cfg) = stack.config_v4() {
            let ip = cfg.address.address();
            match crate::token::current() {
                Some(t) => info!(LINK, "got IP {ip}: open http://{ip}:{HTTP_PORT}/?token={t}"),
                None => info!(
                    LINK,
                    "got IP {ip}: open http://{ip}:{HTTP_PORT}/ (no token)"
                ),
            }
        }
        stack.wait_config_down().await;
        warning!(LINK, "lost the IP address");
    }
}

// The page `tumble serve` serves, from flash, file by file: the one list both expand.
include!("../../../crates/tumble/web/files.rs");

/// (path, content type, body) of every static file: the page's, the templates and their
/// list (web/files.rs). Served by three routes that look a path up here, not a route per
/// file: each route costs RAM in every web task's future.
macro_rules! page_table {
    ($($path:literal => $kind:literal),* $(,)?) => {
        [$(($path, $kind, include_bytes!(concat!("../../../crates/tumble/web/", $path)).as_slice())),*]
    };
}
macro_rules! template_table {
    ($($file:literal => $name:literal),* $(,)?) => {
        [$((concat!("templates/", $file), "application/json",
            include_bytes!(concat!("../../../examples/templates/", $file)).as_slice())),*]
    };
}
const PAGE: &[(&str, &str, &[u8])] = &page_files!(page_table);
const TEMPLATES: &[(&str, &str, &[u8])] = &template_files!(template_table);
const TEMPLATE_INDEX: &str = template_files!(template_index);

/// A static file, found by its path (`DIR/segment`, DIR "" at the root).
struct Asset<const DIR: u8>(&'static str, &'static [u8]);

impl<const DIR: u8> core::str::FromStr for Asset<DIR> {
    type Err = ();

    fn from_str(segment: &str) -> Result<Self, ()> {
        let (dir, table) = match DIR {
            b'l' => ("lib/", PAGE),
            b't' => ("templates/", TEMPLATES),
            _ => ("", PAGE),
        };
        if DIR == b't' && segment == "index.json" {
            return Ok(Asset("application/json", TEMPLATE_INDEX.as_bytes()));
        }
        table
            .iter()
            .find(|(path, _, _)| path.strip_prefix(dir) == Some(segment))
            .map(|&(_, kind, body)| Asset(kind, body))
            .ok_or(())
    }
}

impl<const DIR: u8> picoserve::response::IntoResponse for Asset<DIR> {
    async fn write_to<R: Read, W: picoserve::response::ResponseWriter<Error = R::Error>>(
        self,
        connection: picoserve::response::Connection<'_, R>,
        response_writer: W,
    ) -> Result<picoserve::ResponseSent, W::Error> {
        picoserve::response::Response::ok(self.1)
            .with_content_type(self.0)
            .with_header("Cache-Control", "no-cache")
            .write_to(connection, response_writer)
            .await
    }
}

mod page {
    use picoserve::response::File;

    pub const INDEX: File = File::html(include_str!("../../../crates/tumble/web/index.html"));
}

#[embassy_executor::task(pool_size = WEB_TASKS)]
async fn web(id: usize, stack: Stack<'static>, shared: &'static Shared) -> ! {
    // Built in each task: naming the router's type in a static needs nightly features.
    let app = picoserve::Router::new()
        .route("/", get_service(page::INDEX))
        .route(
            parse_path_segment::<Asset<0>>(),
            get(|a: Asset<0>| async move { a }),
        )
        .route(
            ("/lib", parse_path_segment::<Asset<b'l'>>()),
            get(|a: Asset<b'l'>| async move { a }),
        )
        .route(
            ("/templates", parse_path_segment::<Asset<b't'>>()),
            get(|a: Asset<b't'>| async move { a }),
        )
        .route(
            "/ws",
            get(move |knock: Knock, upgrade: WebSocketUpgrade| async move {
                let (level, rotation) = knock.answer(id)?;
                Ok::<_, (StatusCode, &'static str)>(upgrade.on_upgrade(Client {
                    shared,
                    level,
                    rotation,
                }))
            }),
        );
    static CONFIG: picoserve::Config = picoserve::Config::new(picoserve::Timeouts {
        start_read_request: Duration::from_secs(5),
        // An idle page connection gives its task back soon: the page's WebSocket comes next.
        persistent_start_read_request: Duration::from_millis(200),
        read_request: Duration::from_secs(3),
        // A client that takes more than this to accept a reply or a frame is dropped.
        write: Duration::from_secs(5),
    })
    // A browser fetches the page's nine files over up to six connections: keep them open for
    // the next file, but close an idle one after 200 ms so its task can take the WebSocket.
    .keep_connection_alive();
    let mut tcp_rx = [0u8; TCP_RX];
    let mut tcp_tx = [0u8; TCP_TX];
    let mut http = [0u8; HTTP_BUF];
    // picoserve's own accept loop, but with the client's address kept for the door.
    loop {
        let mut socket = embassy_net::tcp::TcpSocket::new(stack, &mut tcp_rx, &mut tcp_tx);
        if socket.accept(HTTP_PORT).await.is_err() {
            continue;
        }
        let addr = match socket.remote_endpoint().map(|e| e.addr) {
            Some(embassy_net::IpAddress::Ipv4(v4)) => v4.to_ipv6_mapped().octets(),
            None => [0; 16],
        };
        critical_section::with(|cs| PEERS.borrow_ref_mut(cs)[id] = addr);
        socket.set_keep_alive(Some(Duration::from_secs(30)));
        socket.set_timeout(Some(Duration::from_secs(45)));
        let _ = picoserve::Server::new(&app, &CONFIG, &mut http)
            .serve(socket)
            .await;
    }
}

/// The address of each web task's client, for the wrong-token count.
static PEERS: CsMutex<RefCell<[[u8; 16]; WEB_TASKS]>> =
    CsMutex::new(RefCell::new([[0; 16]; WEB_TASKS]));
/// Wrong tokens by address (tumble-core's rules: 5, then a wait doubling up to 60 s).
static ATTEMPTS: CsMutex<RefCell<access::Attempts<8>>> =
    CsMutex::new(RefCell::new(access::Attempts::new()));

/// What a WebSocket upgrade presented: tumble-core's `access::admit` of its token and Origin,
/// judged at the door ([`Knock::answer`]), where the client's address is known.
struct Knock {
    admitted: Result<Access, Denied>,
    rotation: u32,
    origin: heapless::String<64>,
}

impl<'r, State> FromRequestParts<'r, State> for Knock {
    type Rejection = core::convert::Infallible;

    async fn from_request_parts(
        _state: &'r State,
        parts: &RequestParts<'r>,
    ) -> Result<Self, Self::Rejection> {
        let headers = parts.headers();
        let header = |name| headers.get(name).and_then(|v| v.as_str().ok());
        let req = access::Request {
            query: parts.query().map(|q| q.0),
            authorization: header("authorization"),
            origin: header("origin"),
            host: header("host"),
        };
        let (admitted, rotation) =
            crate::token::with_policy(|policy, rotation| (access::admit(&req, policy), rotation));
        let mut origin = heapless::String::new();
        for c in req.origin.unwrap_or("").chars() {
            if origin.push(c).is_err() {
                break;
            }
        }
        Ok(Knock {
            admitted,
            rotation,
            origin,
        })
    }
}

impl Knock {
    /// In, with what it may do and the token's rotation, or the refusal (401, 403, 429).
    fn answer(self, task: usize) -> Result<(Access, u32), (StatusCode, &'static str)> {
        let addr = critical_section::with(|cs| PEERS.borrow_ref(cs)[task]);
        let now = crate::clock::now();
        critical_section::with(|cs| {
            let mut attempts = ATTEMPTS.borrow_ref_mut(cs);
            if let access::Verdict::Wait(_) = attempts.check(addr, now) {
                return Err((StatusCode::new(429), access::TOO_MANY_ATTEMPTS));
            }
            match self.admitted {
                Ok(level) => {
                    if level == Access::Control {
                        attempts.succeeded(addr);
                    }
                    Ok((level, self.rotation))
                }
                Err(Denied::Token) => {
                    if attempts.failed(addr, now) {
                        warning!(
                            "server",
                            "refused a WebSocket: wrong token (said once a minute per address)"
                        );
                    }
                    Err((StatusCode::UNAUTHORIZED, access::UNAUTHORIZED))
                }
                Err(Denied::Origin) => {
                    warning!(
                        "server",
                        "refused a WebSocket: origin {} not allowed",
                        self.origin
                    );
                    Err((
                        StatusCode::FORBIDDEN,
                        "403 Forbidden: origin not allowed (build with TUMBLE_ALLOW_ORIGIN=ORIGIN)\n",
                    ))
                }
            }
        })
    }
}

/// One WebSocket connection: `level` is what it may do, `rotation` the token's rotation it was
/// let in with (a rotation since closes it).
struct Client {
    shared: &'static Shared,
    level: Access,
    rotation: u32,
}

impl WebSocketCallback for Client {
    async fn run<R: Read, W: Write<Error = R::Error>>(
        self,
        mut rx: SocketRx<R>,
        mut tx: SocketTx<W>,
    ) -> Result<(), W::Error> {
        let Some((slot, mut buf)) = SLOTS
            .iter()
            .enumerate()
            .find_map(|(i, m)| m.try_lock().ok().map(|g| (i, g)))
        else {
            warning!(
                "server",
                "refused a WebSocket: {WS_CLIENTS} clients already"
            );
            let mut reason = heapless::String::<32>::new();
            let _ = core::fmt::write(
                &mut reason,
                format_args!("{}", protocol::TooManyClients(WS_CLIENTS)),
            );
            return tx.close(Some((1013, reason.as_str()))).await;
        };
        let clients = SLOTS.iter().filter(|m| m.try_lock().is_err()).count();
        let mut name = heapless::String::<8>::new();
        let _ = core::fmt::write(&mut name, format_args!("ws#{}", slot + 1));
        info!("server", "{name} connected ({clients} clients)");
        let result = serve(&mut rx, &mut tx, &mut buf[..], slot, &name, self).await;
        info!("server", "{name} disconnected");
        match result {
            Ok(Some((code, reason))) => tx.close(Some((code, reason))).await,
            Ok(None) => tx.close(None).await,
            Err(e) => Err(e),
        }
    }
}

const ROTATED: &str = "the token was rotated: connect with the new one";

/// The client came in with a token that has been replaced since.
fn rotated(client: &Client) -> bool {
    client.level == Access::Control
        && crate::token::current().is_some()
        && crate::token::rotation() != client.rotation
}

/// Why a connection ends: a close code and reason to send, or none.
type End = Option<(u16, &'static str)>;

async fn serve<R: Read, W: Write<Error = R::Error>>(
    rx: &mut SocketRx<R>,
    tx: &mut SocketTx<W>,
    buf: &mut [u8],
    slot: usize,
    name: &str,
    client: Client,
) -> Result<End, W::Error> {
    // Written for each client into its own buffer, not kept: a static copy cost 1 KB of RAM.
    let n = session::write_hello(buf, &client.shared.board, VERSION, FRAME_MAX).unwrap_or(0);
    tx.send_text(str::from_utf8(&buf[..n]).unwrap_or(""))
        .await?;
    if client.level == Access::Hello {
        return Ok(Some((1008, access::NO_TOKEN_CLOSE)));
    }
    // Only frames that start after the connection count.
    crate::telemetry::READY[slot].reset();
    let telemetry = client.level >= Access::Telemetry;
    loop {
        if client.level == Access::Control
            && crate::token::current().is_some()
            && crate::token::rotation() != client.rotation
        {
            return Ok(Some((
                1008,
                "the token was rotated: connect with the new one",
            )));
        }
        let tick = async {
            match telemetry {
                true => crate::telemetry::READY[slot].wait().await,
                false => core::future::pending().await,
            }
        };
        let first = rx
            .next_frame(&mut buf[HEADROOM..HEADROOM + FRAME_MAX], tick)
            .await?;
        let frame = match first {
            WsEither::Second(()) => {
                let n = crate::telemetry::copy_latest(buf).await;
                if n > 0 {
                    tx.send_text(str::from_utf8(&buf[..n]).unwrap_or(""))
                        .await?;
                }
                continue;
            }
            WsEither::First(Ok(frame)) => frame,
            WsEither::First(Err(e)) => return refuse_frame(tx, buf, 0, e).await,
        };
        let Frame {
            is_final,
            opcode,
            length,
        } = frame;
        let text = match opcode {
            Opcode::Control(Control::Ping) => {
                tx.send_pong(&buf[HEADROOM..HEADROOM + length]).await?;
                continue;
            }
            Opcode::Control(Control::Pong) => continue,
            Opcode::Control(Control::Close) => return Ok(None),
            Opcode::Data(Data::Text) => true,
            Opcode::Data(Data::Binary) => false,
            _ => return Ok(Some((1002, "unexpected frame"))),
        };
        // A fragmented message: the rest of it, with control frames allowed in between.
        let mut len = length;
        let mut done = is_final;
        while !done {
            let next = rx
                .next_frame(
                    &mut buf[HEADROOM + len..HEADROOM + FRAME_MAX],
                    core::future::pending(),
                )
                .await?
                .ignore_never_b();
            match next {
                Err(e) => return refuse_frame(tx, buf, len, e).await,
                Ok(Frame {
                    is_final,
                    opcode: Opcode::Data(Data::Continue),
                    length,
                }) => {
                    len += length;
                    done = is_final;
                }
                Ok(Frame {
                    opcode: Opcode::Control(Control::Ping),
                    length,
                    ..
                }) => {
                    let at = HEADROOM + len;
                    tx.send_pong(&buf[at..at + length]).await?;
                }
                Ok(Frame {
                    opcode: Opcode::Control(Control::Pong),
                    ..
                }) => {}
                Ok(Frame {
                    opcode: Opcode::Control(Control::Close),
                    ..
                }) => return Ok(None),
                Ok(_) => {
                    return Ok(Some((
                        1002,
                        "a new message started inside a fragmented one",
                    )));
                }
            }
        }
        if !text {
            let (head, tail) = buf.split_at_mut(HEADROOM + len);
            let mut w = Truncating::new(tail);
            let _ = protocol::write_binary_refusal(&head[HEADROOM..], &mut w);
            let n = w.len();
            let at = HEADROOM + len;
            tx.send_text(str::from_utf8(&buf[at..at + n]).unwrap_or(""))
                .await?;
            continue;
        }
        if str::from_utf8(&buf[HEADROOM..HEADROOM + len]).is_err() {
            return Ok(Some((1007, "text frame is not UTF-8")));
        }
        // A rotation while this frame came in: the old token commands nothing more.
        if rotated(&client) {
            return Ok(Some((1008, ROTATED)));
        }
        let reply = crate::commands::execute(client.shared, buf, len, name, client.level).await;
        tx.send_text(str::from_utf8(&buf[reply]).unwrap_or(""))
            .await?;
    }
}

/// A frame the buffer cannot take: the rest of it cannot be skipped (picoserve reads a frame
/// into the buffer whole), so the client is told `too_large` and the connection is closed with
/// 1009, as the host does for frames over its transport limit.
async fn refuse_frame<W: Write>(
    tx: &mut SocketTx<W>,
    buf: &mut [u8],
    received: usize,
    e: ReadFrameError,
) -> Result<End, W::Error> {
    match e {
        ReadFrameError::OutOfSpace | ReadFrameError::MessageIsTooLong(_) => {
            let (head, tail) = buf.split_at_mut(HEADROOM + received);
            let mut w = Truncating::new(tail);
            let _ = write_too_large(&mut w, &head[HEADROOM..], None, FRAME_MAX);
            let n = w.len();
            let at = HEADROOM + received;
            tx.send_text(str::from_utf8(&buf[at..at + n]).unwrap_or(""))
                .await?;
            Ok(Some((1009, "frame too large for this controller")))
        }
        ReadFrameError::UnexpectedEof => Ok(None),
    }
}
