//! ESP-IDF style log lines on stdout, `I (5000) tag: message`, timed by the controller's clock
//! (ms since the server started, in simulated time when `--speed` is not 1). Lines go through a
//! channel to a writer thread: a stalled stdout (a paused pager, a stuck log collector) must
//! never hold up the controller thread. The controller's notices travel as they are, with the
//! names they need copied in (`logline::Named`), and are put into words on that thread too: the
//! controller thread formats nothing.

use std::io::Write;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, OnceLock};

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

pub fn start(clock: Arc<Clock>) {
    let (tx, rx) = channel::<Item>();
    std::thread::Builder::new()
        .name("log".into())
        .spawn(move || {
            for item in rx {
                match item {
                    Item::Line(line) => print(&line),
                    Item::Notice(n) => {
                        let l = n.line();
                        print(&text(l.level, l.at, "cycle", format_args!("{}", l.message)));
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
