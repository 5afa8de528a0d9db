//! What the tasks share, in two locks so that nothing slow ever holds the one the control loop
//! needs:
//!
//! - `ctl`: tumble-core's controller (the runner and its schedule) and the output pins. The
//!   control loop takes it at every wake-up; a
//!   command takes it only to apply itself (bounded work: no parsing, no formatting, no flash),
//!   the telemetry task never (it gets snapshots).
//! - `loader`: a load's turn, the cycle storage while a load has it, and the flash store. A
//!   document and a start take it first, so a parse or a flash write delays only those, never
//!   the timing; and since nothing can start a cycle without it, flash is written only with
//!   the runner idle. The control loop never takes it.
//!
//! Every task takes the clock once it holds `ctl`, so `now` never goes backwards for the runner.

use core::cell::Cell;

use critical_section::Mutex as CsMutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;
use tumble_core::board::Board;
use tumble_core::controller::{Arrival, Controller};
use tumble_core::cycle::Cycle;
use tumble_core::history::Recorder;
use tumble_core::library::Name;
use tumble_core::logline::Named;
use tumble_fw_logic::pins::MaskPins;

use crate::log::{self, warning};
use crate::outputs::Gpio;
use crate::storage::Store;

pub struct Ctl {
    pub controller: &'static mut Controller<'static>,
    pub pins: MaskPins<Gpio>,
}

pub struct Loader {
    /// The cycle storage while a load reads a document into it (the controller lends it out
    /// with `Work::Release` and takes it back with `Work::Load`); no storage otherwise.
    pub lent: Cycle<'static>,
    /// None when the flash has no `tumble` partition: nothing is stored then.
    pub store: Option<Store>,
}

/// The library program the loaded cycle came from (set by each load), for its runs' history:
/// read when a run starts, so a load that replaces a running program does not rename its run.
static PROGRAM: CsMutex<core::cell::RefCell<Option<Name>>> =
    CsMutex::new(core::cell::RefCell::new(None));

pub fn set_program(name: Option<Name>) {
    critical_section::with(|cs| *PROGRAM.borrow_ref_mut(cs) = name);
}

pub struct Shared {
    /// The runner's board, for reading frames with nothing locked.
    pub board: Board,
    pub ctl: Mutex<CriticalSectionRawMutex, Ctl>,
    pub loader: Mutex<CriticalSectionRawMutex, Loader>,
}

impl Shared {
    /// Nothing runs and nothing is waiting to start: flash may be read and written without
    /// holding up a phase (it stalls interrupts). Hold the loader to keep it so: no cycle
    /// starts without it.
    pub async fn idle(&self) -> bool {
        self.ctl.lock().await.controller.is_quiet()
    }
}

/// A command changed the runner: the control loop re-arms its alarm.
pub static WAKE: Signal<CriticalSectionRawMutex, ()> = Signal::new();

/// Phase notices with their names, on their way to the log. Every notice goes through here, in
/// the order the runner gave them; the telemetry task puts them into words every 100 ms, by
/// when a cycle of zero-length phases may have given more: those are counted, not kept.
pub static NOTICES: Channel<CriticalSectionRawMutex, Named, LOG_NOTICES> = Channel::new();
/// 96 bytes each; the controller keeps up to `controller::MAX_NOTICES` more.
const LOG_NOTICES: usize = 4;
/// Notices the controller had no room for, for the log to say so.
static LOST: CsMutex<Cell<u32>> = CsMutex::new(Cell::new(0));

impl Ctl {
    /// Hands the controller's notices to the log: copies, nothing is formatted while the
    /// controller is held.
    pub fn forward_notices(&mut self) {
        // What does not fit waits in the controller's own queue for the next wake-up.
        while !NOTICES.is_full() {
            let Some(n) = self.controller.poll_notice() else {
                break;
            };
            let _ = NOTICES.try_send(n);
        }
        let lost = self.controller.lost_notices();
        if lost > 0 {
            critical_section::with(|cs| {
                let l = LOST.borrow(cs);
                l.set(l.get().saturating_add(lost));
            });
        }
    }
}

/// Frames read so far, by every transport: each command's [`Arrival`], so that one read before
/// a stop that was applied first starts nothing.
static ARRIVALS: CsMutex<Cell<u64>> = CsMutex::new(Cell::new(1));

pub fn arrival() -> Arrival {
    critical_section::with(|cs| {
        let n = ARRIVALS.borrow(cs);
        n.set(n.get() + 1);
        Arrival(n.get())
    })
}

/// Writes the notices waiting in `NOTICES` to the log (in thread mode), and puts the runs
/// together from them, `program` the library program of the run in progress. Stops at a
/// run's end and returns true (`recorder.ended()`): the caller writes it down before the next
/// notice could start another.
pub fn log_notices(recorder: &mut Recorder, program: &mut Option<Name>) -> bool {
    let mut ended = false;
    while !ended && let Ok(n) = NOTICES.try_receive() {
        if !recorder.in_run() {
            *program = critical_section::with(|cs| PROGRAM.borrow_ref(cs).clone());
        }
        ended = recorder.notice(&n);
        #[cfg(feature = "mqtt")]
        crate::mqtt::event(&n);
        let line = n.line();
        log::emit(
            line.level,
            line.at,
            "cycle",
            format_args!("{}", line.message),
        );
    }
    let lost = critical_section::with(|cs| LOST.borrow(cs).replace(0));
    if lost > 0 {
        warning!(
            "cycle",
            "{lost} phase notices were not logged (too many at once)"
        );
    }
    ended
}
