//! One frame, from its bytes to its reply, the document it stores and its log line: the order
//! every platform follows, written once.
//!
//! 1. The frame is read and its access checked ([`protocol::read`], [`access::permits`]).
//! 2. A document (a load, a validate, a `load_program`) and a start take the platform's load
//!    turn first ([`Shell::turn`]): no cycle starts while a document is read into the cycle
//!    storage or stored, and a stop, a status or a query never waits for either.
//! 3. A document is checked ([`protocol::parse`], which stores nothing); a query is answered
//!    from the loaded cycle; a command is applied by the controller ([`Shell::apply`], or
//!    [`Shell::load`] for a checked document) and its reply written from what it did.
//! 4. A loaded document is stored with the turn still held; if that fails the reply says so
//!    (the cycle is loaded anyway). The reply is sealed ([`Reply::seal`]) and the command
//!    logged ([`Shell::log`]).
//!
//! Where a platform differs (how it reaches its controller, where it keeps the cycle, its
//! library and its history, how its reply buffer overflows) it says so through [`Shell`] and
//! [`Reply`]. `tumble serve` and the firmware's command tasks both run [`exchange`].

use core::fmt::{self, Write};

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
    /// buffer may overflow replaces an incomplete reply here.
    fn seal(&mut self, frame: &[u8], loaded: bool) {
        let _ = (frame, loaded);
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

    /// Why storing a loaded cycle failed.
    type Why: fmt::Display;

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

    /// A library request: the chip keeps none (`unsupported`).
    fn program<'d>(&'d self, p: &Program<'_>, w: &mut W) -> ProgramStep<'d> {
        let _ = crate::library::write_unsupported(w, p.id);
        ProgramStep::Answered(false)
    }

    /// `get_history`: the chip keeps none (`unsupported`). Returns whether it was answered.
    fn history(&self, h: &HistoryRequest<'_>, w: &mut W) -> bool {
        let _ = crate::history::write_unsupported(w, h.id);
        false
    }

    /// Stores the loaded document `doc`, load number `load` (see [`Applied::load`]).
    async fn store(&self, turn: &mut Self::Turn, load: u64, doc: &[u8]) -> Result<(), Self::Why>;

    /// The command's log line.
    fn log(&self, ok: bool, line: &CommandLine<'_>);
}

/// Runs `frame` from a client with `access`, named `peer` in the log, through `shell`; the
/// reply is in `w`. Returns what was done.
pub async fn exchange<'f, W: Reply, S: Shell<W>>(
    shell: &S,
    frame: &'f [u8],
    access: Access,
    peer: &impl fmt::Display,
    w: &mut W,
) -> Handled<'f> {
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
    let mut loaded = false;
    let mut turn = match read.needs_turn() {
        true => Some(shell.turn().await),
        false => None,
    };
    let handled = match read {
        Read::Answered(h) => h,
        Read::Document(doc) => {
            let checked = shell.work(|| protocol::parse(&doc, board, shell.capacity(), w));
            let checked = checked.unwrap_or(Read::Answered(blank));
            run(shell, frame, checked, arrival, turn.as_mut(), w).await
        }
        Read::Program(p) => match shell.program(&p, w) {
            ProgramStep::Answered(ok) => {
                let mut h = Handled::new(Version::V2, p.name);
                h.ok = ok;
                h
            }
            ProgramStep::Load(doc) => {
                let doc = p.document(doc);
                let checked = shell.work(|| protocol::parse(&doc, board, shell.capacity(), w));
                let checked = checked.unwrap_or(Read::Answered(blank));
                let h = run(shell, frame, checked, arrival, turn.as_mut(), w).await;
                // The stored document is the library's, not the frame's: it was stored above.
                loaded = h.store.is_some();
                Handled {
                    version: h.version,
                    command: p.name,
                    store: None,
                    ok: h.ok,
                    warnings: h.warnings,
                }
            }
        },
        Read::History(h) => {
            let mut handled = Handled::new(Version::V2, h.name);
            handled.ok = shell.history(&h, w);
            handled
        }
        other => run(shell, frame, other, arrival, turn.as_mut(), w).await,
    };
    w.seal(frame, loaded || handled.store.is_some());
    drop(turn);
    let line = CommandLine {
        peer,
        command: handled.command,
        reply: w.as_str(),
        warnings: handled.warnings,
    };
    shell.log(handled.ok, &line);
    handled
}

/// Step 3 and 4 for what a read or a check left: an answer, a query, a command.
async fn run<'f, W: Reply, S: Shell<W>>(
    shell: &S,
    frame: &[u8],
    read: Read<'f>,
    arrival: Arrival,
    turn: Option<&mut S::Turn>,
    w: &mut W,
) -> Handled<'f> {
    let cmd = match read {
        Read::Answered(h) => return h,
        Read::Query(q) => return shell.answer(&q, w).await,
        Read::Command(cmd) => cmd,
        // A read hands these over before this step, and a check gives neither.
        Read::Document(doc) => return Handled::new(doc.version, doc.name),
        Read::Program(p) => return Handled::new(Version::V2, p.name),
        Read::History(h) => return Handled::new(Version::V2, h.name),
    };
    let applied = match (cmd.action, turn) {
        (Action::Load { document, .. }, Some(turn)) => {
            let applied = shell.load(turn, document, arrival).await;
            applied.map(|a| (a, Some(turn)))
        }
        (Action::Load { .. }, None) => Err(("internal", "a load without its turn")),
        (Action::Op(op), turn) => shell.apply(op, arrival).await.map(|a| (a, turn)),
    };
    let (applied, turn) = match applied {
        Ok(done) => done,
        Err((code, msg)) => {
            w.clear();
            let _ = protocol::write_refusal(frame, code, msg, w);
            return Handled::new(cmd.version, cmd.name);
        }
    };
    let board = shell.board();
    let Ok(mut h) = protocol::write_outcome(&cmd, &applied.outcome, board, w) else {
        return Handled::new(cmd.version, cmd.name);
    };
    if let (Some(load), Some(doc), Some(turn)) = (applied.load, h.store, turn)
        && let Err(why) = shell.store(turn, load, doc).await
    {
        // The cycle is loaded; the reply says storing it failed.
        w.clear();
        let _ = protocol::write_store_failed(frame, &why, w);
        h.ok = false;
    }
    h
}

impl Read<'_> {
    /// Whether it takes the load turn first: a document, a `load_program`, a start.
    pub fn needs_turn(&self) -> bool {
        match self {
            Read::Document(_) => true,
            Read::Program(p) => matches!(p.request, crate::library::Request::Load { .. }),
            Read::Command(cmd) => matches!(cmd.action, Action::Op(Op::Start | Op::StartIn { .. })),
            Read::Answered(_) | Read::Query(_) | Read::History(_) => false,
        }
    }
}
