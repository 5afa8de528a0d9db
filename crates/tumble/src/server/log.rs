//! ESP-IDF style log lines on stdout, `I (5000) tag: message`, timed by the controller's clock
//! (ms since the server started, in simulated time when `--speed` is not 1). Lines go through a
//! channel to a writer thread: a stalled stdout (a paused pager, a stuck log collector) must
//! never hold up the controller thread. The controller's notices travel as they are, with the
//! names they need copied in (`logline::Named`), and are put into words on that thread too: the
//! controller thread formats nothing.

use std::io::Write;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, OnceLock};

use tumble_core::history;
use tumble_core::logline::Named;
use tumble_core::time::Instant;

use crate::player::Clock;

enum Item {
    Line(String),
    Notice(Named),
    /// Notices the controller had no room for, and when it said so.
    Lost(u32, Instant),
}

struct Logger {
    clock: Arc<Clock>,
    /// A channel, not a lock: the controller thread never waits for another thread here.
    items: Sender<Item>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Where the runs go that the log thread puts together from the notices.
pub struct Runs {
    pub board: tumble_core::board::Board,
    /// Litres per minute each output lets in (the profile's `inflow_lpm`), by output index.
    pub inflow_lpm: [f32; tumble_core::board::MAX_OUTPUTS],
    /// The library program loaded last (None: a cycle sent as a document).
    pub program: Arc<std::sync::Mutex<Option<String>>>,
    pub history: Arc<super::history::History>,
    /// Each notice as an event (JSON), for the MQTT side, when it runs.
    pub events: Option<tokio::sync::mpsc::UnboundedSender<String>>,
}

impl Runs {
    /// A notice, for the history: a run it ended is written down.
    fn notice(
        &self,
        recorder: &mut history::Recorder,
        started: &mut Option<(u64, Option<String>)>,
        n: &Named,
    ) {
        if let Some(events) = &self.events {
            let _ = events.send(event(n));
        }
        if !recorder.in_run() {
            let unix = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let program = self
                .program
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            *started = Some((unix, program));
        }
        if !recorder.notice(n) {
            return;
        }
        let Some(run) = recorder.ended() else {
            return;
        };
        let (unix, program) = started.take().unwrap_or((0, None));
        let cx = history::Context {
            started_unix_s: Some(unix),
            program: program.as_deref(),
            inflow_lpm: Some(&self.inflow_lpm),
        };
        let mut line = String::new();
        let _ = history::write_run(&mut line, run, &self.board, &cx);
        if let Err(e) = self.history.append(line) {
            print(&text(
                'E',
                run.ended,
                "history",
                format_args!("cannot write the run down: {e}"),
            ));
        }
    }
}

/// A notice as an event for MQTT: `{"event":"phase_ended","phase":0,"name":"Fill",
/// "end":"triggered","at_ms":1234}`.
fn event(n: &Named) -> String {
    let mut s = String::new();
    let _ = tumble_core::mqtt::write_event(&mut s, n);
    s
}

pub fn start(clock: Arc<Clock>, runs: Option<Runs>) {
    let (tx, rx) = channel::<Item>();
    std::thread::Builder::new()
        .name("log".into())
        .spawn(move || {
            let mut recorder = history::Recorder::default();
            let mut started = None;
            for item in rx {
                match item {
                    Item::Line(line) => print(&line),
                    Item::Notice(n) => {
                        let l = n.line();
                        print(&text(l.level, l.at, "cycle", format_args!("{}", l.message)));
                        if let Some(runs) = &runs {
                            runs.notice(&mut recorder, &mut started, &n);
                        }
                    }
                    Item::Lost(n, at) => print(&text(
                        'W',
                        at,
                        "cycle",
                        format_args!("{n} phase notices were not logged (too many at once)"),
                    )),
                }
            }
        })
        .expect("the log thread starts");
    let _ = LOGGER.set(Logger { clock, items: tx });
}

fn print(line: &str) {
    // A closed stdout is not the controller's problem: the log is best effort.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn text(level: char, at: Instant, tag: &str, msg: std::fmt::Arguments<'_>) -> String {
    format!("{level} ({}) {tag}: {msg}", at.as_millis())
}

fn send(item: Item) {
    match LOGGER.get() {
        Some(l) => {
            let _ = l.items.send(item);
        }
        None => match item {
            Item::Line(line) => print(&line),
            Item::Notice(_) | Item::Lost(..) => {}
        },
    }
}

/// A line about something that happened at `at`.
pub fn line(level: char, at: Instant, tag: &str, msg: std::fmt::Arguments<'_>) {
    send(Item::Line(text(level, at, tag, msg)));
}

/// A line about something happening now.
pub fn now(level: char, tag: &str, msg: std::fmt::Arguments<'_>) {
    let at = LOGGER.get().map_or(Instant::default(), |l| l.clock.now());
    line(level, at, tag, msg);
}

/// A notice of the controller's, described on the log thread.
pub fn notice(notice: Named) {
    send(Item::Notice(notice));
}

/// Notices the controller lost, said on the log thread (the controller formats nothing).
pub fn lost_notices(n: u32) {
    let at = LOGGER.get().map_or(Instant::default(), |l| l.clock.now());
    send(Item::Lost(n, at));
}
