//! ESP-IDF style log lines on stdout, `I (5000) tag: message`, timed by the controller's clock
//! (ms since the server started, in simulated time when `--speed` is not 1). Lines go through a
//! channel to a writer thread: a stalled stdout (a paused pager, a stuck log collector) must
//! never hold up the controller thread. The controller's notices travel as they are, with the
//! cycle they name, and are put into words on that thread too: the controller formats nothing.

use std::io::Write;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, OnceLock};

use tumble_core::cycle::Cycle;
use tumble_core::logline;
use tumble_core::runner::Notice;

use crate::player::Clock;

enum Item {
    Line(String),
    /// Notices of one runner call, and the cycle they are about.
    Notices(Vec<Notice>, Arc<Cycle>),
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
                    Item::Notices(notices, cycle) => {
                        for n in notices {
                            let l = logline::describe(n, &cycle);
                            print(&text(
                                l.level,
                                l.at_us,
                                "cycle",
                                format_args!("{}", l.message),
                            ));
                        }
                    }
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

fn text(level: char, at_us: u64, tag: &str, msg: std::fmt::Arguments<'_>) -> String {
    format!("{level} ({}) {tag}: {msg}", at_us / 1000)
}

fn send(item: Item) {
    match LOGGER.get() {
        Some(l) => {
            let _ = l.items.send(item);
        }
        None => match item {
            Item::Line(line) => print(&line),
            Item::Notices(..) => {}
        },
    }
}

/// A line about something that happened at `at_us`.
pub fn line(level: char, at_us: u64, tag: &str, msg: std::fmt::Arguments<'_>) {
    send(Item::Line(text(level, at_us, tag, msg)));
}

/// A line about something happening now.
pub fn now(level: char, tag: &str, msg: std::fmt::Arguments<'_>) {
    let at_us = LOGGER.get().map_or(0, |l| l.clock.now());
    line(level, at_us, tag, msg);
}

/// The runner's notices, described on the log thread with the names of `cycle`.
pub fn notices(notices: &mut Vec<Notice>, cycle: &Arc<Cycle>) {
    if !notices.is_empty() {
        send(Item::Notices(std::mem::take(notices), cycle.clone()));
    }
}
