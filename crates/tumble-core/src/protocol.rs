//! The wire protocol: a text frame in, a reply out, the runner in between. Two versions, chosen
//! per message: the original firmware's `{"action": ...}` with its plain-text replies (v1), and
//! `{"cmd": ..., "id": ...}` with one JSON reply per command (v2). See docs/protocol.md.
//!
//! A frame goes through up to three steps, so that nothing slow ever runs where the runner is:
//!
//! 1. [`read`], anywhere (a network task, a lower priority than the timing loop): reads and
//!    checks the frame; what needs no runner (errors, `ping`) is answered here. A frame that
//!    carries a cycle document goes on to [`parse`], which parses it into scratch storage and
//!    answers `validate_cycle` (and writes a load's reply, its summary) without the runner.
//! 2. `controller::Controller::execute`, on the controller: a [`Command`]'s work on the
//!    runner, bounded, no parsing, no formatting (the controller applies it with this module's
//!    crate-private `apply` and `load`, and keeps a delayed start itself); it returns an
//!    [`Outcome`] (the result and a [`Snapshot`] of the runner). A [`Query`]
//!    (`get_cycle`, `get_timeline`) reads only the loaded cycle: [`answer`] it wherever a copy of
//!    that cycle can be read.
//! 3. [`write_outcome`], anywhere: the reply from the outcome.
//!
//! `controller::Controller::handle_frame` does all three in one call, for platforms and tests
//! that hold everything at once.
//! No allocation: the frame is read in place and replies go to any `fmt::Write`.

use core::fmt::{self, Write};

use crate::board::{Board, Level, OutputId};
use crate::cycle::{
    Cycle, CycleError, SummaryJson, WarningCount, WarningsJson, write_more_warnings,
};
use crate::json::{self, Kind, NotUnsigned, Object, Raw, Reader, Str, Text};
use crate::library;
use crate::limits::MAX_TIMELINE_OFFSET;
use crate::runner::{CommandError, Outputs, Runner, Snapshot};
use crate::telemetry;
use crate::time::{Duration, Instant};
use crate::timeline::Timeline;

/// Largest frame a client may send; larger ones are refused with an error reply.
pub const MAX_FRAME: usize = 256 * 1024;
/// The longest `delay_ms` a `start` may wait: a week.
pub const MAX_START_DELAY_MS: u64 = 7 * 24 * 3600 * 1000;
/// Most events one `get_timeline` reply carries.
pub const MAX_TIMELINE_PAGE: u64 = 500;

/// Which protocol a frame speaks, chosen per message; its reply is written in the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The original firmware's `{"action": ...}`, answered with one plain-text line
    /// (`ok: ...` or `error: ...`).
    V1,
    /// `{"cmd": ..., "id": ...}`, answered with one JSON reply that echoes the `id`.
    V2,
}

/// What a frame did, beyond its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handled<'a> {
    /// The frame's protocol, which the reply is written in (guessed for a frame that cannot be
    /// read: v2 when it mentions "cmd").
    pub version: Version,
    /// The command's name, for the platform's log ("" when the frame was not a command).
    pub command: &'a str,
    /// A cycle was loaded: the platform stores this document (the bytes as received).
    pub store: Option<&'a [u8]>,
    /// The reply says it succeeded (`ok: ...` in v1, `"ok":true` in v2).
    pub ok: bool,
    /// Warnings of the cycle a load or validate accepted, for the log: a v1 reply cannot say
    /// them (`ok: cycle loaded`), so the platform logs how many there are.
    pub warnings: usize,
}

impl<'a> Handled<'a> {
    /// Not (yet) done: nothing to store, not ok.
    pub fn new(version: Version, command: &'a str) -> Self {
        Handled {
            version,
            command,
            store: None,
            ok: false,
            warnings: 0,
        }
    }
}

/// A frame after step 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read<'a> {
    /// The reply is written; nothing else is to be done.
    Answered(Handled<'a>),
    /// Carries a cycle document: [`parse`] it.
    Document(Document<'a>),
    /// Reads the loaded cycle: [`answer`] it.
    Query(Query<'a>),
    /// For the controller: `controller::Controller::execute` it, then [`write_outcome`].
    Command(Command<'a>),
    /// For the program library (`library`): the platform's store answers it.
    Program(Program<'a>),
    /// `get_history`: the platform answers it from the runs it kept (`history`).
    History(HistoryRequest<'a>),
}

/// `get_history`: the newest runs, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRequest<'a> {
    /// The command as sent, for the log.
    pub name: &'a str,
    /// The request's `id`, for the reply.
    pub id: Option<&'a [u8]>,
    /// How many runs, newest first.
    pub limit: usize,
}

/// The most runs one `get_history` reply carries.
pub const MAX_HISTORY_PAGE: u64 = 100;

/// A program-library command (`list_programs`, `save_program`, ...; v2 only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program<'a> {
    /// The command as sent, for the log.
    pub name: &'a str,
    /// The request's `id`, for the reply.
    pub id: Option<&'a [u8]>,
    /// What it asks for.
    pub request: library::Request<'a>,
}

impl<'a> Program<'a> {
    /// A `load_program`'s stored document as a `load_cycle` of it, for [`parse`]: the reply
    /// (the summary, or why the stored document no longer loads) goes to this request.
    pub fn document<'b>(&self, raw: &'b [u8]) -> Document<'b>
    where
        'a: 'b,
    {
        Document {
            version: Version::V2,
            name: self.name,
            id: self.id,
            raw,
            validate: false,
        }
    }
}

impl<'a> Read<'a> {
    /// The command as sent, for the log.
    pub fn command(&self) -> &'a str {
        match self {
            Read::Answered(h) => h.command,
            Read::Document(d) => d.name,
            Read::Query(q) => q.name,
            Read::Command(c) => c.name,
            Read::Program(p) => p.name,
            Read::History(h) => h.name,
        }
    }

    /// The protocol of the frame.
    pub fn version(&self) -> Version {
        match self {
            Read::Answered(h) => h.version,
            Read::Document(d) => d.version,
            Read::Query(_) | Read::Program(_) | Read::History(_) => Version::V2,
            Read::Command(c) => c.version,
        }
    }
}

/// A cycle document in a frame (`write_json`, `load_cycle`, `validate_cycle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document<'a> {
    /// The protocol of the frame, which [`parse`] replies in.
    pub version: Version,
    /// The command as sent (`write_json`, `load_cycle` or `validate_cycle`), for the log.
    pub name: &'a str,
    id: Option<&'a [u8]>,
    raw: &'a [u8],
    /// `validate_cycle`: check and summarise, load nothing.
    validate: bool,
}

/// A read of the loaded cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query<'a> {
    /// The command as sent (`get_cycle` or `get_timeline`, both v2), for the log.
    pub name: &'a str,
    id: Option<&'a [u8]>,
    kind: QueryKind<'a>,
}

impl Query<'_> {
    /// Writes a v2 error with this query's id: it is refused for `message`.
    pub fn refuse(
        &self,
        code: &str,
        message: impl fmt::Display,
        w: &mut impl Write,
    ) -> fmt::Result {
        write_error(w, Version::V2, self.id, code, message, "")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryKind<'a> {
    Cycle,
    Timeline {
        /// The index (None: past u64), and as written, for the message.
        phase: (Option<u64>, &'a str),
        from_us: u64,
        offset: u64,
        limit: u64,
    },
}

impl Query<'_> {
    /// Events `answer` walks through the timeline merge (the `offset` skipped and the `limit`
    /// written), for a platform that answers while holding the runner.
    pub fn events_walked(&self) -> u64 {
        match self.kind {
            QueryKind::Cycle => 0,
            QueryKind::Timeline { offset, limit, .. } => offset + limit,
        }
    }
}

/// A checked command for the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// The protocol of the frame, which [`write_outcome`] replies in.
    pub version: Version,
    /// The command as sent (`start_cycle`, `skip_phase`, `set_output`...), for the log.
    pub name: &'a str,
    id: Option<&'a [u8]>,
    /// What the runner is to do.
    pub action: Action<'a>,
}

/// What a command asks of the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Replace the loaded cycle by the one [`parse`] read into the scratch storage
    /// (`controller::Work::Load`);
    /// the reply, its summary, is already written. `document` is what the platform stores.
    Load {
        /// The cycle document's bytes as received (the `data` or `cycle` value), to store.
        document: &'a [u8],
        /// How many warnings it was accepted with.
        warnings: usize,
    },
    /// Anything else (`controller::Work::Op`).
    Op(Op),
}

/// A command on the runner other than a load: plain data, so a platform can hand it to the
/// thread or task that owns the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Runs the loaded cycle from its first phase (v1 `start_cycle`, v2 `start`).
    Start,
    /// Starts the loaded cycle this long from now (v2 `start` with `delay_ms`): a delayed
    /// start, kept by the controller until then; a stop, a start or a load cancels it.
    StartIn {
        /// How long to wait (as a client asks for it, at most [`MAX_START_DELAY_MS`]).
        delay: Duration,
    },
    /// Ends the run and leaves every output OFF, even when nothing runs (`stop_cycle`, `stop`).
    Stop,
    /// Freezes the phase clock with the outputs in the safe state (`pause_cycle`, `pause`).
    Pause,
    /// Restores the outputs the timeline has ON and lets the phase clock run on
    /// (`resume_cycle`, `resume`).
    Resume,
    /// Ends the current phase now and starts the next one (`skip_phase`).
    SkipPhase,
    /// Ends the current phase now and starts the one at this 0-based index, backwards allowed
    /// (`skip_to_phase` with `index`).
    SkipToPhase(usize),
    /// Switches one output by hand: only with no cycle running, never against the motor
    /// interlock or the reverse dead time (v1 `toggle_gpio`, v2 `set_output`).
    SetOutput {
        /// The board output, found by pin (v1) or by name, alias or pin (v2).
        output: OutputId,
        /// ON or OFF as the output sees it, not the pin level (v1's raw `state` is converted).
        on: bool,
    },
    /// Applies only the events already due and reports the status (v2 `get_status`).
    Status,
}

impl Command<'_> {
    /// A stop goes before everything queued: a platform may look for it.
    pub fn is_stop(&self) -> bool {
        self.action == Action::Op(Op::Stop)
    }
}

impl Op {
    /// Whether it may start a run or switch something ON: what a stop that arrives after it,
    /// but is applied first, must not let through ([`CommandError::Overtaken`]).
    pub fn moves(self) -> bool {
        match self {
            Op::Start | Op::StartIn { .. } | Op::Resume | Op::SkipPhase | Op::SkipToPhase(_) => {
                true
            }
            Op::SetOutput { on, .. } => on,
            Op::Stop | Op::Pause | Op::Status => false,
        }
    }
}

/// Step 2 for a command a later stop overtook: nothing changes, and the result says so.
pub(crate) fn overtaken<O: Outputs>(runner: &mut Runner, out: &mut O, now: Instant) -> Outcome {
    runner.handle_timeout(now, out);
    Outcome {
        result: Err(CommandError::Overtaken),
        status: runner.snapshot(now),
    }
}

/// What a command did: its result, and the runner right after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Done, or why the runner refused it (the v1 `error: ...`, the v2 error `code`).
    pub result: Result<(), CommandError>,
    /// The runner right after the command: a v2 reply's `result` is written from it.
    pub status: Snapshot,
}

/// Step 1: reads and checks `frame`, and writes the reply of whatever it answers. Cheap: the
/// frame is syntax-checked and its top-level keys found; a document it carries is left to
/// [`parse`].
pub fn read<'a>(
    frame: &'a [u8],
    board: &Board,
    reply: &mut impl Write,
) -> Result<Read<'a>, fmt::Error> {
    let mut h = Handled::new(guess_version(frame), "");
    if frame.len() > MAX_FRAME {
        let msg = Lazy(format_args!(
            "frame of {} bytes is larger than the limit of {MAX_FRAME}",
            frame.len()
        ));
        write_refusal(frame, "too_large", msg, reply)?;
        return Ok(Read::Answered(h));
    }
    if frame.trim_ascii() == b"connect" {
        // The original web app sends this raw text on connect; it is a greeting, not a command.
        reply.write_str("ok: connected")?;
        h.ok = true;
        return Ok(Read::Answered(h));
    }
    let Ok(message) = Message::read(frame) else {
        let msg = Lazy(format_args!("invalid json"));
        write_error(reply, h.version, None, "invalid_json", msg, "")?;
        return Ok(Read::Answered(h));
    };
    let mut r = Request {
        m: &message,
        board,
        w: reply,
        h,
        id: None,
    };
    if let Some(cmd) = message.get(Key::Cmd) {
        r.h.version = Version::V2;
        r.id = message.get(Key::Id);
        let Some(name) = as_str(cmd).and_then(|s| s.as_plain()) else {
            return r.refuse(
                "invalid_request",
                format_args!("\"cmd\" must be a command name (a string)"),
                "cmd",
            );
        };
        r.h.command = name;
        match Verb::named(&V2_NAMES, name) {
            Some(verb) => r.request(verb),
            None => r.refuse(
                "unknown_command",
                format_args!("unknown command \"{name}\""),
                "cmd",
            ),
        }
    } else {
        r.h.version = Version::V1;
        let Some(name) = message
            .get(Key::Action)
            .and_then(as_str)
            .and_then(|s| s.as_plain())
        else {
            r.w.write_str("error: missing action")?;
            return Ok(Read::Answered(r.h));
        };
        r.h.command = name;
        match Verb::named(&V1_NAMES, name) {
            Some(verb) => r.request(verb),
            None => r.v1_reply("error: unknown action"),
        }
    }
}

/// What a frame asks, whichever protocol names it: the two tables below say which names a
/// version knows, and [`Request::request`] reads every verb's parameters in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    LoadCycle,
    ValidateCycle,
    Start,
    Stop,
    Pause,
    Resume,
    SkipPhase,
    SkipToPhase,
    SetOutput,
    GetStatus,
    GetCycle,
    GetTimeline,
    ListPrograms,
    SaveProgram,
    LoadProgram,
    RenameProgram,
    DeleteProgram,
    GetHistory,
    Ping,
}

/// v1's actions: the original firmware's, answered in its plain text, and pause/resume.
const V1_NAMES: [(&str, Verb); 9] = [
    ("write_json", Verb::LoadCycle),
    ("start_cycle", Verb::Start),
    ("stop_cycle", Verb::Stop),
    ("skip_phase", Verb::SkipPhase),
    ("skip_to_phase", Verb::SkipToPhase),
    ("toggle_gpio", Verb::SetOutput),
    ("pause_cycle", Verb::Pause),
    ("resume_cycle", Verb::Resume),
    ("ping", Verb::Ping),
];

/// v2's commands (docs/protocol.md), each answered with one JSON reply.
const V2_NAMES: [(&str, Verb); 18] = [
    ("load_cycle", Verb::LoadCycle),
    ("validate_cycle", Verb::ValidateCycle),
    ("start", Verb::Start),
    ("stop", Verb::Stop),
    ("pause", Verb::Pause),
    ("resume", Verb::Resume),
    ("skip_phase", Verb::SkipPhase),
    ("skip_to_phase", Verb::SkipToPhase),
    ("set_output", Verb::SetOutput),
    ("get_status", Verb::GetStatus),
    ("get_cycle", Verb::GetCycle),
    ("get_timeline", Verb::GetTimeline),
    ("list_programs", Verb::ListPrograms),
    ("save_program", Verb::SaveProgram),
    ("load_program", Verb::LoadProgram),
    ("rename_program", Verb::RenameProgram),
    ("delete_program", Verb::DeleteProgram),
    ("get_history", Verb::GetHistory),
];

impl Verb {
    /// The verb a name stands for in `table`: names are matched exactly, as the original did.
    fn named(table: &[(&str, Verb)], name: &str) -> Option<Verb> {
        table
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, verb)| verb)
    }
}

/// Step 1b: checks a document against `capacity` bytes of cycle storage (storing nothing) and
/// writes the reply: the refusal, the summary of `validate_cycle`, or the reply of a load,
/// which is then [`Read::Command`] ([`Action::Load`]) for the controller (`controller::Work`).
pub fn parse<'a>(
    doc: &Document<'a>,
    board: &Board,
    capacity: usize,
    w: &mut impl Write,
) -> Result<Read<'a>, fmt::Error> {
    let mut h = Handled::new(doc.version, doc.name);
    let warnings = match doc.version {
        Version::V1 => {
            // Counted, not kept: the parse holds no list of warnings (the chip's stack is small).
            let mut count = WarningCount::default();
            match Cycle::validate(doc.raw, board, capacity, &mut count) {
                Ok(_) => w.write_str("ok: cycle loaded")?,
                Err(e) => {
                    write!(w, "error: {e}")?;
                    return Ok(Read::Answered(h));
                }
            }
            count.0
        }
        Version::V2 => {
            // The summary is written as the phases are found; a refusal is found before any
            // of it is sent, in a first reading that writes nothing.
            let mut count = WarningCount::default();
            if let Err(e) = Cycle::validate(doc.raw, board, capacity, &mut count) {
                write_invalid_cycle(w, doc.id, &e)?;
                return Ok(Read::Answered(h));
            }
            write_ok(w, doc.id, |w| {
                let mut o = Object::open(w)?;
                let mut summary = SummaryJson::new(&mut o)?;
                let _ = Cycle::validate(doc.raw, board, capacity, &mut summary);
                summary.finish()?.write(&mut o)?;
                // Another reading finds the same warnings, written as they come: deterministic.
                let mut listed = WarningsJson::new(&mut o)?;
                let again = Cycle::validate(doc.raw, board, capacity, &mut listed);
                debug_assert!(again.is_ok(), "the same document reads the same");
                let more = listed.finish()?;
                write_more_warnings(&mut o, more)?;
                o.close()
            })?;
            count.0
        }
    };
    if doc.validate {
        h.ok = true;
        h.warnings = warnings;
        return Ok(Read::Answered(h));
    }
    Ok(Read::Command(Command {
        version: doc.version,
        name: doc.name,
        id: doc.id,
        action: Action::Load {
            document: doc.raw,
            warnings,
        },
    }))
}

/// Step 2: the command on the runner. Bounded work: no parsing, no formatting.
pub(crate) fn apply<O: Outputs>(
    op: Op,
    runner: &mut Runner<'_>,
    out: &mut O,
    now: Instant,
) -> Outcome {
    let result = match op {
        Op::Start => runner.start(now, out),
        // `Controller::execute` keeps a delayed start and never hands one here; the start
        // itself is what reaches the runner when its time comes.
        Op::StartIn { .. } => runner.start(now, out),
        Op::Stop => runner.stop(now, out),
        Op::Pause => runner.pause(now, out),
        Op::Resume => runner.resume(now, out),
        Op::SkipPhase => runner.skip_phase(now, out),
        Op::SkipToPhase(i) => runner.skip_to_phase(now, i, out),
        Op::SetOutput { output, on } => runner.set_output(now, output, on, out),
        Op::Status => {
            runner.handle_timeout(now, out);
            Ok(())
        }
    };
    Outcome {
        result,
        status: runner.snapshot(now),
    }
}

/// Step 3: the reply to an applied command.
pub fn write_outcome<'a>(
    cmd: &Command<'a>,
    outcome: &Outcome,
    board: &Board,
    w: &mut impl Write,
) -> Result<Handled<'a>, fmt::Error> {
    let mut h = Handled {
        version: cmd.version,
        command: cmd.name,
        store: None,
        ok: outcome.result.is_ok(),
        warnings: 0,
    };
    let op = match cmd.action {
        Action::Load { document, warnings } => {
            // `parse` wrote the summary; a load cannot fail once parsed.
            h.store = Some(document);
            h.warnings = warnings;
            return Ok(h);
        }
        Action::Op(op) => op,
    };
    match (cmd.version, outcome.result) {
        (Version::V2, Ok(())) => write_ok(w, cmd.id, |w| {
            telemetry::write_status(w, board, &outcome.status)
        })?,
        (Version::V2, Err(e)) => write_error(w, Version::V2, cmd.id, code(e), e, "")?,
        (Version::V1, Ok(())) => match op {
            Op::SetOutput { output, on } => {
                let def = board.output(output);
                write!(w, "ok: GPIO {} set to {}", def.pin, def.level(on).as_u8())?;
            }
            _ => w.write_str(match op {
                Op::Start | Op::StartIn { .. } => "ok: starting cycle",
                Op::Stop => "ok: cycle stopped",
                Op::SkipPhase => "ok: phase skipped",
                Op::Pause => "ok: cycle paused",
                Op::Resume => "ok: cycle resumed",
                _ => "ok: skipping to phase",
            })?,
        },
        // The original's wording for this one refusal.
        (Version::V1, Err(CommandError::Running)) if op == Op::Start => {
            w.write_str("error: cycle already running")?
        }
        (Version::V1, Err(e)) => write!(w, "error: {e}")?,
    }
    Ok(h)
}

/// A query's reply, from the loaded cycle (or a copy of it).
pub fn answer<'a>(
    q: &Query<'a>,
    cycle: &Cycle,
    board: &Board,
    w: &mut impl Write,
) -> Result<Handled<'a>, fmt::Error> {
    let mut h = Handled::new(Version::V2, q.name);
    match q.kind {
        QueryKind::Cycle => write_ok(w, q.id, |w| cycle.write_json(board, w))?,
        QueryKind::Timeline {
            phase,
            from_us,
            offset,
            limit,
        } => {
            let phases = cycle.phases();
            let index = phase.0.and_then(|i| usize::try_from(i).ok());
            let Some(p) = index.and_then(|i| phases.get(i)) else {
                let e = OutOfRange(phase.1, phases.len());
                write_error(w, Version::V2, q.id, "out_of_range", e, "phase")?;
                return Ok(h);
            };
            write_ok(w, q.id, |w| {
                let mut o = Object::open(w)?;
                o.field("phase", index.unwrap_or_default())?
                    .field("from_us", from_us)?
                    .field("offset", offset)?
                    .field("total", p.events())?;
                let mut events = o.array("events")?;
                let page = Timeline::starting_at(cycle, p, Duration::from_micros(from_us))
                    .skip(offset as usize)
                    .take(limit as usize);
                for ev in page {
                    let def = board.output(ev.output);
                    let mut e = events.object()?;
                    e.field("at_us", ev.at.as_micros())?
                        .field("pin", def.pin)?
                        .field("output", def.name.as_str())?
                        .field("level", def.level(ev.on).as_u8())?
                        .field("on", ev.on)?;
                    e.close()?;
                }
                events.close()?;
                o.close()
            })?;
        }
    }
    h.ok = true;
    Ok(h)
}

/// "phase index 7 out of range (3 phases)", for any whole number the client sent.
struct OutOfRange<'a>(&'a str, usize);

impl fmt::Display for OutOfRange<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "phase index {} out of range ({} phases)", self.0, self.1)
    }
}

/// "a whole number >= 0", or "a whole number from 0 to N" when N is a limit of its own.
struct Range(u64);

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            max if max >= u32::MAX as u64 => f.write_str("a whole number >= 0"),
            max => write!(f, "a whole number from 0 to {max}"),
        }
    }
}

/// A whole-number parameter, as [`Message::whole`] finds it.
enum Whole<'a> {
    Absent,
    Value(u64),
    /// Not a number, negative or fractional.
    Invalid,
    /// A whole number past the maximum, as written.
    TooLarge(&'a str),
}

/// One frame being read: its message, the board, and the reply so far.
struct Request<'m, 'a, W> {
    m: &'m Message<'a>,
    board: &'m Board,
    w: &'m mut W,
    h: Handled<'a>,
    id: Option<&'a [u8]>,
}

impl<'a, W: Write> Request<'_, 'a, W> {
    fn command(&self, op: Op) -> Result<Read<'a>, fmt::Error> {
        Ok(Read::Command(Command {
            version: self.h.version,
            name: self.h.command,
            id: self.id,
            action: Action::Op(op),
        }))
    }

    /// A v2 refusal of this frame (a v1 frame's errors are plain text, written by `v1`).
    fn refuse(
        &mut self,
        code: &str,
        msg: fmt::Arguments<'_>,
        path: &str,
    ) -> Result<Read<'a>, fmt::Error> {
        write_error(self.w, self.h.version, self.id, code, Lazy(msg), path)?;
        Ok(Read::Answered(self.h))
    }

    /// A v1 reply in plain text, and nothing more to do.
    fn v1_reply(&mut self, text: &str) -> Result<Read<'a>, fmt::Error> {
        self.w.write_str(text)?;
        Ok(Read::Answered(self.h))
    }

    fn document(&self, raw: &'a [u8], validate: bool) -> Read<'a> {
        Read::Document(Document {
            version: self.h.version,
            name: self.h.command,
            id: self.id,
            raw,
            validate,
        })
    }

    /// Reads the parameters of `verb` in the frame's version: what comes next for the frame,
    /// or the refusal that says which parameter is wrong and why.
    fn request(mut self, verb: Verb) -> Result<Read<'a>, fmt::Error> {
        let v1 = self.h.version == Version::V1;
        let op = match verb {
            Verb::LoadCycle | Verb::ValidateCycle if v1 => return self.v1_document(),
            Verb::LoadCycle | Verb::ValidateCycle => {
                return match self.cycle_param(self.h.command) {
                    Ok(raw) => Ok(self.document(raw, verb == Verb::ValidateCycle)),
                    Err(reply) => reply,
                };
            }
            Verb::Start if v1 => Op::Start,
            Verb::Start => {
                match self.whole(Key::DelayMs, "delay_ms", (MAX_START_DELAY_MS, ""), Some(0)) {
                    Ok(0) => Op::Start,
                    Ok(ms) => Op::StartIn {
                        delay: Duration::from_millis(ms),
                    },
                    Err(reply) => return reply,
                }
            }
            Verb::Stop => Op::Stop,
            Verb::Pause => Op::Pause,
            Verb::Resume => Op::Resume,
            Verb::SkipPhase => Op::SkipPhase,
            Verb::SkipToPhase if v1 => match self.m.whole(Key::Index, u32::MAX as u64) {
                Whole::Value(i) => Op::SkipToPhase(i as usize),
                _ => return self.v1_reply("error: missing or invalid index for skip_to_phase"),
            },
            Verb::SkipToPhase => {
                match self.whole(Key::Index, "index", (u32::MAX as u64, ""), None) {
                    Ok(i) => Op::SkipToPhase(i as usize),
                    Err(reply) => return reply,
                }
            }
            Verb::SetOutput if v1 => return self.toggle_gpio(),
            Verb::SetOutput => return self.set_output(),
            Verb::GetStatus => Op::Status,
            Verb::GetCycle => {
                return Ok(Read::Query(Query {
                    name: self.h.command,
                    id: self.id,
                    kind: QueryKind::Cycle,
                }));
            }
            Verb::GetTimeline => return self.get_timeline(),
            Verb::ListPrograms
            | Verb::SaveProgram
            | Verb::LoadProgram
            | Verb::RenameProgram
            | Verb::DeleteProgram => return self.program(verb),
            Verb::GetHistory => {
                return match self.whole(Key::Limit, "limit", (MAX_HISTORY_PAGE, ""), Some(20)) {
                    Ok(limit) => Ok(Read::History(HistoryRequest {
                        name: self.h.command,
                        id: self.id,
                        limit: limit as usize,
                    })),
                    Err(reply) => reply,
                };
            }
            Verb::Ping => {
                self.h.ok = true;
                return self.v1_reply("ok: pong");
            }
        };
        self.command(op)
    }

    /// `write_json`'s `data`, in the original's words when it is missing or not an object.
    fn v1_document(mut self) -> Result<Read<'a>, fmt::Error> {
        let Some(data) = self.m.get(Key::Data) else {
            return self.v1_reply("error: missing data for write_json");
        };
        if self.m.kind(Key::Data) != Some(Kind::Object) {
            return self.v1_reply("error: data field must be an object");
        }
        Ok(self.document(data, false))
    }

    /// `toggle_gpio`: a pin and its raw level (0 or 1), as the original took them.
    fn toggle_gpio(mut self) -> Result<Read<'a>, fmt::Error> {
        let Whole::Value(pin) = self.m.whole(Key::Pin, u8::MAX as u64) else {
            return self.v1_reply("error: missing or invalid pin number");
        };
        let Whole::Value(state) = self.m.whole(Key::State, 1) else {
            return self.v1_reply("error: missing or invalid state (0 or 1)");
        };
        let Some(output) = self.board.by_pin(pin as u8) else {
            write!(
                self.w,
                "error: pin {pin} is not an output (outputs: {})",
                Pins(self.board)
            )?;
            return Ok(Read::Answered(self.h));
        };
        let on = self
            .board
            .output(output)
            .is_on(Level::from_bool(state == 1));
        self.command(Op::SetOutput { output, on })
    }

    /// `set_output`: an output by name, alias or pin, and `on`.
    fn set_output(mut self) -> Result<Read<'a>, fmt::Error> {
        if self.m.get(Key::Output).is_none() {
            return self.refuse(
                "invalid_request",
                format_args!("set_output needs an output (a name or a pin)"),
                "output",
            );
        }
        let Some(output) = find_output(self.m, self.board) else {
            return self.refuse(
                "unknown_output",
                format_args!(
                    "output must be an output name or pin (known: {})",
                    self.board.names()
                ),
                "output",
            );
        };
        let Some(on) = self.m.boolean(Key::On) else {
            return self.refuse(
                "invalid_request",
                format_args!("on must be true or false"),
                "on",
            );
        };
        self.command(Op::SetOutput { output, on })
    }

    /// A whole-number parameter of a v2 command (`default` when it may be absent), or the
    /// refusal that says what is wrong with it; `hint` ends the message.
    fn whole(
        &mut self,
        key: Key,
        name: &str,
        (max, hint): (u64, &str),
        default: Option<u64>,
    ) -> Result<u64, Result<Read<'a>, fmt::Error>> {
        let range = Range(max);
        match (self.m.whole(key, max), default) {
            (Whole::Value(v), _) => Ok(v),
            (Whole::Absent, Some(d)) => Ok(d),
            (Whole::TooLarge(text), _) => Err(self.refuse(
                "out_of_range",
                format_args!("{name} {text} is out of range: at most {max}{hint}"),
                name,
            )),
            (Whole::Absent | Whole::Invalid, _) => Err(self.refuse(
                "invalid_request",
                format_args!("{name} must be {range}{hint}"),
                name,
            )),
        }
    }

    /// The `cycle` parameter (an object), or the refusal.
    fn cycle_param(&mut self, cmd: &str) -> Result<&'a [u8], Result<Read<'a>, fmt::Error>> {
        match self.m.get(Key::Cycle) {
            Some(raw) if self.m.kind(Key::Cycle) == Some(Kind::Object) => Ok(raw),
            _ => Err(self.refuse(
                "invalid_request",
                format_args!("{cmd} needs a cycle object"),
                "cycle",
            )),
        }
    }

    /// A program name parameter, or the refusal that says what is wrong with it.
    fn program_name(
        &mut self,
        key: Key,
        param: &str,
    ) -> Result<library::Name, Result<Read<'a>, fmt::Error>> {
        let text = self.m.get(key).and_then(as_str);
        let mut name = heapless::String::<{ library::MAX_NAME + 1 }>::new();
        let fits = text.is_some_and(|s| s.chars().try_for_each(|c| name.push(c)).is_ok());
        let checked = match (text, fits) {
            (None, _) => Err("needs a program name (a string)"),
            (Some(_), false) => Err("a program name has at most 32 bytes"),
            (Some(_), true) => library::Name::new(&name),
        };
        checked.map_err(|why| self.refuse("invalid_name", format_args!("{param}: {why}"), param))
    }

    fn program(mut self, verb: Verb) -> Result<Read<'a>, fmt::Error> {
        use library::Request;
        let cmd = self.h.command;
        let request = match verb {
            Verb::ListPrograms => Request::List,
            Verb::SaveProgram => {
                let name = match self.program_name(Key::Name, "name") {
                    Ok(n) => n,
                    Err(reply) => return reply,
                };
                let cycle = match self.cycle_param(cmd) {
                    Ok(raw) => raw,
                    Err(reply) => return reply,
                };
                Request::Save { name, cycle }
            }
            Verb::RenameProgram => {
                let name = match self.program_name(Key::Name, "name") {
                    Ok(n) => n,
                    Err(reply) => return reply,
                };
                let to = match self.program_name(Key::To, "to") {
                    Ok(n) => n,
                    Err(reply) => return reply,
                };
                Request::Rename { name, to }
            }
            _ => {
                let name = match self.program_name(Key::Name, "name") {
                    Ok(n) => n,
                    Err(reply) => return reply,
                };
                match verb {
                    Verb::LoadProgram => Request::Load { name },
                    _ => Request::Delete { name },
                }
            }
        };
        Ok(Read::Program(Program {
            name: cmd,
            id: self.id,
            request,
        }))
    }

    fn get_timeline(mut self) -> Result<Read<'a>, fmt::Error> {
        let phase = match self.m.whole(Key::Phase, u64::MAX) {
            // `answer` tells an index past the phases (of any size) it is out of range.
            Whole::Value(i) => (Some(i), self.m.number_text(Key::Phase)),
            Whole::TooLarge(text) => (None, text),
            Whole::Absent | Whole::Invalid => {
                return self.refuse(
                    "invalid_request",
                    format_args!("phase must be a whole number >= 0"),
                    "phase",
                );
            }
        };
        let from_us = match self.whole(Key::FromUs, "from_us", (u64::MAX, ""), Some(0)) {
            Ok(v) => v,
            Err(reply) => return reply,
        };
        let offset = match self.whole(
            Key::Offset,
            "offset",
            (MAX_TIMELINE_OFFSET, " (page further with from_us)"),
            Some(0),
        ) {
            Ok(v) => v,
            Err(reply) => return reply,
        };
        let limit = match self.whole(Key::Limit, "limit", (MAX_TIMELINE_PAGE, ""), Some(100)) {
            Ok(v) => v,
            Err(reply) => return reply,
        };
        Ok(Read::Query(Query {
            name: self.h.command,
            id: self.id,
            kind: QueryKind::Timeline {
                phase,
                from_us,
                offset,
                limit,
            },
        }))
    }
}

/// The board's output pins, for an error message.
struct Pins<'a>(&'a Board);

impl fmt::Display for Pins<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (_, def)) in self.0.outputs().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", def.pin)?;
        }
        Ok(())
    }
}

/// `{"type":"reply","id":ID,"ok":true,"result":R}`: a v2 success, whose result `R` is what
/// `result` writes (platform-only commands use it too).
pub fn write_ok<W: Write + ?Sized>(
    w: &mut W,
    id: Option<&[u8]>,
    result: impl FnOnce(&mut W) -> fmt::Result,
) -> fmt::Result {
    let mut reply = open_reply(w, id, true)?;
    reply.field_with("result", result)?;
    reply.close()
}

/// A v2 success up to its result, `{"type":"reply","id":ID,"ok":true,"result":`, for a result
/// streamed across calls; [`close_ok`] ends it.
pub fn open_ok<'w, W: Write + ?Sized>(
    w: &'w mut W,
    id: Option<&[u8]>,
) -> Result<&'w mut W, fmt::Error> {
    open_reply(w, id, true)?.leave_open("result")
}

/// Ends a reply [`open_ok`] began, once its result is written.
pub fn close_ok<W: Write + ?Sized>(w: &mut W) -> fmt::Result {
    Object::after_members(w).close()
}

/// A v2 reply up to its `"ok"`: `{"type":"reply","id":ID,"ok":OK`.
fn open_reply<'w, W: Write + ?Sized>(
    w: &'w mut W,
    id: Option<&[u8]>,
    ok: bool,
) -> Result<Object<'w, W>, fmt::Error> {
    // The id is echoed exactly as sent; it was syntax-checked with the frame, so it is JSON.
    let id = id.and_then(|raw| core::str::from_utf8(raw).ok()).map(Raw);
    let mut reply = Object::open(w)?;
    reply
        .field("type", "reply")?
        .field("id", id)?
        .field("ok", ok)?;
    Ok(reply)
}

/// The version of a frame that could not be read: v2 when it mentions a "cmd" key.
fn guess_version(frame: &[u8]) -> Version {
    let mentions_cmd = frame.windows(5).take(MAX_FRAME).any(|w| w == b"\"cmd\"");
    if mentions_cmd {
        Version::V2
    } else {
        Version::V1
    }
}

/// Replies to `frame` with an error the platform raised around the controller (busy, storage
/// failed), in the frame's protocol version, echoing its id when it has one.
pub fn write_refusal(
    frame: &[u8],
    code: &str,
    message: impl fmt::Display,
    w: &mut impl Write,
) -> fmt::Result {
    let message_of = Message::read(frame).ok();
    let id = message_of.as_ref().and_then(|m| m.get(Key::Id));
    let version = match &message_of {
        Some(m) if m.get(Key::Cmd).is_some() => Version::V2,
        Some(_) => Version::V1,
        None => guess_version(frame),
    };
    write_error(w, version, id, code, message, "")
}

/// The reply to a binary WebSocket frame: every platform takes JSON as text only.
pub fn write_binary_refusal(frame: &[u8], w: &mut impl Write) -> fmt::Result {
    let msg = "binary frames are not supported: send JSON as text";
    write_refusal(frame, "invalid_request", msg, w)
}

/// The reply to a load whose document could not be stored (`why`): the cycle is loaded and
/// runs; only the next start of the controller will not find it.
pub fn write_store_failed(frame: &[u8], why: impl fmt::Display, w: &mut impl Write) -> fmt::Result {
    let msg = Lazy(format_args!("cycle loaded, but storing it failed: {why}"));
    write_refusal(frame, "store_failed", msg, w)
}

/// Why a WebSocket with every client slot taken (this many) is closed, with code 1013 ("try
/// again later").
pub struct TooManyClients(pub usize);

impl fmt::Display for TooManyClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "too many clients: at most {}", self.0)
    }
}

/// `{"type":"hello",...}`: sent on connect, so a client knows the protocols and the outputs.
/// `max_frame` is the platform's own frame limit ([`MAX_FRAME`] on the host, less on a chip).
pub fn write_hello(
    w: &mut impl Write,
    board: &Board,
    version: &str,
    max_frame: usize,
) -> fmt::Result {
    let mut hello = Object::open(w)?;
    hello
        .field("type", "hello")?
        .field("version", version)?
        .field("protocols", [1u8, 2].as_slice())?
        .field("max_frame", max_frame)?
        .field("reverse_dead_time_ms", board.reverse_dead_time_ms())?;
    let mut outputs = hello.array("outputs")?;
    for (id, def) in board.outputs() {
        // What the output does for a motor pattern, so a client need not guess from names.
        let role = if id == board.motor() {
            Some("motor")
        } else if id == board.direction() {
            Some("direction")
        } else {
            None
        };
        let mut o = outputs.object()?;
        o.field("role", role)?.field("name", def.name.as_str())?;
        let mut aliases = o.array("aliases")?;
        for alias in def.aliases.iter() {
            aliases.item(alias.as_str())?;
        }
        aliases.close()?;
        o.field("pin", def.pin)?
            .field("active_low", def.active_low)?;
        o.close()?;
    }
    outputs.close()?;
    hello.close()
}

/// Top-level keys a command may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Action,
    Cmd,
    Id,
    Data,
    Cycle,
    Index,
    Pin,
    State,
    Output,
    On,
    Phase,
    Offset,
    Limit,
    FromUs,
    DelayMs,
    Name,
    To,
}

const KEYS: [(&str, Key); 17] = [
    ("action", Key::Action),
    ("cmd", Key::Cmd),
    ("id", Key::Id),
    ("data", Key::Data),
    ("cycle", Key::Cycle),
    ("index", Key::Index),
    ("pin", Key::Pin),
    ("state", Key::State),
    ("output", Key::Output),
    ("on", Key::On),
    ("phase", Key::Phase),
    ("offset", Key::Offset),
    ("limit", Key::Limit),
    ("from_us", Key::FromUs),
    ("delay_ms", Key::DelayMs),
    ("name", Key::Name),
    ("to", Key::To),
];

/// The raw bytes of each known top-level value; unknown keys are ignored.
struct Message<'a> {
    values: [Option<&'a [u8]>; KEYS.len()],
}

impl<'a> Message<'a> {
    fn read(frame: &'a [u8]) -> Result<Self, ()> {
        json::check_syntax(frame).map_err(drop)?;
        let mut m = Message {
            values: [None; KEYS.len()],
        };
        let mut r = Reader::new(frame);
        if r.peek().map_err(drop)? != Kind::Object {
            return Ok(m); // valid JSON, but no action: the original said "missing action"
        }
        let mut members = r.object().map_err(drop)?;
        while let Some(key) = r.next_key(&mut members).map_err(drop)? {
            r.peek().map_err(drop)?; // skip the whitespace before the value
            let start = r.offset();
            r.skip_value().map_err(drop)?;
            let slot = KEYS.iter().position(|(k, _)| key.eq_ignore_ascii_case(k));
            // The first of duplicate keys counts, as in the original (cJSON).
            if let Some(i) = slot
                && m.values[i].is_none()
            {
                m.values[i] = Some(&frame[start..r.offset()]);
            }
        }
        Ok(m)
    }

    fn get(&self, key: Key) -> Option<&'a [u8]> {
        let i = KEYS.iter().position(|(_, k)| *k == key)?;
        self.values[i]
    }

    fn unsigned(&self, key: Key, max: u64) -> Option<u64> {
        let mut r = Reader::new(self.get(key)?);
        if r.peek().ok()? != Kind::Number {
            return None;
        }
        r.number().ok()?.as_unsigned(max).ok()
    }

    /// The text of a number value ("" for anything else).
    fn number_text(&self, key: Key) -> &'a str {
        let mut r = Reader::new(self.get(key).unwrap_or_default());
        match r.peek() {
            Ok(Kind::Number) => r.number().map_or("", |n| n.text()),
            _ => "",
        }
    }

    /// A whole-number parameter as written: absent, a value up to `max`, or why it is not one.
    fn whole(&self, key: Key, max: u64) -> Whole<'a> {
        let Some(raw) = self.get(key) else {
            return Whole::Absent;
        };
        let mut r = Reader::new(raw);
        let Ok(Kind::Number) = r.peek() else {
            return Whole::Invalid;
        };
        let Ok(n) = r.number() else {
            return Whole::Invalid;
        };
        match n.as_unsigned(max) {
            Ok(v) => Whole::Value(v),
            Err(NotUnsigned::TooLarge) => Whole::TooLarge(n.text()),
            Err(_) => Whole::Invalid,
        }
    }

    fn boolean(&self, key: Key) -> Option<bool> {
        let mut r = Reader::new(self.get(key)?);
        if r.peek().ok()? != Kind::Bool {
            return None;
        }
        r.boolean().ok()
    }

    fn kind(&self, key: Key) -> Option<Kind> {
        Reader::new(self.get(key)?).peek().ok()
    }
}

fn as_str(raw: &[u8]) -> Option<Str<'_>> {
    let mut r = Reader::new(raw);
    if r.peek().ok()? != Kind::String {
        return None;
    }
    r.string().ok()
}

/// Formats lazily, so messages cost nothing until written.
struct Lazy<'a>(fmt::Arguments<'a>);

impl fmt::Display for Lazy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_fmt(self.0)
    }
}

fn write_error(
    w: &mut impl Write,
    version: Version,
    id: Option<&[u8]>,
    code: &str,
    message: impl fmt::Display,
    path: &str,
) -> fmt::Result {
    match version {
        Version::V1 => write!(w, "error: {message}"),
        Version::V2 => write_v2_error(w, id, code, message, path),
    }
}

/// The v2 `invalid_cycle` error for a refused document, with its kind, phase and component.
pub fn write_invalid_cycle(w: &mut impl Write, id: Option<&[u8]>, e: &CycleError) -> fmt::Result {
    let mut reply = open_reply(w, id, false)?;
    let mut error = reply.object("error")?;
    error
        .field("code", "invalid_cycle")?
        .field("message", e.message.as_str())?
        .field("path", e.path.as_str())?;
    e.write_kind(&mut error)?;
    error.close()?;
    reply.close()
}

/// `{"type":"reply","id":ID,"ok":false,"error":{"code":..,"message":..,"path":..}}`: a v2
/// error reply (platform-only commands use it too).
pub fn write_v2_error(
    w: &mut impl Write,
    id: Option<&[u8]>,
    code: &str,
    message: impl fmt::Display,
    path: &str,
) -> fmt::Result {
    let mut reply = open_reply(w, id, false)?;
    let mut error = reply.object("error")?;
    error
        .field("code", code)?
        .field("message", Text(message))?
        .field("path", path)?;
    error.close()?;
    reply.close()
}

fn code(e: CommandError) -> &'static str {
    match e {
        CommandError::NoCycle => "no_cycle",
        CommandError::Running => "running",
        CommandError::NotRunning => "not_running",
        CommandError::AlreadyPaused => "already_paused",
        CommandError::NotPaused => "not_paused",
        CommandError::PhaseOutOfRange { .. } => "out_of_range",
        CommandError::UnknownOutput => "unknown_output",
        CommandError::Interlock => "interlock",
        CommandError::DeadTime { .. } => "dead_time",
        CommandError::Overtaken => "stopped",
    }
}

/// An output named by its name (or alias) or its pin number.
fn find_output(m: &Message<'_>, board: &Board) -> Option<OutputId> {
    if let Some(pin) = m.unsigned(Key::Output, u8::MAX as u64) {
        return board.by_pin(pin as u8);
    }
    let name = as_str(m.get(Key::Output)?)?;
    let mut buf = heapless::String::<{ crate::board::MAX_NAME }>::new();
    name.chars().try_for_each(|ch| buf.push(ch)).ok()?;
    board.find(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_in_the_tables_is_documented_and_known_once() {
        let doc = include_str!("../../../docs/protocol.md");
        for (version, table) in [("v1", &V1_NAMES[..]), ("v2", &V2_NAMES[..])] {
            for (i, (name, verb)) in table.iter().enumerate() {
                let spelled = match version {
                    "v1" => std::format!("\"action\":\"{name}\""),
                    _ => std::format!("`{name}`"),
                };
                assert!(
                    doc.contains(&spelled),
                    "docs/protocol.md lacks {version} {name}"
                );
                assert_eq!(Verb::named(table, name), Some(*verb));
                assert!(
                    table[..i].iter().all(|(n, _)| n != name),
                    "{version} names {name} twice"
                );
            }
        }
    }
}
