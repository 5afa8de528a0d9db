//! The one alarm that drives the runner. It runs as the only task of a high-priority interrupt
//! executor (esp-rtos, software interrupt FROM_CPU_INTR1), so it preempts the network, the
//! console and the Wi-Fi threads the moment its deadline comes: an embassy `Timer::at` on the
//! earliest of the runner's `poll_timeout()`, the next sensor sample and the next telemetry
//! tick, `LEAD_US` early. A command that changes the runner signals `WAKE` and the alarm is
//! re-armed. No heap, no per-event timers: a 1,000,000-event phase is one deadline at a time,
//! like a 10-event one.
//!
//! What a wake-up does is `tumble_fw_logic::alarm::Alarm::wake`, tested on the host: the
//! instant worked out by tumble-core's `Controller` with the pins held, then written at its
//! time in one register pair. Here: the clock, the lock, the sensors, the watchdogs. The loop
//! holds the controller only while it does that, and formats nothing: it hands the telemetry
//! task a snapshot and the log the notices with their names (copies), and both are put into
//! words in thread mode.

use embassy_futures::select::select;
use embassy_time::Timer;
use esp_hal::peripherals::TIMG0;
use esp_hal::rtc_cntl::Rwdt;
use esp_hal::timer::timg::Wdt;
use tumble_core::time::Duration;
use tumble_fw_logic::alarm::Alarm;

use crate::clock::now;
use crate::config::{HEARTBEAT_MAX_US, LEAD_US};
use crate::sensors::BoardSensors;
use crate::shared::{Shared, WAKE};

pub struct Watchdogs {
    /// Timer-group watchdog: fed on every wake-up (at least every 100 ms).
    pub mwdt: Wdt<TIMG0<'static>>,
    /// RTC watchdog: fed while the thread-mode executor is alive too.
    pub rwdt: Rwdt,
}

#[embassy_executor::task]
pub async fn alarm(shared: &'static Shared, mut sensors: BoardSensors, mut dogs: Watchdogs) {
    let mut alarm = Alarm::new(Duration::from_micros(LEAD_US));
    loop {
        // The one alarm. A command may have moved the runner's next deadline: WAKE re-arms.
        let at = embassy_time::Instant::from_micros(alarm.wake_at().as_micros());
        select(Timer::at(at), WAKE.wait()).await;
        let snapshot = {
            let mut c = shared.ctl.lock().await;
            let ctl = &mut *c;
            let snapshot = alarm.wake(ctl.controller, &mut ctl.pins, &mut sensors, &mut now);
            ctl.forward_notices();
            // A copy of the runner's state: the telemetry task formats it without the lock.
            snapshot
        };
        if let Some(s) = snapshot {
            crate::telemetry::SNAPSHOT.signal(s);
        }
        dogs.mwdt.feed();
        let quiet = now().saturating_duration_since(crate::telemetry::heartbeat());
        if quiet < Duration::from_micros(HEARTBEAT_MAX_US) {
            dogs.rwdt.feed();
        }
    }
}
