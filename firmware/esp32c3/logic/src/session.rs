//! One command through tumble-core's protocol, with the chip's fixed buffers.
//!
//! Every transport (a WebSocket client, the console) owns one buffer laid out as
//!
//! ```text
//! [ HEADROOM | frame (at most FRAME_MAX) | reply (the rest) ]
//! ```
//!
//! The frame is received after the headroom; the reply is written right after the frame; and a
//! document to store is sealed into a flash record in place, its header written over the frame
//! bytes before the document (there are always at least `{"data":` or the headroom there). So a
//! command needs no buffer but its own, and a slow client holds nobody else's memory.

use core::fmt::{self, Write};
use core::ops::Range;

use crate::record;
#[cfg(test)]
use tumble_core::access::Access;
use tumble_core::board::Board;
use tumble_core::cycle::Cycle;
use tumble_core::exchange::{self, Ran, Reply};
use tumble_core::protocol::{self, Handled, Query, Version};

use crate::writer::{Overflowing, SliceWriter};

/// Bytes kept free before a frame, for the flash record header.
pub const HEADROOM: usize = record::HEADER_LEN;
/// The chip's cycle storage, in bytes: what a loaded cycle may take (its strings, component
/// records and pattern steps; `tumble check` prints a document's). Every document a frame of
/// [`FRAME_MAX`] bytes can carry fits, except one of thousands of empty steps (`[{},{},...]`).
pub const CYCLE_STORAGE: usize = tumble_core::limits::CHIP_CYCLE_STORAGE;
/// Each client's buffer: headroom, frame and reply together.
pub const CLIENT_BUF: usize = 8 * 1024;
/// The largest frame (WebSocket message or console line) the chip accepts. The rest of the
/// buffer, at least `CLIENT_BUF - HEADROOM - FRAME_MAX` bytes, holds the reply.
pub const FRAME_MAX: usize = 6 * 1024;
/// The reply room a frame of the largest size leaves.
pub const MIN_REPLY: usize = CLIENT_BUF - HEADROOM - FRAME_MAX;
/// Most timeline events a query may walk here (`offset + limit`): a walk is the client's task's
/// time (a page holds what the reply room does, a hundred events or so). Deeper pages are had
/// with `from_us`, which seeks in O(pattern steps).
pub const MAX_QUERY_WALK: u64 = 1_000;
/// Longest command name kept for the log.
pub const MAX_COMMAND: usize = exchange::MAX_COMMAND;

const _: () = assert!(
    MIN_REPLY >= 1024,
    "a reply needs room for the status or a summary"
);

/// What a command did, besides its reply: the end of tumble-core's `exchange` on the chip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub version: Version,
    /// The command's name ("" when the frame was not a command), cut to [`MAX_COMMAND`].
    pub command: heapless::String<MAX_COMMAND>,
    pub ok: bool,
    /// Bytes of the reply at the start of the reply buffer.
    pub reply_len: usize,
    /// A cycle was loaded: the document to store, as a range of the frame.
    pub store: Option<Range<usize>>,
    /// The reply did not fit; a `too_large` refusal was sent instead.
    pub reply_overflow: bool,
    /// Warnings of a cycle it loaded or validated, for the log.
    pub warnings: usize,
}

impl Done {
    /// What `ran` did, its reply in `w` (before `Ran::finish` seals it).
    pub fn new<T>(ran: &Ran<T>, w: &Overflowing<'_>) -> Self {
        Done {
            version: ran.version,
            command: ran.command.clone(),
            ok: ran.ok,
            reply_len: w.len(),
            store: ran.to_store().map(|s| s.doc.clone()),
            reply_overflow: w.overflowed(),
            warnings: ran.warnings,
        }
    }

    /// The end, once `ran` is finished: its reply as sealed.
    pub fn finished<T>(mut self, ran: &Ran<T>, w: &Overflowing<'_>) -> Self {
        self.ok = ran.ok && !self.reply_overflow;
        self.reply_len = w.len();
        self
    }
}

/// The chip's reply: the rest of the client's buffer after the frame. One that does not fit
/// is replaced, when sealed, by a `too_large` error in the frame's protocol version. For a
/// query nothing else happened; for a load, which happened before its summary could be sent,
/// the message says the cycle was loaded (and it is stored, like any load), as a store
/// failure says it on the host.
impl Reply for Overflowing<'_> {
    fn clear(&mut self) {
        Overflowing::clear(self);
    }

    fn as_str(&self) -> &str {
        Overflowing::as_str(self)
    }

    fn seal(&mut self, frame: &[u8], loaded: bool) -> bool {
        if !self.overflowed() {
            return false;
        }
        let (needed, capacity) = (self.total(), self.capacity());
        self.rewrite(|t| {
            let _ = if loaded {
                protocol::write_refusal(
                    frame,
                    "too_large",
                    format_args!(
                        "cycle loaded, but its summary ({needed} bytes) is larger than this controller's {capacity}-byte reply buffer"
                    ),
                    t,
                )
            } else {
                protocol::write_refusal(
                    frame,
                    "too_large",
                    format_args!(
                        "the reply ({needed} bytes) is larger than this controller's {capacity}-byte reply buffer (for get_timeline, ask for fewer events with \"limit\")"
                    ),
                    t,
                )
            };
        });
        true
    }
}

/// A query that walks more than [`MAX_QUERY_WALK`] events is refused with `too_large` (and
/// true returned).
pub fn refuse_deep(q: &Query<'_>, w: &mut Overflowing<'_>) -> bool {
    let walked = q.events_walked();
    if walked <= MAX_QUERY_WALK {
        return false;
    }
    let _ = q.refuse(
        "too_large",
        format_args!(
            "offset + limit = {walked}: at most {MAX_QUERY_WALK} on this controller (page further with from_us)"
        ),
        w,
    );
    true
}

/// A copy of `loaded` at the end of the reply buffer, for a query to read with nothing locked;
/// the reply keeps the rest, at least [`MIN_REPLY`] bytes. Without room for it, the query is
/// refused with `too_large`, by name, and None returned.
pub fn copy_for_query<'r>(
    q: &Query<'_>,
    loaded: &Cycle<'_>,
    w: &mut Overflowing<'r>,
) -> Option<Cycle<'r>> {
    let storage = loaded.storage_used();
    let room = w
        .capacity()
        .checked_sub(storage)
        .filter(|&r| r >= MIN_REPLY)
        .and_then(|_| w.split_off_end(storage));
    let Some(room) = room else {
        let _ = q.refuse(
            "too_large",
            format_args!(
                "the loaded cycle takes {storage} bytes of storage: too many to copy for {} here (at most {})",
                q.name,
                w.capacity().saturating_sub(MIN_REPLY)
            ),
            w,
        );
        return None;
    };
    let mut copy = Cycle::new(room);
    // Sized to it.
    copy.copy_from(loaded);
    Some(copy)
}

/// A query's reply from `cycle` (a copy of the loaded one).
pub fn answer<'q>(
    q: &Query<'q>,
    cycle: &Cycle<'_>,
    board: &Board,
    w: &mut Overflowing<'_>,
) -> Handled<'q> {
    protocol::answer(q, cycle, board, w).unwrap_or_else(|_| Handled::new(Version::V2, q.name))
}

/// The chip's own shell of `exchange` on a controller it holds, for tests: what the firmware
/// does, with nothing to lock.
#[cfg(test)]
pub mod direct {
    use core::cell::RefCell;
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};

    use tumble_core::controller::{Applied, Arrival, Controller, Work};
    use tumble_core::exchange::{Refusal, Shell};
    use tumble_core::logline::CommandLine;
    use tumble_core::protocol::Op;
    use tumble_core::runner::Outputs;
    use tumble_core::time::Instant;

    use super::*;

    /// Runs a future that never waits (every hook here is ready at once).
    pub fn now<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("a direct shell never waits"),
        }
    }

    pub struct Direct<'c, 'p, O> {
        pub ctl: RefCell<&'c mut Controller<'p>>,
        pub out: RefCell<&'c mut O>,
        pub now: Instant,
        pub board: Board,
    }

    impl<'p, O: Outputs> Shell<Overflowing<'_>> for Direct<'_, 'p, O> {
        type Turn = Cycle<'p>;

        fn board(&self) -> &Board {
            &self.board
        }

        fn capacity(&self) -> usize {
            self.ctl.borrow().cycle_capacity()
        }

        fn arrival(&self) -> Arrival {
            Arrival(0)
        }

        async fn turn(&self) -> Self::Turn {
            Cycle::none()
        }

        async fn apply(&self, op: Op, arrival: Arrival) -> Result<Applied, Refusal> {
            let mut out = self.out.borrow_mut();
            Ok(self
                .ctl
                .borrow_mut()
                .execute(Work::Op(op), arrival, self.now, &mut **out))
        }

        async fn load(
            &self,
            lent: &mut Self::Turn,
            doc: &[u8],
            arrival: Arrival,
        ) -> Result<Applied, Refusal> {
            let (mut ctl, mut out) = (self.ctl.borrow_mut(), self.out.borrow_mut());
            ctl.execute(Work::Release(lent), arrival, self.now, &mut **out);
            let read = lent.read(
                doc,
                &self.board,
                &mut tumble_core::cycle::WarningCount::default(),
            );
            assert!(read.is_ok(), "checked: it reads the same");
            Ok(ctl.execute(Work::Load(lent), arrival, self.now, &mut **out))
        }

        async fn answer<'q>(&self, q: &Query<'q>, w: &mut Overflowing<'_>) -> Handled<'q> {
            if refuse_deep(q, w) {
                return Handled::new(Version::V2, q.name);
            }
            let copy = copy_for_query(q, self.ctl.borrow().runner().cycle(), w);
            match copy {
                Some(copy) => answer(q, &copy, &self.board, w),
                None => Handled::new(Version::V2, q.name),
            }
        }

        async fn program<'d>(
            &'d self,
            _turn: &mut Self::Turn,
            p: &tumble_core::protocol::Program<'_>,
            w: &mut Overflowing<'_>,
        ) -> tumble_core::exchange::ProgramStep<'d> {
            let _ = tumble_core::library::write_unsupported(w, p.id);
            tumble_core::exchange::ProgramStep::Answered(false)
        }

        async fn history(
            &self,
            _turn: &mut Self::Turn,
            h: &tumble_core::protocol::HistoryRequest<'_>,
            w: &mut Overflowing<'_>,
        ) -> bool {
            let _ = tumble_core::history::write_unsupported(w, h.id);
            false
        }

        fn log(&self, _ok: bool, _line: &CommandLine<'_>) {}
    }
}

/// All the steps at once for a client with `access`, as the firmware runs them but with nothing
/// to lock: for tests.
#[cfg(test)]
pub fn run_as<O: tumble_core::runner::Outputs>(
    access: Access,
    frame: &[u8],
    ctl: &mut tumble_core::controller::Controller<'_>,
    out: &mut O,
    now: tumble_core::time::Instant,
    reply: &mut [u8],
) -> Done {
    let board = ctl.board().clone();
    let shell = direct::Direct {
        ctl: core::cell::RefCell::new(ctl),
        out: core::cell::RefCell::new(out),
        now,
        board,
    };
    let mut w = Overflowing::new(reply);
    let ran = direct::now(exchange::exchange(&shell, frame, access, &mut w));
    let done = Done::new(&ran, &w);
    let ran = ran.finish(&shell, frame, Ok::<(), &str>(()), &"test", &mut w);
    done.finished(&ran, &w)
}

/// The reply to a frame the transport could not take whole: `frame` is what was received of it
/// (possibly nothing), `len` its full length when known.
pub fn write_too_large(
    w: &mut impl Write,
    frame: &[u8],
    len: Option<usize>,
    limit: usize,
) -> fmt::Result {
    match len {
        Some(len) => protocol::write_refusal(
            frame,
            "too_large",
            format_args!("frame of {len} bytes is larger than this controller's limit of {limit}"),
            w,
        ),
        None => protocol::write_refusal(
            frame,
            "too_large",
            format_args!("frame is larger than this controller's limit of {limit} bytes"),
            w,
        ),
    }
}

/// The hello, with the chip's frame limit. Returns the length written to `buf`.
pub fn write_hello(
    buf: &mut [u8],
    board: &Board,
    version: &str,
    max_frame: usize,
) -> Result<usize, fmt::Error> {
    let mut w = SliceWriter::new(buf);
    protocol::write_hello(&mut w, board, version, max_frame)?;
    Ok(w.len())
}

/// Seals the document of a load, `frame_at + doc` in `buf`, into a flash record in place.
/// Returns the record's range in `buf`.
pub fn seal(
    buf: &mut [u8],
    frame_at: usize,
    doc: Range<usize>,
) -> Result<Range<usize>, record::RecordError> {
    record::seal_in_place(
        buf,
        frame_at + doc.start..frame_at + doc.end,
        record::Kind::Cycle,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pins::MaskPins;
    use crate::testutil::Recorder;
    use std::vec::Vec;
    use tumble_core::controller::Controller;
    use tumble_core::time::Instant;
    use tumble_rig::example;

    struct Rig {
        ctl: std::boxed::Box<Controller<'static>>,
        pins: MaskPins<Recorder>,
    }

    fn rig() -> Rig {
        let board = Board::washer();
        let mut pins = MaskPins::new(Recorder::default(), &board);
        let config = tumble_rig::config(100, None);
        let ctl = tumble_rig::controller(board, config, CYCLE_STORAGE, &mut pins);
        Rig { ctl, pins }
    }

    /// A client buffer with `frame` received after the headroom, as the firmware lays it out.
    fn buffer(frame: &str) -> Vec<u8> {
        assert!(frame.len() <= FRAME_MAX);
        let mut buf = std::vec![0u8; CLIENT_BUF];
        buf[HEADROOM..HEADROOM + frame.len()].copy_from_slice(frame.as_bytes());
        buf
    }

    /// What the firmware does with a frame at `now_us`: run it, reply after it.
    fn exec(r: &mut Rig, buf: &mut [u8], len: usize, now_us: u64) -> (Done, std::string::String) {
        let (head, tail) = buf.split_at_mut(HEADROOM + len);
        let now = Instant::from_micros(now_us);
        let done = run_as(
            Access::Control,
            &head[HEADROOM..],
            &mut r.ctl,
            &mut r.pins,
            now,
            tail,
        );
        let reply = std::str::from_utf8(&tail[..done.reply_len]).unwrap().into();
        (done, reply)
    }

    #[test]
    fn without_the_token_every_command_is_refused_but_ping() {
        let mut r = rig();
        for (frame, access, refused) in [
            (r#"{"action":"start_cycle"}"#, Access::Hello, true),
            (r#"{"action":"ping"}"#, Access::Hello, false),
            (r#"{"cmd":"get_status","id":1}"#, Access::Hello, true),
            (r#"{"cmd":"get_status","id":1}"#, Access::Telemetry, false),
            (r#"{"cmd":"stop","id":1}"#, Access::Telemetry, true),
            (r#"{"cmd":"start","id":1}"#, Access::Control, false),
        ] {
            let mut reply = [0u8; 1024];
            let done = run_as(
                access,
                frame.as_bytes(),
                &mut r.ctl,
                &mut r.pins,
                Instant::from_micros(0),
                &mut reply,
            );
            let text = std::str::from_utf8(&reply[..done.reply_len]).unwrap();
            assert_eq!(
                text.contains("unauthorized"),
                refused,
                "{frame} with {access:?}: {text}"
            );
            assert!(!(refused && done.ok), "{frame} with {access:?}: {text}");
        }
    }

    #[test]
    fn replies_are_the_protocols() {
        let mut r = rig();
        let frame = r#"{"action":"ping"}"#;
        let mut buf = buffer(frame);
        let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
        assert_eq!(reply, "ok: pong");
        assert!(done.ok);
        assert_eq!(done.command, "ping");
        assert_eq!(done.version, Version::V1);
        assert_eq!(done.store, None);

        let frame = r#"{"cmd":"start","id":"a"}"#;
        let mut buf = buffer(frame);
        let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
        assert!(!done.ok);
        assert_eq!(done.version, Version::V2);
        assert!(
            reply.starts_with(r#"{"type":"reply","id":"a","ok":false,"error":{"code":"no_cycle""#),
            "{reply}"
        );
    }

    #[test]
    fn a_v1_load_is_stored_from_the_frame_itself() {
        let mut r = rig();
        let doc = example("original-example.json");
        let frame = std::format!(r#"{{"action":"write_json","data":{doc}}}"#);
        let mut buf = buffer(&frame);
        let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
        assert_eq!(reply, "ok: cycle loaded");
        let store = done.store.clone().expect("a load is stored");
        assert_eq!(&frame.as_bytes()[store.clone()], doc.as_bytes());
        let rec = seal(&mut buf, HEADROOM, store).unwrap();
        let got = record::decode(&buf[rec]).unwrap();
        assert_eq!(got.kind, record::Kind::Cycle);
        assert_eq!(got.payload, doc.as_bytes());
        // And what was stored loads back to the same cycle.
        let mut again = Cycle::new(tumble_rig::storage_of(CYCLE_STORAGE));
        again.parse(got.payload, r.ctl.runner().board()).unwrap();
        assert_eq!(again.total_events(), r.ctl.runner().cycle().total_events());
    }

    #[test]
    fn a_v2_load_is_stored_even_when_the_document_comes_first() {
        let mut r = rig();
        let doc = example("wash-1600.json");
        // No space at all: the cycle right after `{"cycle":`, the header must use the headroom.
        let frame = std::format!(r#"{{"cycle":{doc},"cmd":"load_cycle","id":1}}"#);
        let mut buf = buffer(&frame);
        let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
        assert!(
            reply.starts_with(r#"{"type":"reply","id":1,"ok":true,"result":{"phases":"#),
            "{reply}"
        );
        let store = done.store.clone().unwrap();
        assert_eq!(store.start, r#"{"cycle":"#.len());
        let rec = seal(&mut buf, HEADROOM, store).unwrap();
        assert_eq!(record::decode(&buf[rec]).unwrap().payload, doc.as_bytes());
    }

    #[test]
    fn validate_is_not_stored_and_a_bad_cycle_changes_nothing() {
        let mut r = rig();
        let doc = example("original-example.json");
        let frame = std::format!(r#"{{"cmd":"validate_cycle","cycle":{doc}}}"#);
        let mut buf = buffer(&frame);
        let (done, _) = exec(&mut r, &mut buf, frame.len(), 0);
        assert!(done.ok);
        assert_eq!(done.store, None);
        assert!(r.ctl.runner().cycle().phases().is_empty());

        let frame = r#"{"action":"write_json","data":{"phases":[{"components":[{"compId":"Nope","duration":5}]}]}}"#;
        let mut buf = buffer(frame);
        let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
        assert!(!done.ok);
        assert_eq!(done.store, None);
        assert!(
            reply.starts_with("error: phases[0].components[0]"),
            "{reply}"
        );
    }

    #[test]
    fn a_reply_too_large_for_the_buffer_is_refused_in_the_frames_version() {
        let mut r = rig();
        let doc = example("wash-1600.json");
        let frame = std::format!(r#"{{"action":"write_json","data":{doc}}}"#);
        let mut buf = buffer(&frame);
        exec(&mut r, &mut buf, frame.len(), 0);
        // A page of 500 events is ~38 KB: far more than the buffer.
        let frame = r#"{"cmd":"get_timeline","id":9,"phase":1,"limit":500}"#;
        let mut buf = buffer(frame);
        let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
        assert!(done.reply_overflow && !done.ok);
        assert!(
            reply.starts_with(r#"{"type":"reply","id":9,"ok":false,"error":{"code":"too_large""#),
            "{reply}"
        );
        serde_json::from_str::<serde_json::Value>(&reply).unwrap();
    }

    #[test]
    fn a_load_whose_summary_does_not_fit_is_still_loaded_and_stored() {
        let mut r = rig();
        let doc = example("wash-1600.json");
        let frame = std::format!(r#"{{"cmd":"load_cycle","id":"L","cycle":{doc}}}"#);
        let mut buf = std::vec![0u8; HEADROOM + frame.len() + 200];
        buf[HEADROOM..HEADROOM + frame.len()].copy_from_slice(frame.as_bytes());
        let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
        assert!(done.reply_overflow && !done.ok);
        assert!(done.store.is_some(), "the load happened: it is stored");
        assert_eq!(r.ctl.runner().cycle().phases().len(), 3);
        let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(v["id"], "L");
        assert_eq!(v["error"]["code"], "too_large");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("cycle loaded, but")
        );
    }

    #[test]
    fn the_default_timeline_page_and_the_status_fit() {
        let mut r = rig();
        for (name, phase) in [
            ("wash-1600.json", 1),
            ("full-featured.json", 2),
            ("original-example.json", 0),
        ] {
            let doc = example(name);
            let frame = std::format!(r#"{{"action":"write_json","data":{doc}}}"#);
            let mut buf = buffer(&frame);
            assert!(exec(&mut r, &mut buf, frame.len(), 0).0.ok);
            let frame = std::format!(r#"{{"cmd":"get_timeline","id":1,"phase":{phase}}}"#);
            let mut buf = buffer(&frame);
            let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
            assert!(done.ok, "{name}: {reply}");
            std::println!("{name}: default timeline page {} bytes", reply.len());
            let frame = r#"{"cmd":"get_cycle","id":1}"#;
            let mut buf = buffer(frame);
            let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
            assert!(done.ok, "{name}: {reply}");
            std::println!("{name}: get_cycle {} bytes", reply.len());
        }
        let frame = r#"{"cmd":"start","id":1}"#;
        let mut buf = buffer(frame);
        let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
        assert!(done.ok);
        std::println!("status reply {} bytes", reply.len());
        assert!(reply.len() < MIN_REPLY, "{}", reply.len());
    }

    #[test]
    fn a_query_reads_a_copy_and_a_cycle_too_big_to_copy_is_refused_by_name() {
        // A cycle of 100 long labels: more storage than a client buffer leaves after the reply
        // room.
        let components: std::vec::Vec<_> = (0..10)
            .map(|i| {
                std::format!(
                    r#"{{"compId":"Cold Valve","start":{},"duration":1,"label":"{}"}}"#,
                    i * 10,
                    "x".repeat(60)
                )
            })
            .collect();
        let phases: std::vec::Vec<_> = (0..10)
            .map(|p| std::format!(r#"{{"id":"p{p}","components":[{}]}}"#, components.join(",")))
            .collect();
        let doc = std::format!(r#"{{"phases":[{}]}}"#, phases.join(","));
        let mut r = rig();
        let restored = r
            .ctl
            .restore(doc.as_bytes(), Instant::from_micros(0), &mut r.pins);
        let used = r.ctl.runner().cycle().storage_used();
        assert!(used > 0, "{restored}");
        assert!(used > CLIENT_BUF - MIN_REPLY, "{used}");
        let frame = r#"{"cmd":"get_timeline","id":4,"phase":0}"#;
        let mut buf = buffer(frame);
        let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
        assert!(!done.ok);
        let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(v["error"]["code"], "too_large", "{reply}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(&std::format!(
                    "the loaded cycle takes {used} bytes of storage"
                )),
            "{reply}"
        );
        // The copy answers as the loaded cycle would.
        let doc = example("wash-1600.json");
        r.ctl
            .restore(doc.as_bytes(), Instant::from_micros(0), &mut r.pins);
        let frame = r#"{"cmd":"get_timeline","id":5,"phase":1,"limit":20}"#;
        let mut buf = buffer(frame);
        let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
        assert!(done.ok, "{reply}");
        let mut direct = std::string::String::new();
        let read = protocol::read(frame.as_bytes(), &Board::washer(), &mut direct);
        let Ok(protocol::Read::Query(q)) = read else {
            panic!("a query")
        };
        protocol::answer(&q, r.ctl.runner().cycle(), &Board::washer(), &mut direct).unwrap();
        assert_eq!(reply, direct);
    }

    #[test]
    fn too_large_frames_are_refused_in_the_protocol_they_seem_to_speak() {
        let mut s = std::string::String::new();
        write_too_large(&mut s, b"", None, FRAME_MAX).unwrap();
        assert_eq!(
            s,
            "error: frame is larger than this controller's limit of 6144 bytes"
        );
        s.clear();
        write_too_large(
            &mut s,
            br#"{"cmd":"load_cycle","id":3,"cycle":{"pha"#,
            Some(9000),
            FRAME_MAX,
        )
        .unwrap();
        assert!(s.starts_with(r#"{"type":"reply","id":null,"ok":false,"error":{"code":"too_large","message":"frame of 9000 bytes"#), "{s}");
    }

    #[test]
    fn hello_tells_the_chips_frame_limit() {
        let r = rig();
        // Written into the client's buffer at each connection, before any frame is in it.
        let mut buf = [0u8; CLIENT_BUF];
        let n = write_hello(&mut buf, r.ctl.runner().board(), "0.1.0", FRAME_MAX).unwrap();
        std::println!("hello: {n} bytes");
        assert!(n <= 1024, "a hello of {n} bytes");
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["max_frame"], 6144);
        assert_eq!(v["protocols"], serde_json::json!([1, 2]));
        assert_eq!(v["outputs"].as_array().unwrap().len(), 8);
        assert!(write_hello(&mut buf[..100], r.ctl.runner().board(), "0.1.0", FRAME_MAX).is_err());
    }

    #[test]
    fn long_command_names_are_cut_for_the_log() {
        let mut r = rig();
        let name = "x".repeat(100);
        let frame = std::format!(r#"{{"cmd":"{name}"}}"#);
        let mut buf = buffer(&frame);
        let (done, _) = exec(&mut r, &mut buf, frame.len(), 0);
        assert_eq!(done.command.len(), MAX_COMMAND);
    }

    #[test]
    fn a_query_that_walks_too_far_is_refused_before_anything_is_held() {
        let mut r = rig();
        let doc = example("wash-1600.json");
        let frame = std::format!(r#"{{"action":"write_json","data":{doc}}}"#);
        let mut buf = buffer(&frame);
        exec(&mut r, &mut buf, frame.len(), 0);
        let frame = r#"{"cmd":"get_timeline","id":2,"phase":1,"offset":100000,"limit":1}"#;
        let mut buf = buffer(frame);
        let (done, reply) = exec(&mut r, &mut buf, frame.len(), 0);
        assert!(!done.ok);
        let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(v["error"]["code"], "too_large");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("from_us"),
            "{reply}"
        );
        let frame = r#"{"cmd":"get_timeline","id":3,"phase":1,"offset":990,"limit":10}"#;
        let mut buf = buffer(frame);
        assert!(exec(&mut r, &mut buf, frame.len(), 0).0.ok);
    }
}
