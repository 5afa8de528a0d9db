//! A phase's events in time order, generated lazily: one small generator per component, merged
//! k-way. Memory is O(components) whatever the number of events; no event array exists.
//!
//! Events at the same instant come out in a fixed order that is safe for a motor: every event
//! that turns an output OFF, then motor-pattern direction settings, then every event that turns
//! an output ON; within a group by component index, then in generation order.

use crate::board::OutputId;
pub use crate::cycle::Class;
use crate::cycle::{Cycle, Drive, Phase};
use crate::limits::MAX_COMPONENTS_PER_PHASE;
use crate::time::Duration;

/// One output change, at an offset from the phase start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    /// Offset from the phase start; the phase's `startTime` is included.
    pub at: Duration,
    /// The output that changes: the component's, or Motor or Motor Direction for a pattern.
    pub output: OutputId,
    /// ON or OFF; for Motor Direction, ON is CW.
    pub on: bool,
    /// Its same-instant group: every OFF, then direction settings, then every ON.
    pub class: Class,
    /// Index of the component in its phase.
    pub component: u8,
    /// Index of the motor pattern step that made it, for motor events.
    pub step: Option<u16>,
}

impl Event {
    fn key(&self) -> (Duration, Class) {
        (self.at, self.class)
    }
}

#[derive(Debug, Clone)]
enum Source {
    Plain {
        off_at: Duration,
    },
    Motor {
        first_step: u16,
        steps: u16,
        repeats_left: u32,
        step: u16,
        cursor_ms: u64,
    },
}

/// One component's events, the next one cached in `head`.
#[derive(Debug, Clone)]
struct Generator {
    head: Option<Event>,
    source: Source,
}

impl Generator {
    fn new(cycle: &Cycle, phase: &Phase, index: usize) -> Self {
        let c = cycle.component(phase, index);
        let base_ms = phase.start_ms as u64 + c.start_ms as u64;
        let component = index as u8;
        match c.drive {
            Drive::Output(output) => Generator {
                head: (c.duration_ms > 0).then_some(Event {
                    at: Duration::from_millis(base_ms),
                    output,
                    on: true,
                    class: Class::On,
                    component,
                    step: None,
                }),
                source: Source::Plain {
                    off_at: Duration::from_millis(base_ms + c.duration_ms as u64),
                },
            },
            Drive::Motor(m) => {
                let first_step = m.step_range().start as u16;
                let mut g = Generator {
                    head: None,
                    source: Source::Motor {
                        first_step,
                        steps: m.step_range().len() as u16,
                        repeats_left: m.repeat,
                        step: 0,
                        cursor_ms: base_ms,
                    },
                };
                g.head = Some(g.direction_event(cycle, component));
                g
            }
        }
    }

    /// The direction setting that opens the current motor step.
    fn direction_event(&self, cycle: &Cycle, component: u8) -> Event {
        let Source::Motor {
            first_step,
            step,
            cursor_ms,
            ..
        } = self.source
        else {
            unreachable!("only motor generators have steps")
        };
        let dir = cycle.step((first_step + step) as usize).direction;
        Event {
            at: Duration::from_millis(cursor_ms),
            output: cycle.motor_outputs().1,
            on: dir.output_on(),
            class: Class::Direction,
            component,
            step: Some(step),
        }
    }

    /// Replaces `head` with the event after it.
    fn advance(&mut self, cycle: &Cycle) {
        let Some(head) = self.head else { return };
        let motor = cycle.motor_outputs().0;
        self.head = match &mut self.source {
            Source::Plain { off_at } => head.on.then_some(Event {
                at: *off_at,
                on: false,
                class: Class::Off,
                ..head
            }),
            Source::Motor {
                first_step,
                steps,
                repeats_left,
                step,
                cursor_ms,
            } => {
                let s = cycle.step((*first_step + *step) as usize);
                match head.class {
                    Class::Direction => Some(Event {
                        output: motor,
                        on: true,
                        class: Class::On,
                        ..head
                    }),
                    Class::On => Some(Event {
                        at: Duration::from_millis(*cursor_ms + s.step_ms as u64),
                        on: false,
                        class: Class::Off,
                        ..head
                    }),
                    Class::Off => {
                        let range = *first_step as usize..(*first_step + *steps) as usize;
                        let pause = cycle.pause_after(range, (*first_step + *step) as usize);
                        *cursor_ms += s.step_ms as u64 + pause as u64;
                        *step += 1;
                        if *step == *steps {
                            *step = 0;
                            *repeats_left -= 1;
                        }
                        if *repeats_left == 0 {
                            None
                        } else {
                            Some(self.direction_event(cycle, head.component))
                        }
                    }
                }
            }
        };
    }
}

impl Generator {
    /// Moves to the first event at or after `from`, in O(pattern steps), not O(events).
    fn seek(&mut self, cycle: &Cycle, from: Duration) {
        let Some(head) = self.head else { return };
        if head.at >= from {
            return;
        }
        if let Source::Motor {
            first_step,
            steps,
            repeats_left,
            step,
            cursor_ms,
        } = &mut self.source
        {
            let range = *first_step as usize..(*first_step + *steps) as usize;
            let period: u64 = range
                .clone()
                .map(|i| cycle.step(i).step_ms as u64 + cycle.pause_after(range.clone(), i) as u64)
                .sum();
            // Whole passes of the pattern before `from` are skipped at once, all but the
            // last: a pass's final OFF can fall exactly at the next pass's start (no final
            // pause), so the walk below starts one pass early.
            let passes = (from.as_millis().saturating_sub(*cursor_ms) / period.max(1))
                .saturating_sub(1)
                .min(*repeats_left as u64 - 1);
            *cursor_ms += passes * period;
            *repeats_left -= passes as u32;
            *step = 0;
            self.head = Some(self.direction_event(cycle, head.component));
        }
        while self.head.is_some_and(|h| h.at < from) {
            self.advance(cycle);
        }
    }
}

/// The position in one phase's merged event stream. It holds no reference to the cycle, so a
/// runner can keep it beside the cycle it reads from.
#[derive(Debug, Clone, Default)]
pub struct Cursor {
    generators: heapless::Vec<Generator, MAX_COMPONENTS_PER_PHASE>,
    /// Index of the generator whose head comes next.
    next: Option<u8>,
}

impl Cursor {
    /// The start of `phase` (a phase of `cycle`).
    pub fn new(cycle: &Cycle, phase: &Phase) -> Self {
        let mut cursor = Cursor::default();
        cursor.restart(cycle, phase);
        cursor
    }

    /// Moves this cursor to the start of `phase`, in place.
    pub fn restart(&mut self, cycle: &Cycle, phase: &Phase) {
        self.generators.clear();
        for i in 0..phase.component_count() {
            // A phase has at most MAX_COMPONENTS_PER_PHASE components: they all fit.
            let _ = self.generators.push(Generator::new(cycle, phase, i));
        }
        self.select();
    }

    fn select(&mut self) {
        let mut best: Option<(usize, (Duration, Class))> = None;
        for (i, g) in self.generators.iter().enumerate() {
            if let Some(e) = &g.head
                && best.is_none_or(|(_, k)| e.key() < k)
            {
                best = Some((i, e.key()));
            }
        }
        self.next = best.map(|(i, _)| i as u8);
    }

    /// The first event at or after `from` (an offset from the phase start) of `phase`: a page
    /// of a long phase costs what the page holds, not everything before it.
    pub fn starting_at(cycle: &Cycle, phase: &Phase, from: Duration) -> Self {
        let mut cursor = Cursor::new(cycle, phase);
        for g in &mut cursor.generators {
            g.seek(cycle, from);
        }
        cursor.select();
        cursor
    }

    /// The next event, without consuming it.
    pub fn peek(&self) -> Option<&Event> {
        self.generators[self.next? as usize].head.as_ref()
    }

    /// Consumes and returns the next event.
    pub fn pop(&mut self, cycle: &Cycle) -> Option<Event> {
        let g = &mut self.generators[self.next? as usize];
        let event = g.head;
        g.advance(cycle);
        self.select();
        event
    }
}

/// A phase's events as an iterator.
pub struct Timeline<'c> {
    cycle: &'c Cycle<'c>,
    cursor: Cursor,
}

impl<'c> Timeline<'c> {
    /// All the events of `phase` (a phase of `cycle`), from its start.
    pub fn new(cycle: &'c Cycle<'c>, phase: &Phase) -> Self {
        Timeline {
            cycle,
            cursor: Cursor::new(cycle, phase),
        }
    }

    /// The events at or after `from` (an offset from the phase start).
    pub fn starting_at(cycle: &'c Cycle<'c>, phase: &Phase, from: Duration) -> Self {
        Timeline {
            cycle,
            cursor: Cursor::starting_at(cycle, phase, from),
        }
    }
}

impl Iterator for Timeline<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.cursor.pop(self.cycle)
    }
}
