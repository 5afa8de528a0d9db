//! Writing a cycle back: the canonical document, its summary, errors as JSON.

use core::fmt::{self, Write};

use super::*;
use crate::json::{Array, Object, Text, Value};

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
        let mut doc = Object::open(w)?;
        let mut phases = doc.array("phases")?;
        for p in self.phases.iter() {
            self.write_phase(p, board, phases.object()?)?;
        }
        phases.close()?;
        doc.close()
    }

    fn write_phase<W: Write>(&self, p: &Phase, board: &Board, mut o: Object<W>) -> fmt::Result {
        o.field("id", self.text(p.id))?
            .field("name", self.text(p.name))?
            .field("color", self.text(p.color))?
            .field("startTime", p.start_ms)?;
        let mut components = o.array("components")?;
        for c in self.phase_components(p) {
            self.write_component(&c, board, components.object()?)?;
        }
        components.close()?;
        if let Some(t) = p.trigger {
            let mut trigger = o.object("sensorTrigger")?;
            trigger
                .field("type", t.sensor.name())?
                .field("threshold", t.threshold)?
                .field("triggerAbove", t.above)?
                .field("cooldownMs", t.cooldown_ms)?;
            match t.mode {
                TriggerMode::EndEarly => trigger.field("mode", "end")?,
                TriggerMode::Wait { timeout_ms } => trigger
                    .field("mode", "wait")?
                    .field("timeoutMs", timeout_ms)?,
            };
            trigger.field_if("pinNumber", t.pin_number)?;
            trigger.close()?;
        }
        o.close()
    }

    fn write_component<W: Write>(
        &self,
        c: &Component,
        board: &Board,
        mut o: Object<W>,
    ) -> fmt::Result {
        let output = match c.drive {
            Drive::Output(o) => o,
            Drive::Motor(_) => board.motor(),
        };
        o.field("id", self.text(c.id))?
            .field("label", self.text(c.label))?
            .field("compId", board.output(output).name.as_str())?
            .field("start", c.start_ms)?
            .field("duration", c.duration_ms)?;
        if let Drive::Motor(m) = c.drive {
            let mut motor = o.object("motorConfig")?;
            motor
                .field("repeatTimes", m.repeat)?
                .field("runningStyle", self.text(m.running_style))?;
            let mut pattern = motor.array("pattern")?;
            for i in m.step_range() {
                let s = self.step(i);
                let mut step = pattern.object()?;
                step.field("stepTime", s.step_ms)?
                    .field("pauseTime", s.pause_ms)?
                    .field("direction", s.direction.name())?;
                step.close()?;
            }
            pattern.close()?;
            motor.close()?;
        }
        o.close()
    }

    /// The summary fields `tumble check --json` and the protocol's validate_cycle share, into
    /// the summary object: `"phases":[...],"events":N,"duration_ms":D,"warnings":[...]`.
    pub fn write_summary<W: Write>(&self, report: &Report, o: &mut Object<W>) -> fmt::Result {
        self.write_summary_head(o)?;
        let mut warnings = o.array("warnings")?;
        for warning in report.warnings.iter() {
            write_path_message(
                warnings.object()?,
                warning.path.as_str(),
                warning.message.as_str(),
            )?;
        }
        warnings.close()?;
        write_more_warnings(o, report.more_warnings)
    }

    /// The summary up to its warnings: `"phases":[...],"events":N,"duration_ms":D`. The
    /// warnings follow as `"warnings":[...]` (a [`WarningsJson`] writes them as a second
    /// reading of the document finds them again), then [`write_more_warnings`].
    pub fn write_summary_head<W: Write>(&self, o: &mut Object<W>) -> fmt::Result {
        let mut summary = SummaryJson::new(o)?;
        for (i, p) in self.phases.iter().enumerate() {
            summary.phase(i, self.text(p.id), p.events, p.duration_ms);
        }
        summary.finish()?.write(o)
    }
}

/// Writes the summary's `"phases":[...],"events":N,"duration_ms":M` as a reading finds the
/// phases (the warnings are only counted, in `warnings`): the summary of a document that was
/// checked and stored nowhere.
pub struct SummaryJson<'w, W: Write> {
    phases: Array<'w, W>,
    /// The first write that failed (a [`Findings`] call cannot return it).
    result: fmt::Result,
    events: u64,
    duration_ms: u64,
    /// Warnings found.
    pub warnings: usize,
}

impl<'w, W: Write> SummaryJson<'w, W> {
    /// Writes `"phases":[` into the summary object `o`; [`finish`](Self::finish) closes it.
    pub fn new(o: &'w mut Object<'_, W>) -> Result<Self, fmt::Error> {
        Ok(SummaryJson {
            phases: o.array("phases")?,
            result: Ok(()),
            events: 0,
            duration_ms: 0,
            warnings: 0,
        })
    }

    /// Closes the phase list: the totals, to [`write`](Totals::write) into the summary object
    /// next.
    pub fn finish(self) -> Result<Totals, fmt::Error> {
        self.result?;
        self.phases.close()?;
        Ok(Totals {
            events: self.events,
            duration_ms: self.duration_ms,
        })
    }
}

/// A summary's `"events":N,"duration_ms":D`.
#[must_use]
pub struct Totals {
    events: u64,
    duration_ms: u64,
}

impl Totals {
    /// Writes the two members into the summary object.
    pub fn write<W: Write>(self, o: &mut Object<W>) -> fmt::Result {
        o.field("events", self.events)?
            .field("duration_ms", self.duration_ms)?;
        Ok(())
    }
}

impl<W: Write> Findings for SummaryJson<'_, W> {
    fn warn(&mut self, _path: &str, _message: fmt::Arguments<'_>) {
        self.warnings += 1;
    }

    fn phase(&mut self, index: usize, id: &str, events: u64, duration_ms: u32) {
        self.events += events;
        self.duration_ms += duration_ms as u64;
        if self.result.is_ok() {
            self.result = self.phases.object().and_then(|mut p| {
                p.field("index", index)?
                    .field("id", id)?
                    .field("events", events)?
                    .field("duration_ms", duration_ms)?;
                p.close()
            });
        }
    }
}

/// `"more_warnings":N` when some warnings were not listed (only then: the usual summary has
/// exactly the documented keys).
pub fn write_more_warnings<W: Write>(o: &mut Object<W>, more: usize) -> fmt::Result {
    match more {
        0 => Ok(()),
        n => o.field("more_warnings", n).map(drop),
    }
}

/// Writes warnings as they are found, as the items of the summary's `"warnings"` array: at
/// most [`MAX_WARNINGS`], the rest counted in `more`, as a [`Report`] keeps them.
pub struct WarningsJson<'w, W: Write> {
    items: Array<'w, W>,
    result: fmt::Result,
    /// Warnings past [`MAX_WARNINGS`], not written.
    pub more: usize,
}

impl<'w, W: Write> WarningsJson<'w, W> {
    /// Writes `"warnings":[` into the summary object `o`; [`finish`](Self::finish) closes it.
    pub fn new(o: &'w mut Object<'_, W>) -> Result<Self, fmt::Error> {
        Ok(WarningsJson {
            items: o.array("warnings")?,
            result: Ok(()),
            more: 0,
        })
    }

    /// Closes the array: how many warnings were past [`MAX_WARNINGS`], or the first write that
    /// failed.
    pub fn finish(self) -> Result<usize, fmt::Error> {
        self.result?;
        self.items.close()?;
        Ok(self.more)
    }
}

impl<W: Write> Findings for WarningsJson<'_, W> {
    fn warn(&mut self, path: &str, message: fmt::Arguments<'_>) {
        if self.items.len() == MAX_WARNINGS {
            self.more += 1;
            return;
        }
        if self.result.is_ok() {
            self.result = self
                .items
                .object()
                .and_then(|o| write_path_message(o, path, Text(message)));
        }
    }
}

impl CycleError {
    /// `{"path":"...","message":"...","kind":"...","phase":N,"component":M}` (the last two
    /// when the path is in a phase, a component).
    pub fn write_json(&self, w: &mut impl Write) -> fmt::Result {
        let mut o = Object::open(w)?;
        o.field("path", self.path.as_str())?
            .field("message", self.message.as_str())?;
        self.write_kind(&mut o)?;
        o.close()
    }

    /// `"kind":"...","phase":N,"component":M`: the members a v2 error adds to its code.
    pub fn write_kind<W: Write + ?Sized>(&self, o: &mut Object<W>) -> fmt::Result {
        let (phase, component) = self.location();
        o.field("kind", self.kind.as_str())?
            .field_if("phase", phase)?
            .field_if("component", component)?;
        Ok(())
    }
}

fn write_path_message<W: Write>(mut o: Object<W>, path: &str, message: impl Value) -> fmt::Result {
    o.field("path", path)?.field("message", message)?;
    o.close()
}
