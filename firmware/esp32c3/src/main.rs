//! Tumble on the ESP32-C3: tumble-core's runner on the chip, with the cycle format, protocol and
//! behaviour of `tumble serve`. See docs/firmware.md.
//!
//! Build: `cargo build --release` (Wi-Fi),
//!        `cargo build --release --no-default-features --features no-wifi` or, for the emulator,
//!        `cargo build --release --no-default-features --features emu`.
#![no_std]
// The web task's future (picoserve's router, the WebSocket, a command) nests deeper than the
// default limit lets the compiler lay it out.
#![recursion_limit = "256"]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]

// Features only add, so `--features no-wifi` on top of the default `wifi` would still build the
// radio: refuse that instead of building something other than what was asked for. Exactly one
// of `wifi`, `no-wifi` and `emu`.
#[cfg(all(feature = "wifi", feature = "no-wifi"))]
compile_error!(
    "`no-wifi` is on together with the default `wifi`: build without Wi-Fi with `--no-default-features --features no-wifi`"
);
#[cfg(all(feature = "wifi", feature = "emu"))]
compile_error!(
    "`emu` is on together with the default `wifi`: build for the emulator with `--no-default-features --features emu`"
);
#[cfg(all(feature = "no-wifi", feature = "emu"))]
compile_error!("`no-wifi` and `emu` are two builds: choose one");
#[cfg(not(any(feature = "wifi", feature = "no-wifi", feature = "emu")))]
compile_error!(
    "choose `wifi` (the default), `--no-default-features --features no-wifi` or `--no-default-features --features emu`"
);

#[cfg(feature = "wifi")]
extern crate alloc;

mod log;

mod board;
mod clock;
mod commands;
mod config;
mod console;
mod control;
#[cfg(feature = "emu")]
mod emu;
mod history;
mod memory;
#[cfg(feature = "mqtt")]
mod mqtt;
#[cfg(feature = "web")]
mod net;
#[cfg(feature = "emu")]
mod open_eth;
mod outputs;
mod sensors;
mod shared;
mod storage;
mod telemetry;
mod token;
#[cfg(feature = "wifi")]
mod wifi;
mod wifi_settings;

use embassy_executor::Spawner;
use embassy_sync::mutex::Mutex;
use esp_backtrace as _;
use esp_hal::clock::CpuClock;
use esp_hal::gpio::Io;
#[cfg(not(feature = "control-thread"))]
use esp_hal::interrupt::Priority;
use esp_hal::rtc_cntl::{Rtc, RwdtStage};
use esp_hal::timer::timg::{MwdtStage, TimerGroup};
use esp_hal::uart::{Config as UartConfig, Uart};
#[cfg(not(feature = "control-thread"))]
use esp_rtos::embassy::InterruptExecutor;
use static_cell::StaticCell;
use tumble_core::controller::{Config, Controller};
use tumble_core::time::Duration;
use tumble_fw_logic::pins::MaskPins;
use tumble_fw_logic::record::Kind;

use crate::clock::now;
use crate::config::*;
use crate::log::{info, warning};
use crate::outputs::PinBank;
use crate::shared::{Ctl, Loader, Shared};

// The application descriptor the ESP-IDF second-stage bootloader and espflash expect.
esp_bootloader_esp_idf::esp_app_desc!();

static CONTROLLER: StaticCell<Controller<'static>> = StaticCell::new();
static SHARED: StaticCell<Shared> = StaticCell::new();
static CONSOLE_TX: StaticCell<console::Tx> = StaticCell::new();
#[cfg(not(feature = "control-thread"))]
static CONTROL_EXECUTOR: StaticCell<InterruptExecutor<1>> = StaticCell::new();

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
    // Everything is set up without waiting; this task then only keeps the executor alive.
    start(spawner);
    loop {
        embassy_time::Timer::after(embassy_time::Duration::from_secs(3600)).await;
    }
}

fn start(spawner: Spawner) {
    let p = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));
    // Before any other task is spawned, so `get_memory` can tell the main stack's deepest use.
    memory::paint_stack();

    // 1. Every output OFF, before anything else. GPIO18/19 are the USB D-/D+ pads: taking them
    // as outputs switches the USB-Serial-JTAG off until the next reset (docs/firmware.md).
    let board = board::board();
    let mut bank = PinBank::new([
        Some(p.GPIO0.into()),
        Some(p.GPIO1.into()),
        Some(p.GPIO2.into()),
        Some(p.GPIO3.into()),
        Some(p.GPIO4.into()),
        Some(p.GPIO5.into()),
        Some(p.GPIO6.into()),
        Some(p.GPIO7.into()),
        Some(p.GPIO8.into()),
        Some(p.GPIO9.into()),
        Some(p.GPIO10.into()),
        None, // GPIO11..17: SPI flash
        None,
        None,
        None,
        None,
        None,
        None,
        Some(p.GPIO18.into()),
        Some(p.GPIO19.into()),
        Some(p.GPIO20.into()),
        Some(p.GPIO21.into()),
    ]);
    static OUTPUTS: StaticCell<heapless::Vec<esp_hal::gpio::Output<'static>, 16>> =
        StaticCell::new();
    OUTPUTS.init(outputs::claim(&mut bank, &board));

    // 2. The watchdogs esp_hal::init turned off, back on; the control loop feeds them.
    let mut rtc = Rtc::new(p.RTC_TIMER);
    rtc.rwdt.set_timeout(
        RwdtStage::Stage0,
        esp_hal::time::Duration::from_millis(RWDT_TIMEOUT_MS),
    );
    rtc.rwdt.enable();
    rtc.rwdt.feed();
    let timg0 = TimerGroup::new(p.TIMG0);
    let mut mwdt = timg0.wdt;
    mwdt.set_timeout(
        MwdtStage::Stage0,
        esp_hal::time::Duration::from_millis(MWDT_TIMEOUT_MS),
    );
    mwdt.enable();
    mwdt.feed();

    // 3. The Wi-Fi heap, then the scheduler and time driver (needed before the radio).
    #[cfg(feature = "wifi")]
    memory::wifi_heap();
    esp_rtos::start(timg0.timer0, p.FROM_CPU_INTR0);

    // 4. The console, so everything after this is logged.
    let uart = Uart::new(p.UART0, UartConfig::default().with_baudrate(CONSOLE_BAUD))
        .expect("UART0 configuration")
        .with_rx(bank.take(CONSOLE_RX_PIN))
        .with_tx(bank.take(CONSOLE_TX_PIN))
        .into_async();
    let (uart_rx, uart_tx) = uart.split();
    let console_tx = CONSOLE_TX.init(Mutex::new(uart_tx));
    spawner.spawn(console::log_writer(console_tx).unwrap());
    info!(
        "boot",
        "Tumble {VERSION} on ESP32-C3 ({}), every output OFF",
        if cfg!(feature = "wifi") {
            "Wi-Fi"
        } else if cfg!(feature = "emu") {
            "emulator, open_eth"
        } else {
            "no Wi-Fi"
        }
    );
    info!(
        "boot",
        "board profile {} ({} outputs, reverse dead time {} ms)",
        board::PROFILE.source,
        board.len(),
        board.reverse_dead_time_ms()
    );

    // 5. The controller, its cycle storage in reclaimed RAM, and the pins.
    let config = Config {
        sample: Duration::from_micros(SAMPLE_US),
        telemetry: Some(Duration::from_micros(TELEMETRY_US)),
    };
    let controller = CONTROLLER.init(Controller::new(
        board.clone(),
        config,
        memory::cycle_storage(),
    ));
    let mut pins = MaskPins::new(outputs::Gpio::new(&board), &board);
    controller.boot(now(), &mut pins);

    // 6. The stored cycle (loaded idle) and Wi-Fi credentials, before anything can run.
    let console_buf = memory::console_buffer();
    let mut store = match storage::Store::open(p.FLASH) {
        Ok(s) => {
            let r = s.range();
            // One line: the boot log's queue is short, and the token's line comes after it.
            match (s.programs(), s.history()) {
                (Some(lib), Some(runs)) => info!(
                    "store",
                    "flash partition {:#x}..{:#x}, program library {:#x}..{:#x}, run history {:#x}..{:#x}",
                    r.start,
                    r.end,
                    lib.start,
                    lib.end,
                    runs.start,
                    runs.end
                ),
                _ => warning!(
                    "store",
                    "flash partition {:#x}..{:#x}; no \"programs\" or \"history\" partition (flash with partitions.csv): no program library or run history",
                    r.start,
                    r.end
                ),
            }
            Some(s)
        }
        Err(why) => {
            warning!("store", "{why}: nothing will be stored");
            None
        }
    };
    let mut stored_creds = None;
    if let Some(store) = store.as_mut() {
        load_cycle(store, controller, &mut pins, console_buf);
        stored_creds = match store.newest(Kind::Credentials, &mut console_buf[..]) {
            Ok((Some(payload), _)) => wifi_settings::decode(payload),
            Ok((None, _)) => None,
            Err(e) => {
                warning!("store", "cannot read the Wi-Fi credentials: {e:?}");
                None
            }
        };
    }
    wifi_settings::init(stored_creds);
    #[cfg(feature = "mqtt")]
    match store
        .as_mut()
        .map(|s| s.newest(Kind::Mqtt, &mut console_buf[..]))
    {
        Some(Ok((payload, _))) => mqtt::init(payload),
        Some(Err(e)) => {
            warning!("store", "cannot read the MQTT broker: {e:?}");
            mqtt::init(None);
        }
        None => mqtt::init(None),
    }
    {
        // The SAR ADC as an entropy source while the first token is made: the radio, the
        // generator's other source, is not on yet (and the other builds have none).
        let _entropy = esp_hal::rng::TrngSource::new(p.RNG, p.ADC1);
        token::init(store.as_mut(), &mut console_buf[..]);
    }

    let shared: &'static Shared = SHARED.init(Shared {
        board,
        ctl: Mutex::new(Ctl { controller, pins }),
        loader: Mutex::new(Loader {
            lent: tumble_core::cycle::Cycle::none(),
            store,
        }),
    });

    // 7. Sensors: the tachometer interrupt and the pressure ADC.
    let mut io = Io::new(p.IO_MUX);
    sensors::start_rpm(&mut io, bank.take(RPM_PIN));
    let hx710 = sensors::Hx710::new(bank.take(HX710_SCK_PIN), bank.take(HX710_DOUT_PIN));
    let board_sensors = sensors::BoardSensors {
        curve: board::PROFILE.pressure,
    };

    // 8. The control loop, alone on a high-priority interrupt executor (or, with the
    // `control-thread` feature, on this thread-mode executor).
    let alarm = control::alarm(
        shared,
        board_sensors,
        control::Watchdogs {
            mwdt,
            rwdt: rtc.rwdt,
        },
    )
    .unwrap();
    #[cfg(not(feature = "control-thread"))]
    {
        let executor = CONTROL_EXECUTOR.init(InterruptExecutor::new(p.FROM_CPU_INTR1));
        executor.start(Priority::Priority3).spawn(alarm);
    }
    #[cfg(feature = "control-thread")]
    spawner.spawn(alarm);

    // 9. Thread-mode tasks: telemetry, the pressure ADC, console, deferred credential writes,
    // network.
    spawner.spawn(telemetry::run(shared).unwrap());
    spawner.spawn(sensors::pressure(hx710).unwrap());
    spawner.spawn(console::reader(shared, uart_rx, console_tx, console_buf).unwrap());
    spawner.spawn(wifi_settings::deferred_writer(shared).unwrap());
    #[cfg(feature = "wifi")]
    wifi::start(&spawner, p.WIFI, shared);
    #[cfg(feature = "emu")]
    emu::start(&spawner, shared);
}

/// Loads the stored cycle, idle, as `tumble serve` does at start.
fn load_cycle(
    store: &mut storage::Store,
    controller: &mut Controller<'_>,
    pins: &mut MaskPins<outputs::Gpio>,
    buf: &mut [u8],
) {
    let (doc, corrupt) = match store.newest(Kind::Cycle, buf) {
        Ok(found) => found,
        Err(e) => {
            warning!(
                "store",
                "cannot read the stored cycle ({e:?}); starting empty"
            );
            return;
        }
    };
    if corrupt > 0 {
        warning!("store", "{corrupt} corrupt records skipped");
    }
    let Some(doc) = doc else {
        info!("store", "no stored cycle");
        return;
    };
    let restored = controller.restore(doc, now(), pins);
    log::emit(restored.level(), now(), "store", format_args!("{restored}"));
}
