//! The controller the tasks share: the runner, its spare cycle storage, the output pins and the
//! flash store, behind one async mutex. The control loop, each command and the telemetry task
//! take it in turn, read the clock once they hold it (so `now` never goes backwards for the
//! runner), and let go before any network or UART wait.

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;
use tumble_core::cycle::Cycle;
use tumble_core::logline;
use tumble_core::runner::Runner;
use tumble_fw_logic::pins::MaskPins;

use crate::log::{self, warning};
use crate::outputs::Gpio;
use crate::storage::Store;

pub struct Ctl {
    pub runner: &'static mut Runner,
    /// Where a new cycle is parsed before it replaces the loaded one (in reclaimed RAM).
    pub spare: &'static mut Cycle,
    pub pins: MaskPins<Gpio>,
    /// None when the flash has no `tumble` partition: nothing is stored then.
    pub store: Option<Store>,
}

pub type Shared = Mutex<CriticalSectionRawMutex, Ctl>;

/// A command changed the runner: the control loop re-arms its alarm.
pub static WAKE: Signal<CriticalSectionRawMutex, ()> = Signal::new();

impl Ctl {
    /// Logs the phase notices the runner gave since the last call, with the names of the
    /// cycle they are about (the replaced one, for the notices of a reload).
    pub fn log_notices(&mut self) {
        let (notices, lost) = self.pins.drain_notices();
        if !notices.is_empty() {
            let cycle: &Cycle = if logline::about_replaced_cycle(&notices) {
                self.spare
            } else {
                self.runner.cycle()
            };
            for n in &notices {
                let line = logline::describe(*n, cycle);
                log::emit(
                    line.level,
                    line.at_us,
                    "cycle",
                    format_args!("{}", line.message),
                );
            }
        }
        if lost > 0 {
            warning!(
                "cycle",
                "{lost} phase notices were not logged (too many at once)"
            );
        }
    }
}
