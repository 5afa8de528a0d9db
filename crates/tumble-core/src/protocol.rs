//! The wire protocol: a text frame in, a reply out, the runner in between. Two versions, chosen
//! per message: the original firmware's `{"action": ...}` with its plain-text replies (v1), and
//! `{"cmd": ..., "id": ...}` with one JSON reply per command (v2). See docs/protocol.md.
//!
//! No allocation: the frame is read in place (a loaded cycle is parsed straight from its bytes
//! inside the frame) and the reply is written to any `fmt::Write`.

use core::fmt::{self, Write};

use crate::board::OutputId;
use crate::cycle::{Cycle, CycleError};
use crate::json::{self, Kind, Reader, Str};
use crate::limits::MAX_TIMELINE_OFFSET;
use crate::runner::{CommandError, Outputs, Runner};
use crate::telemetry;
use crate::timeline::Timeline;

/// Largest frame a client may send; larger ones are refused with an error reply.
pub const MAX_FRAME: usize = 256 * 1024;
/// Most events one `get_timeline` reply carries.
pub const MAX_TIMELINE_PAGE: u64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// What a frame did, beyond its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handled<'a> {
    pub version: Version,
    /// The command's name, for the platform's log ("" when the frame was not a command).
    pub command: &'a str,
    /// A cycle was loaded: the platform stores this document (the bytes as received).
    pub store: Option<&'a [u8]>,
    pub ok: bool,
}

/// Where the runner and its spare storage live; the platform passes them with each frame.
pub struct Controller<'r, O> {
    pub runner: &'r mut Runner,
    /// Storage a new cycle is read into before it replaces the loaded one.
    pub spare: &'r mut Cycle,
    pub outputs: &'r mut O,
    pub now_us: u64,
}

/// Handles one text frame and writes its reply. A reply that does not fit `reply` (a fixed
/// buffer on the chip) is an `Err`; the platform then sends a short error instead.
pub fn handle<'a, O: Outputs>(
    frame: &'a [u8],
    c: &mut Controller<'_, O>,
    reply: &mut impl Write,
) -> Result<Handled<'a>, fmt::Error> {
    let looks_v2 = frame.windows(5).take(MAX_FRAME).any(|w| w == b"\"cmd\"");
    let version = if looks_v2 { Version::V2 } else { Version::V1 };
    let mut h = Handled {
        version,
        command: "",
        store: None,
        ok: false,
    };
    if frame.len() > MAX_FRAME {
        let msg = Lazy(format_args!(
            "frame of {} bytes is larger than the limit of {MAX_FRAME}",
            frame.len()
        ));
        write_refusal(frame, "too_large", msg, reply)?;
        return Ok(h);
    }
    if frame.trim_ascii() == b"connect" {
        // The original web app sends this raw text on connect; it is a greeting, not a command.
        reply.write_str("ok: connected")?;
        h.ok = true;
        return Ok(h);
    }
    let Ok(message) = Message::read(frame) else {
        let msg = Lazy(format_args!("invalid json"));
        write_error(reply, version, None, "invalid_json", msg, "")?;
        return Ok(h);
    };
    if let Some(cmd) = message.get(Key::Cmd) {
        h.version = Version::V2;
        let id = message.get(Key::Id);
        let Some(name) = as_str(cmd).and_then(|s| s.as_plain()) else {
            let msg = Lazy(format_args!("\"cmd\" must be a command name (a string)"));
            write_error(reply, Version::V2, id, "invalid_request", msg, "cmd")?;
            return Ok(h);
        };
        h.command = name;
        v2(&message, name, id, c, reply, &mut h)?;
    } else {
        h.version = Version::V1;
        let Some(name) = message
            .get(Key::Action)
            .and_then(as_str)
            .and_then(|s| s.as_plain())
        else {
            reply.write_str("error: missing action")?;
            return Ok(h);
        };
        h.command = name;
        v1(&message, name, c, reply, &mut h)?;
    }
    Ok(h)
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

/// `{"type":"hello",...}`: sent on connect, so a client knows the protocols and the outputs.
pub fn write_hello(w: &mut impl Write, runner: &Runner, version: &str) -> fmt::Result {
    w.write_str("{\"type\":\"hello\",\"version\":")?;
    json::write_str(w, version)?;
    w.write_str(",\"protocols\":[1,2],\"max_frame\":")?;
    write!(w, "{MAX_FRAME},\"outputs\":[")?;
    let board = runner.board();
    for (i, (id, def)) in board.outputs().enumerate() {
        if i > 0 {
            w.write_char(',')?;
        }
        // What the output does for a motor pattern, so a client need not guess from names.
        let role = if id == board.motor() {
            "\"motor\""
        } else if id == board.direction() {
            "\"direction\""
        } else {
            "null"
        };
        write!(w, "{{\"role\":{role},\"name\":")?;
        json::write_str(w, &def.name)?;
        w.write_str(",\"aliases\":[")?;
        for (k, alias) in def.aliases.iter().enumerate() {
            if k > 0 {
                w.write_char(',')?;
            }
            json::write_str(w, alias)?;
        }
        write!(
            w,
            "],\"pin\":{},\"active_low\":{}}}",
            def.pin, def.active_low
        )?;
    }
    w.write_str("]}")
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
}

const KEYS: [(&str, Key); 14] = [
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

    /// An optional whole-number parameter: `default` when absent, `None` when present but not a
    /// whole number from 0 to `max`.
    fn optional(&self, key: Key, max: u64, default: u64) -> Option<u64> {
        match self.get(key) {
            None => Some(default),
            Some(_) => self.unsigned(key, max),
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
        Version::V2 => {
            w.write_str("{\"type\":\"reply\",\"id\":")?;
            write_raw_id(w, id)?;
            write!(
                w,
                ",\"ok\":false,\"error\":{{\"code\":\"{code}\",\"message\":{},\"path\":",
                json::Quoted(&message)
            )?;
            json::write_str(w, path)?;
            w.write_str("}}")
        }
    }
}

fn write_raw_id(w: &mut impl Write, id: Option<&[u8]>) -> fmt::Result {
    // The id is echoed exactly as sent; it was syntax-checked with the frame, so it is JSON.
    match id.and_then(|raw| core::str::from_utf8(raw).ok()) {
        Some(text) => w.write_str(text),
        None => w.write_str("null"),
    }
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
    }
}

/// Reads a cycle from `raw` into the spare storage; on success it becomes the loaded cycle.
fn load<O: Outputs>(raw: &[u8], c: &mut Controller<'_, O>) -> Result<(), CycleError> {
    c.spare.parse(raw, c.runner.board())?;
    c.runner.load(c.now_us, c.spare, c.outputs);
    Ok(())
}

fn v1<'a, O: Outputs>(
    m: &Message<'a>,
    action: &str,
    c: &mut Controller<'_, O>,
    w: &mut impl Write,
    h: &mut Handled<'a>,
) -> fmt::Result {
    let now = c.now_us;
    let out = &mut *c.outputs;
    let result: Result<(), CommandError> = match action {
        "write_json" => {
            let Some(data) = m.get(Key::Data) else {
                return w.write_str("error: missing data for write_json");
            };
            if m.kind(Key::Data) != Some(Kind::Object) {
                return w.write_str("error: data field must be an object");
            }
            return match load(data, c) {
                Ok(()) => {
                    h.ok = true;
                    h.store = Some(data);
                    w.write_str("ok: cycle loaded")
                }
                Err(e) => write!(w, "error: {e}"),
            };
        }
        "start_cycle" => c.runner.start(now, out),
        "stop_cycle" => c.runner.stop(now, out),
        "skip_phase" => c.runner.skip_phase(now, out),
        "pause_cycle" => c.runner.pause(now, out),
        "resume_cycle" => c.runner.resume(now, out),
        "skip_to_phase" => {
            let Some(index) = m.unsigned(Key::Index, u32::MAX as u64) else {
                return w.write_str("error: missing or invalid index for skip_to_phase");
            };
            c.runner.skip_to_phase(now, index as usize, out)
        }
        "toggle_gpio" => {
            let Some(pin) = m.unsigned(Key::Pin, u8::MAX as u64) else {
                return w.write_str("error: missing or invalid pin number");
            };
            let Some(state) = m.unsigned(Key::State, 1) else {
                return w.write_str("error: missing or invalid state (0 or 1)");
            };
            let board = c.runner.board();
            let Some(id) = board.by_pin(pin as u8) else {
                return write!(
                    w,
                    "error: pin {pin} is not an output (outputs: {})",
                    Pins(c.runner)
                );
            };
            let on = board
                .output(id)
                .is_on(crate::board::Level::from_bool(state == 1));
            match c.runner.set_output(now, id, on, out) {
                Ok(()) => {
                    h.ok = true;
                    return write!(w, "ok: GPIO {pin} set to {state}");
                }
                Err(e) => Err(e),
            }
        }
        "ping" => {
            h.ok = true;
            return w.write_str("ok: pong");
        }
        _ => return w.write_str("error: unknown action"),
    };
    match result {
        Ok(()) => {
            h.ok = true;
            w.write_str(match action {
                "start_cycle" => "ok: starting cycle",
                "stop_cycle" => "ok: cycle stopped",
                "skip_phase" => "ok: phase skipped",
                "pause_cycle" => "ok: cycle paused",
                "resume_cycle" => "ok: cycle resumed",
                _ => "ok: skipping to phase",
            })
        }
        // The original's wording for this one refusal.
        Err(CommandError::Running) if action == "start_cycle" => {
            w.write_str("error: cycle already running")
        }
        Err(e) => write!(w, "error: {e}"),
    }
}

/// The board's output pins, for an error message.
struct Pins<'a>(&'a Runner);

impl fmt::Display for Pins<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (_, def)) in self.0.board().outputs().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", def.pin)?;
        }
        Ok(())
    }
}

fn v2<'a, O: Outputs>(
    m: &Message<'a>,
    cmd: &str,
    id: Option<&[u8]>,
    c: &mut Controller<'_, O>,
    w: &mut impl Write,
    h: &mut Handled<'a>,
) -> fmt::Result {
    let now = c.now_us;
    let fail = |w: &mut _, code, msg: fmt::Arguments<'_>, path| {
        write_error(w, Version::V2, id, code, Lazy(msg), path)
    };
    let command = match cmd {
        "load_cycle" | "validate_cycle" => {
            let Some(raw) = m
                .get(Key::Cycle)
                .filter(|_| m.kind(Key::Cycle) == Some(Kind::Object))
            else {
                return fail(
                    w,
                    "invalid_request",
                    format_args!("{cmd} needs a cycle object"),
                    "cycle",
                );
            };
            let parsed = c.spare.parse(raw, c.runner.board());
            let report = match parsed {
                Ok(report) => report,
                Err(e) => {
                    return fail(
                        w,
                        "invalid_cycle",
                        format_args!("{}", e.message),
                        e.path.as_str(),
                    );
                }
            };
            // Load first: a reply too long for a small buffer must not undo the load.
            let summarised: &Cycle = if cmd == "load_cycle" {
                c.runner.load(now, c.spare, c.outputs);
                h.store = Some(raw);
                c.runner.cycle()
            } else {
                c.spare
            };
            h.ok = true;
            ok_header(w, id)?;
            w.write_char('{')?;
            summarised.write_summary(&report, w)?;
            return w.write_str("}}");
        }
        "get_status" => Ok(()),
        "get_cycle" => {
            ok_header(w, id)?;
            c.runner.cycle().write_json(c.runner.board(), w)?;
            h.ok = true;
            return w.write_char('}');
        }
        "get_timeline" => return get_timeline(m, id, c, w, h),
        "start" => c.runner.start(now, c.outputs),
        "stop" => c.runner.stop(now, c.outputs),
        "pause" => c.runner.pause(now, c.outputs),
        "resume" => c.runner.resume(now, c.outputs),
        "skip_phase" => c.runner.skip_phase(now, c.outputs),
        "skip_to_phase" => match m.unsigned(Key::Index, u32::MAX as u64) {
            Some(i) => c.runner.skip_to_phase(now, i as usize, c.outputs),
            None => {
                return fail(
                    w,
                    "invalid_request",
                    format_args!("index must be a whole number >= 0"),
                    "index",
                );
            }
        },
        "set_output" => {
            if m.get(Key::Output).is_none() {
                return fail(
                    w,
                    "invalid_request",
                    format_args!("set_output needs an output (a name or a pin)"),
                    "output",
                );
            }
            let Some(output) = find_output(m, c.runner) else {
                return fail(
                    w,
                    "unknown_output",
                    format_args!(
                        "output must be an output name or pin (known: {})",
                        c.runner.board().names()
                    ),
                    "output",
                );
            };
            let Some(on) = m.boolean(Key::On) else {
                return fail(
                    w,
                    "invalid_request",
                    format_args!("on must be true or false"),
                    "on",
                );
            };
            c.runner.set_output(now, output, on, c.outputs)
        }
        _ => {
            return fail(
                w,
                "unknown_command",
                format_args!("unknown command \"{cmd}\""),
                "cmd",
            );
        }
    };
    match command {
        Ok(()) => {
            h.ok = true;
            ok_header(w, id)?;
            telemetry::write_status(w, c.runner, now)?;
            w.write_char('}')
        }
        Err(e) => write_error(w, Version::V2, id, code(e), e, ""),
    }
}

fn ok_header(w: &mut impl Write, id: Option<&[u8]>) -> fmt::Result {
    w.write_str("{\"type\":\"reply\",\"id\":")?;
    write_raw_id(w, id)?;
    w.write_str(",\"ok\":true,\"result\":")
}

/// An output named by its name (or alias) or its pin number.
fn find_output(m: &Message<'_>, runner: &Runner) -> Option<OutputId> {
    let board = runner.board();
    if let Some(pin) = m.unsigned(Key::Output, u8::MAX as u64) {
        return board.by_pin(pin as u8);
    }
    let name = as_str(m.get(Key::Output)?)?;
    let mut buf = heapless::String::<{ crate::board::MAX_NAME }>::new();
    name.chars().try_for_each(|ch| buf.push(ch)).ok()?;
    board.find(&buf)
}

fn get_timeline<O: Outputs>(
    m: &Message<'_>,
    id: Option<&[u8]>,
    c: &mut Controller<'_, O>,
    w: &mut impl Write,
    h: &mut Handled<'_>,
) -> fmt::Result {
    let cycle = c.runner.cycle();
    let phases = cycle.phases();
    let bad = |w: &mut _, msg: fmt::Arguments<'_>, path| {
        write_error(w, Version::V2, id, "invalid_request", Lazy(msg), path)
    };
    let Some(index) = m.unsigned(Key::Phase, u32::MAX as u64) else {
        return bad(
            w,
            format_args!("phase must be a whole number >= 0"),
            "phase",
        );
    };
    let Some(phase) = phases.get(index as usize) else {
        let e = CommandError::PhaseOutOfRange {
            index: index as usize,
            phases: phases.len(),
        };
        return write_error(w, Version::V2, id, code(e), e, "phase");
    };
    let Some(from_us) = m.optional(Key::FromUs, u64::MAX, 0) else {
        return bad(
            w,
            format_args!("from_us must be a whole number >= 0"),
            "from_us",
        );
    };
    let Some(offset) = m.optional(Key::Offset, MAX_TIMELINE_OFFSET, 0) else {
        return bad(
            w,
            format_args!(
                "offset must be a whole number from 0 to {MAX_TIMELINE_OFFSET} (page further with from_us)"
            ),
            "offset",
        );
    };
    let Some(limit) = m.optional(Key::Limit, MAX_TIMELINE_PAGE, 100) else {
        return bad(
            w,
            format_args!("limit must be a whole number from 0 to {MAX_TIMELINE_PAGE}"),
            "limit",
        );
    };
    ok_header(w, id)?;
    write!(
        w,
        "{{\"phase\":{index},\"from_us\":{from_us},\"offset\":{offset},\"total\":{},\"events\":[",
        phase.events()
    )?;
    let board = c.runner.board();
    let page = Timeline::starting_at(cycle, phase, from_us)
        .skip(offset as usize)
        .take(limit as usize);
    for (i, ev) in page.enumerate() {
        if i > 0 {
            w.write_char(',')?;
        }
        let def = board.output(ev.output);
        write!(
            w,
            "{{\"at_us\":{},\"pin\":{},\"output\":",
            ev.at_us, def.pin
        )?;
        json::write_str(w, &def.name)?;
        write!(
            w,
            ",\"level\":{},\"on\":{}}}",
            def.level(ev.on).as_u8(),
            ev.on
        )?;
    }
    h.ok = true;
    w.write_str("]}}")
}
