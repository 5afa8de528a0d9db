//! Time at the core's boundary, in the manner of embassy-time: an [`Instant`] on the platform's
//! monotonic clock and a [`Duration`] between two of them, both whole microseconds in a `u64`.
//! The core reads no clock: a platform makes its `Instant`s from its own (µs since its boot, its
//! start, or any fixed point it likes) and hands them in.
//!
//! Plain `+` and `-` behave as `u64` arithmetic does (an overflow is a bug of the caller: it
//! panics in a debug build); the `saturating_` operations stop at 0 and at `u64::MAX`, where
//! running past the end of time is expected (a deadline pushed out by a long delay, a reading
//! taken before the pulse it is compared with).

use core::ops::{Add, AddAssign, Sub};

/// A point in time: µs since the platform's epoch (its boot, for the firmware).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Instant(u64);

/// A span of time, in µs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Duration(u64);

impl Instant {
    /// The last instant there is: a deadline that never comes.
    pub const MAX: Instant = Instant(u64::MAX);

    /// The instant `micros` µs after the epoch.
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }

    /// µs since the epoch.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Whole ms since the epoch, rounded down.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1000
    }

    /// How long after `earlier` this is; zero when it is not after it.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// `d` before this, or the epoch when that is before it.
    pub const fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d.0))
    }

    /// `d` after this, or [`Instant::MAX`] when that is past the end of time.
    pub const fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);

    /// `micros` µs.
    pub const fn from_micros(micros: u64) -> Self {
        Duration(micros)
    }

    /// `millis` ms; [`u64::MAX`] µs when that many µs do not fit.
    pub const fn from_millis(millis: u64) -> Self {
        Duration(millis.saturating_mul(1000))
    }

    /// In µs.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// In whole ms, rounded down.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1000
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d.0)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 += d.0;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    fn sub(self, d: Duration) -> Instant {
        Instant(self.0 - d.0)
    }
}

/// The time from `earlier` to this; `earlier` must not be later (see
/// [`Instant::saturating_duration_since`]).
impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, earlier: Instant) -> Duration {
        Duration(self.0 - earlier.0)
    }
}

impl Add for Duration {
    type Output = Duration;

    fn add(self, d: Duration) -> Duration {
        Duration(self.0 + d.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_and_micros() {
        assert_eq!(Duration::from_millis(3).as_micros(), 3_000);
        assert_eq!(Duration::from_micros(2_999).as_millis(), 2);
        assert_eq!(Duration::from_micros(3_000).as_millis(), 3);
        assert_eq!(Duration::from_millis(0), Duration::ZERO);
        assert_eq!(Instant::from_micros(5_000_999).as_millis(), 5_000);
        assert_eq!(Instant::from_micros(7).as_micros(), 7);
        assert_eq!(Instant::default(), Instant::from_micros(0));
        assert_eq!(Duration::default(), Duration::ZERO);
    }

    #[test]
    fn from_millis_saturates_at_the_end_of_time() {
        let most = u64::MAX / 1000;
        assert_eq!(Duration::from_millis(most).as_micros(), most * 1000);
        assert_eq!(Duration::from_millis(most + 1).as_micros(), u64::MAX);
        assert_eq!(Duration::from_millis(u64::MAX).as_micros(), u64::MAX);
        assert_eq!(Duration::from_micros(u64::MAX).as_millis(), most);
    }

    #[test]
    fn saturating_operations_stop_at_both_ends() {
        let (early, late) = (Instant::from_micros(1_000), Instant::from_micros(1_500));
        assert_eq!(
            late.saturating_duration_since(early),
            Duration::from_micros(500)
        );
        assert_eq!(early.saturating_duration_since(late), Duration::ZERO);
        assert_eq!(early.saturating_duration_since(early), Duration::ZERO);
        assert_eq!(
            Instant::MAX.saturating_duration_since(Instant::from_micros(0)),
            Duration::from_micros(u64::MAX)
        );
        assert_eq!(
            early.saturating_add(Duration::from_micros(500)),
            Instant::from_micros(1_500)
        );
        assert_eq!(
            Instant::MAX.saturating_add(Duration::from_micros(1)),
            Instant::MAX
        );
        assert_eq!(
            late.saturating_add(Duration::from_micros(u64::MAX)),
            Instant::MAX
        );
        assert_eq!(Instant::MAX.as_micros(), u64::MAX);
    }

    #[test]
    fn plain_arithmetic_is_exact() {
        let t = Instant::from_micros(10);
        let d = Duration::from_micros(4);
        assert_eq!(t + d, Instant::from_micros(14));
        assert_eq!(t - d, Instant::from_micros(6));
        assert_eq!(t - Instant::from_micros(3), Duration::from_micros(7));
        assert_eq!(d + d, Duration::from_micros(8));
        let mut u = t;
        u += d;
        assert_eq!(u, Instant::from_micros(14));
        assert_eq!(
            Instant::from_micros(u64::MAX - 1) + Duration::from_micros(1),
            Instant::MAX
        );
        assert_eq!(t - t, Duration::ZERO);
    }

    #[test]
    #[should_panic]
    #[cfg(debug_assertions)]
    fn plain_add_past_the_end_of_time_is_a_bug() {
        let _ = Instant::MAX + Duration::from_micros(1);
    }

    #[test]
    #[should_panic]
    #[cfg(debug_assertions)]
    fn plain_sub_before_the_epoch_is_a_bug() {
        let _ = Instant::from_micros(1) - Instant::from_micros(2);
    }

    #[test]
    fn ordered_as_their_micros() {
        assert!(Instant::from_micros(1) < Instant::from_micros(2));
        assert!(Instant::from_micros(2) < Instant::MAX);
        assert!(Duration::ZERO < Duration::from_micros(1));
        assert_eq!(
            Instant::from_micros(3).min(Instant::MAX),
            Instant::from_micros(3)
        );
        assert_eq!(
            Duration::from_millis(1).max(Duration::from_micros(999)),
            Duration::from_micros(1_000)
        );
    }
}
