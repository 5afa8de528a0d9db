//! Board profiles: the output map and the simulated physics, read from TOML.

use serde::Deserialize;
use tumble_core::board::{Board, OutputDef};
use tumble_core::sensor::PressureCurve;

/// The default profile, comments and all: the original firmware's wiring and a plausible washer.
pub const DEFAULT: &str = include_str!("default-board.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    board: BoardSection,
    outputs: Vec<OutputSection>,
    water: Water,
    drum: Drum,
    sensors: SensorSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BoardSection {
    reverse_dead_time_ms: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputSection {
    name: String,
    pin: u8,
    active_low: bool,
    aliases: Vec<String>,
    inflow_lpm: f64,
    drain_lpm: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Water {
    pub overflow_litres: f64,
    pub raw_per_litre: f64,
    pub c0: f32,
    pub c1: f32,
    pub c2: f32,
}

impl Water {
    pub fn curve(&self) -> PressureCurve {
        PressureCurve {
            c0: self.c0,
            c1: self.c1,
            c2: self.c2,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drum {
    pub nominal_rpm: f64,
    pub spin_up_ms: f64,
    pub coast_ms: f64,
    pub pulses_per_rev: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct SensorSection {
    sample_ms: u32,
}

/// A checked profile: the board for the core, the physics for the simulator.
#[derive(Debug, Clone)]
pub struct Profile {
    pub board: Board,
    /// Per output index: litres per minute in (valves) and out (pumps).
    pub inflow_lpm: Vec<f64>,
    pub drain_lpm: Vec<f64>,
    pub water: Water,
    pub drum: Drum,
    pub sample_ms: u32,
}

impl Profile {
    pub fn default_washer() -> Self {
        Self::parse(DEFAULT).expect("the default profile is valid")
    }

    /// Reads a profile; the error says which key is wrong and why.
    pub fn parse(text: &str) -> Result<Self, String> {
        let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
        if f.outputs.len() > tumble_core::board::MAX_OUTPUTS {
            return Err(format!(
                "outputs: at most {} outputs",
                tumble_core::board::MAX_OUTPUTS
            ));
        }
        if let Some(o) = f
            .outputs
            .iter()
            .find(|o| o.aliases.len() > tumble_core::board::MAX_ALIASES)
        {
            return Err(format!(
                "outputs: \"{}\" has {} aliases, at most {}",
                o.name,
                o.aliases.len(),
                tumble_core::board::MAX_ALIASES
            ));
        }
        let outputs = f
            .outputs
            .iter()
            .map(|o| {
                Ok(OutputDef {
                    name: o
                        .name
                        .as_str()
                        .try_into()
                        .map_err(|_| format!("output name {:?} is too long", o.name))?,
                    aliases: o
                        .aliases
                        .iter()
                        .map(|a| {
                            a.as_str()
                                .try_into()
                                .map_err(|_| format!("alias {a:?} is too long"))
                        })
                        .collect::<Result<Vec<_>, String>>()?
                        .into_iter()
                        .collect::<heapless::Vec<_, 2>>(),
                    pin: o.pin,
                    active_low: o.active_low,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if outputs.len() > tumble_core::board::MAX_OUTPUTS {
            return Err(format!(
                "outputs: at most {} outputs",
                tumble_core::board::MAX_OUTPUTS
            ));
        }
        if f.outputs
            .iter()
            .any(|o| o.aliases.len() > tumble_core::board::MAX_ALIASES)
        {
            return Err(format!(
                "outputs: at most {} aliases per output",
                tumble_core::board::MAX_ALIASES
            ));
        }
        let board = Board::new(outputs.into_iter().collect(), f.board.reverse_dead_time_ms)
            .map_err(|e| format!("outputs: {e}"))?
            .with_level(tumble_core::sensor::LevelCurve {
                curve: f.water.curve(),
                raw_per_litre: f.water.raw_per_litre as f32,
            });
        let positive = [
            ("water.overflow_litres", f.water.overflow_litres),
            ("water.raw_per_litre", f.water.raw_per_litre),
            ("drum.spin_up_ms", f.drum.spin_up_ms),
            ("drum.coast_ms", f.drum.coast_ms),
            ("drum.pulses_per_rev", f.drum.pulses_per_rev),
            ("sensors.sample_ms", f.sensors.sample_ms as f64),
        ];
        let curve = [
            ("water.c0", f.water.c0),
            ("water.c1", f.water.c1),
            ("water.c2", f.water.c2),
        ];
        if let Some((key, v)) = curve.iter().find(|(_, v)| !v.is_finite()) {
            return Err(format!("{key}: must be a finite number, got {v}"));
        }
        if let Some((key, v)) = positive.iter().find(|(_, v)| !(*v > 0.0 && v.is_finite())) {
            return Err(format!("{key}: must be a number > 0, got {v}"));
        }
        let flows = f
            .outputs
            .iter()
            .flat_map(|o| [("inflow_lpm", o.inflow_lpm), ("drain_lpm", o.drain_lpm)]);
        let nonneg = flows.chain([("drum.nominal_rpm", f.drum.nominal_rpm)]);
        if let Some((key, v)) = nonneg.clone().find(|(_, v)| !(*v >= 0.0 && v.is_finite())) {
            return Err(format!("{key}: must be a number >= 0, got {v}"));
        }
        Ok(Profile {
            board,
            inflow_lpm: f.outputs.iter().map(|o| o.inflow_lpm).collect(),
            drain_lpm: f.outputs.iter().map(|o| o.drain_lpm).collect(),
            water: f.water,
            drum: f.drum,
            sample_ms: f.sensors.sample_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_profile_is_the_original_board() {
        let p = Profile::default_washer();
        assert_eq!(p.board, Board::washer());
        assert_eq!(p.sample_ms, 100);
    }

    #[test]
    fn bad_profiles_say_what_is_wrong() {
        let swap =
            |from: &str, to: &str| Profile::parse(&DEFAULT.replacen(from, to, 1)).unwrap_err();
        assert!(swap("pin = 8", "pin = 7").contains("two outputs use pin 7"));
        assert!(
            swap("name = \"Motor Direction\"", "name = \"Dir\"")
                .contains("no \"Motor Direction\" output")
        );
        assert!(
            swap("coast_ms = 4000.0", "coast_ms = 0.0")
                .contains("drum.coast_ms: must be a number > 0")
        );
        assert!(
            swap("inflow_lpm = 15.0", "inflow_lpm = -1.0")
                .contains("inflow_lpm: must be a number >= 0")
        );
        assert!(swap("sample_ms = 100", "sample_ms = 100\nextra = 1").contains("unknown field"));
        assert!(swap("pin = 7", "pin = \"7\"").contains("pin"));
        assert!(
            swap(
                "aliases = [\"Softener Valve\"]",
                "aliases = [\"a\", \"b\", \"c\"]"
            )
            .contains("\"Soft Valve\" has 3 aliases, at most 2")
        );
        assert!(swap("c0 = 28116.48", "c0 = nan").contains("water.c0: must be a finite number"));
    }
}
