//! Telemetry for every WebSocket client: the control loop hands over a snapshot of the runner
//! when a frame is due (every 100 ms on its clock); this thread-mode task formats it into one
//! shared buffer and wakes the clients, each of which copies the latest frame when it is ready
//! for one. A slow client skips frames; it never delays the controller or the other clients.
//! It also writes the phase notices to the log, and each run that ended to the history.
//!
//! Formatting runs here, not in the control loop's interrupt, and without the controller lock:
//! the interrupt stays short, its stack small (it may run on top of a Wi-Fi thread's stack),
//! and no formatting can hold up the alarm.

use core::cell::Cell;

use critical_section::Mutex as CsMutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;
use tumble_core::history::Recorder;
use tumble_core::runner::Snapshot;
use tumble_core::telemetry;
use tumble_core::time::Instant;
use tumble_fw_logic::writer::SliceWriter;

use crate::clock::now;
use crate::config::{TELEMETRY_MAX, WS_CLIENTS};
use crate::log::warning;
use crate::shared::Shared;

/// The runner when a frame is due, from the control loop (the latest one: a frame not yet
/// written is replaced, never waited for).
pub static SNAPSHOT: Signal<CriticalSectionRawMutex, Snapshot> = Signal::new();
/// One per WebSocket client slot: a new frame is there.
pub static READY: [Signal<CriticalSectionRawMutex, ()>; WS_CLIENTS] =
    [const { Signal::new() }; WS_CLIENTS];
/// When the thread-mode executor last ran this task: the control loop feeds the RTC watchdog
/// only while this is recent.
static HEARTBEAT: CsMutex<Cell<Instant>> = CsMutex::new(Cell::new(Instant::from_micros(0)));

pub struct Frame {
    buf: [u8; TELEMETRY_MAX],
    len: usize,
}

/// The latest frame. An async mutex: the frame is formatted in place while it is held, with
/// interrupts enabled, and clients copy it out under it.
static FRAME: Mutex<CriticalSectionRawMutex, Frame> = Mutex::new(Frame {
    buf: [0; TELEMETRY_MAX],
    len: 0,
});

pub fn heartbeat() -> Instant {
    critical_section::with(|cs| HEARTBEAT.borrow(cs).get())
}

/// Copies the latest frame into `out`; returns its length (0: none yet).
#[cfg_attr(not(feature = "web"), allow(dead_code))]
pub async fn copy_latest(out: &mut [u8]) -> usize {
    let f = FRAME.lock().await;
    let n = f.len.min(out.len());
    out[..n].copy_from_slice(&f.buf[..n]);
    n
}

#[embassy_executor::task]
pub async fn run(shared: &'static Shared) {
    let board = &shared.board;
    let mut overflow_warned = false;
    let mut recorder = Recorder::default();
    let mut program = None;
    loop {
        let snapshot = SNAPSHOT.wait().await;
        while crate::shared::log_notices(&mut recorder, &mut program) {
            if let Some(run) = recorder.ended() {
                crate::history::keep(shared, run, program.as_ref()).await;
            }
        }
        let len = {
            let mut frame = FRAME.lock().await;
            let f = &mut *frame;
            let mut w = SliceWriter::new(&mut f.buf);
            let len = match telemetry::write_frame(&mut w, board, &snapshot) {
                Ok(()) => w.len(),
                Err(_) => 0,
            };
            f.len = len;
            len
        };
        critical_section::with(|cs| HEARTBEAT.borrow(cs).set(now()));
        if len == 0 {
            if !overflow_warned {
                overflow_warned = true;
                warning!(
                    "telemetry",
                    "frame larger than {TELEMETRY_MAX} bytes: not sent"
                );
            }
            continue;
        }
        for r in &READY {
            r.signal(());
        }
    }
}
