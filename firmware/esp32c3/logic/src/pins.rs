//! The runner's output changes as GPIO set/clear masks. The runner calls `set` for each change
//! of a same-instant group (all OFF, all direction, or all ON) and then `commit`; the group goes
//! out in one write of the set mask and one of the clear mask, i.e. one `GPIO_OUT_W1TS` and one
//! `GPIO_OUT_W1TC` register write on the ESP32-C3, and only the registers with a bit set are
//! written. Pins that are not the board's outputs are never touched.

use tumble_core::board::{Board, Level};
use tumble_core::runner::{OutputChange, Outputs};

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
            stray: 0,
        }
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
        let (set, clear) = (self.set, self.clear);
        self.set = 0;
        self.clear = 0;
        if set | clear != 0 {
            self.gpio.write(set, clear);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Recorder, example, load};
    use std::vec::Vec;
    use tumble_core::controller::{Arrival, Config, Controller, Work};
    use tumble_core::protocol::Op;
    use tumble_core::runner::{Runner, Status};
    use tumble_core::time::{Duration, Instant};

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

    /// The core's controller on these pins, woken at each deadline as the control loop is, or
    /// (`stall`) once, at that time, for the first time after the start.
    fn play(json: &str, stall: Option<u64>) -> std::vec::Vec<(u64, u32, u32)> {
        let board = Board::washer();
        let config = Config {
            sample: Duration::from_millis(100),
            telemetry: Some(Duration::from_millis(100)),
        };
        let mut ctl = std::boxed::Box::new(Controller::new(
            board.clone(),
            config,
            crate::testutil::storage(),
        ));
        let mut pins = MaskPins::new(Timed::default(), &board);
        let start = Instant::from_micros(0);
        ctl.boot(start, &mut pins);
        ctl.restore(json.as_bytes(), start, &mut pins);
        pins.gpio_mut().writes.clear();
        ctl.execute(Work::Op(Op::Start), Arrival(1), start, &mut pins);
        while ctl.runner().status() != Status::Idle {
            let now = stall.map_or(ctl.poll_timeout(), Instant::from_micros);
            pins.gpio_mut().now = now.as_micros();
            if ctl.handle_timeout(now, &mut pins).sample_due {
                ctl.handle_sample(now, Default::default(), &mut pins);
            }
            if stall.is_some() {
                break;
            }
        }
        core::mem::take(&mut pins.gpio_mut().writes)
    }

    /// Records each register write with the loop's `now` (µs).
    #[derive(Default)]
    struct Timed {
        now: u64,
        writes: Vec<(u64, u32, u32)>,
    }

    impl GpioWrite for Timed {
        fn write(&mut self, set: u32, clear: u32) {
            self.writes.push((self.now, set, clear));
        }
    }

    #[test]
    fn the_control_loop_writes_once_per_instant() {
        for name in [
            "original-example.json",
            "wash-1600.json",
            "full-featured.json",
        ] {
            let writes = play(&example(name), None);
            assert!(!writes.is_empty());
            let mut per_instant = std::collections::BTreeMap::<u64, usize>::new();
            for (t, set, clear) in &writes {
                assert_eq!(set & clear, 0);
                *per_instant.entry(*t).or_default() += 1;
            }
            assert!(
                per_instant.values().all(|&n| n == 1),
                "{name}: {per_instant:?}"
            );
        }
    }

    #[test]
    fn a_late_wake_catches_up_in_one_write_of_the_net_change() {
        let json = example("original-example.json");
        let on_time = play(&json, None);
        // Stalled until 5 s (a flash erase, say): the pins where they would be at 5 s, at once.
        let late = play(&json, Some(5_000_000));
        let (mut want, mut have) = (0u32, 0u32);
        for (i, &(t, set, clear)) in on_time.iter().enumerate() {
            if t <= 5_000_000 {
                want = (want | set) & !clear;
            }
            if i == 0 {
                have = (have | set) & !clear;
            }
        }
        assert_eq!(late.len(), 2, "the start's instant, then one: {late:x?}");
        assert_eq!(late[1], (5_000_000, want & !have, have & !want));
    }
}
