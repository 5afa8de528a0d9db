//! The serial console on UART0: log lines out; commands in, one per line, through the same
//! protocol as the WebSocket, replies printed. Plus the console-only Wi-Fi commands (see
//! `tumble_fw_logic::local`). Lines are framed by `tumble_fw_logic::console::LineFramer` (tested
//! on the host) in a `CLIENT_BUF` buffer, like a WebSocket client's: a line may be up to
//! `FRAME_MAX` bytes, enough for a cycle document.
//!
//! UART0 and not the USB-Serial-JTAG: the default board drives GPIO18/19 (the USB D-/D+ pads)
//! as relay outputs, which switches the C3's USB port off.

use core::fmt::Write;

use embassy_futures::select::{Either, select};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_time::Timer;
use esp_hal::Async;
use esp_hal::uart::{UartRx, UartTx};
use tumble_fw_logic::console::{Event, LineFramer};
use tumble_fw_logic::local::{self, Local};
use tumble_fw_logic::session::write_too_large;
use tumble_fw_logic::writer::Truncating;

use crate::config::{CLIENT_BUF, CONSOLE_LINE_TIMEOUT, FRAME_MAX, HEADROOM};
use crate::log::{self, warning};
use crate::shared::Shared;

pub type Tx = Mutex<CriticalSectionRawMutex, UartTx<'static, Async>>;

/// Writes `bytes` whole; the UART's errors cannot be reported anywhere but here, so they are
/// ignored.
async fn write_all(tx: &mut UartTx<'static, Async>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match tx.write_async(bytes).await {
            Ok(0) | Err(_) => return,
            Ok(n) => bytes = &bytes[n..],
        }
    }
}

/// Prints one reply, whole, between log lines.
pub async fn print(tx: &Tx, text: &[u8]) {
    let mut tx = tx.lock().await;
    write_all(&mut tx, text).await;
    write_all(&mut tx, b"\r\n").await;
}

/// Writes the log queue out.
#[embassy_executor::task]
pub async fn log_writer(tx: &'static Tx) {
    loop {
        let line = log::QUEUE.receive().await;
        let dropped = log::take_dropped();
        let mut tx = tx.lock().await;
        if dropped > 0 {
            let mut buf = [0u8; 64];
            let mut w = Truncating::new(&mut buf);
            let _ = write!(w, "W (-) log: {dropped} lines dropped\r\n");
            write_all(&mut tx, w.as_str().as_bytes()).await;
        }
        write_all(&mut tx, line.as_bytes()).await;
        write_all(&mut tx, b"\r\n").await;
    }
}

/// Reads commands, one per line.
#[embassy_executor::task]
pub async fn reader(
    shared: &'static Shared,
    mut rx: UartRx<'static, Async>,
    tx: &'static Tx,
    buf: &'static mut [u8; CLIENT_BUF],
) {
    let mut framer = LineFramer::new();
    let mut chunk = [0u8; 64];
    loop {
        let read = if framer.pending() > 0 {
            // Half a line: give up on it if the rest never comes.
            match select(
                rx.read_async(&mut chunk),
                Timer::after(CONSOLE_LINE_TIMEOUT),
            )
            .await
            {
                Either::First(r) => r,
                Either::Second(()) => {
                    warning!(
                        "console",
                        "dropped an unfinished line of {} bytes (no line end for {} s)",
                        framer.pending(),
                        CONSOLE_LINE_TIMEOUT.as_secs()
                    );
                    framer.clear();
                    continue;
                }
            }
        } else {
            rx.read_async(&mut chunk).await
        };
        let n = match read {
            Ok(n) => n,
            Err(e) => {
                // An overrun (bytes sent while a command ran) or a framing error: the line in
                // progress is damaged, drop it, and do not spin on a stuck error.
                warning!(
                    "console",
                    "UART receive error ({e:?}); the line in progress is dropped"
                );
                framer.clear();
                Timer::after(embassy_time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let mut rest = &chunk[..n];
        while !rest.is_empty() {
            let (used, event) = framer.feed(&mut buf[HEADROOM..HEADROOM + FRAME_MAX], rest);
            rest = &rest[used..];
            match event {
                None => {}
                Some(Event::Line { len }) => line(shared, tx, &mut buf[..], len).await,
                Some(Event::TooLong { len }) => {
                    let mut out = [0u8; 256];
                    let mut w = Truncating::new(&mut out);
                    let _ = write_too_large(&mut w, b"", Some(len), FRAME_MAX);
                    print(tx, w.as_str().as_bytes()).await;
                }
            }
        }
    }
}

async fn line(shared: &'static Shared, tx: &Tx, buf: &mut [u8], len: usize) {
    let text = &buf[HEADROOM..HEADROOM + len];
    match local::parse(text) {
        None | Some(Local::GetMemory { .. }) => {
            let reply = crate::commands::execute(
                shared,
                buf,
                len,
                "console",
                tumble_core::access::Access::Control,
            )
            .await;
            print(tx, &buf[reply]).await;
        }
        Some(Local::Help) => print(tx, local::HELP.as_bytes()).await,
        Some(cmd) => {
            let mut out = [0u8; 512];
            let mut w = Truncating::new(&mut out);
            crate::wifi_settings::handle(shared, cmd, &mut w).await;
            print(tx, w.as_str().as_bytes()).await;
        }
    }
}
