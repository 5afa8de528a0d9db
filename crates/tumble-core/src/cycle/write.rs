//! Writing a cycle back: the canonical document, its summary, errors as JSON.

use core::fmt::{self, Write};

use super::*;

/// Microseconds shown as milliseconds, with a fraction only when there is one.
pub struct Millis(pub u64);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ms, us) = (self.0 / 1000, self.0 % 1000);
        if us == 0 {
            write!(f, "{ms}")
        } else {
            write!(f, "{ms}.{us:03}")
        }
    }
}

impl Cycle<'_> {
    /// Writes the cycle as a canonical document that reads back to the same cycle: every key
    /// spelled out, outputs by their board name, UI-only keys kept.
    pub fn write_json(&self, board: &Board, w: &mut impl Write) -> fmt::Result {
        w.write_str("{\"phases\":[")?;
        for (i, p) in self.phases.iter().enumerate() {
            if i > 0 {
                w.write_char(',')?;
            }
            self.write_phase(p, board, w)?;
        }
        w.write_str("]}")
    }

    fn write_text(&self, w: &mut impl Write, key: &str, t: TextRef) -> fmt::Result {
        write!(w, "\"{key}\":")?;
        json::write_str(w, self.text(t))
    }

    fn write_phase(&self, p: &Phase, board: &Board, w: &mut impl Write) -> fmt::Result {
        w.write_char('{')?;
        self.write_text(w, "id", p.id)?;
        w.write_char(',')?;
        self.write_text(w, "name", p.name)?;
        w.write_char(',')?;
        self.write_text(w, "color", p.color)?;
        write!(w, ",\"startTime\":{},\"components\":[", p.start_ms)?;
        for (i, c) in self.phase_components(p).enumerate() {
            if i > 0 {
                w.write_char(',')?;
            }
            w.write_char('{')?;
            self.write_text(w, "id", c.id)?;
            w.write_char(',')?;
            self.write_text(w, "label", c.label)?;
            let output = match c.drive {
                Drive::Output(o) => o,
                Drive::Motor(_) => board.motor(),
            };
            w.write_str(",\"compId\":")?;
            json::write_str(w, &board.output(output).name)?;
            write!(
                w,
                ",\"start\":{},\"duration\":{}",
                c.start_ms, c.duration_ms
            )?;
            if let Drive::Motor(m) = c.drive {
                write!(w, ",\"motorConfig\":{{\"repeatTimes\":{},", m.repeat)?;
                self.write_text(w, "runningStyle", m.running_style)?;
                w.write_str(",\"pattern\":[")?;
                for (k, i) in m.step_range().enumerate() {
                    let s = self.step(i);
                    if k > 0 {
                        w.write_char(',')?;
                    }
                    write!(
                        w,
                        "{{\"stepTime\":{},\"pauseTime\":{},\"direction\":\"{}\"}}",
                        s.step_ms,
                        s.pause_ms,
                        s.direction.name()
                    )?;
                }
                w.write_str("]}")?;
            }
            w.write_char('}')?;
        }
        w.write_char(']')?;
        if let Some(t) = p.trigger {
            write!(
                w,
                ",\"sensorTrigger\":{{\"type\":\"{}\",\"threshold\":{},\"triggerAbove\":{},\"cooldownMs\":{}",
                t.sensor.name(),
                t.threshold,
                t.above,
                t.cooldown_ms
            )?;
            match t.mode {
                TriggerMode::EndEarly => w.write_str(",\"mode\":\"end\"")?,
                TriggerMode::Wait { timeout_ms } => {
                    write!(w, ",\"mode\":\"wait\",\"timeoutMs\":{timeout_ms}")?
                }
            }
            if let Some(pin) = t.pin_number {
                write!(w, ",\"pinNumber\":{pin}")?;
            }
            w.write_char('}')?;
        }
        w.write_char('}')
    }

    /// The summary fields `tumble check --json` and the protocol's validate_cycle share, without
    /// the enclosing braces: `"phases":[...],"events":N,"duration_ms":D,"warnings":[...]`.
    pub fn write_summary(&self, report: &Report, w: &mut impl Write) -> fmt::Result {
        self.write_summary_head(w)?;
        w.write_str(",\"warnings\":[")?;
        for (i, warning) in report.warnings.iter().enumerate() {
            if i > 0 {
                w.write_char(',')?;
            }
            write_path_message(w, warning.path.as_str(), warning.message.as_str())?;
        }
        w.write_char(']')?;
        write_more_warnings(w, report.more_warnings)
    }

    /// The summary up to its warnings: `"phases":[...],"events":N,"duration_ms":D`. The
    /// warnings follow as `,"warnings":[...]` (a [`WarningsJson`] writes them as a second
    /// reading of the document finds them again), then [`write_more_warnings`].
    pub fn write_summary_head(&self, w: &mut impl Write) -> fmt::Result {
        let mut summary = SummaryJson::new(w);
        for (i, p) in self.phases.iter().enumerate() {
            summary.phase(i, self.text(p.id), p.events, p.duration_ms);
        }
        summary.finish()
    }
}

/// Writes the summary's `"phases":[...],"events":N,"duration_ms":M` as a reading finds the
/// phases (the warnings are only counted, in `warnings`): the summary of a document that was
/// checked and stored nowhere.
pub struct SummaryJson<'w, W: Write> {
    phases: json::ArrayItems<'w, W>,
    events: u64,
    duration_ms: u64,
    /// Warnings found.
    pub warnings: usize,
}

impl<'w, W: Write> SummaryJson<'w, W> {
    /// Writes into `w`, inside the summary object.
    pub fn new(w: &'w mut W) -> Self {
        let opened = w.write_str("\"phases\":[");
        let mut phases = json::ArrayItems::new(w);
        // Nothing more is written once the opening failed.
        phases.result = opened;
        SummaryJson {
            phases,
            events: 0,
            duration_ms: 0,
            warnings: 0,
        }
    }

    /// Closes the phase list and writes the totals.
    pub fn finish(self) -> fmt::Result {
        let (events, duration_ms) = (self.events, self.duration_ms);
        let w = self.phases.finish()?;
        write!(w, "],\"events\":{events},\"duration_ms\":{duration_ms}")
    }
}

impl<W: Write> Findings for SummaryJson<'_, W> {
    fn warn(&mut self, _path: &str, _message: fmt::Arguments<'_>) {
        self.warnings += 1;
    }

    fn phase(&mut self, index: usize, id: &str, events: u64, duration_ms: u32) {
        self.events += events;
        self.duration_ms += duration_ms as u64;
        self.phases.push(format_args!(
            "{{\"index\":{index},\"id\":{},\"events\":{events},\"duration_ms\":{duration_ms}}}",
            json::Quoted(id)
        ));
    }
}

/// `,"more_warnings":N` when some warnings were not listed (only then: the usual summary has
/// exactly the documented keys).
pub fn write_more_warnings(w: &mut impl Write, more: usize) -> fmt::Result {
    match more {
        0 => Ok(()),
        n => write!(w, ",\"more_warnings\":{n}"),
    }
}

/// Writes warnings as they are found, as the items of the summary's `"warnings"` array: at
/// most [`MAX_WARNINGS`], the rest counted in `more`, as a [`Report`] keeps them.
pub struct WarningsJson<'w, W: Write> {
    items: json::ArrayItems<'w, W>,
    /// Warnings past [`MAX_WARNINGS`], not written.
    pub more: usize,
}

impl<'w, W: Write> WarningsJson<'w, W> {
    /// Writes into `w`, which has the array open.
    pub fn new(w: &'w mut W) -> Self {
        WarningsJson {
            items: json::ArrayItems::new(w),
            more: 0,
        }
    }

    /// The first write that failed, if one did.
    pub fn result(&self) -> fmt::Result {
        self.items.result
    }
}

impl<W: Write> Findings for WarningsJson<'_, W> {
    fn warn(&mut self, path: &str, message: fmt::Arguments<'_>) {
        if self.items.count == MAX_WARNINGS {
            self.more += 1;
            return;
        }
        self.items.push(format_args!(
            "{{\"path\":{},\"message\":{}}}",
            json::Quoted(path),
            json::Quoted(&message)
        ));
    }
}

impl CycleError {
    /// `{"path":"...","message":"...","kind":"...","phase":N,"component":M}` (the last two
    /// when the path is in a phase, a component).
    pub fn write_json(&self, w: &mut impl Write) -> fmt::Result {
        w.write_str("{\"path\":")?;
        json::write_str(w, self.path.as_str())?;
        w.write_str(",\"message\":")?;
        json::write_str(w, self.message.as_str())?;
        self.write_kind(w)?;
        w.write_char('}')
    }

    /// `,"kind":"...","phase":N,"component":M`: the members a v2 error adds to its code.
    pub fn write_kind(&self, w: &mut impl Write) -> fmt::Result {
        write!(w, ",\"kind\":\"{}\"", self.kind.as_str())?;
        let (phase, component) = self.location();
        if let Some(p) = phase {
            write!(w, ",\"phase\":{p}")?;
        }
        if let Some(c) = component {
            write!(w, ",\"component\":{c}")?;
        }
        Ok(())
    }
}

fn write_path_message(w: &mut impl Write, path: &str, message: &str) -> fmt::Result {
    w.write_str("{\"path\":")?;
    json::write_str(w, path)?;
    w.write_str(",\"message\":")?;
    json::write_str(w, message)?;
    w.write_char('}')
}
