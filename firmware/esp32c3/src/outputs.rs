//! The relay outputs: driven OFF at boot, then written by the runner through one
//! `GPIO_OUT_W1TS` and one `GPIO_OUT_W1TC` register write per same-instant group.

use esp_hal::gpio::{AnyPin, Level, Output, OutputConfig};
use tumble_core::board::{Board, MAX_OUTPUTS};
use tumble_fw_logic::pins::{GpioWrite, output_mask};

/// The GPIOs this firmware may use, by number; each can be taken once. GPIO11..17 (the SPI
/// flash) are not in it.
pub struct PinBank {
    pins: [Option<AnyPin<'static>>; 22],
}

impl PinBank {
    pub fn new(pins: [Option<AnyPin<'static>>; 22]) -> Self {
        PinBank { pins }
    }

    /// Takes GPIO `n`. A board profile that names a pin that does not exist or is taken twice
    /// is a build error in spirit: it stops the boot with a clear message.
    pub fn take(&mut self, n: u8) -> AnyPin<'static> {
        match self.pins.get_mut(n as usize).and_then(Option::take) {
            Some(pin) => pin,
            None => panic!("GPIO{n} is not available (flash pin, missing, or used twice)"),
        }
    }
}

/// Drives every output of the board to OFF (its inactive level), the Motor first as in the
/// runner's safe state, and keeps the drivers. The level is set before the pin becomes an
/// output, so there is no glitch from this side.
pub fn claim(bank: &mut PinBank, board: &Board) -> heapless::Vec<Output<'static>, MAX_OUTPUTS> {
    let mut outs = heapless::Vec::new();
    let motor = board.motor();
    let ordered = board
        .outputs()
        .filter(|(id, _)| *id == motor)
        .chain(board.outputs().filter(|(id, _)| *id != motor));
    for (_, def) in ordered {
        let off = match def.level(false) {
            tumble_core::board::Level::High => Level::High,
            tumble_core::board::Level::Low => Level::Low,
        };
        let pin = Output::new(bank.take(def.pin), off, OutputConfig::default());
        // The board has at most MAX_OUTPUTS outputs, the capacity of `outs`.
        let _ = outs.push(pin);
    }
    outs
}

/// The GPIO set/clear registers, restricted to the board's outputs.
pub struct Gpio {
    mask: u32,
}

impl Gpio {
    pub fn new(board: &Board) -> Self {
        Gpio {
            mask: output_mask(board),
        }
    }
}

impl GpioWrite for Gpio {
    fn write(&mut self, set: u32, clear: u32) {
        let regs = esp_hal::peripherals::GPIO::regs();
        let (set, clear) = (set & self.mask, clear & self.mask);
        if set != 0 {
            // SAFETY: GPIO_OUT_W1TS is write-1-to-set: only the pins whose bit is 1 change, and
            // the mask keeps those to the board's outputs, which `claim` configured as outputs
            // and which no other driver uses. Any 32-bit value is valid for this register.
            regs.out_w1ts().write(|w| unsafe { w.bits(set) });
        }
        if clear != 0 {
            // SAFETY: as above, for the write-1-to-clear register GPIO_OUT_W1TC.
            regs.out_w1tc().write(|w| unsafe { w.bits(clear) });
        }
    }
}
