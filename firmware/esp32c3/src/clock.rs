//! The controller's clock: microseconds since boot, from the embassy time driver (esp-rtos,
//! 1 MHz), as tumble-core's `Instant`. The runner, the alarm, the sensors and the log all use
//! this one.

use tumble_core::time::Instant;

pub fn now() -> Instant {
    Instant::from_micros(embassy_time::Instant::now().as_micros())
}
