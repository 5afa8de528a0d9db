//! One command from any transport (a WebSocket client, the console) through tumble-core's
//! protocol steps, with each lock held only for the step that needs it (see `shared`):
//!
//! 1. the frame is read with nothing locked;
//! 2. a document (and a start) takes the loader: a document is checked there (storing
//!    nothing), and a start waits for a load's flash write to end;
//! 3. the controller lock, only to apply the command. A load takes it twice: to stop the run
//!    and borrow the cycle storage (`Work::Release`), and, once the document has been read
//!    into the storage with the lock let go, to give it back loaded (`Work::Load`). A query
//!    takes it to copy the bytes the cycle uses into the end of its buffer, and walks and
//!    writes its reply from that copy with the lock let go;
//! 4. the reply is written with the controller let go; a load's document is stored in flash
//!    while the loader is still held, so nothing can start a cycle meanwhile (flash is never
//!    written while a phase runs). Nothing else waits for that: a stop needs only step 3, and
//!    a command read before a stop that got there first may not start anything.

use core::fmt::Write;
use core::ops::Range;

use tumble_core::access::Access;
use tumble_core::controller::{Arrival, Work};
use tumble_core::cycle::{Cycle, WarningCount};
use tumble_core::logline::CommandLine;
use tumble_core::protocol::{self, Action, Op, Outcome, Read};
use tumble_fw_logic::local::{self, Local};
use tumble_fw_logic::record::{HEADER_LEN, Kind};
use tumble_fw_logic::session::{self, CYCLE_STORAGE, Done, Session};
use tumble_fw_logic::writer::Truncating;

use crate::clock::now;
use crate::config::HEADROOM;
use crate::log::{self, error, info};
use crate::shared::{Loader, Shared, WAKE};

/// Runs the frame at `buf[HEADROOM..HEADROOM + len]`; the reply is written right after it.
/// Returns the reply's range in `buf`. `peer` names the client in the log; `access` is what it
/// may do (the console may do everything: whoever holds it holds the machine).
pub async fn execute(
    shared: &Shared,
    buf: &mut [u8],
    len: usize,
    peer: &str,
    access: Access,
) -> Range<usize> {
    let reply_at = HEADROOM + len;
    if let Some(reply) = memory(buf, reply_at, access) {
        return reply;
    }
    let board = &shared.board;
    let (mut done, mut loader) = {
        let (head, tail) = buf.split_at_mut(reply_at);
        let mut s = Session::new(&head[HEADROOM..], tail);
        let mut read = s.read(board);
        if let Some(refused) = s.permit(access, &read) {
            read = Read::Answered(refused);
        }
        let arrival = crate::shared::arrival();
        let mut loader = match needs_loader(&read) {
            true => Some(shared.loader.lock().await),
            false => None,
        };
        if let Read::Document(doc) = read {
            read = s.parse(&doc, board, CYCLE_STORAGE);
        }
        let handled = match read {
            Read::Answered(h) => h,
            Read::Program(p) => s.no_library(&p),
            Read::History(h) => s.no_history(&h),
            Read::Document(_) => unreachable!("a document holds the loader"),
            Read::Query(q) => match s.admit(&q) {
                Some(refused) => refused,
                None => {
                    // The controller is held for a copy of the bytes the cycle takes, never
                    // for the walk or the formatting.
                    let c = shared.ctl.lock().await;
                    let loaded = c.controller.runner().cycle();
                    let used = loaded.storage_used();
                    match s.room_for_copy(used) {
                        Some(room) => {
                            let mut copy = Cycle::new(room);
                            copy.copy_from(loaded);
                            drop(c);
                            s.answer(&q, &copy, board)
                        }
                        None => {
                            drop(c);
                            s.no_room(&q, used)
                        }
                    }
                }
            },
            Read::Command(cmd) => {
                let outcome = match (cmd.action, loader.as_mut()) {
                    (Action::Load { document, .. }, Some(l)) => {
                        load(shared, l, document, arrival).await
                    }
                    (Action::Load { .. }, None) => unreachable!("a load holds the loader"),
                    (Action::Op(op), _) => apply(shared, Work::Op(op), arrival).await,
                };
                s.finish(&cmd, &outcome, board)
            }
        };
        (s.done(handled), loader)
    };
    if let (Some(doc), Some(l)) = (done.store.clone(), loader.as_mut())
        && let Err(why) = store(l, buf, doc)
    {
        // As the host: the cycle is loaded, the reply says storing it failed.
        let (head, tail) = buf.split_at_mut(reply_at);
        let mut w = Truncating::new(tail);
        let _ = protocol::write_store_failed(&head[HEADROOM..], why.as_str(), &mut w);
        done.reply_len = w.len();
        done.ok = false;
        error!("store", "cannot store the cycle: {why}");
    }
    drop(loader);
    log_command(&done, peer, &buf[reply_at..reply_at + done.reply_len]);
    reply_at..reply_at + done.reply_len
}

/// The controller held for one piece of work, then the control loop told to re-arm.
async fn apply(shared: &Shared, work: Work<'_, 'static>, arrival: Arrival) -> Outcome {
    let applied = {
        let mut c = shared.ctl.lock().await;
        let ctl = &mut *c;
        let applied = ctl.controller.execute(work, arrival, now(), &mut ctl.pins);
        ctl.forward_notices();
        applied
    };
    WAKE.signal(());
    applied.outcome
}

/// A checked document loaded into the one cycle storage: the run is stopped and the storage
/// lent out, the document read into it with the controller let go (the control loop runs
/// meanwhile, with no cycle), and the storage given back, loaded.
async fn load(shared: &Shared, l: &mut Loader, doc: &[u8], arrival: Arrival) -> Outcome {
    apply(shared, Work::Release(&mut l.lent), arrival).await;
    let read = l
        .lent
        .read(doc, &shared.board, &mut WarningCount::default());
    if let Err(e) = read {
        // `parse` checked it against the same storage and board: it cannot happen.
        error!(
            "load",
            "a checked document did not read ({e}); no cycle loaded"
        );
    }
    apply(shared, Work::Load(&mut l.lent), arrival).await
}

/// A document is checked (storing nothing) with the loader held, and a start waits for a load's flash
/// write to end (nothing may start a cycle meanwhile); everything else goes without the loader,
/// so a stop, a status or a ping never waits for a parse or a flash write.
fn needs_loader(read: &Read<'_>) -> bool {
    match read {
        Read::Document(_) => true,
        Read::Command(cmd) => matches!(cmd.action, Action::Op(Op::Start | Op::StartIn { .. })),
        Read::Answered(_) | Read::Query(_) | Read::Program(_) | Read::History(_) => false,
    }
}

/// `{"cmd":"get_memory"}`, the chip's own command (with the token): the reply after the
/// frame, if it is one.
fn memory(buf: &mut [u8], reply_at: usize, access: Access) -> Option<Range<usize>> {
    let (head, tail) = buf.split_at_mut(reply_at);
    let Some(Local::GetMemory { id }) = local::parse(&head[HEADROOM..]) else {
        return None;
    };
    let mut w = Truncating::new(tail);
    let _ = match access {
        Access::Control => local::write_memory(&mut w, id, &crate::memory::report()),
        _ => protocol::write_refusal(
            &head[HEADROOM..],
            "unauthorized",
            tumble_core::access::NEEDS_TOKEN,
            &mut w,
        ),
    };
    Some(reply_at..reply_at + w.len())
}

fn log_command(done: &Done, peer: &str, reply: &[u8]) {
    let reply = core::str::from_utf8(reply).unwrap_or("");
    let line = CommandLine {
        peer: &peer,
        command: done.command.as_str(),
        reply,
        warnings: done.warnings,
    };
    log::emit(
        if done.ok { 'I' } else { 'W' },
        now(),
        "command",
        format_args!("{line}"),
    );
}

/// Writes the loaded document to flash as a record sealed in place (the header goes into the
/// 16 bytes before the document, which are put back afterwards so the frame stays intact for
/// the reply).
///
/// The caller holds the loader: the load left the runner idle, and no command can start it
/// until the loader is let go.
fn store(l: &mut Loader, buf: &mut [u8], doc: Range<usize>) -> Result<(), heapless::String<96>> {
    let mut why = heapless::String::<96>::new();
    let Some(store) = l.store.as_mut() else {
        let _ = why.push_str("no \"tumble\" flash partition");
        return Err(why);
    };
    let at = HEADROOM + doc.start;
    let mut saved = [0u8; HEADER_LEN];
    saved.copy_from_slice(&buf[at - HEADER_LEN..at]);
    let result = match session::seal(buf, HEADROOM, doc.clone()) {
        Ok(rec) => {
            let started = now();
            let r = store.save(Kind::Cycle, &buf[rec.clone()]);
            if r.is_ok() {
                info!(
                    "store",
                    "cycle stored ({} bytes, {} ms)",
                    doc.len(),
                    (now() - started).as_millis()
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
