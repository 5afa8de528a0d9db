//! `tumble serve`: the controller on the simulated washer behind the original firmware's
//! WebSocket API (v1) and Tumble's JSON protocol (v2), with telemetry, persistence and access
//! control. The protocol itself is tumble-core's; this module is only the transport.

mod commands;
mod conn;
mod controller;
mod history;
pub mod log;
mod mqtt;
mod programs;
mod store;
pub mod token;
mod web;

use std::error::Error as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, SyncSender};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;
use tumble_core::access::{self, Access, Denied};
use tumble_core::board::Board;
use tumble_core::controller::{Config, Controller};
use tumble_core::cycle::Cycle;
use tumble_core::runner::Snapshot;
use tumble_core::{protocol, telemetry};

use self::controller::{ControlLoop, Msg, Urgent};
use self::store::Store;
use crate::cli::{self, Failure};
use crate::player::{Change, Clock};
use crate::sim::Washer;

/// The transport takes frames up to this size so that the protocol can refuse those over
/// `protocol::MAX_FRAME` with a clear reply and keep the connection; larger ones close it (code 1009).
const MAX_TRANSPORT_FRAME: usize = 4 * 1024 * 1024;
/// Frames waiting for the controller; beyond this a client is told the controller is busy.
const INBOX: usize = 64;
/// A client that cannot take a frame for this long is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// `tumble serve`.
#[derive(clap::Args)]
pub struct Args {
    /// TCP port of the page (/) and the WebSocket (/ws)
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on; 0.0.0.0 for every interface
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Board profile (TOML; `tumble board` prints the default)
    #[arg(long, value_name = "BOARD.toml")]
    board: Option<String>,
    /// Where the loaded cycle is kept across restarts (cycle.json) [default:
    /// $XDG_STATE_HOME/tumble, else ~/.local/state/tumble]
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Run the simulated washer's clock this many times faster than real time
    #[arg(long, value_name = "X", value_parser = cli::speed, default_value_t = 1.0,
          allow_negative_numbers = true)]
    speed: f64,
    /// Milliseconds between telemetry frames to every client (in real time)
    #[arg(long, value_name = "MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..))]
    telemetry_ms: u64,
    /// Require this token for commands (ws://HOST/ws?token=T or Authorization: Bearer T)
    /// [default: the state directory's, made at the first start; `tumble token` prints it]
    #[arg(
        long,
        value_name = "T",
        env = "TUMBLE_TOKEN",
        hide_env_values = true,
        conflicts_with = "no_auth"
    )]
    token: Option<String>,
    /// Let anyone who can reach the controller command it, without a token (the original
    /// front end and old scripts); a warning is logged at every start
    #[arg(long)]
    no_auth: bool,
    /// Give clients without the token the telemetry and the status too (commands never)
    #[arg(long)]
    public_telemetry: bool,
    /// Also accept WebSocket clients from a page served at this origin (e.g.
    /// http://127.0.0.1:5173, the original front end's dev server); repeatable
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Most WebSocket clients at once; more are closed with 1013 (try again later)
    #[arg(long, value_name = "N", default_value_t = 16)]
    max_clients: usize,
    /// Most TCP connections at once, WebSocket or not; more wait to be accepted
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_connections: usize,
    /// A connection that has not sent its whole HTTP request by then is closed
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    request_timeout_ms: u64,
    /// Write every output change as a JSON line to this file (as `tumble run --record`)
    #[arg(long, value_name = "OUT.jsonl")]
    record: Option<PathBuf>,
    /// Read options from this TOML file, one key per long option (`port = 8081`,
    /// `mqtt-id = "washer-3"`); the command line and the environment beat it
    #[arg(long, value_name = "FILE.toml", env = "TUMBLE_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    mqtt: mqtt::Options,
}

/// The door from the options: `--no-auth`, `--token`, or the state directory's token (made now
/// if there is none).
fn door(o: &Args, state_dir: &std::path::Path) -> cli::Result<Door> {
    let (token, file) = match (&o.token, o.no_auth) {
        (_, true) => (None, None),
        (Some(t), false) => (Some(t.clone()), None),
        (None, false) => {
            let t = token::load_or_create(state_dir)
                .map_err(|e| Failure::Io(format!("{}: {e}", token::path(state_dir).display())))?;
            if token::readable_by_others(state_dir) {
                log::now(
                    'W',
                    "server",
                    format_args!(
                        "{} can be read by others than its owner (chmod 600 it, or rotate it)",
                        token::path(state_dir).display()
                    ),
                );
            }
            (Some(t), Some(token::path(state_dir)))
        }
    };
    Ok(Door {
        token,
        public_telemetry: o.public_telemetry,
        allow_origins: o.allow_origins.join(","),
        file,
    })
}

/// Says how to get in: the page's address with its token, or that the door is open.
fn announce(app: &App, local: SocketAddr) {
    let door = app.access.lock().unwrap_or_else(|e| e.into_inner());
    let shown = match local.ip() {
        ip if ip.is_unspecified() => SocketAddr::new([127, 0, 0, 1].into(), local.port()),
        _ => local,
    };
    match &door.token {
        Some(t) => log::now(
            'I',
            "server",
            format_args!(
                "open http://{shown}/?token={t} (commands need the token{})",
                if door.public_telemetry {
                    "; telemetry and status are public"
                } else {
                    ""
                }
            ),
        ),
        None => log::now(
            'W',
            "server",
            format_args!(
                "no token (--no-auth): anyone who can reach http://{local}/ can start the motor and open the valves"
            ),
        ),
    }
}

/// Follows the state directory's token file: a rotated token replaces the old one within a
/// second, and the clients let in with the old one are closed.
async fn watch_rotation(app: Arc<App>) {
    let Some(dir) = app
        .access
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .file
        .as_ref()
        .and_then(|f| f.parent().map(PathBuf::from))
    else {
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let Ok(Some(fresh)) = token::read(&dir) else {
            continue;
        };
        let mut door = app.access.lock().unwrap_or_else(|e| e.into_inner());
        if door.token.as_deref() != Some(fresh.as_str()) {
            // Both under the door's lock: an upgrade reads them together.
            door.token = Some(fresh);
            app.rotation.send_modify(|n| *n += 1);
            drop(door);
            log::now(
                'W',
                "server",
                format_args!("the token was rotated: clients with the old one are closed"),
            );
        }
    }
}

/// `tumble serve`'s state directory when none is given.
pub fn default_state_dir() -> PathBuf {
    match std::env::var_os("XDG_STATE_HOME").or_else(|| std::env::var_os("HOME")) {
        Some(base) if std::env::var_os("XDG_STATE_HOME").is_some() => {
            PathBuf::from(base).join("tumble")
        }
        Some(home) => PathBuf::from(home).join(".local/state/tumble"),
        None => PathBuf::from(".tumble"),
    }
}

/// The door: the token (None: open, `--no-auth`), and what goes without it.
struct Door {
    token: Option<String>,
    public_telemetry: bool,
    allow_origins: String,
    /// Where the token came from, when it is the state directory's (watched for a rotation).
    file: Option<PathBuf>,
}

/// What every connection shares.
struct App {
    board: Board,
    inbox: SyncSender<Msg>,
    urgent: Sender<Urgent>,
    /// A copy of the loaded cycle, for queries (answered here, never by the controller).
    loaded: Mutex<Box<Cycle<'static>>>,
    /// Held through the three steps of a load (release, read, load), so loads from several
    /// clients take turns: while one reads, the controller has no cycle to lend a second.
    loading: tokio::sync::Mutex<()>,
    telemetry: watch::Receiver<Arc<str>>,
    hello: Arc<str>,
    store: Store,
    /// What clients need to be let in; the token changes when it is rotated.
    access: Mutex<Door>,
    /// Bumped at every rotation: a client let in with an older token is closed.
    rotation: watch::Sender<u64>,
    /// Wrong tokens by address.
    attempts: Mutex<access::Attempts<64>>,
    /// The program library, in the state directory.
    programs: Mutex<programs::Library>,
    /// The library program loaded last, for the history (None: a cycle sent as a document).
    program: Arc<Mutex<Option<String>>>,
    /// The runs played, for `get_history`.
    history: Arc<history::History>,
    started: std::time::Instant,
    clients: AtomicUsize,
    max_clients: usize,
    /// Counts frames as they arrive, so a stop can tell what came before it.
    arrivals: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

pub fn serve(mut o: Args) -> cli::Result {
    let state_dir = o.state_dir.take().unwrap_or_else(default_state_dir);
    o.token = o.token.filter(|t| !t.is_empty());
    let door = door(&o, &state_dir)?;
    mqtt::check(&o.mqtt)?;
    let (events, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let profile = crate::cli::load_profile(o.board.as_deref())?;
    let clock = Arc::new(Clock::real_time(o.speed));
    let history = Arc::new(history::History::open(&state_dir));
    let program = Arc::new(Mutex::new(None));
    let mut inflow_lpm = [0.0f32; tumble_core::board::MAX_OUTPUTS];
    for (i, lpm) in profile.inflow_lpm.iter().enumerate().take(inflow_lpm.len()) {
        inflow_lpm[i] = *lpm as f32;
    }
    log::start(
        clock.clone(),
        Some(log::Runs {
            board: profile.board.clone(),
            inflow_lpm,
            program: program.clone(),
            history: history.clone(),
            events: o.mqtt.mqtt.is_some().then_some(events),
        }),
    );
    let store = Store::new(state_dir.clone());

    let config = Config {
        sample: tumble_core::time::Duration::from_millis(profile.sample_ms as u64),
        // On the controller's clock, which runs `speed` times faster than the wall's.
        telemetry: Some(tumble_core::time::Duration::from_micros(
            (o.telemetry_ms as f64 * 1000.0 * o.speed).max(1.0) as u64,
        )),
    };
    let mut ctl = Box::new(Controller::new(
        profile.board.clone(),
        config,
        crate::cli::storage(),
    ));
    let mut washer = Washer::new(profile);
    ctl.boot(tumble_core::time::Instant::from_micros(0), &mut washer);
    restore(&store, &mut ctl, &mut washer);
    let board = ctl.board().clone();
    let mut hello = String::new();
    let _ = protocol::write_hello(
        &mut hello,
        &board,
        env!("CARGO_PKG_VERSION"),
        protocol::MAX_FRAME,
    );

    let (inbox, rx) = mpsc::sync_channel(INBOX);
    let (urgent, urgent_rx) = mpsc::channel();
    let (snapshots, snapshots_rx) = mpsc::sync_channel(1);
    let (telemetry_tx, telemetry) = watch::channel(Arc::<str>::from(""));
    let mut loaded = Box::new(Cycle::new(crate::cli::storage()));
    // Storage of the same size: it fits.
    loaded.copy_from(ctl.runner().cycle());
    spawn_telemetry_writer(board.clone(), snapshots_rx, telemetry_tx)?;
    let control = ControlLoop {
        ctl,
        washer,
        clock: clock.clone(),
        snapshots,
        record: match &o.record {
            Some(path) => Some(spawn_recorder(path, board.clone())?),
            None => None,
        },
    };
    let controller = std::thread::Builder::new()
        .name("controller".into())
        .spawn(move || {
            if !crate::player::raise_priority() {
                log::now(
                    'W',
                    "server",
                    format_args!(
                        "real-time scheduling not permitted; timing may suffer on a busy machine"
                    ),
                );
            }
            control.run(rx, urgent_rx)
        })
        .map_err(|e| Failure::Io(format!("cannot start the controller thread: {e}")))?;

    let (shutdown_tx, shutdown) = watch::channel(false);
    let app = Arc::new(App {
        board,
        inbox: inbox.clone(),
        urgent: urgent.clone(),
        loaded: Mutex::new(loaded),
        loading: tokio::sync::Mutex::new(()),
        telemetry,
        hello: hello.into(),
        store,
        access: Mutex::new(door),
        rotation: watch::channel(0).0,
        attempts: Mutex::new(access::Attempts::default()),
        programs: Mutex::new(programs::Library::new(&state_dir)),
        program,
        history,
        started: std::time::Instant::now(),
        clients: AtomicUsize::new(0),
        max_clients: o.max_clients,
        arrivals: AtomicU64::new(1),
        shutdown,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Io(format!("cannot start the network runtime: {e}")))?;
    let served = runtime.block_on(async {
        let addr = format!("{}:{}", o.bind, o.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| Failure::Io(format!("cannot listen on {addr}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Failure::Io(e.to_string()))?;
        log::now(
            'I',
            "server",
            format_args!(
                "listening on http://{local}/ (WebSocket ws://{local}/ws), state in {}",
                state_dir.display(),
            ),
        );
        announce(&app, local);
        tokio::spawn(watch_rotation(app.clone()));
        tokio::spawn(mqtt::run(app.clone(), o.mqtt.clone(), events_rx));
        let router = Router::new()
            .route("/ws", get(upgrade))
            .route("/", get(web::index))
            .route("/{*path}", get(web::asset))
            .with_state(app.clone());
        let stop = async move {
            terminated().await;
            log::now(
                'W',
                "server",
                format_args!("interrupted: stopping the cycle, closing connections"),
            );
            let _ = shutdown_tx.send(true);
        };
        let listener = conn::Guarded::new(
            listener,
            o.max_connections.max(1),
            Duration::from_millis(o.request_timeout_ms.max(1)),
        );
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<conn::Peer>(),
        )
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| Failure::Io(format!("server: {e}")))
    });
    let _ = urgent.send(Urgent::Shutdown);
    let _ = inbox.try_send(Msg::Wake);
    let _ = controller.join();
    served
}

/// `--record FILE`: every output change as a JSON line, in the shape of `tumble run --record`,
/// written by a thread of its own (a slow disk never holds up the controller).
fn spawn_recorder(path: &std::path::Path, board: Board) -> cli::Result<Sender<Change>> {
    use std::io::Write;
    let file =
        std::fs::File::create(path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))?;
    let (tx, rx) = mpsc::channel::<Change>();
    std::thread::Builder::new()
        .name("record".into())
        .spawn(move || {
            let mut out = std::io::BufWriter::new(file);
            while let Ok(mut c) = rx.recv() {
                loop {
                    let name = board.by_pin(c.pin).map(|id| board.output(id).name.as_str());
                    let _ = writeln!(out, "{}", c.record_line(name.unwrap_or("?")));
                    match rx.try_recv() {
                        Ok(next) => c = next,
                        Err(_) => break,
                    }
                }
                // Whenever the controller pauses, what it did is on disk.
                let _ = out.flush();
            }
        })
        .map(|_| tx)
        .map_err(|e| Failure::Io(format!("cannot start the record thread: {e}")))
}

/// Writes each snapshot the controller hands over as the telemetry frame every client gets.
fn spawn_telemetry_writer(
    board: Board,
    snapshots: mpsc::Receiver<Snapshot>,
    frames: watch::Sender<Arc<str>>,
) -> cli::Result {
    std::thread::Builder::new()
        .name("telemetry".into())
        .spawn(move || {
            for s in snapshots {
                let mut frame = String::with_capacity(1024);
                let _ = telemetry::write_frame(&mut frame, &board, &s);
                // watch keeps only the latest: a slow client skips stale frames.
                frames.send_replace(frame.into());
            }
        })
        .map(drop)
        .map_err(|e| Failure::Io(format!("cannot start the telemetry thread: {e}")))
}

/// Ctrl-C, or SIGTERM from a service manager: both stop the cycle before exiting.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Loads the stored cycle, idle. A missing or broken file leaves an empty controller.
fn restore(store: &Store, ctl: &mut Controller<'_>, washer: &mut Washer) {
    let path = store.path();
    match store.read() {
        Ok(None) => log::now(
            'I',
            "store",
            format_args!("no stored cycle at {}", path.display()),
        ),
        Err(e) => log::now(
            'W',
            "store",
            format_args!("cannot read {}: {e}; starting empty", path.display()),
        ),
        Ok(Some(bytes)) => {
            let restored = ctl.restore(&bytes, tumble_core::time::Instant::from_micros(0), washer);
            log::now(
                restored.level(),
                "store",
                format_args!("{}: {restored}", path.display()),
            );
        }
    }
}

async fn upgrade(
    ws: WebSocketUpgrade,
    State(app): State<Arc<App>>,
    ConnectInfo(conn::Peer(peer)): ConnectInfo<conn::Peer>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
    };
    let request = access::Request {
        query: uri.query(),
        authorization: header(header::AUTHORIZATION),
        origin: header(header::ORIGIN),
        host: header(header::HOST),
    };
    // IPv6 by its /64: one host has a whole one to pick addresses from.
    let addr = match peer.ip() {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => v6.octets(),
        std::net::IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[8..].fill(0);
            o
        }
    };
    let now = tumble_core::time::Instant::from_micros(app.started.elapsed().as_micros() as u64);
    let mut attempts = app.attempts.lock().unwrap_or_else(|e| e.into_inner());
    if let access::Verdict::Wait(wait) = attempts.check(addr, now) {
        let secs = wait.as_micros().div_ceil(1_000_000).to_string();
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs)],
            access::TOO_MANY_ATTEMPTS,
        )
            .into_response();
    }
    let (admitted, rotation) = {
        let door = app.access.lock().unwrap_or_else(|e| e.into_inner());
        let policy = access::Policy {
            token: door.token.as_deref(),
            public_telemetry: door.public_telemetry,
            allowed_origins: &door.allow_origins,
        };
        (access::admit(&request, &policy), *app.rotation.borrow())
    };
    let level = match admitted {
        Ok(level) => {
            if level == Access::Control {
                attempts.succeeded(addr);
            }
            level
        }
        Err(Denied::Token) => {
            if attempts.failed(addr, now) {
                log::now(
                    'W',
                    "server",
                    format_args!(
                        "{}: refused, wrong token (said once a minute per address)",
                        peer.ip()
                    ),
                );
            }
            return (StatusCode::UNAUTHORIZED, access::UNAUTHORIZED).into_response();
        }
        Err(Denied::Origin) => {
            let origin = request.origin.unwrap_or("");
            log::now(
                'W',
                "server",
                format_args!(
                    "{peer}: refused origin {origin}; to allow it: --allow-origin {origin}"
                ),
            );
            return (
                StatusCode::FORBIDDEN,
                format!(
                    "403 Forbidden: origin {origin} is not allowed (reach the controller by its address, or start it with --allow-origin {origin})\n"
                ),
            )
                .into_response();
        }
    };
    drop(attempts);
    ws.max_message_size(MAX_TRANSPORT_FRAME)
        .max_frame_size(MAX_TRANSPORT_FRAME)
        .on_upgrade(move |socket| client(socket, app, peer, level, rotation))
}

/// Releases a client's slot however its connection ends.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

const ROTATED: &str = "the token was rotated: connect with the new one";

/// One client: `level` is what it may do, `rotation` the token's rotation it was let in with.
async fn client(
    mut socket: WebSocket,
    app: Arc<App>,
    peer: SocketAddr,
    level: Access,
    rotation: u64,
) {
    let count = app.clients.fetch_add(1, Ordering::SeqCst) + 1;
    let _slot = Slot(&app.clients);
    if count > app.max_clients {
        log::now(
            'W',
            "server",
            format_args!("{peer}: refused, {} clients already", app.max_clients),
        );
        let reason = protocol::TooManyClients(app.max_clients).to_string();
        let _ = socket.send(close(1013, &reason)).await;
        return;
    }
    log::now(
        'I',
        "server",
        format_args!(
            "{peer} connected ({count} clients){}",
            match level {
                Access::Control => "",
                Access::Telemetry => ", without the token: telemetry and status only",
                Access::Hello => ", without the token: closed after the hello",
            }
        ),
    );
    let mut telemetry = app.telemetry.clone();
    let mut shutdown = app.shutdown.clone();
    let mut rotations = app.rotation.subscribe();
    if send(&mut socket, app.hello.to_string()).await.is_err() {
        return;
    }
    if level == Access::Hello {
        let _ = socket.send(close(1008, access::NO_TOKEN_CLOSE)).await;
        return;
    }
    // A rotation between the upgrade and here counts too.
    if level == Access::Control && *rotations.borrow_and_update() != rotation {
        let _ = socket.send(close(1008, ROTATED)).await;
        return;
    }
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let reply = commands::command(&app, text.as_bytes(), &peer, level).await;
                    if send(&mut socket, reply).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Binary(frame))) => {
                    let mut reply = String::new();
                    let _ = protocol::write_binary_refusal(&frame, &mut reply);
                    if send(&mut socket, reply).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(e)) => {
                    let (code, reason) = close_code(&e);
                    log::now('W', "server", format_args!("{peer}: {e}: closing ({code})"));
                    let _ = socket.send(close(code, reason)).await;
                    break;
                }
            },
            changed = telemetry.changed(), if level >= Access::Telemetry => {
                if changed.is_err() {
                    break;
                }
                let frame = telemetry.borrow_and_update().to_string();
                if !frame.is_empty() && send(&mut socket, frame).await.is_err() {
                    break;
                }
            }
            _ = shutdown.changed() => {
                let _ = socket.send(close(1001, "server shutting down")).await;
                break;
            }
            _ = rotations.changed(), if level == Access::Control => {
                if *rotations.borrow_and_update() != rotation && app.access.lock().unwrap_or_else(|e| e.into_inner()).token.is_some() {
                    log::now('I', "server", format_args!("{peer}: closed, its token was rotated"));
                    let _ = socket.send(close(1008, ROTATED)).await;
                    break;
                }
            }
        }
    }
    log::now('I', "server", format_args!("{peer} disconnected"));
}

/// The close code RFC 6455 gives a frame the transport refused.
fn close_code(e: &axum::Error) -> (u16, &'static str) {
    use tungstenite::error::{CapacityError, Error};
    let inner = e.source().and_then(|s| s.downcast_ref::<Error>());
    match inner {
        Some(Error::Capacity(CapacityError::MessageTooLong { .. })) => {
            (1009, "message too big: at most 4 MiB")
        }
        Some(Error::Utf8(_)) => (1007, "text frame is not valid UTF-8"),
        _ => (1002, "protocol error"),
    }
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

async fn send(socket: &mut WebSocket, text: String) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
