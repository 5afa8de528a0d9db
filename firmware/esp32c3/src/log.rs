//! ESP-IDF style log lines (`I (5000) cycle: ...`) on the console. Any context may log, the
//! control loop's interrupt included: a line is formatted into a fixed buffer and queued without
//! waiting; the console task writes the queue out. A full queue drops the line and counts it.

use core::cell::Cell;
use core::fmt;

use critical_section::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use tumble_core::logline;
use tumble_core::time::Instant;
use tumble_fw_logic::writer::Truncating;

use crate::config::{LOG_LINE, LOG_LINES};

pub type Line = heapless::String<LOG_LINE>;

/// Lines waiting for the UART.
pub static QUEUE: Channel<CriticalSectionRawMutex, Line, LOG_LINES> = Channel::new();
static DROPPED: Mutex<Cell<u32>> = Mutex::new(Cell::new(0));

/// Queues one line; never waits.
pub fn emit(level: char, at: Instant, tag: &str, message: fmt::Arguments<'_>) {
    let mut buf = [0u8; LOG_LINE];
    let mut w = Truncating::new(&mut buf);
    let _ = logline::write_line(&mut w, level, at, tag, message);
    let mut line = Line::new();
    // Truncating keeps whole characters and the line has the same capacity: this fits.
    let _ = line.push_str(w.as_str());
    if QUEUE.try_send(line).is_err() {
        critical_section::with(|cs| {
            let d = DROPPED.borrow(cs);
            d.set(d.get().saturating_add(1));
        });
    }
}

/// Lines dropped since the last call.
pub fn take_dropped() -> u32 {
    critical_section::with(|cs| DROPPED.borrow(cs).replace(0))
}

macro_rules! info {
    ($tag:expr, $($arg:tt)*) => {
        $crate::log::emit('I', $crate::clock::now(), $tag, format_args!($($arg)*))
    };
}

macro_rules! warning {
    ($tag:expr, $($arg:tt)*) => {
        $crate::log::emit('W', $crate::clock::now(), $tag, format_args!($($arg)*))
    };
}

macro_rules! error {
    ($tag:expr, $($arg:tt)*) => {
        $crate::log::emit('E', $crate::clock::now(), $tag, format_args!($($arg)*))
    };
}

pub(crate) use {error, info, warning};
