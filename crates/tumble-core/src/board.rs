//! The board profile: which outputs exist, on which pins, at which active level, and the motor
//! interlock. It is data, not code, so a machine wired differently needs a profile, not a fork.

use core::fmt;

use crate::sensor::LevelCurve;

/// Most outputs a board may name.
pub const MAX_OUTPUTS: usize = 16;
/// Longest output name or alias, in bytes.
pub const MAX_NAME: usize = 32;
/// Aliases per output.
pub const MAX_ALIASES: usize = 2;

/// An output's name or alias, as a component's compId names it (at most [`MAX_NAME`] bytes).
pub type Name = heapless::String<MAX_NAME>;

/// An output of the board, by its index in the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutputId(u8);

impl OutputId {
    /// Its position in the profile: the index into per-output arrays (levels, telemetry).
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub(crate) const fn from_index(i: u8) -> Self {
        OutputId(i)
    }
}

/// An electrical level on a pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// The pin driven to 0 (the load ON on an active-low relay board).
    Low = 0,
    /// The pin driven to 1 (the load OFF on an active-low relay board).
    High = 1,
}

impl Level {
    /// 0 or 1, as a GPIO driver and the telemetry levels take it.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// High for true: a raw pin level, not ON/OFF (for that, see [`OutputDef::level`]).
    pub fn from_bool(high: bool) -> Self {
        if high { Level::High } else { Level::Low }
    }
}

/// One output of a board profile: the names cycles use for it, its pin and its active level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputDef {
    /// What a component's compId calls it, e.g. "Cold Valve"; case is ignored when matching.
    pub name: Name,
    /// Other names it answers to (e.g. "Softener Valve" for "Soft Valve"), matched like `name`.
    pub aliases: heapless::Vec<Name, MAX_ALIASES>,
    /// GPIO number on the chip that drives its relay; no two outputs share one.
    pub pin: u8,
    /// True when level 0 switches the load on (relay boards usually are).
    pub active_low: bool,
}

impl OutputDef {
    /// The pin level that switches the load ON (`on`) or OFF, given its active level.
    pub fn level(&self, on: bool) -> Level {
        Level::from_bool(on != self.active_low)
    }

    /// Whether the pin at `level` has the load ON.
    pub fn is_on(&self, level: Level) -> bool {
        (level == Level::High) != self.active_low
    }

    fn answers_to(&self, wanted: &str) -> bool {
        let wanted = wanted.trim();
        core::iter::once(&self.name)
            .chain(&self.aliases)
            .any(|n| n.eq_ignore_ascii_case(wanted))
    }
}

/// Why a profile cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardError {
    /// More than [`MAX_OUTPUTS`] outputs.
    TooManyOutputs,
    /// A name or alias is longer than [`MAX_NAME`] bytes.
    NameTooLong,
    /// Two outputs answer to this name (aliases count, case is ignored).
    DuplicateName(Name),
    /// Two outputs are wired to this GPIO.
    DuplicatePin(u8),
    /// No output answers to this name, which every board needs ([`MOTOR`], [`MOTOR_DIRECTION`]).
    MissingOutput(&'static str),
    /// One output answers to both "Motor" and "Motor Direction".
    MotorIsDirection,
}

impl fmt::Display for BoardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoardError::TooManyOutputs => write!(f, "more than {MAX_OUTPUTS} outputs"),
            BoardError::NameTooLong => write!(f, "an output name is longer than {MAX_NAME} bytes"),
            BoardError::DuplicateName(n) => write!(f, "two outputs answer to the name \"{n}\""),
            BoardError::DuplicatePin(p) => write!(f, "two outputs use pin {p}"),
            BoardError::MissingOutput(n) => write!(f, "the board has no \"{n}\" output"),
            BoardError::MotorIsDirection => {
                f.write_str("\"Motor\" and \"Motor Direction\" must be two different outputs")
            }
        }
    }
}

/// A validated board profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    outputs: heapless::Vec<OutputDef, MAX_OUTPUTS>,
    motor: OutputId,
    direction: OutputId,
    reverse_dead_time_ms: u32,
    level: Option<LevelCurve>,
}

/// The default board's reverse dead time: the Motor is OFF for at least this long before Motor
/// Direction turns, so the direction relay never switches under load. 100 ms covers a relay's or
/// a contactor's release (5 to 30 ms) and the arc and the motor's back-EMF after it, with margin,
/// and is short beside the seconds a wash rhythm pauses between reversals. A board profile sets
/// its own (`reverse_dead_time_ms`, 0 for none, as the original firmware had).
pub const DEFAULT_REVERSE_DEAD_TIME_MS: u32 = 100;

/// Raw pressure-ADC counts per litre of the default board's tub (as the default profile).
pub const DEFAULT_RAW_PER_LITRE: f32 = 70_000.0;

/// The motor outputs every board needs, by name: motor patterns drive them. This one switches
/// the drum motor's power.
pub const MOTOR: &str = "Motor";
/// The relay that picks the drum's turning direction (ON is CW); it may only turn while the
/// Motor is OFF, and after the reverse dead time.
pub const MOTOR_DIRECTION: &str = "Motor Direction";

impl Board {
    /// Checks a profile: unique names and pins, a "Motor" and a "Motor Direction" output.
    pub fn new(
        outputs: heapless::Vec<OutputDef, MAX_OUTPUTS>,
        reverse_dead_time_ms: u32,
    ) -> Result<Self, BoardError> {
        for (i, a) in outputs.iter().enumerate() {
            for b in &outputs[..i] {
                if a.pin == b.pin {
                    return Err(BoardError::DuplicatePin(a.pin));
                }
                let names = core::iter::once(&a.name).chain(&a.aliases);
                if let Some(n) = names.into_iter().find(|n| b.answers_to(n)) {
                    return Err(BoardError::DuplicateName(n.clone()));
                }
            }
        }
        let find = |name: &'static str| {
            outputs
                .iter()
                .position(|o| o.answers_to(name))
                .map(|i| OutputId(i as u8))
                .ok_or(BoardError::MissingOutput(name))
        };
        let (motor, direction) = (find(MOTOR)?, find(MOTOR_DIRECTION)?);
        if motor == direction {
            return Err(BoardError::MotorIsDirection);
        }
        Ok(Board {
            motor,
            direction,
            outputs,
            reverse_dead_time_ms,
            level: None,
        })
    }

    /// The board with its water-level curve, so telemetry reports litres.
    pub fn with_level(mut self, level: LevelCurve) -> Self {
        self.level = Some(level);
        self
    }

    /// How a pressure reading reads as litres, when the profile says.
    pub fn level(&self) -> Option<&LevelCurve> {
        self.level.as_ref()
    }

    /// The original firmware's wiring: eight active-low relays, and a reverse dead time of
    /// [`DEFAULT_REVERSE_DEAD_TIME_MS`] (the original had none).
    pub fn washer() -> Self {
        const WIRING: [(&str, &str, u8); 8] = [
            ("Retractor", "", 7),
            ("Detergent Valve", "", 8),
            ("Cold Valve", "", 5),
            ("Drain Pump", "", 19),
            ("Hot Valve", "", 9),
            ("Soft Valve", "Softener Valve", 18),
            (MOTOR, "", 4),
            (MOTOR_DIRECTION, "", 10),
        ];
        let outputs = WIRING
            .iter()
            .map(|&(name, alias, pin)| OutputDef {
                name: name.try_into().expect("short name"),
                aliases: (!alias.is_empty())
                    .then(|| alias.try_into().expect("short name"))
                    .into_iter()
                    .collect(),
                pin,
                active_low: true,
            })
            .collect();
        Board::new(outputs, DEFAULT_REVERSE_DEAD_TIME_MS)
            .expect("the default board is valid")
            .with_level(LevelCurve {
                curve: crate::sensor::PressureCurve::ORIGINAL,
                raw_per_litre: DEFAULT_RAW_PER_LITRE,
            })
    }

    /// Every output with its id, in profile order (the order telemetry lists levels in).
    pub fn outputs(&self) -> impl ExactSizeIterator<Item = (OutputId, &OutputDef)> {
        self.outputs
            .iter()
            .enumerate()
            .map(|(i, o)| (OutputId(i as u8), o))
    }

    /// The definition of output `id`; an id from another, larger board panics.
    pub fn output(&self, id: OutputId) -> &OutputDef {
        &self.outputs[id.index()]
    }

    /// Number of outputs in the profile.
    pub fn len(&self) -> usize {
        self.outputs.len()
    }

    /// Never true for a validated board: it has at least Motor and Motor Direction.
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }

    /// The output a compId names: case and surrounding spaces do not matter; aliases count.
    pub fn find(&self, name: &str) -> Option<OutputId> {
        self.outputs
            .iter()
            .position(|o| o.answers_to(name))
            .map(|i| OutputId(i as u8))
    }

    /// The output wired to GPIO `pin`, if any.
    pub fn by_pin(&self, pin: u8) -> Option<OutputId> {
        self.outputs
            .iter()
            .position(|o| o.pin == pin)
            .map(|i| OutputId(i as u8))
    }

    /// The output answering to [`MOTOR`]: motor patterns switch it ON for each step.
    pub fn motor(&self) -> OutputId {
        self.motor
    }

    /// The output answering to [`MOTOR_DIRECTION`]: motor patterns set it before each step.
    pub fn direction(&self) -> OutputId {
        self.direction
    }

    /// Milliseconds the motor must be OFF before its direction may change; 0 = not enforced.
    pub fn reverse_dead_time_ms(&self) -> u32 {
        self.reverse_dead_time_ms
    }

    /// The names for an error message: "Retractor, Detergent Valve, ...".
    pub fn names(&self) -> NameList<'_> {
        NameList(self)
    }
}

/// Displays a board's output names, comma separated.
pub struct NameList<'a>(&'a Board);

impl fmt::Display for NameList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (_, o)) in self.0.outputs().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&o.name)?;
        }
        Ok(())
    }
}

/// The latest sensor readings; `None` when a sensor has no valid reading.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Readings {
    /// Drum speed, revolutions per minute.
    pub rpm: Option<f32>,
    /// Water-level pressure as the original's pseudo-frequency (Hz); it falls as the level rises.
    pub pressure_hz: Option<f32>,
}

/// The platform's sensors. A platform samples them (every 100 ms, say) and hands the readings to
/// the runner; the runner never reads hardware itself.
pub trait Sensors {
    /// Samples every sensor; `now` is the platform's monotonic time, as RPM needs it.
    fn read(&mut self, now: crate::time::Instant) -> Readings;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_board_matches_the_original_wiring() {
        let b = Board::washer();
        let pins: std::vec::Vec<u8> = b.outputs().map(|(_, o)| o.pin).collect();
        assert_eq!(pins, [7, 8, 5, 19, 9, 18, 4, 10]);
        assert_eq!(b.output(b.motor()).pin, 4);
        assert_eq!(b.output(b.direction()).pin, 10);
        assert!(b.outputs().all(|(_, o)| o.level(false) == Level::High));
        assert_eq!(b.reverse_dead_time_ms(), DEFAULT_REVERSE_DEAD_TIME_MS);
    }

    #[test]
    fn names_match_loosely_and_aliases_count() {
        let b = Board::washer();
        assert_eq!(b.find("  cold VALVE "), b.find("Cold Valve"));
        assert_eq!(b.find("Softener Valve"), b.find("Soft Valve"));
        assert!(b.find("Soft Valve").is_some());
        assert_eq!(b.find("Pump"), None);
        assert_eq!(b.find("Cold  Valve"), None);
    }

    #[test]
    fn bad_profiles_are_refused() {
        let def = |name: &str, pin| OutputDef {
            name: name.try_into().unwrap(),
            aliases: heapless::Vec::new(),
            pin,
            active_low: true,
        };
        let mk = |defs: &[OutputDef]| Board::new(defs.iter().cloned().collect(), 0);
        assert_eq!(
            mk(&[def("Motor", 1), def("Motor Direction", 1)]),
            Err(BoardError::DuplicatePin(1))
        );
        assert_eq!(
            mk(&[def("Motor", 1), def("motor", 2)]),
            Err(BoardError::DuplicateName("motor".try_into().unwrap()))
        );
        assert_eq!(
            mk(&[def("Motor", 1)]),
            Err(BoardError::MissingOutput("Motor Direction"))
        );
        assert!(mk(&[def("Motor", 1), def("Motor Direction", 2)]).is_ok());
        let mut both = def("Motor", 1);
        both.aliases
            .push("Motor Direction".try_into().unwrap())
            .unwrap();
        assert_eq!(mk(&[both]), Err(BoardError::MotorIsDirection));
    }
}
