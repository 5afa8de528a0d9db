//! The runner's output changes as GPIO set/clear masks. The runner calls `set` for each change
//! of a same-instant group (all OFF, all direction, or all ON) and then `commit`; the group goes
//! out in one write of the set mask and one of the clear mask, i.e. one `GPIO_OUT_W1TS` and one
//! `GPIO_OUT_W1TC` register write on the ESP32-C3, and only the registers with a bit set are
//! written. Pins that are not the board's outputs are never touched.
//!
//! The control loop works an instant out ahead of its time: it [`MaskPins::hold`]s the writes,
//! has the runner commit the instant, and [`MaskPins::write_held`] puts it out when its time
//! comes, still one register pair, and only the pins whose level it changes.

use tumble_core::board::{Board, Level};
use tumble_core::runner::{OutputChange, Outputs};
use tumble_core::time::Instant;

/// Where a group of changes goes: on the chip the W1TS/W1TC registers, in tests a recorder.
pub trait GpioWrite {
    /// Drives the pins of `set` high and those of `clear` low (bit n = GPIO n). At least one of
    /// the two is non-zero, and they never share a bit.
    fn write(&mut self, set: u32, clear: u32);
}

/// The runner's [`Outputs`] on a chip with memory-mapped set/clear registers.
pub struct MaskPins<G> {
    gpio: G,
    /// The board's output pins.
    mask: u32,
    set: u32,
    clear: u32,
    /// The pins last written high (each output starts at its OFF level, where `claim` put it).
    high: u32,
    /// Commits are held for `write_held` instead of written, and not to go out before this
    /// instant (a command's, worked out ahead; the epoch when only held).
    held: Option<Instant>,
    /// Changes refused because the pin is not one of the board's outputs (a bug if ever > 0).
    stray: u32,
}

impl<G: GpioWrite> MaskPins<G> {
    /// Pins come from the board profile; a pin number of 32 or more cannot be an output here
    /// (the ESP32-C3 has GPIO0..21).
    pub fn new(gpio: G, board: &Board) -> Self {
        MaskPins {
            gpio,
            mask: output_mask(board),
            set: 0,
            clear: 0,
            high: off_high_mask(board),
            held: None,
            stray: 0,
        }
    }

    /// From now on commits are held, and merge (the last level of each pin wins) until
    /// [`MaskPins::write_held`].
    pub fn hold(&mut self) {
        self.hold_until(Instant::from_micros(0));
    }

    /// [`MaskPins::hold`], for writes that must not go out before `at`: a command worked out
    /// as of `at`, which the control loop writes then.
    pub fn hold_until(&mut self, at: Instant) {
        self.held = Some(self.held.map_or(at, |t| t.max(at)));
    }

    /// When the held writes may go out (the epoch after a plain [`MaskPins::hold`]).
    pub fn not_before(&self) -> Option<Instant> {
        self.held
    }

    /// Whether held commits wait to be written.
    pub fn is_holding(&self) -> bool {
        self.held.is_some()
    }

    /// Writes what the held commits changed, in one register pair, leaving out every pin already
    /// at its final level (a valve switched ON and OFF again by two commits is not written at
    /// all), and ends the hold. Returns whether anything was written.
    pub fn write_held(&mut self) -> bool {
        self.held = None;
        let (set, clear) = (self.set & !self.high, self.clear & self.high);
        self.set = 0;
        self.clear = 0;
        self.write(set, clear)
    }

    fn write(&mut self, set: u32, clear: u32) -> bool {
        if set | clear == 0 {
            return false;
        }
        self.high = (self.high | set) & !clear;
        self.gpio.write(set, clear);
        true
    }

    pub fn mask(&self) -> u32 {
        self.mask
    }

    pub fn gpio(&self) -> &G {
        &self.gpio
    }

    pub fn gpio_mut(&mut self) -> &mut G {
        &mut self.gpio
    }

    pub fn stray(&self) -> u32 {
        self.stray
    }
}

/// The outputs whose OFF level is high (an active-low relay board's outputs, all of them).
fn off_high_mask(board: &Board) -> u32 {
    board
        .outputs()
        .filter(|(_, o)| o.pin < 32 && o.level(false) == Level::High)
        .fold(0, |m, (_, o)| m | 1 << o.pin)
}

/// Bit mask of a board's output pins (pins of 32 and above are left out).
pub fn output_mask(board: &Board) -> u32 {
    board
        .outputs()
        .filter(|(_, o)| o.pin < 32)
        .fold(0, |m, (_, o)| m | 1 << o.pin)
}

impl<G: GpioWrite> Outputs for MaskPins<G> {
    fn set(&mut self, change: OutputChange) {
        let bit = 1u32.checked_shl(change.pin as u32).unwrap_or(0) & self.mask;
        if bit == 0 {
            self.stray += 1;
            return;
        }
        match change.level {
            Level::High => {
                self.set |= bit;
                self.clear &= !bit;
            }
            Level::Low => {
                self.clear |= bit;
                self.set &= !bit;
            }
        }
    }

    fn commit(&mut self) {
        if self.is_holding() {
            return;
        }
        let (set, clear) = (self.set, self.clear);
        self.set = 0;
        self.clear = 0;
        self.write(set, clear);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Recorder;
    use std::vec::Vec;
    use tumble_core::runner::Runner;
    use tumble_core::time::Instant;
    use tumble_rig::load;

    #[test]
    fn the_mask_is_the_boards_pins() {
        let pins = MaskPins::new(Recorder::default(), &Board::washer());
        let expected = [7, 8, 5, 19, 9, 18, 4, 10]
            .iter()
            .fold(0u32, |m, p| m | 1 << p);
        assert_eq!(pins.mask(), expected);
    }

    #[test]
    fn boot_writes_every_output_off_in_one_write() {
        let board = Board::washer();
        let mut runner = Runner::new(board.clone(), &mut []);
        let mut pins = MaskPins::new(Recorder::default(), &board);
        runner.boot(Instant::from_micros(0), &mut pins);
        assert_eq!(
            pins.gpio().writes,
            [(pins.mask(), 0)],
            "one register write: every output high (OFF)"
        );
    }

    /// A change of pin `pin` alone, as the runner would give it (the output does not matter
    /// to the masks).
    fn change(pin: u8, level: Level) -> OutputChange {
        OutputChange {
            output: Board::washer().outputs().next().unwrap().0,
            pin,
            level,
            on: level == Level::Low,
            due: Instant::from_micros(0),
        }
    }

    #[test]
    fn a_group_is_one_write_and_the_last_level_wins() {
        let mut pins = MaskPins::new(Recorder::default(), &Board::washer());
        pins.set(change(7, Level::Low));
        pins.set(change(8, Level::Low));
        pins.set(change(7, Level::High));
        pins.commit();
        pins.commit(); // nothing pending: no write
        assert_eq!(pins.gpio().writes, [(1 << 7, 1 << 8)]);
    }

    #[test]
    fn pins_that_are_not_outputs_are_never_written() {
        let mut pins = MaskPins::new(Recorder::default(), &Board::washer());
        pins.set(change(3, Level::Low)); // the HX710 DOUT pin
        pins.set(change(40, Level::Low));
        pins.set(change(255, Level::High));
        pins.commit();
        assert!(pins.gpio().writes.is_empty());
        assert_eq!(pins.stray(), 3);
    }

    #[test]
    fn each_instant_is_one_write_of_its_net_changes() {
        // A reversing pattern with no pause, a valve handed from one component to the next at
        // 1 s, and the end of the phase: at every instant one write, only of pins that change.
        // (The default board's 100 ms reverse dead time lengthens the reversal's pause.)
        let board = Board::washer();
        let mut runner = Runner::new(board.clone(), &mut []);
        let mut pins = MaskPins::new(Recorder::default(), &board);
        runner.boot(Instant::from_micros(0), &mut pins);
        load(
            &mut runner,
            &mut pins,
            r#"{"phases":[{"id":"wash","components":[
               {"compId":"Cold Valve","duration":1000},{"compId":"Cold Valve","start":1000,"duration":1000},
               {"compId":"Motor","motorConfig":{"repeatTimes":1,"pattern":[
                 {"stepTime":1000,"direction":"cw"},{"stepTime":1000,"direction":"ccw"}]}}]}]}"#,
        );
        pins.gpio_mut().writes.clear();
        let mut instants = Vec::new();
        runner.start(Instant::from_micros(0), &mut pins).unwrap();
        instants.push(pins.gpio_mut().writes.split_off(0));
        while let Some(t) = runner.poll_timeout() {
            runner.handle_timeout(t, &mut pins);
            instants.push(pins.gpio_mut().writes.split_off(0));
        }
        let (valve, motor, dir) = (1u32 << 5, 1u32 << 4, 1u32 << 10);
        assert_eq!(
            instants,
            [
                // 0: valve, motor and direction (cw) ON: all low.
                std::vec![(0, valve | motor | dir)],
                // 1 s: the valve stays ON (not written); the motor stops for the reversal.
                std::vec![(motor, 0)],
                // 1.1 s: after the board's 100 ms dead time, ccw and the motor ON again.
                std::vec![(dir, motor)],
                // 2 s: the valve's second component ends; 2.1 s: the motor's last step.
                std::vec![(valve, 0)],
                std::vec![(motor, 0)],
            ]
        );
    }

    #[test]
    fn held_commits_merge_into_one_write_of_the_net_change() {
        let mut pins = MaskPins::new(Recorder::default(), &Board::washer());
        pins.hold();
        pins.set(change(5, Level::Low)); // the cold valve ON...
        pins.set(change(19, Level::Low));
        pins.commit();
        pins.set(change(5, Level::High)); // ...and OFF again (its OFF level) in a later commit
        pins.set(change(9, Level::Low));
        pins.commit();
        assert!(pins.gpio().writes.is_empty(), "held");
        assert!(pins.write_held());
        assert_eq!(
            pins.gpio().writes,
            [(0, 1 << 19 | 1 << 9)],
            "GPIO5 not written"
        );
        assert!(!pins.is_holding());
        // Not held any more: a commit is written at once, only of pins not at their level.
        pins.set(change(19, Level::Low));
        pins.commit();
        assert_eq!(pins.gpio().writes.len(), 2);
        pins.hold();
        pins.set(change(19, Level::Low));
        pins.commit();
        assert!(
            !pins.write_held(),
            "GPIO19 is low already: nothing to write"
        );
    }
}
