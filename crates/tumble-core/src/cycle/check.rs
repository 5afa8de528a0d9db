//! Whole-phase checks once every key of a phase is read: event times and counts, the duration,
//! the interlock, and the warnings worth a look.

use core::fmt::Write;

use super::interlock::Violation;
use super::parse::{Parser, Result};
use super::*;

impl Parser<'_, '_> {
    /// Whole-phase checks once every key is read: event times, counts, duration, warnings.
    pub(super) fn finish_phase(&mut self, phase: &mut Phase) -> Result<()> {
        let mut last: Option<u32> = None;
        for ci in 0..self.comps.len() {
            let c = self.comps[ci];
            let mark = self.path.len();
            let _ = write!(self.path, ".components[{ci}]");
            let end = self.component_events(phase.start_ms, &c)?;
            self.comps[ci].last_event_ms = end;
            last = last.max(end);
            self.path.truncate(mark);
        }
        phase.events = self.comps.iter().map(Component::events).sum();
        phase.duration_ms = last.unwrap_or(phase.start_ms);
        if phase.events == 0 {
            self.warn(format_args!(
                "no events: the phase is a pure wait of {} ms",
                phase.duration_ms
            ));
        }
        self.warn_overlaps(phase);
        self.check_interlock(phase)
    }

    /// Checks one component's event times and returns its last event's offset in the phase.
    fn component_events(&mut self, phase_start: u32, c: &Component) -> Result<Option<u32>> {
        let base = phase_start as u64 + c.start_ms as u64;
        match c.drive {
            Drive::Output(_) => {
                if c.duration_ms == 0 {
                    let mark = self.push_key("duration");
                    self.warn(format_args!("0 ms: this component switches nothing"));
                    self.path.truncate(mark);
                    return Ok(None);
                }
                if base > u32::MAX as u64 {
                    self.push_key("start");
                    return self.past_the_end(Some(base));
                }
                let off = base + c.duration_ms as u64;
                if off > u32::MAX as u64 {
                    self.push_key("duration");
                    return self.past_the_end(Some(off));
                }
                Ok(Some(off as u32))
            }
            Drive::Motor(m) => {
                let period = m.period_ms();
                let last_pause = m.last_pause_ms() as u64;
                let run = (m.repeat as u64 - 1)
                    .checked_mul(period)
                    .and_then(|r| r.checked_add(period - last_pause));
                let last = run.and_then(|r| r.checked_add(base));
                match last {
                    Some(t) if t <= u32::MAX as u64 => {
                        self.warn_pattern(c, run.unwrap_or(0));
                        Ok(Some(t as u32))
                    }
                    _ => {
                        self.push_key("motorConfig");
                        self.push_key("repeatTimes");
                        self.past_the_end(last)
                    }
                }
            }
        }
    }

    /// `at_ms` is None when the time does not even fit in 64 bits.
    fn past_the_end<T>(&mut self, at_ms: Option<u64>) -> Result<T> {
        let limit = u32::MAX;
        match at_ms {
            Some(t) => self.fail_as(ErrorKind::Capacity, format_args!(
                "an event falls at {t} ms from the phase start, past the limit of {limit} ms (49.7 days)"
            )),
            None => self.fail_as(ErrorKind::Capacity, format_args!(
                "events run past 2^64 ms from the phase start; the limit is {limit} ms (49.7 days)"
            )),
        }
    }

    /// A motor pattern that runs past its component's `duration` (a reversal with too short a
    /// pause is warned about as the pattern is read).
    fn warn_pattern(&mut self, c: &Component, run_ms: u64) {
        if c.duration_ms > 0 && run_ms > c.duration_ms as u64 {
            let mark = self.push_key("duration");
            self.warn(format_args!(
                "the motor pattern runs for {run_ms} ms, past this duration of {} ms",
                c.duration_ms
            ));
            self.path.truncate(mark);
        }
    }

    /// Warns when two components of a phase hold the same output ON at the same time.
    fn warn_overlaps(&mut self, phase: &Phase) {
        let (motor, dir) = (self.board.motor(), self.board.direction());
        let span = |c: &Component| -> Option<(u64, u64)> {
            let start = phase.start_ms as u64 + c.start_ms as u64;
            Some((start, c.last_event_ms? as u64))
        };
        let drives = |c: &Component, out: OutputId| match c.drive {
            Drive::Output(o) => o == out,
            Drive::Motor(_) => out == motor || out == dir,
        };
        for j in 0..self.comps.len() {
            for i in 0..j {
                let (a, b) = (self.comps[i], self.comps[j]);
                let (Some((a0, a1)), Some((b0, b1))) = (span(&a), span(&b)) else {
                    continue;
                };
                let shared = self
                    .board
                    .outputs()
                    .find(|&(o, _)| drives(&a, o) && drives(&b, o));
                let Some((_, def)) = shared else { continue };
                if a0 < b1 && b0 < a1 {
                    let mark = self.path.len();
                    let _ = write!(self.path, ".components[{j}]");
                    self.warn(format_args!(
                        "{} is also driven by components[{}] from {} to {} ms",
                        def.name,
                        i,
                        a0.max(b0),
                        a1.min(b1)
                    ));
                    self.path.truncate(mark);
                }
            }
        }
    }

    /// Refuses a phase that breaks the motor interlock (see `interlock`), with the path of the
    /// component (and pattern step) at fault.
    fn check_interlock(&mut self, phase: &Phase) -> Result<()> {
        let Err(v) = interlock::check(&self.comps, phase, self.board) else {
            return Ok(());
        };
        let (motor, dir) = (crate::board::MOTOR, crate::board::MOTOR_DIRECTION);
        match v {
            Violation::Overlap {
                component,
                span_ms,
                pattern,
                pattern_span_ms,
            } => {
                let _ = write!(self.path, ".components[{component}]");
                let what = match self.comps[component].drive {
                    Drive::Motor(_) => "its motor pattern",
                    Drive::Output(o) if o == self.board.motor() => motor,
                    Drive::Output(_) => dir,
                };
                self.fail_as(ErrorKind::Interlock, format_args!(
                    "{what} runs from {} to {} ms, during the motor pattern of components[{pattern}] ({} to {} ms): a motor pattern alone drives {motor} and {dir} while it runs",
                    span_ms.0, span_ms.1, pattern_span_ms.0, pattern_span_ms.1
                ))
            }
            Violation::Reversal {
                component,
                step,
                at_us,
                off_for_us,
            } => {
                let _ = write!(self.path, ".components[{component}]");
                if let Some(step) = step {
                    let _ = write!(self.path, ".motorConfig.pattern[{step}]");
                }
                match off_for_us {
                    None => self.fail_as(ErrorKind::Interlock, format_args!(
                        "changes {dir} at {} ms while {motor} is ON (interlock)",
                        Millis(at_us)
                    )),
                    Some(off) => self.fail_as(ErrorKind::Interlock, format_args!(
                        "reverses the motor at {} ms, {} ms after {motor} went OFF; this board requires a reverse dead time of {} ms",
                        Millis(at_us),
                        Millis(off),
                        self.board.reverse_dead_time_ms()
                    )),
                }
            }
        }
    }
}
