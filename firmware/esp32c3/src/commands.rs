//! One command from any transport (a WebSocket client, the console) through tumble-core's
//! protocol, against the shared controller; then, for a load, the document stored in flash.
//!
//! The store happens under the controller lock, right after the load: a load leaves the runner
//! idle (it stops a running cycle first), and nothing can start a cycle until the lock is
//! released, so flash is never written while a phase runs. A command that arrives meanwhile
//! waits for the write (tens of milliseconds; an 8 KiB page erase at worst).

use core::fmt::Write;
use core::ops::Range;

use tumble_core::logline::first_line;
use tumble_core::protocol::{self, Controller};
use tumble_core::record::{HEADER_LEN, Kind};
use tumble_core::runner::Status;
use tumble_fw_logic::session;
use tumble_fw_logic::writer::Truncating;

use crate::clock::now_us;
use crate::config::HEADROOM;
use crate::log::{self, error, info};
use crate::shared::{Shared, WAKE};

/// Runs the frame at `buf[HEADROOM..HEADROOM + len]`; the reply is written right after it.
/// Returns the reply's range in `buf`. `peer` names the client in the log.
pub async fn execute(shared: &Shared, buf: &mut [u8], len: usize, peer: &str) -> Range<usize> {
    let reply_at = HEADROOM + len;
    let mut c = shared.lock().await;
    let now = now_us();
    // Notices of the control loop since the telemetry task last logged them are about the
    // cycle loaded now: log them before this command can replace it.
    c.log_notices();
    let done = {
        let ctl = &mut *c;
        let (head, tail) = buf.split_at_mut(reply_at);
        let mut controller = Controller {
            runner: &mut *ctl.runner,
            spare: &mut *ctl.spare,
            outputs: &mut ctl.pins,
            now_us: now,
        };
        session::run(&head[HEADROOM..], &mut controller, tail)
    };
    c.log_notices();
    let mut reply_len = done.reply_len;
    if let Some(doc) = done.store.clone()
        && let Err(why) = store(&mut c, buf, doc)
    {
        // As the host: the cycle is loaded, the reply says storing it failed.
        let (head, tail) = buf.split_at_mut(reply_at);
        let mut w = Truncating::new(tail);
        let _ = protocol::write_refusal(
            &head[HEADROOM..],
            "store_failed",
            format_args!("cycle loaded, but storing it failed: {why}"),
            &mut w,
        );
        reply_len = w.len();
        error!("store", "cannot store the cycle: {why}");
    }
    drop(c);
    WAKE.signal(());
    let reply = core::str::from_utf8(&buf[reply_at..reply_at + reply_len]).unwrap_or("");
    let name = if done.command.is_empty() {
        "(no command)"
    } else {
        done.command.as_str()
    };
    log::emit(
        if done.ok { 'I' } else { 'W' },
        now_us(),
        "command",
        format_args!("{peer}: {name}: {}", first_line(reply)),
    );
    reply_at..reply_at + reply_len
}

/// Writes the loaded document to flash as a record sealed in place (the header goes into the
/// 16 bytes before the document, which are put back afterwards so the frame stays intact for
/// the reply).
fn store(
    c: &mut crate::shared::Ctl,
    buf: &mut [u8],
    doc: Range<usize>,
) -> Result<(), heapless::String<96>> {
    let mut why = heapless::String::<96>::new();
    if c.runner.status() != Status::Idle {
        // Cannot happen: a load stops the cycle and the lock is held. Never write then anyway.
        let _ = why.push_str("a cycle is running");
        return Err(why);
    }
    let Some(store) = c.store.as_mut() else {
        let _ = why.push_str("no \"tumble\" flash partition");
        return Err(why);
    };
    let at = HEADROOM + doc.start;
    let mut saved = [0u8; HEADER_LEN];
    saved.copy_from_slice(&buf[at - HEADER_LEN..at]);
    let result = match session::seal(buf, HEADROOM, doc.clone()) {
        Ok(rec) => {
            let started = now_us();
            let r = store.save(Kind::Cycle, &buf[rec.clone()]);
            if r.is_ok() {
                info!(
                    "store",
                    "cycle stored ({} bytes, {} ms)",
                    doc.len(),
                    (now_us() - started) / 1000
                );
            }
            r.map_err(|e| {
                let _ = write!(why, "{e:?}");
                why
            })
        }
        Err(e) => {
            let _ = write!(why, "{e}");
            Err(why)
        }
    };
    buf[at - HEADER_LEN..at].copy_from_slice(&saved);
    result
}
