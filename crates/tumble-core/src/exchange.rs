//! One frame, from its bytes to its reply, the document it stores and its log line: the order
//! every platform follows, written once.
//!
//! 1. The frame is read and its access checked ([`protocol::read`], [`access::permits`]).
//! 2. A document (a load, a validate), a library or history request and a start take the
//!    platform's load turn first ([`Shell::turn`]): no cycle starts while a document is read into the cycle
//!    storage or stored, and a stop, a status or a query never waits for either.
//! 3. A document is checked ([`protocol::parse`], which stores nothing); a query is answered
//!    from the loaded cycle; a command is applied by the controller ([`Shell::apply`], or
//!    [`Shell::load`] for a checked document) and its reply written from what it did.
//! 4. [`exchange`] returns what it [`Ran`]: the platform stores a loaded document
//!    ([`Ran::to_store`]) with the turn still held, in its own way (the chip seals a flash
//!    record in place around the document, in the frame's buffer), and [`Ran::finish`]es it:
//!    a failed store replaces the reply (the cycle is loaded anyway), the reply is sealed
//!    ([`Reply::seal`]) and the command logged ([`Shell::log`]).
//!
//! Where a platform differs (how it reaches its controller, where it keeps the cycle, its
//! library and its history, how its reply buffer overflows) it says so through [`Shell`] and
//! [`Reply`]. `tumble serve` and the firmware's command tasks both run [`exchange`].

use core::fmt::{self, Write};
use core::ops::Range;

use crate::access::{self, Access};
use crate::board::Board;
use crate::controller::{Applied, Arrival};
use crate::logline::CommandLine;
use crate::protocol::{self, Action, Handled, HistoryRequest, Op, Program, Query, Read, Version};

/// Why the controller did not take a command, as the v2 error's (code, message): the host's
/// full queue (`busy`), a controller that has shut down (`shutting_down`).
pub type Refusal = (&'static str, &'static str);

/// The reply being written: a writer that can be emptied (a refusal replaces what was
/// written) and read back for the log.
pub trait Reply: Write {
    /// Forgets what was written.
    fn clear(&mut self);

    /// The reply as it stands.
    fn as_str(&self) -> &str;

    /// The reply is complete; `loaded` when the command loaded a cycle. A platform whose
    /// buffer may overflow replaces an incomplete reply here (with a refusal): true then.
    fn seal(&mut self, frame: &[u8], loaded: bool) -> bool {
        let _ = (frame, loaded);
        false
    }
}

/// What a library request came to: its reply is written, or it loads a stored document.
pub enum ProgramStep<'d> {
    /// Answered (listed, saved, renamed, deleted, or refused).
    Answered(bool),
    /// A `load_program`: this stored document, loaded as a `load_cycle` of it.
    Load(&'d [u8]),
}

/// A platform's side of [`exchange`].
// The futures are awaited where the platform calls `exchange`, whose concrete type carries
// their `Send`-ness (the host's tasks need it, the chip's do not).
#[allow(async_fn_in_trait)]
pub trait Shell<W: Reply> {
    /// Held from a document's check to its store, and by a start.
    type Turn;

    /// The board documents are checked against.
    fn board(&self) -> &Board;

    /// Bytes of cycle storage a document must fit.
    fn capacity(&self) -> usize;

    /// The frame's place among every frame's arrivals (see [`Arrival`]).
    fn arrival(&self) -> Arrival;

    /// Runs a parse or a walk: on the host, off the async workers' hot path.
    fn work<R>(&self, f: impl FnOnce() -> R) -> R {
        f()
    }

    /// Waits for the load turn.
    async fn turn(&self) -> Self::Turn;

    /// Applies `op` on the controller.
    async fn apply(&self, op: Op, arrival: Arrival) -> Result<Applied, Refusal>;

    /// Loads `doc`, which [`protocol::parse`] checked against [`Shell::capacity`]: the
    /// controller stops the run and lends its storage out, the document is read into it, and
    /// the controller takes it back loaded.
    async fn load(
        &self,
        turn: &mut Self::Turn,
        doc: &[u8],
        arrival: Arrival,
    ) -> Result<Applied, Refusal>;

    /// Writes the answer to `q` from the loaded cycle.
    async fn answer<'a>(&self, q: &Query<'a>, w: &mut W) -> Handled<'a>;

    /// A library request, with the load turn held (a library shares the store with the
    /// loaded cycle): answered, or a `load_program`'s document to load.
    async fn program<'d>(
        &'d self,
        turn: &mut Self::Turn,
        p: &Program<'_>,
        w: &mut W,
    ) -> ProgramStep<'d>;

    /// `get_history`, with the load turn held (the runs may share the store with the cycle):
    /// returns whether it was answered.
    async fn history(&self, turn: &mut Self::Turn, h: &HistoryRequest<'_>, w: &mut W) -> bool;

    /// The command's log line.
    fn log(&self, ok: bool, line: &CommandLine<'_>);
}

/// Longest command name [`Ran`] keeps for the log.
pub const MAX_COMMAND: usize = 24;

/// A loaded document to store: load number `load` (see [`Applied::load`]), at `doc` in the
/// frame, or for a `load_program` in the document the library gave ([`ProgramStep::Load`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToStore {
    /// The load's number since boot.
    pub load: u64,
    /// Where the document is.
    pub doc: Range<usize>,
    /// Whether `doc` is a range of the library's document, not of the frame.
    pub from_library: bool,
}

/// What [`exchange`] did, holding nothing of the frame: store what it loaded, then
/// [`Ran::finish`] it.
#[must_use = "store what it loaded, then finish it"]
pub struct Ran<T> {
    /// The frame's protocol.
    pub version: Version,
    /// The command's name ("" when the frame was not a command), cut to [`MAX_COMMAND`].
    pub command: heapless::String<MAX_COMMAND>,
    /// The reply says it succeeded.
    pub ok: bool,
    /// Warnings of a cycle it loaded or validated, for the log.
    pub warnings: usize,
    store: Option<ToStore>,
    turn: Option<T>,
}

impl<T> Ran<T> {
    /// The document to store, with [`Ran::turn`] held.
    pub fn to_store(&self) -> Option<&ToStore> {
        self.store.as_ref()
    }

    /// The load turn, when the command took it.
    pub fn turn(&mut self) -> Option<&mut T> {
        self.turn.as_mut()
    }

    /// Whether it loaded a cycle.
    pub fn loaded(&self) -> bool {
        self.store.is_some()
    }

    /// The end, once what it loaded is `stored` (`Ok` when there was nothing to store): a
    /// failed store replaces the reply (the cycle is loaded; the reply says storing it
    /// failed), the reply is sealed and the command logged. Lets the turn go.
    pub fn finish<W: Reply, S: Shell<W>>(
        mut self,
        shell: &S,
        frame: &[u8],
        stored: Result<(), impl fmt::Display>,
        peer: &impl fmt::Display,
        w: &mut W,
    ) -> Self {
        if let Err(why) = stored {
            w.clear();
            let _ = protocol::write_store_failed(frame, &why, w);
            self.ok = false;
        }
        if w.seal(frame, self.loaded()) {
            self.ok = false;
        }
        self.turn = None;
        let line = CommandLine {
            peer,
            command: &self.command,
            reply: w.as_str(),
            warnings: self.warnings,
        };
        shell.log(self.ok, &line);
        self
    }
}

/// Runs `frame` from a client with `access` through `shell`; the reply is in `w`. The
/// platform then stores what it loaded and calls [`Ran::finish`].
pub async fn exchange<W: Reply, S: Shell<W>>(
    shell: &S,
    frame: &[u8],
    access: Access,
    w: &mut W,
) -> Ran<S::Turn> {
    let arrival = shell.arrival();
    let board = shell.board();
    let blank = Handled::new(Version::V1, "");
    let mut read = shell
        .work(|| protocol::read(frame, board, w))
        .unwrap_or(Read::Answered(blank));
    if !access::permits(access, &read) {
        w.clear();
        let _ = protocol::write_refusal(frame, "unauthorized", access::NEEDS_TOKEN, w);
        read = Read::Answered(Handled::new(read.version(), read.command()));
    }
    let mut turn = match read.needs_turn() {
        true => Some(shell.turn().await),
        false => None,
    };
    let (handled, store) = match read {
        Read::Answered(h) => (h, None),
        Read::Document(doc) => {
            let (h, load) = check(shell, frame, &doc, arrival, turn.as_mut(), w).await;
            let store = stored(load, h.store, frame, false);
            (h, store)
        }
        Read::Program(p) => match program(shell, turn.as_mut(), &p, w).await {
            ProgramStep::Answered(ok) => {
                let mut h = Handled::new(Version::V2, p.name);
                h.ok = ok;
                (h, None)
            }
            ProgramStep::Load(raw) => {
                let doc = p.document(raw);
                let (h, load) = check(shell, frame, &doc, arrival, turn.as_mut(), w).await;
                let store = stored(load, h.store, raw, true);
                let h = Handled {
                    version: h.version,
                    command: p.name,
                    store: None,
                    ok: h.ok,
                    warnings: h.warnings,
                };
                (h, store)
            }
        },
        Read::History(h) => {
            let mut handled = Handled::new(Version::V2, h.name);
            match turn.as_mut() {
                Some(turn) => handled.ok = shell.history(turn, &h, w).await,
                None => {
                    let _ = protocol::write_v2_error(
                        w,
                        h.id,
                        "internal",
                        "get_history without its turn",
                        "",
                    );
                }
            }
            (handled, None)
        }
        other => {
            let (h, load) = run(shell, frame, other, arrival, turn.as_mut(), w).await;
            let store = stored(load, h.store, frame, false);
            (h, store)
        }
    };
    let mut command = heapless::String::new();
    for ch in handled.command.chars() {
        if command.push(ch).is_err() {
            break;
        }
    }
    Ran {
        version: handled.version,
        command,
        ok: handled.ok,
        warnings: handled.warnings,
        store,
        turn,
    }
}

/// A document checked against the cycle storage (storing nothing), then, for a load, loaded.
async fn check<'d, W: Reply, S: Shell<W>>(
    shell: &S,
    frame: &[u8],
    doc: &protocol::Document<'d>,
    arrival: Arrival,
    turn: Option<&mut S::Turn>,
    w: &mut W,
) -> (Handled<'d>, Option<u64>) {
    let checked = shell.work(|| protocol::parse(doc, shell.board(), shell.capacity(), w));
    let checked = checked.unwrap_or(Read::Answered(Handled::new(doc.version, doc.name)));
    run(shell, frame, checked, arrival, turn, w).await
}

/// A library request, with the turn every one takes.
async fn program<'d, W: Reply, S: Shell<W>>(
    shell: &'d S,
    turn: Option<&mut S::Turn>,
    p: &Program<'_>,
    w: &mut W,
) -> ProgramStep<'d> {
    match turn {
        Some(turn) => shell.program(turn, p, w).await,
        None => {
            let _ = protocol::write_v2_error(
                w,
                p.id,
                "internal",
                "a library request without its turn",
                "",
            );
            ProgramStep::Answered(false)
        }
    }
}

/// The document to store, as a range of `within`, when load `load` loaded it.
fn stored(
    load: Option<u64>,
    doc: Option<&[u8]>,
    within: &[u8],
    from_library: bool,
) -> Option<ToStore> {
    let (load, doc) = (load?, doc?);
    let start = (doc.as_ptr() as usize).checked_sub(within.as_ptr() as usize)?;
    // A document is within what it was read from: anything else is a bug, stored as nothing.
    if start + doc.len() > within.len() {
        return None;
    }
    Some(ToStore {
        load,
        doc: start..start + doc.len(),
        from_library,
    })
}

/// Step 3 for what a read or a check left: an answer, a query, a command. Returns what was
/// done and, for a load, its number.
async fn run<'f, W: Reply, S: Shell<W>>(
    shell: &S,
    frame: &[u8],
    read: Read<'f>,
    arrival: Arrival,
    turn: Option<&mut S::Turn>,
    w: &mut W,
) -> (Handled<'f>, Option<u64>) {
    let cmd = match read {
        Read::Answered(h) => return (h, None),
        Read::Query(q) => return (shell.answer(&q, w).await, None),
        Read::Command(cmd) => cmd,
        // A read hands these over before this step, and a check gives neither.
        Read::Document(doc) => return (Handled::new(doc.version, doc.name), None),
        Read::Program(p) => return (Handled::new(Version::V2, p.name), None),
        Read::History(h) => return (Handled::new(Version::V2, h.name), None),
    };
    let applied = match (cmd.action, turn) {
        (Action::Load { document, .. }, Some(turn)) => shell.load(turn, document, arrival).await,
        (Action::Load { .. }, None) => Err(("internal", "a load without its turn")),
        (Action::Op(op), _) => shell.apply(op, arrival).await,
    };
    let applied = match applied {
        Ok(applied) => applied,
        Err((code, msg)) => {
            w.clear();
            let _ = protocol::write_refusal(frame, code, msg, w);
            return (Handled::new(cmd.version, cmd.name), None);
        }
    };
    match outcome(&cmd, &applied, shell.board(), w) {
        Ok(h) => (h, applied.load),
        Err(fmt::Error) => (Handled::new(cmd.version, cmd.name), applied.load),
    }
}

/// [`protocol::write_outcome`], kept out of the flow's future: inlined, its frame is on the
/// stack at every poll of it (8 KB on the chip).
#[inline(never)]
fn outcome<'f>(
    cmd: &protocol::Command<'f>,
    applied: &Applied,
    board: &Board,
    w: &mut impl Write,
) -> Result<Handled<'f>, fmt::Error> {
    protocol::write_outcome(cmd, &applied.outcome, board, w)
}

impl Read<'_> {
    /// Whether it takes the load turn first: a document, a library or history request, a
    /// start.
    pub fn needs_turn(&self) -> bool {
        match self {
            Read::Document(_) | Read::Program(_) | Read::History(_) => true,
            Read::Command(cmd) => matches!(cmd.action, Action::Op(Op::Start | Op::StartIn { .. })),
            Read::Answered(_) | Read::Query(_) => false,
        }
    }
}
