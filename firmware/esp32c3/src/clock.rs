//! The controller's clock: microseconds since boot, from the embassy time driver (esp-rtos,
//! 1 MHz). The runner, the alarm, the sensors and the log all use this one.

pub fn now_us() -> u64 {
    embassy_time::Instant::now().as_micros()
}
