//! The board profile the firmware is built for. `build.rs` reads a profile in the host's TOML
//! format (`tumble board` prints the default; `TUMBLE_BOARD=FILE` picks another), checks it
//! with [`Profile::board`] (so a bad profile stops the build, not the boot) and writes it as a
//! [`Profile`] constant the firmware makes its [`Board`] from at boot, the same way.

use core::fmt;

use tumble_core::board::{Board, BoardError, OutputDef};
use tumble_core::sensor::{LevelCurve, PressureCurve};

/// One output of the profile: its name, the other names it answers to, its GPIO, and whether
/// level 0 switches it ON.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    pub name: &'a str,
    pub aliases: &'a [&'a str],
    pub pin: u8,
    pub active_low: bool,
    /// Litres a minute it lets in while ON (the profile's `inflow_lpm`, 0 when not a valve):
    /// a run's water in its history.
    pub inflow_lpm: f32,
}

/// What of a board profile the chip uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile<'a> {
    /// The file it was read from, for the boot log.
    pub source: &'a str,
    pub outputs: &'a [Row<'a>],
    /// The Motor is OFF at least this long (ms) before Motor Direction turns.
    pub reverse_dead_time_ms: u32,
    /// How often the sensors are sampled and sensor triggers checked, in ms.
    pub sample_ms: u32,
    /// The pressure ADC's raw reading to the original's pseudo-frequency.
    pub pressure: PressureCurve,
    /// Raw ADC counts per litre in the tub (for telemetry's litres).
    pub raw_per_litre: f32,
    /// Tachometer pulses per drum turn.
    pub pulses_per_rev: f32,
}

/// GPIOs the firmware uses itself, which no output may take: the tachometer, the HX710 pressure
/// ADC, the console. GPIO11..17 are the SPI flash; the C3 has GPIO0..21.
pub const RPM_PIN: u8 = 0;
pub const HX710_SCK_PIN: u8 = 2;
pub const HX710_DOUT_PIN: u8 = 3;
pub const CONSOLE_RX_PIN: u8 = 20;
pub const CONSOLE_TX_PIN: u8 = 21;

const RESERVED: [(u8, &str); 5] = [
    (RPM_PIN, "the tachometer input"),
    (HX710_SCK_PIN, "the HX710's clock"),
    (HX710_DOUT_PIN, "the HX710's data"),
    (CONSOLE_RX_PIN, "the console's RX"),
    (CONSOLE_TX_PIN, "the console's TX"),
];

/// Why a profile cannot drive this chip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileError {
    /// The profile itself is wrong (the host would refuse it too).
    Board(BoardError),
    /// An output's pin is not one this firmware can drive.
    Pin {
        output: usize,
        pin: u8,
        why: &'static str,
    },
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileError::Board(e) => write!(f, "{e}"),
            ProfileError::Pin { output, pin, why } => {
                write!(f, "outputs[{output}]: GPIO{pin} {why}")
            }
        }
    }
}

impl Profile<'_> {
    /// The core's board for this profile, checked as the host checks a profile, and its pins
    /// against the chip's.
    /// Each output's `inflow_lpm`, by output index (the board's outputs are the rows, in order).
    pub fn inflow_lpm(&self) -> [f32; tumble_core::board::MAX_OUTPUTS] {
        let mut lpm = [0.0; tumble_core::board::MAX_OUTPUTS];
        for (slot, row) in lpm.iter_mut().zip(self.outputs) {
            *slot = row.inflow_lpm;
        }
        lpm
    }

    pub fn board(&self) -> Result<Board, ProfileError> {
        let mut outputs = heapless::Vec::new();
        for (i, row) in self.outputs.iter().enumerate() {
            check_pin(row.pin).map_err(|why| ProfileError::Pin {
                output: i,
                pin: row.pin,
                why,
            })?;
            let def = output(row).map_err(ProfileError::Board)?;
            outputs
                .push(def)
                .map_err(|_| ProfileError::Board(BoardError::TooManyOutputs))?;
        }
        Board::new(outputs, self.reverse_dead_time_ms)
            .map(|b| {
                b.with_level(LevelCurve {
                    curve: self.pressure,
                    raw_per_litre: self.raw_per_litre,
                })
            })
            .map_err(ProfileError::Board)
    }
}

fn output(row: &Row<'_>) -> Result<OutputDef, BoardError> {
    let name = |n: &str| n.try_into().map_err(|_| BoardError::NameTooLong);
    let mut aliases = heapless::Vec::new();
    for a in row.aliases {
        aliases
            .push(name(a)?)
            .map_err(|_| BoardError::NameTooLong)?;
    }
    Ok(OutputDef {
        name: name(row.name)?,
        aliases,
        pin: row.pin,
        active_low: row.active_low,
    })
}

fn check_pin(pin: u8) -> Result<(), &'static str> {
    if pin > 21 {
        return Err("does not exist on the ESP32-C3 (GPIO0..21)");
    }
    if (11..=17).contains(&pin) {
        return Err("belongs to the SPI flash (GPIO11..17)");
    }
    match RESERVED.iter().find(|(p, _)| *p == pin) {
        Some((_, what)) => Err(what),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn washer_rows() -> std::vec::Vec<Row<'static>> {
        Board::washer()
            .outputs()
            .map(|(_, o)| Row {
                name: std::string::String::from(o.name.as_str()).leak(),
                aliases: std::vec::Vec::from_iter(
                    o.aliases
                        .iter()
                        .map(|a| &*std::string::String::from(a.as_str()).leak()),
                )
                .leak(),
                pin: o.pin,
                active_low: o.active_low,
                inflow_lpm: 0.0,
            })
            .collect()
    }

    fn profile<'a>(rows: &'a [Row<'static>]) -> Profile<'a> {
        Profile {
            source: "test",
            outputs: rows,
            reverse_dead_time_ms: 100,
            sample_ms: 100,
            pressure: PressureCurve::ORIGINAL,
            raw_per_litre: 70_000.0,
            pulses_per_rev: 1.0,
        }
    }

    #[test]
    fn the_default_profile_is_the_default_board() {
        let rows = washer_rows();
        assert_eq!(profile(&rows).board(), Ok(Board::washer()));
    }

    #[test]
    fn pins_the_chip_cannot_drive_are_refused_naming_the_output() {
        for (pin, says) in [
            (12, "GPIO12 belongs to the SPI flash"),
            (22, "GPIO22 does not exist"),
            (20, "GPIO20 the console's RX"),
            (2, "GPIO2 the HX710's clock"),
        ] {
            let mut rows = washer_rows();
            rows[3].pin = pin;
            let e = profile(&rows).board().unwrap_err().to_string();
            assert!(e.starts_with(&std::format!("outputs[3]: {says}")), "{e}");
        }
    }

    #[test]
    fn a_profile_the_host_refuses_is_refused_with_the_hosts_words() {
        let mut rows = washer_rows();
        rows[1].pin = rows[0].pin;
        let e = profile(&rows).board().unwrap_err();
        assert_eq!(
            e,
            ProfileError::Board(BoardError::DuplicatePin(rows[0].pin))
        );
        let rows: std::vec::Vec<_> = washer_rows().into_iter().take(6).collect();
        let e = profile(&rows).board().unwrap_err().to_string();
        assert_eq!(e, "the board has no \"Motor\" output");
    }
}
