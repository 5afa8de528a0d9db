//! Turning raw sensor signals into the readings triggers compare: drum RPM from pulse timing,
//! water level from the pressure ADC. Shared by the firmware (real pulses and ADC samples) and
//! the host simulator (simulated ones), so both read the drum and the water the same way.

use crate::time::{Duration, Instant};

/// Pulses closer than this to the previous accepted one are contact bounce (as the original).
pub const DEBOUNCE: Duration = Duration::from_micros(2_000);
/// No pulse for this long reads as a stopped drum.
pub const STOPPED_AFTER: Duration = Duration::from_micros(2_000_000);
/// Faster readings are noise, not spin (the original's cut-off).
pub const MAX_VALID_RPM: f32 = 1500.0;

/// Drum speed from the times of a tachometer's pulses, the original firmware's way: the last
/// three accepted pulses give two intervals, each interval a speed, invalid speeds are dropped
/// and the valid ones averaged. Fixed size; no allocation.
#[derive(Debug, Clone)]
pub struct RpmMeter {
    /// Latest accepted pulse times, oldest first.
    pulses: [Instant; 3],
    count: usize,
    pulses_per_rev: f32,
}

impl RpmMeter {
    /// A meter with no pulses yet; `pulses_per_rev`: tachometer pulses per drum revolution.
    pub fn new(pulses_per_rev: f32) -> Self {
        RpmMeter {
            pulses: [Instant::from_micros(0); 3],
            count: 0,
            pulses_per_rev,
        }
    }

    /// A pulse edge at `at`. Returns false when it was rejected as bounce.
    pub fn pulse(&mut self, at: Instant) -> bool {
        if self.count > 0 && at.saturating_duration_since(self.pulses[2]) < DEBOUNCE {
            return false;
        }
        self.pulses.rotate_left(1);
        self.pulses[2] = at;
        self.count = (self.count + 1).min(3);
        true
    }

    /// Speed at `now`, in revolutions per minute (0 when stopped or unknown).
    pub fn rpm(&self, now: Instant) -> f32 {
        if self.count < 3 || now.saturating_duration_since(self.pulses[2]) > STOPPED_AFTER {
            return 0.0;
        }
        let mut sum = 0.0;
        let mut valid = 0;
        for w in self.pulses.windows(2) {
            let interval = (w[1] - w[0]).as_micros();
            if interval == 0 {
                continue;
            }
            let rpm = 60_000_000.0 / interval as f32 / self.pulses_per_rev;
            if rpm <= MAX_VALID_RPM {
                sum += rpm;
                valid += 1;
            }
        }
        if valid == 0 { 0.0 } else { sum / valid as f32 }
    }

    /// Forgets the pulses seen: the speed reads 0 until three new ones arrive.
    pub fn reset(&mut self) {
        self.count = 0;
    }
}

/// The original's mapping from the HX710 pressure ADC to a pseudo-frequency that imitates a
/// classic washer level switch: f = c0 - c1·raw - c2·raw², falling as the water rises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PressureCurve {
    /// The frequency at a raw reading of 0, in Hz.
    pub c0: f32,
    /// Hz lost per ADC count.
    pub c1: f32,
    /// Hz lost per ADC count squared.
    pub c2: f32,
}

impl PressureCurve {
    /// The coefficients of the original firmware.
    pub const ORIGINAL: PressureCurve = PressureCurve {
        c0: 28_116.48,
        c1: 0.001_418,
        c2: 7e-11,
    };

    /// The pseudo-frequency (Hz) for a raw ADC reading: what pressure triggers compare.
    pub fn hz(&self, raw: f32) -> f32 {
        self.c0 - self.c1 * raw - self.c2 * raw * raw
    }

    /// The raw reading that gives `hz` (the curve inverted; it falls as raw grows), never
    /// below 0.
    pub fn raw(&self, hz: f32) -> f32 {
        let drop = (self.c0 - hz).max(0.0);
        if self.c2 <= 0.0 {
            return if self.c1 > 0.0 { drop / self.c1 } else { 0.0 };
        }
        // c2·r² + c1·r - drop = 0, the positive root.
        let disc = self.c1 * self.c1 + 4.0 * self.c2 * drop;
        ((sqrt(disc) - self.c1) / (2.0 * self.c2)).max(0.0)
    }
}

/// How much water a pressure reading means: the board's curve and its raw counts per litre
/// (the board profile's `water` section), so telemetry and the page can say litres, not Hz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelCurve {
    /// Raw reading to pseudo-frequency.
    pub curve: PressureCurve,
    /// Raw ADC counts per litre in the tub.
    pub raw_per_litre: f32,
}

impl LevelCurve {
    /// Litres in the tub for a pressure reading of `hz`.
    pub fn litres(&self, hz: f32) -> f32 {
        if self.raw_per_litre > 0.0 {
            self.curve.raw(hz) / self.raw_per_litre
        } else {
            0.0
        }
    }
}

/// Square root without std: Newton's method from a power-of-two first guess (converges in a
/// few steps for the magnitudes a curve gives).
fn sqrt(x: f32) -> f32 {
    if x <= 0.0 || !x.is_finite() {
        return 0.0;
    }
    let mut r = f32::from_bits((x.to_bits() >> 1) + (127 << 22));
    for _ in 0..6 {
        r = 0.5 * (r + x / r);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn litres_invert_the_curve() {
        let level = LevelCurve {
            curve: PressureCurve::ORIGINAL,
            raw_per_litre: 70_000.0,
        };
        for litres in [0.0f32, 1.0, 20.0, 60.0] {
            let hz = level.curve.hz(litres * 70_000.0);
            assert!(
                (level.litres(hz) - litres).abs() < 0.01,
                "{litres}: {}",
                level.litres(hz)
            );
        }
        // Above the empty tub's frequency: no water, not negative water.
        assert_eq!(level.litres(30_000.0), 0.0);
        assert!((sqrt(2.0) - core::f32::consts::SQRT_2).abs() < 1e-6);
    }

    #[test]
    fn rpm_from_pulse_intervals() {
        let mut m = RpmMeter::new(1.0);
        assert_eq!(m.rpm(Instant::from_micros(0)), 0.0);
        m.pulse(Instant::from_micros(0));
        m.pulse(Instant::from_micros(1_000_000));
        assert_eq!(
            m.rpm(Instant::from_micros(1_000_000)),
            0.0,
            "three pulses are needed"
        );
        m.pulse(Instant::from_micros(2_000_000));
        assert_eq!(m.rpm(Instant::from_micros(2_000_000)), 60.0);
        m.pulse(Instant::from_micros(2_500_000)); // intervals 1 s and 0.5 s: 60 and 120 rpm
        assert_eq!(m.rpm(Instant::from_micros(2_500_000)), 90.0);
        assert_eq!(m.rpm(Instant::from_micros(4_500_000)), 90.0);
        assert_eq!(
            m.rpm(Instant::from_micros(4_500_001)),
            0.0,
            "stopped after 2 s without a pulse"
        );
    }

    #[test]
    fn bounce_and_implausible_speeds_are_ignored() {
        let mut m = RpmMeter::new(2.0);
        for t in [0, 100_000, 101_000, 200_000] {
            m.pulse(Instant::from_micros(t));
        }
        // 101,000 was bounce; 100 ms per pulse at 2 pulses per rev = 300 rpm.
        assert_eq!(m.rpm(Instant::from_micros(200_000)), 300.0);
        m.pulse(Instant::from_micros(230_000)); // 30 ms → 1000 rpm: valid
        m.pulse(Instant::from_micros(250_000)); // 20 ms → 1500 rpm: valid, 19 ms would not be
        assert_eq!(m.rpm(Instant::from_micros(250_000)), 1250.0);
        m.pulse(Instant::from_micros(268_000)); // 18 ms → 1666 rpm: dropped, the other interval counts
        assert_eq!(m.rpm(Instant::from_micros(268_000)), 1500.0);
        m.reset();
        assert_eq!(m.rpm(Instant::from_micros(268_000)), 0.0);
    }

    #[test]
    fn pressure_curve_is_the_originals() {
        let c = PressureCurve::ORIGINAL;
        assert_eq!(c.hz(0.0), 28_116.48);
        let r = 1_000_000.0;
        assert!((c.hz(r) - (28_116.48 - 1418.0 - 70.0)).abs() < 0.01);
    }
}
