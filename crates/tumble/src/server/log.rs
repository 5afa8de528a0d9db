//! ESP-IDF style log lines on stdout, `I (5000) tag: message`, timed by the controller's clock
//! (ms since the server started, in simulated time when `--speed` is not 1).

use std::io::Write;
use std::sync::{Arc, OnceLock};

use crate::player::Clock;

static CLOCK: OnceLock<Arc<Clock>> = OnceLock::new();

pub fn start(clock: Arc<Clock>) {
    let _ = CLOCK.set(clock);
}

/// A line about something that happened at `at_us`.
pub fn line(level: char, at_us: u64, tag: &str, msg: std::fmt::Arguments<'_>) {
    // A closed stdout must not take the controller down: the log is best effort.
    let _ = writeln!(
        std::io::stdout().lock(),
        "{level} ({}) {tag}: {msg}",
        at_us / 1000
    );
}

/// A line about something happening now.
pub fn now(level: char, tag: &str, msg: std::fmt::Arguments<'_>) {
    let at_us = CLOCK.get().map_or(0, |c| c.now());
    line(level, at_us, tag, msg);
}
