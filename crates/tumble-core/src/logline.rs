//! ESP-IDF style log lines, `I (5000) cycle: Phase 'fill' (1/3) started`, with the phase
//! notices in the same words as `tumble serve`, so a console log reads like the host's.

use core::fmt::{self, Write};

use crate::cycle::Cycle;
use crate::runner::{Label, Notice, PhaseEnd};
use crate::time::Instant;

/// `{level} ({ms}) {tag}: {message}` (no line end), `at` in whole ms.
pub fn write_line(
    w: &mut impl Write,
    level: char,
    at: Instant,
    tag: &str,
    message: fmt::Arguments<'_>,
) -> fmt::Result {
    write!(w, "{level} ({}) {tag}: {message}", at.as_millis())
}

/// A notice as a log line's level, instant and message.
#[derive(Clone, Copy)]
pub struct NoticeLine<'a> {
    /// The ESP-IDF level letter: 'E' for a phase that faulted, 'I' for everything else.
    pub level: char,
    /// When the notice was due (the runner's clock); the line shows it in ms.
    pub at: Instant,
    /// The words after the tag, e.g. "Phase 'fill' (1/3) started".
    pub message: NoticeText<'a>,
}

/// The message of a notice, with the name of its phase and the cycle's phase count.
#[derive(Clone, Copy)]
pub struct NoticeText<'a> {
    notice: Notice,
    label: &'a str,
    phases: usize,
}

/// Describes a notice. `cycle` must be the cycle it is about: the loaded one, except for the
/// notices of a reload ([`PhaseEnd::Replaced`]), which are about the cycle that was replaced.
pub fn describe<'c>(notice: Notice, cycle: &'c Cycle<'_>) -> NoticeLine<'c> {
    line(notice, label_of(notice, cycle), cycle.phases().len())
}

fn label_of<'c>(notice: Notice, cycle: &'c Cycle<'_>) -> &'c str {
    match notice {
        Notice::PhaseStarted { phase, .. } | Notice::PhaseEnded { phase, .. } => cycle
            .phases()
            .get(phase as usize)
            .map_or("?", |p| cycle.phase_label(p)),
        Notice::CycleEnded { .. } => "",
    }
}

/// A notice with the names it needs copied out of its cycle, so that it can be put into words
/// later, without the cycle: the chip takes these under its controller lock (a copy, no
/// formatting) and writes the log line after letting go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    notice: Notice,
    label: Label,
    phases: usize,
    /// The phase's planned length, in ms (its timeline's): for a run's history.
    planned_ms: u32,
    /// For a `CycleEnded`: how long each output (by index) was ON during the run, in ms.
    on_ms: [u32; crate::board::MAX_OUTPUTS],
}

impl Named {
    /// Copies out of `cycle` what `notice` needs; `cycle` is the one it is about, as for
    /// [`describe`].
    pub fn new(notice: Notice, cycle: &Cycle) -> Self {
        let phase = match notice {
            Notice::PhaseStarted { phase, .. } | Notice::PhaseEnded { phase, .. } => {
                cycle.phases().get(phase as usize)
            }
            Notice::CycleEnded { .. } => None,
        };
        Named {
            notice,
            // A phase label is a cycle string: it fits.
            label: Label::try_from(label_of(notice, cycle)).unwrap_or_default(),
            phases: cycle.phases().len(),
            planned_ms: phase.map_or(0, |p| p.duration_ms()),
            on_ms: [0; crate::board::MAX_OUTPUTS],
        }
    }

    /// With how long each output was ON during the run (a `CycleEnded`'s).
    pub fn with_on_ms(mut self, on_ms: [u32; crate::board::MAX_OUTPUTS]) -> Self {
        self.on_ms = on_ms;
        self
    }

    /// The runner's notice this was made from.
    pub fn notice(&self) -> Notice {
        self.notice
    }

    /// The phase's name (else its id), for a phase notice.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The phase's planned length in ms, for a phase notice.
    pub fn planned_ms(&self) -> u32 {
        self.planned_ms
    }

    /// How long each output (by index) was ON during the run, in ms, for a `CycleEnded`.
    pub fn on_ms(&self) -> &[u32; crate::board::MAX_OUTPUTS] {
        &self.on_ms
    }

    /// The log line's level, instant and message, the same as [`describe`] gives.
    pub fn line(&self) -> NoticeLine<'_> {
        line(self.notice, &self.label, self.phases)
    }
}

fn line(notice: Notice, label: &str, phases: usize) -> NoticeLine<'_> {
    let (level, at) = match notice {
        Notice::PhaseStarted { at, .. } | Notice::CycleEnded { at, .. } => ('I', at),
        Notice::PhaseEnded { at, end, .. } => match end {
            PhaseEnd::Faulted(_) => ('E', at),
            _ => ('I', at),
        },
    };
    NoticeLine {
        level,
        at,
        message: NoticeText {
            notice,
            label,
            phases,
        },
    }
}

impl fmt::Display for NoticeText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (total, name) = (self.phases, self.label);
        match self.notice {
            Notice::PhaseStarted { phase, .. } => write!(
                f,
                "Phase '{}' ({}/{total}) started",
                name,
                phase as usize + 1
            ),
            Notice::PhaseEnded { phase, end, .. } => {
                let how = match end {
                    PhaseEnd::Faulted(_) => {
                        "FAULT: its sensor condition did not hold before the timeout"
                    }
                    PhaseEnd::Completed => "completed",
                    PhaseEnd::Triggered => "ended by its sensor trigger",
                    PhaseEnd::Skipped => "skipped",
                    PhaseEnd::Stopped => "stopped",
                    PhaseEnd::Replaced => "stopped: a new cycle was loaded",
                };
                write!(f, "Phase '{}' ({}/{total}) {how}", name, phase as usize + 1)
            }
            Notice::CycleEnded { completed, .. } => write!(
                f,
                "Cycle {}, all outputs OFF",
                if completed { "completed" } else { "stopped" }
            ),
        }
    }
}

/// The log line of a command: who sent it, its name, the first line of its reply.
pub struct CommandLine<'a> {
    /// Who sent the command (a WebSocket client's address, say), as the log names it.
    pub peer: &'a dyn fmt::Display,
    /// "" when the frame was not a command.
    pub command: &'a str,
    /// The reply sent back; only its first line is logged (see [`first_line`]).
    pub reply: &'a str,
    /// Warnings of a cycle it loaded or validated (a v1 reply cannot say them).
    pub warnings: usize,
}

impl fmt::Display for CommandLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.command {
            "" => "(no command)",
            name => name,
        };
        write!(f, "{}: {name}: {}", self.peer, first_line(self.reply))?;
        match self.warnings {
            0 => Ok(()),
            1 => f.write_str(" (1 warning: validate_cycle or tumble check lists it)"),
            n => write!(
                f,
                " ({n} warnings: validate_cycle or tumble check lists them)"
            ),
        }
    }
}

/// The first line of a reply, at most 120 characters: what the host logs for a command.
pub fn first_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or("");
    match line.char_indices().nth(120) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;
    use crate::runner::Fault;
    use std::string::String;

    const ORIGINAL: &str = include_str!("../../../examples/cycles/original-example.json");

    fn text(n: Notice, c: &Cycle) -> (char, String) {
        let l = describe(n, c);
        (l.level, std::format!("{}", l.message))
    }

    #[test]
    fn lines_look_like_esp_idf() {
        let mut s = String::new();
        let at = Instant::from_micros(5_000_999);
        write_line(&mut s, 'I', at, "cycle", format_args!("x {}", 1)).unwrap();
        assert_eq!(s, "I (5000) cycle: x 1");
    }

    #[test]
    fn notices_read_like_the_hosts() {
        let mut storage = std::vec![0u8; 4096];
        let mut c = Cycle::new(&mut storage);
        c.parse(ORIGINAL.as_bytes(), &Board::washer()).unwrap();
        assert_eq!(
            text(
                Notice::PhaseStarted {
                    at: Instant::from_micros(0),
                    phase: 0
                },
                &c
            ),
            ('I', "Phase 'Wash' (1/2) started".into())
        );
        assert_eq!(
            text(
                Notice::PhaseEnded {
                    at: Instant::from_micros(0),
                    phase: 1,
                    end: PhaseEnd::Triggered
                },
                &c
            ),
            ('I', "Phase 'Fill' (2/2) ended by its sensor trigger".into())
        );
        assert_eq!(
            text(
                Notice::PhaseEnded {
                    at: Instant::from_micros(0),
                    phase: 0,
                    end: PhaseEnd::Faulted(Fault::WaitTimeout { phase: 0 })
                },
                &c
            ),
            (
                'E',
                "Phase 'Wash' (1/2) FAULT: its sensor condition did not hold before the timeout"
                    .into()
            )
        );
        assert_eq!(
            text(
                Notice::CycleEnded {
                    at: Instant::from_micros(0),
                    completed: false
                },
                &c
            ),
            ('I', "Cycle stopped, all outputs OFF".into())
        );
        // A phase the cycle does not have (a notice about another cycle) does not panic.
        assert_eq!(
            text(
                Notice::PhaseStarted {
                    at: Instant::from_micros(0),
                    phase: 9
                },
                &c
            )
            .1,
            "Phase '?' (10/2) started"
        );
    }

    #[test]
    fn first_line_is_bounded() {
        assert_eq!(first_line("ok: pong"), "ok: pong");
        assert_eq!(first_line("a\nb"), "a");
        let long = "é".repeat(200);
        assert_eq!(first_line(&long).chars().count(), 120);
        assert_eq!(first_line(""), "");
    }
}
