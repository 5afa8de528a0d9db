//! ESP-IDF style log lines on stdout, `I (5000) tag: message`, timed by the controller's clock
//! (ms since the server started, in simulated time when `--speed` is not 1). Lines go through a
//! channel to a writer thread: a stalled stdout (a paused pager, a stuck log collector) must
//! never hold up the controller thread.

use std::io::Write;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};

use crate::player::Clock;

struct Logger {
    clock: Arc<Clock>,
    lines: Mutex<Sender<String>>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

pub fn start(clock: Arc<Clock>) {
    let (tx, rx) = channel::<String>();
    std::thread::Builder::new()
        .name("log".into())
        .spawn(move || {
            for line in rx {
                // A closed stdout is not the controller's problem: the log is best effort.
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
        })
        .expect("the log thread starts");
    let _ = LOGGER.set(Logger {
        clock,
        lines: Mutex::new(tx),
    });
}

/// A line about something that happened at `at_us`.
pub fn line(level: char, at_us: u64, tag: &str, msg: std::fmt::Arguments<'_>) {
    let text = format!("{level} ({}) {tag}: {msg}", at_us / 1000);
    match LOGGER.get() {
        Some(l) => {
            let _ = l.lines.lock().map(|tx| tx.send(text));
        }
        None => println!("{text}"),
    }
}

/// A line about something happening now.
pub fn now(level: char, tag: &str, msg: std::fmt::Arguments<'_>) {
    let at_us = LOGGER.get().map_or(0, |l| l.clock.now());
    line(level, at_us, tag, msg);
}
