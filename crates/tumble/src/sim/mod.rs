//! The simulated washer: the same output and sensor traits the firmware implements, over a
//! water model and a drum model, so cycles can be designed and tried without hardware.

pub mod profile;

use tumble_core::board::{Readings, Sensors};
use tumble_core::runner::{OutputChange, Outputs};
use tumble_core::sensor::RpmMeter;
use tumble_core::time::{Duration, Instant};

pub use profile::Profile;

/// Physics advance in steps of at most this long; both models are exact within a step.
const STEP_US: u64 = 10_000;

pub struct Washer {
    profile: Profile,
    /// Per output index: is it ON?
    on: Vec<bool>,
    motor: usize,
    /// Where the physics stands (the controller's clock).
    t: Instant,
    level_litres: f64,
    rpm: f64,
    /// Tachometer pulses so far, fractional.
    pulse_phase: f64,
    meter: RpmMeter,
}

impl Washer {
    pub fn new(profile: Profile) -> Self {
        Washer {
            on: vec![false; profile.board.len()],
            motor: profile.board.motor().index(),
            meter: RpmMeter::new(profile.drum.pulses_per_rev as f32),
            profile,
            t: Instant::from_micros(0),
            level_litres: 0.0,
            rpm: 0.0,
            pulse_phase: 0.0,
        }
    }

    pub fn level_litres(&self) -> f64 {
        self.level_litres
    }

    /// The drum's true speed (the sensor reads it through pulse timing).
    pub fn drum_rpm(&self) -> f64 {
        self.rpm
    }

    /// Runs the physics up to `t` (never backwards).
    pub fn advance_to(&mut self, t: Instant) {
        while self.t < t {
            let dt = (t - self.t).as_micros().min(STEP_US);
            self.step(dt);
        }
    }

    fn step(&mut self, dt_us: u64) {
        let minutes = dt_us as f64 / 60e6;
        let inflow: f64 = self.flow(&self.profile.inflow_lpm);
        let drain: f64 = self.flow(&self.profile.drain_lpm);
        self.level_litres = (self.level_litres + (inflow - drain) * minutes)
            .clamp(0.0, self.profile.water.overflow_litres);

        // First-order response towards the target speed, integrated exactly over the step.
        let d = self.profile.drum;
        let (target, tau_ms) = if self.on[self.motor] {
            (d.nominal_rpm, d.spin_up_ms)
        } else {
            (0.0, d.coast_ms)
        };
        let tau_min = tau_ms / 60_000.0;
        let decay = (-minutes / tau_min).exp();
        let revs = target * minutes + (self.rpm - target) * tau_min * (1.0 - decay);
        self.rpm = target + (self.rpm - target) * decay;
        if self.rpm < 1e-3 && target == 0.0 {
            self.rpm = 0.0;
        }
        self.emit_pulses(revs * d.pulses_per_rev, dt_us);
        self.t += Duration::from_micros(dt_us);
    }

    /// Tachometer edges for `pulses` (fractional) turning over in the step, timed by linear
    /// interpolation inside it.
    fn emit_pulses(&mut self, pulses: f64, dt_us: u64) {
        if pulses <= 0.0 {
            return;
        }
        let start = self.pulse_phase;
        let end = start + pulses;
        let mut next = start.floor() + 1.0;
        while next <= end {
            let into = Duration::from_micros(((next - start) / pulses * dt_us as f64) as u64);
            self.meter.pulse(self.t + into);
            next += 1.0;
        }
        self.pulse_phase = end;
    }

    fn flow(&self, per_output: &[f64]) -> f64 {
        per_output
            .iter()
            .zip(&self.on)
            .filter(|(_, on)| **on)
            .map(|(f, _)| f)
            .sum()
    }
}

impl Outputs for Washer {
    fn set(&mut self, change: OutputChange) {
        self.advance_to(change.due);
        self.on[change.output.index()] = change.on;
    }
}

impl Sensors for Washer {
    fn read(&mut self, now: Instant) -> Readings {
        self.advance_to(now);
        let raw = self.level_litres * self.profile.water.raw_per_litre;
        Readings {
            rpm: Some(self.meter.rpm(now)),
            pressure_hz: Some(self.profile.water.curve().hz(raw as f32)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tumble_core::board::Board;

    fn washer() -> (Washer, Board) {
        let p = Profile::default_washer();
        let b = p.board.clone();
        (Washer::new(p), b)
    }

    fn switch(w: &mut Washer, b: &Board, name: &str, on: bool, at_us: u64) {
        let due = Instant::from_micros(at_us);
        let output = b.find(name).unwrap();
        let def = b.output(output);
        w.set(OutputChange {
            output,
            pin: def.pin,
            level: def.level(on),
            on,
            due,
        });
    }

    #[test]
    fn valves_fill_and_the_pump_drains_by_the_profile_flows() {
        let (mut w, b) = washer();
        switch(&mut w, &b, "Cold Valve", true, 0);
        w.advance_to(Instant::from_micros(60_000_000)); // 1 min at 15 L/min
        assert!((w.level_litres() - 15.0).abs() < 1e-9);
        switch(&mut w, &b, "Hot Valve", true, 60_000_000);
        w.advance_to(Instant::from_micros(120_000_000)); // + 1 min at 30 L/min = 45 L
        assert!((w.level_litres() - 45.0).abs() < 1e-9);
        w.advance_to(Instant::from_micros(180_000_000)); // capped at the 60 L overflow
        assert_eq!(w.level_litres(), 60.0);
        switch(&mut w, &b, "Cold Valve", false, 180_000_000);
        switch(&mut w, &b, "Hot Valve", false, 180_000_000);
        switch(&mut w, &b, "Drain Pump", true, 180_000_000);
        w.advance_to(Instant::from_micros(210_000_000)); // 30 s at 40 L/min = 20 L out
        assert!((w.level_litres() - 40.0).abs() < 1e-9);
        w.advance_to(Instant::from_micros(600_000_000));
        assert_eq!(w.level_litres(), 0.0, "never below empty");
    }

    #[test]
    fn the_pressure_reading_follows_the_original_curve() {
        let (mut w, b) = washer();
        assert!((w.read(Instant::from_micros(0)).pressure_hz.unwrap() - 28_116.48).abs() < 0.01);
        switch(&mut w, &b, "Cold Valve", true, 0);
        // 20 L = 1.4e6 raw: 28116.48 - 1985.2 - 137.2 = 25994.08 Hz
        let hz = w
            .read(Instant::from_micros(80_000_000))
            .pressure_hz
            .unwrap();
        assert!((hz - 25_994.08).abs() < 0.5, "{hz}");
    }

    #[test]
    fn the_drum_spins_up_and_coasts_with_its_time_constants() {
        let (mut w, b) = washer();
        switch(&mut w, &b, "Motor", true, 0);
        w.advance_to(Instant::from_micros(1_500_000)); // one time constant: 1 - 1/e of 55 rpm
        let expect = 55.0 * (1.0 - (-1.0f64).exp());
        assert!((w.drum_rpm() - expect).abs() < 1e-6, "{}", w.drum_rpm());
        w.advance_to(Instant::from_micros(30_000_000));
        assert!((w.drum_rpm() - 55.0).abs() < 1e-6);
        // The tachometer sees a pulse every 60/55 s: the meter reads 55 rpm (within rounding).
        let rpm = w.read(Instant::from_micros(30_000_000)).rpm.unwrap();
        assert!((rpm - 55.0).abs() < 0.1, "{rpm}");
        switch(&mut w, &b, "Motor", false, 30_000_000);
        w.advance_to(Instant::from_micros(34_000_000)); // one coast time constant
        assert!((w.drum_rpm() - 55.0 * (-1.0f64).exp()).abs() < 1e-6);
        // Long after it stopped, no pulse for 2 s reads 0 rpm, as the real sensor does.
        assert_eq!(w.read(Instant::from_micros(120_000_000)).rpm, Some(0.0));
    }
}
