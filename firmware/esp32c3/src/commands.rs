//! One command from any transport (a WebSocket client, the console) through tumble-core's
//! `exchange`, the flow `tumble serve` runs too, with each lock held only for the step that
//! needs it (see `shared`):
//!
//! 1. the frame is read with nothing locked;
//! 2. a document, a library or history request and a start take the loader, the load turn: a
//!    document is checked there (storing nothing), the library and the history are read and
//!    written there (only while no cycle runs), and a start waits for a load's flash write;
//! 3. the controller lock, only to apply the command. A load takes it twice: to stop the run
//!    and borrow the cycle storage (`Work::Release`), and, once the document has been read
//!    into the storage with the lock let go, to give it back loaded (`Work::Load`). A query
//!    takes it to copy the bytes the cycle uses into the end of its buffer, and walks and
//!    writes its reply from that copy with the lock let go;
//! 4. a load's document is stored in flash while the loader is still held, so nothing can
//!    start a cycle meanwhile (flash is never written while a phase runs), sealed as a record
//!    in place in the frame's buffer; then the reply is sealed and the command logged. Nothing
//!    else waits for that: a stop needs only step 3, and a command read before a stop that got
//!    there first may not start anything.

use core::cell::OnceCell;
use core::fmt::Write;
use core::ops::Range;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::mutex::MutexGuard;
use tumble_core::access::Access;
use tumble_core::board::Board;
use tumble_core::controller::{Applied, Arrival, Work};
use tumble_core::cycle::WarningCount;
use tumble_core::exchange::{self, ProgramStep, Refusal, Shell};
use tumble_core::library::{self, Failure, Name, Programs, Request};
use tumble_core::logline::CommandLine;
use tumble_core::protocol::{self, Handled, HistoryRequest, Op, Program, Query, Version};
use tumble_core::time::Duration;
use tumble_fw_logic::alarm::starts_a_clock;
use tumble_fw_logic::local::{self, Local};
use tumble_fw_logic::record::{HEADER_LEN, Kind};
use tumble_fw_logic::session::{self, CYCLE_STORAGE, Done};
use tumble_fw_logic::writer::{Overflowing, Truncating};

use crate::clock::now;
use crate::config::{HEADROOM, LEAD_US, RUN_MAX};
use crate::log::{self, error, info};
use crate::shared::{Ctl, Loader, Shared, WAKE};

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
    let mut chip = Chip {
        shared,
        program: OnceCell::new(),
    };
    let (head, tail) = buf.split_at_mut(reply_at);
    let mut w = Overflowing::new(tail);
    let mut ran = exchange::exchange(&chip, &head[HEADROOM..], access, &mut w).await;
    let done = Done::new(&ran, &w);
    let to_store = ran.to_store().cloned();
    let stored = match (to_store, ran.turn()) {
        (Some(s), Some(loader)) if s.from_library => match chip.program.take() {
            // The library's document sits in the client's buffer after its item's key.
            Some((room, at, name)) => {
                crate::shared::set_program(Some(name));
                store(
                    loader,
                    room,
                    0,
                    at.start + s.doc.start..at.start + s.doc.end,
                )
            }
            None => Ok(()),
        },
        (Some(s), Some(loader)) => {
            crate::shared::set_program(None);
            store(loader, head, HEADROOM, s.doc)
        }
        _ => Ok(()),
    };
    if let Err(why) = &stored {
        // As the host: the cycle is loaded, the reply says storing it failed.
        error!("store", "cannot store the cycle: {why}");
    }
    let ran = ran.finish(&chip, &head[HEADROOM..], stored, &peer, &mut w);
    let done = done.finished(&ran, &w);
    reply_at..reply_at + done.reply_len
}

/// The reply room a `save_program` keeps: its reply, or why the cycle or the name is refused.
const SAVE_REPLY: usize = 512;

/// Why a chip answers no library command.
const NO_LIBRARY: &str = "this chip has no \"programs\" partition (flash with partitions.csv)";

/// The chip's side of `exchange`.
struct Chip<'a, 'r> {
    shared: &'a Shared,
    /// A `load_program`'s document: the end of the client's buffer it was read into, and
    /// where in it the document is.
    program: OnceCell<(&'r mut [u8], Range<usize>, Name)>,
}

impl<'a, 'r> Shell<Overflowing<'r>> for Chip<'a, 'r> {
    /// The loader: a load's turn, its cycle storage, the flash store.
    type Turn = MutexGuard<'a, CriticalSectionRawMutex, Loader>;

    fn board(&self) -> &Board {
        &self.shared.board
    }

    fn capacity(&self) -> usize {
        CYCLE_STORAGE
    }

    fn arrival(&self) -> Arrival {
        crate::shared::arrival()
    }

    async fn turn(&self) -> Self::Turn {
        self.shared.loader.lock().await
    }

    async fn apply(&self, op: Op, arrival: Arrival) -> Result<Applied, Refusal> {
        Ok(apply(self.shared, Work::Op(op), arrival).await)
    }

    /// The run is stopped and the storage lent out, the document read into it with the
    /// controller let go (the control loop runs meanwhile, with no cycle), and the storage
    /// given back, loaded.
    async fn load(
        &self,
        l: &mut Self::Turn,
        doc: &[u8],
        arrival: Arrival,
    ) -> Result<Applied, Refusal> {
        apply(self.shared, Work::Release(&mut l.lent), arrival).await;
        read(&mut l.lent, doc, &self.shared.board);
        Ok(apply(self.shared, Work::Load(&mut l.lent), arrival).await)
    }

    /// The controller is held for a copy of the bytes the cycle takes, never for the walk or
    /// the formatting.
    async fn answer<'q>(&self, q: &Query<'q>, w: &mut Overflowing<'r>) -> Handled<'q> {
        if session::refuse_deep(q, w) {
            return Handled::new(Version::V2, q.name);
        }
        let c = self.shared.ctl.lock().await;
        answer_from_copy(q, c, &self.shared.board, w)
    }

    /// The library in the `programs` partition, in the end of the client's buffer: only while
    /// no cycle runs (reading and writing flash stall the control loop).
    async fn program<'d>(
        &'d self,
        l: &mut Self::Turn,
        p: &Program<'_>,
        w: &mut Overflowing<'r>,
    ) -> ProgramStep<'d> {
        let name = p.request.name().map_or("", Name::as_str);
        let refuse = |f: Failure, w: &mut Overflowing<'r>| {
            let _ = f.write(w, p.id, name);
            ProgramStep::Answered(false)
        };
        if !self.shared.idle().await {
            return refuse(
                Failure::Busy(
                    "the chip reads and writes its flash only while no cycle runs: stop it first",
                ),
                w,
            );
        }
        // A save's reply is short, and its frame holds the document: the library gets more of
        // the buffer, so that it can walk past the largest stored item.
        let reply_room = match p.request {
            Request::Save { .. } => SAVE_REPLY,
            _ => session::MIN_REPLY,
        };
        let room = w.capacity().saturating_sub(reply_room);
        let (Some(store), Some(buf)) = (l.store.as_mut(), w.split_off_end(room)) else {
            return refuse(Failure::Busy(NO_LIBRARY), w);
        };
        if let Request::Load { name } = &p.request {
            // The document is read into `buf` itself (the map's item, key first).
            let start = buf.as_ptr() as usize;
            let loaded = match store.library(&mut []) {
                Some(mut lib) => lib.load(name, buf).map(|(saved, doc)| {
                    let at = doc.as_ptr() as usize - start;
                    (at..at + doc.len(), saved)
                }),
                None => Err(Failure::Busy(NO_LIBRARY)),
            };
            return match loaded {
                Ok((at, saved)) => {
                    let (room, at, _) = self.program.get_or_init(|| (buf, at, saved));
                    ProgramStep::Load(&room[at.clone()])
                }
                Err(f) => refuse(f, w),
            };
        }
        let Some(mut lib) = store.library(buf) else {
            return refuse(Failure::Busy(NO_LIBRARY), w);
        };
        let answered = library::answer(p, &mut lib, &self.shared.board, CYCLE_STORAGE, w);
        ProgramStep::Answered(answered.unwrap_or(false))
    }

    /// The runs in the `history` partition, only while no cycle runs (reading flash stalls
    /// the control loop).
    async fn history(
        &self,
        l: &mut Self::Turn,
        h: &HistoryRequest<'_>,
        w: &mut Overflowing<'r>,
    ) -> bool {
        let quiet = self.shared.idle().await;
        let why = match (quiet, l.store.as_ref().and_then(|s| s.history())) {
            (false, _) => {
                Some("the chip reads its flash only while no cycle runs: ask again when it ends")
            }
            (true, None) => {
                Some("this chip has no \"history\" partition (flash with partitions.csv)")
            }
            (true, Some(_)) => None,
        };
        let scratch = w.split_off_end(RUN_MAX + HEADER_LEN + 64);
        match (why, scratch) {
            (None, Some(scratch)) => crate::history::answer(l, h, scratch, w),
            (why, _) => {
                let why = why.unwrap_or("no room to read the runs here");
                let _ = protocol::write_v2_error(w, h.id, "busy", why, "cmd");
                false
            }
        }
    }

    fn log(&self, ok: bool, line: &CommandLine<'_>) {
        log::emit(
            if ok { 'I' } else { 'W' },
            now(),
            "command",
            format_args!("{line}"),
        );
    }
}

/// A query answered from a copy of the loaded cycle made while `c` is held; the walk and the
/// reply come after it is let go. Not inlined: the copy (with its 2 KB phase table) and the
/// walk stay off the stack of every other poll of the command's future.
#[inline(never)]
fn answer_from_copy<'q>(
    q: &Query<'q>,
    c: MutexGuard<'_, CriticalSectionRawMutex, Ctl>,
    board: &Board,
    w: &mut Overflowing<'_>,
) -> Handled<'q> {
    let copy = session::copy_for_query(q, c.controller.runner().cycle(), w);
    drop(c);
    match copy {
        Some(copy) => session::answer(q, &copy, board, w),
        None => Handled::new(Version::V2, q.name),
    }
}

/// Reads a checked document into the lent storage. Not inlined, as `apply_locked`.
#[inline(never)]
fn read(lent: &mut tumble_core::cycle::Cycle<'static>, doc: &[u8], board: &Board) {
    if let Err(e) = lent.read(doc, board, &mut WarningCount::default()) {
        // `parse` checked it against the same storage and board: it cannot happen.
        error!(
            "load",
            "a checked document did not read ({e}); no cycle loaded"
        );
    }
}

/// The controller held for one piece of work, then the control loop told to re-arm. A
/// command that starts a phase clock is applied as of `LEAD_US` from now with the pins held,
/// and the control loop writes its first instant then (`tumble_fw_logic::alarm`).
async fn apply(shared: &Shared, work: Work<'_, 'static>, arrival: Arrival) -> Applied {
    let applied = apply_locked(&mut *shared.ctl.lock().await, work, arrival);
    WAKE.signal(());
    applied
}

/// The part of `apply` under the lock. Not inlined: the controller's frame stays off the
/// stack of every poll of the command's future (it took 8 KB there).
#[inline(never)]
fn apply_locked(ctl: &mut Ctl, work: Work<'_, 'static>, arrival: Arrival) -> Applied {
    let mut at = now();
    if let Work::Op(op) = &work
        && LEAD_US > 0
        && starts_a_clock(op)
    {
        at += Duration::from_micros(LEAD_US);
        ctl.pins.hold_until(at);
    }
    let applied = ctl.controller.execute(work, arrival, at, &mut ctl.pins);
    ctl.forward_notices();
    applied
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

/// Writes the loaded document to flash as a record sealed in place (the header goes into the
/// 16 bytes before the document, which are put back afterwards so the frame stays intact for
/// the reply).
///
/// The caller holds the loader: the load left the runner idle, and no command can start it
/// until the loader is let go.
fn store(
    l: &mut Loader,
    buf: &mut [u8],
    frame_at: usize,
    doc: Range<usize>,
) -> Result<(), heapless::String<96>> {
    let mut why = heapless::String::<96>::new();
    let Some(store) = l.store.as_mut() else {
        let _ = why.push_str("no \"tumble\" flash partition");
        return Err(why);
    };
    let at = frame_at + doc.start;
    let mut saved = [0u8; HEADER_LEN];
    saved.copy_from_slice(&buf[at - HEADER_LEN..at]);
    let result = match session::seal(buf, frame_at, doc.clone()) {
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
