//! The bytes a cycle is kept in: one buffer the platform lends, filled from both ends. Strings
//! and component records grow from the front, pattern steps from the back; a cycle costs what
//! its document holds, and the buffer's size is the only capacity. A count-only store does the
//! same arithmetic without a buffer, so a check that stores nothing refuses exactly what a load
//! into a buffer of that size would.

use super::{Component, Direction, Drive, MotorConfig, Step, TextRef};
use crate::board::OutputId;

/// Bytes of one component record.
pub const COMPONENT_BYTES: usize = 44;
/// Bytes of one pattern step: stepTime, pauseTime, direction.
pub const STEP_BYTES: usize = 9;
/// The most a cycle's storage can hold: offsets into it are 16 bits. A larger buffer is used up
/// to this size.
pub const MAX_STORAGE: usize = u16::MAX as usize;

/// Where a parse puts the cycle's bytes, and how full it is.
pub(super) struct Pool<'p> {
    /// Empty when only counting.
    bytes: &'p mut [u8],
    cap: usize,
    front: usize,
    steps: usize,
}

/// The storage is full: the caller says where and why.
pub(super) struct Full;

/// How full a pool is: what a parse leaves for the cycle to keep.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fill {
    front: usize,
    steps: usize,
}

impl Fill {
    /// Pattern steps stored.
    pub(super) fn steps(&self) -> usize {
        self.steps
    }

    /// Bytes in use.
    pub(super) fn used(&self) -> usize {
        self.front + self.steps * STEP_BYTES
    }
}

impl<'p> Pool<'p> {
    /// Storage in the first `cap` bytes of `bytes` (`cap` <= its length).
    pub(super) const fn with_capacity(bytes: &'p mut [u8], cap: usize) -> Self {
        Pool {
            bytes,
            cap,
            front: 0,
            steps: 0,
        }
    }

    /// No buffer: only counts, against `cap` bytes.
    pub(super) fn counting(cap: usize) -> Pool<'static> {
        Pool::with_capacity(&mut [], cap.min(MAX_STORAGE))
    }

    /// The same buffer, empty, for a parse to fill.
    pub(super) fn reborrow(&mut self) -> Pool<'_> {
        Pool::with_capacity(&mut *self.bytes, self.cap)
    }

    pub(super) fn fill(&self) -> Fill {
        Fill {
            front: self.front,
            steps: self.steps,
        }
    }

    /// Takes the fill a parse into this buffer left.
    pub(super) fn set_fill(&mut self, f: Fill) {
        self.front = f.front;
        self.steps = f.steps;
    }

    /// Makes this a copy of `other`'s bytes: false (and empty) when they do not fit.
    pub(super) fn copy_from(&mut self, other: &Pool<'_>) -> bool {
        self.clear();
        if other.used() > self.cap || self.counting_only() && other.used() > 0 {
            return false;
        }
        let back = other.steps * STEP_BYTES;
        self.bytes[..other.front].copy_from_slice(&other.bytes[..other.front]);
        self.bytes[self.cap - back..self.cap]
            .copy_from_slice(&other.bytes[other.cap - back..other.cap]);
        self.set_fill(other.fill());
        true
    }

    pub(super) fn clear(&mut self) {
        self.front = 0;
        self.steps = 0;
    }

    pub(super) fn capacity(&self) -> usize {
        self.cap
    }

    /// Bytes in use.
    pub(super) fn used(&self) -> usize {
        self.fill().used()
    }

    fn counting_only(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Appends `data` at the front; returns where it starts.
    pub(super) fn push_front(&mut self, data: impl IntoIterator<Item = u8>) -> Result<u16, Full> {
        let start = self.front;
        for b in data {
            if self.used() >= self.cap {
                self.front = start;
                return Err(Full);
            }
            if !self.counting_only() {
                self.bytes[self.front] = b;
            }
            self.front += 1;
        }
        Ok(start as u16)
    }

    /// Appends a pattern step at the back; returns its index.
    pub(super) fn push_step(&mut self, s: Step) -> Result<u16, Full> {
        if self.used() + STEP_BYTES > self.cap {
            return Err(Full);
        }
        let index = self.steps;
        self.steps += 1;
        if !self.counting_only() {
            let at = self.cap - self.steps * STEP_BYTES;
            self.bytes[at..at + 4].copy_from_slice(&s.step_ms.to_le_bytes());
            self.bytes[at + 4..at + 8].copy_from_slice(&s.pause_ms.to_le_bytes());
            self.bytes[at + 8] = (s.direction == Direction::Ccw) as u8;
        }
        Ok(index as u16)
    }

    pub(super) fn step(&self, index: usize) -> Step {
        let at = self.cap - (index + 1) * STEP_BYTES;
        let b = &self.bytes[at..at + STEP_BYTES];
        Step {
            step_ms: u32_at(b, 0),
            pause_ms: u32_at(b, 4),
            direction: if b[8] == 1 {
                Direction::Ccw
            } else {
                Direction::Cw
            },
        }
    }

    pub(super) fn text(&self, t: TextRef) -> &str {
        let (start, len) = (t.start as usize, t.len as usize);
        // Written from a `str`, whole: it is valid UTF-8 (a count-only pool has no text).
        self.bytes
            .get(start..start + len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    pub(super) fn component(&self, at: usize) -> Component {
        decode(&self.bytes[at..at + COMPONENT_BYTES])
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn text_at(b: &[u8], at: usize) -> TextRef {
    TextRef {
        start: u16_at(b, at),
        len: b[at + 2],
    }
}

const MOTOR: u8 = 1;
const HAS_LAST: u8 = 2;
const FIRST_CCW: u8 = 4;
const LAST_CCW: u8 = 8;

/// A component as the bytes of its record (little-endian, [`COMPONENT_BYTES`] long).
pub(super) fn encode(c: &Component) -> [u8; COMPONENT_BYTES] {
    let mut b = [0u8; COMPONENT_BYTES];
    let mut put = |at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
    let text = |t: TextRef| {
        let s = t.start.to_le_bytes();
        [s[0], s[1], t.len]
    };
    put(0, &text(c.id));
    put(3, &text(c.label));
    put(6, &c.start_ms.to_le_bytes());
    put(10, &c.duration_ms.to_le_bytes());
    put(14, &c.last_event_ms.unwrap_or(0).to_le_bytes());
    let mut flags = if c.last_event_ms.is_some() {
        HAS_LAST
    } else {
        0
    };
    match c.drive {
        Drive::Output(o) => put(19, &[o.index() as u8]),
        Drive::Motor(m) => {
            flags |= MOTOR;
            flags |= if m.first == Direction::Ccw {
                FIRST_CCW
            } else {
                0
            };
            flags |= if m.last == Direction::Ccw {
                LAST_CCW
            } else {
                0
            };
            put(20, &m.first_step.to_le_bytes());
            put(22, &m.steps.to_le_bytes());
            put(24, &m.repeat.to_le_bytes());
            put(28, &text(m.running_style));
            put(31, &m.last_pause_ms.to_le_bytes());
            put(35, &m.period_ms.to_le_bytes());
        }
    }
    put(18, &[flags]);
    b
}

fn decode(b: &[u8]) -> Component {
    let flags = b[18];
    let dir = |bit: u8| {
        if flags & bit != 0 {
            Direction::Ccw
        } else {
            Direction::Cw
        }
    };
    let drive = if flags & MOTOR != 0 {
        let mut period = [0u8; 8];
        period.copy_from_slice(&b[35..43]);
        Drive::Motor(MotorConfig {
            first_step: u16_at(b, 20),
            steps: u16_at(b, 22),
            repeat: u32_at(b, 24),
            running_style: text_at(b, 28),
            last_pause_ms: u32_at(b, 31),
            period_ms: u64::from_le_bytes(period),
            first: dir(FIRST_CCW),
            last: dir(LAST_CCW),
        })
    } else {
        Drive::Output(OutputId::from_index(b[19]))
    };
    Component {
        id: text_at(b, 0),
        label: text_at(b, 3),
        start_ms: u32_at(b, 6),
        duration_ms: u32_at(b, 10),
        drive,
        last_event_ms: (flags & HAS_LAST != 0).then(|| u32_at(b, 14)),
    }
}
