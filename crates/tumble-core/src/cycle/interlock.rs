//! The motor interlock, checked at load time from the components' spans and pattern steps,
//! never by walking events: a phase of a billion events costs what a phase of ten does.
//!
//! Two rules (docs/cycle-format.md, "The motor interlock"):
//!
//! 1. A motor pattern owns Motor and Motor Direction from its first event to its last: no other
//!    component that drives either (another pattern, a plain Motor or Motor Direction
//!    component) may be active during that span.
//! 2. Motor Direction never changes while the Motor is ON, nor (on a board with a reverse dead
//!    time) less than that long after it went OFF. Inside a pattern this holds by construction:
//!    every reversal is played after a pause of at least the dead time (`Cycle::pause_after`).
//!    With rule 1 in force a pattern is then summarised by its entry (its first step's
//!    direction) and its exit (Motor OFF at its last event, the direction of its last step);
//!    plain components add two changes each. The check replays those few changes in timeline
//!    order: O(components + steps). A phase starts with both OFF and no recent Motor OFF: the
//!    runner keeps the dead time across phase boundaries (docs/cycle-format.md).

use super::Class;
use super::{Component, Drive, Phase};
use crate::board::{Board, OutputId};
use crate::limits::MAX_COMPONENTS_PER_PHASE;

/// Why a phase breaks the interlock, and where (indices within the phase).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Violation {
    /// Component `component` drives the motor during the motor pattern of component `pattern`.
    Overlap {
        component: usize,
        span_ms: (u64, u64),
        pattern: usize,
        pattern_span_ms: (u64, u64),
    },
    /// A direction change while the Motor is ON (`off_for_us` None) or too soon after it went
    /// OFF, by `component` (at its pattern step `step`, for a pattern).
    Reversal {
        component: usize,
        step: Option<usize>,
        at_us: u64,
        off_for_us: Option<u64>,
    },
}

/// What one component contributes to the Motor or Motor Direction, if anything.
#[derive(Debug, Clone, Copy)]
enum Role {
    Motor,
    Direction,
    /// A motor pattern, with the Motor Direction levels its first and last step set (ON: cw).
    Pattern {
        first_on: bool,
        last_on: bool,
    },
}

/// A change in timeline order: plain components switch ON and OFF, a pattern enters and exits.
#[derive(Debug, Clone, Copy)]
struct Change {
    at_us: u64,
    class: Class,
    component: usize,
    role: Role,
    on: bool,
}

pub(super) fn check(comps: &[Component], phase: &Phase, board: &Board) -> Result<(), Violation> {
    let role = |c: &Component| role(c, board.motor(), board.direction());
    let span = |c: &Component| span_ms(phase, c);
    check_overlaps(comps, &role, &span)?;

    let mut changes = heapless::Vec::<Change, { 2 * MAX_COMPONENTS_PER_PHASE }>::new();
    for (i, c) in comps.iter().enumerate() {
        let (Some(role), Some((start, end))) = (role(c), span(c)) else {
            continue;
        };
        // A pattern enters with its first direction setting, a plain component with its ON.
        let enter = match role {
            Role::Pattern { .. } => Class::Direction,
            _ => Class::On,
        };
        let change = |at_ms: u64, class, on| Change {
            at_us: at_ms * 1000,
            class,
            component: i,
            role,
            on,
        };
        // Two per component of a phase: the capacity holds them all.
        let _ = changes.push(change(start, enter, true));
        let _ = changes.push(change(end, Class::Off, false));
    }
    // The timeline's own order for one instant: OFFs, direction settings, ONs, by component.
    changes.sort_unstable_by_key(|c| (c.at_us, c.class, c.component));
    let mut m = Machine::new(board.reverse_dead_time_ms() as u64 * 1000);
    for c in &changes {
        m.apply(c)?;
    }
    Ok(())
}

fn role(c: &Component, motor: OutputId, direction: OutputId) -> Option<Role> {
    match c.drive {
        Drive::Motor(m) => {
            let (first, last) = m.directions();
            Some(Role::Pattern {
                first_on: first.output_on(),
                last_on: last.output_on(),
            })
        }
        Drive::Output(o) if o == motor => Some(Role::Motor),
        Drive::Output(o) if o == direction => Some(Role::Direction),
        Drive::Output(_) => None,
    }
}

/// From the component's first event to its last, in ms from the phase start (None: no events).
fn span_ms(phase: &Phase, c: &Component) -> Option<(u64, u64)> {
    Some((
        phase.start_ms as u64 + c.start_ms as u64,
        c.last_event_ms? as u64,
    ))
}

/// Rule 1. Spans are half-open: a component may start at the instant a pattern ends.
fn check_overlaps(
    comps: &[Component],
    role: &impl Fn(&Component) -> Option<Role>,
    span: &impl Fn(&Component) -> Option<(u64, u64)>,
) -> Result<(), Violation> {
    for (j, b) in comps.iter().enumerate() {
        let (Some(rb), Some(sb)) = (role(b), span(b)) else {
            continue;
        };
        for (i, a) in comps[..j].iter().enumerate() {
            let (Some(ra), Some(sa)) = (role(a), span(a)) else {
                continue;
            };
            let overlap = sa.0 < sb.1 && sb.0 < sa.1;
            let pattern = match (ra, rb) {
                (Role::Pattern { .. }, _) => Some((i, sa)),
                (_, Role::Pattern { .. }) => Some((j, sb)),
                _ => None,
            };
            if let (true, Some((p, pattern_span_ms))) = (overlap, pattern) {
                let (component, span_ms) = if p == i { (j, sb) } else { (i, sa) };
                return Err(Violation::Overlap {
                    component,
                    span_ms,
                    pattern: p,
                    pattern_span_ms,
                });
            }
        }
    }
    Ok(())
}

/// Rule 2: the levels the timeline leaves Motor and Motor Direction at, change by change. The
/// safe state between phases leaves both OFF at the phase start.
struct Machine {
    dead_us: u64,
    motor_on: bool,
    direction_on: bool,
    /// None: not in this phase.
    motor_off_at_us: Option<u64>,
}

impl Machine {
    fn new(dead_us: u64) -> Self {
        Machine {
            dead_us,
            motor_on: false,
            direction_on: false,
            motor_off_at_us: None,
        }
    }

    fn apply(&mut self, c: &Change) -> Result<(), Violation> {
        match (c.role, c.on) {
            (Role::Motor, on) => {
                if self.motor_on && !on {
                    self.motor_off_at_us = Some(c.at_us);
                }
                self.motor_on = on;
            }
            (Role::Direction, on) => self.direction(c.at_us, on, c.component, None)?,
            (Role::Pattern { first_on, .. }, true) => {
                self.direction(c.at_us, first_on, c.component, Some(0))?;
            }
            (Role::Pattern { last_on, .. }, false) => {
                // The last event is the last step's Motor OFF; the direction stays where it is.
                self.motor_on = false;
                self.motor_off_at_us = Some(c.at_us);
                self.direction_on = last_on;
            }
        }
        Ok(())
    }

    fn direction(
        &mut self,
        at_us: u64,
        on: bool,
        component: usize,
        step: Option<usize>,
    ) -> Result<(), Violation> {
        if on == self.direction_on {
            return Ok(());
        }
        self.direction_on = on;
        let off_for_us = self
            .motor_off_at_us
            .map_or(u64::MAX, |t| at_us - t.min(at_us));
        if self.motor_on || off_for_us < self.dead_us {
            return Err(Violation::Reversal {
                component,
                step,
                at_us,
                off_for_us: (!self.motor_on).then_some(off_for_us),
            });
        }
        Ok(())
    }
}
