//! Every setting of the firmware in one place: pins that are not the board profile's outputs,
//! periods, buffer sizes, watchdog timeouts and the build-time environment. The outputs, their
//! pins and active levels come from the board profile, `tumble_core::board::Board::washer()`.

use embassy_time::Duration;

pub use tumble_fw_logic::session::{CLIENT_BUF, FRAME_MAX, HEADROOM};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Sensor samples handed to the runner: the board profile's `sample_ms`.
pub const SAMPLE_US: u64 = crate::board::PROFILE.sample_ms as u64 * 1000;
/// Telemetry frames to every client.
pub const TELEMETRY_US: u64 = 100_000;
/// How early the control loop wakes to work an instant out before writing it at its time
/// (`tumble_fw_logic::alarm`). The most an instant has taken on the emulated chip is 34 µs (a
/// phase boundary); an instant that takes longer is written late by the excess. The loop spins
/// for what is left of the lead, so an instant costs up to this much CPU: 10% at 1,000
/// instants a second, the fastest a cycle's whole-ms offsets allow.
#[cfg(not(feature = "control-thread"))]
pub const LEAD_US: u64 = 100;
/// On the thread-mode executor the loop is cooperative: a held write would wait for whatever
/// task runs, so there the instant is worked out at its time and written at once.
#[cfg(feature = "control-thread")]
pub const LEAD_US: u64 = 0;

/// Tachometer input: rising edges, internal pull-up (the original's GPIO0). HX710 pressure
/// ADC, bit-banged: clock out, data in (the original's GPIO2 and GPIO3). No output of a board
/// profile may use these (build.rs refuses it).
pub use tumble_fw_logic::board::{HX710_DOUT_PIN, HX710_SCK_PIN, RPM_PIN};
/// Tachometer pulses per drum revolution: the board profile's `drum.pulses_per_rev`.
pub const PULSES_PER_REV: f32 = crate::board::PROFILE.pulses_per_rev;
/// A pressure value older than this is no value: `sensor_error` in telemetry, and a pressure
/// trigger cannot fire. The HX710 converts at 10 Hz (40 Hz on RATE high).
pub const PRESSURE_STALE_US: u64 = 500_000;
/// Pressure samples averaged (the original averaged 10 blocking reads).
pub const PRESSURE_AVERAGE: usize = 4;

/// UART0 console, on the pins most ESP32-C3 boards bridge to USB.
pub use tumble_fw_logic::board::{CONSOLE_RX_PIN, CONSOLE_TX_PIN};
pub const CONSOLE_BAUD: u32 = 115_200;
/// Log lines waiting for the UART; more are dropped and counted.
pub const LOG_LINES: usize = 8;
pub const LOG_LINE: usize = 160;
/// A console line left unfinished this long is dropped (a half-pasted document).
pub const CONSOLE_LINE_TIMEOUT: Duration = Duration::from_secs(10);

/// Timer-group watchdog, fed by the control loop (at least every `TELEMETRY_US`): a stalled
/// controller resets the chip, and the chip boots with every output OFF.
pub const MWDT_TIMEOUT_MS: u64 = 2_000;
/// RTC watchdog, fed by the control loop only while the thread-mode executor (network, console,
/// storage) shows signs of life: a stalled network stack resets the chip too.
pub const RWDT_TIMEOUT_MS: u64 = 10_000;
/// Age of the thread-mode heartbeat beyond which the RTC watchdog is no longer fed.
pub const HEARTBEAT_MAX_US: u64 = 5_000_000;

/// WebSocket clients at once (each has a `CLIENT_BUF` buffer); the next is closed with 1013.
pub const WS_CLIENTS: usize = 4;
/// HTTP connections at once (each task serves one connection, page or WebSocket; about 5.5 KB
/// of static RAM each). Six: a browser fetches the page's modules over six connections at once
/// (Chromium's limit per host), and a seventh is refused by TCP; with four the fifth and sixth
/// module failed and the page did not come up (issue 11). At most `WS_CLIENTS` of them hold a
/// WebSocket; the next WebSocket is closed with 1013.
#[cfg(feature = "web")]
pub const WEB_TASKS: usize = 6;
#[cfg(feature = "web")]
pub const HTTP_PORT: u16 = 8080;
#[cfg(feature = "web")]
pub const TCP_RX: usize = 768;
#[cfg(feature = "web")]
pub const TCP_TX: usize = 1024;
#[cfg(feature = "web")]
pub const HTTP_BUF: usize = 1024;
/// A telemetry frame (about 1.1 KB on the default board).
pub const TELEMETRY_MAX: usize = 1536;

/// MQTT (feature `mqtt`), from the build's environment, as `tumble serve --mqtt` takes it from
/// its options: `TUMBLE_MQTT=mqtt://[USER[:PASSWORD]@]A.B.C.D[:PORT]` (unset: no MQTT),
/// `TUMBLE_MQTT_ID` (washer), `TUMBLE_MQTT_PREFIX` (tumble), `TUMBLE_MQTT_DISCOVERY`
/// (homeassistant; "-" turns discovery off), `TUMBLE_MQTT_COMMANDS=1` (take commands).
#[cfg(feature = "mqtt")]
pub struct MqttConfig {
    pub url: &'static str,
    pub id: &'static str,
    pub prefix: &'static str,
    pub discovery: &'static str,
    pub commands: bool,
    /// The state is published this often.
    pub state_ms: u64,
}

#[cfg(feature = "mqtt")]
pub const MQTT: MqttConfig = MqttConfig {
    url: match option_env!("TUMBLE_MQTT") {
        Some(u) => u,
        None => "",
    },
    id: match option_env!("TUMBLE_MQTT_ID") {
        Some(s) => s,
        None => "washer",
    },
    prefix: match option_env!("TUMBLE_MQTT_PREFIX") {
        Some(s) => s,
        None => "tumble",
    },
    discovery: match option_env!("TUMBLE_MQTT_DISCOVERY") {
        Some(s) if s.len() == 1 && s.as_bytes()[0] == b'-' => "",
        Some(s) => s,
        None => "homeassistant",
    },
    commands: is_one(option_env!("TUMBLE_MQTT_COMMANDS")),
    state_ms: 1000,
};

/// The emulator's Ethernet MAC (`open_eth`): frame buffers in .bss, 1,536 bytes each (the MAC's
/// default maximum frame). A frame that arrives while every receive buffer is full is dropped
/// by the MAC (TCP sends it again), so there are more of them than transmit buffers, which the
/// emulator empties as soon as they are handed over.
#[cfg(feature = "emu")]
pub const ETH_RX_BUFS: usize = 6;
#[cfg(feature = "emu")]
pub const ETH_TX_BUFS: usize = 2;
/// How often the driver looks for a received frame (it uses no interrupt).
#[cfg(feature = "emu")]
pub const ETH_POLL: Duration = Duration::from_millis(1);

/// Heap for the Wi-Fi driver (esp-radio measures 47-57 KB for a station with its default
/// buffers; ours are fewer, see `net::controller_config`).
#[cfg(feature = "wifi")]
pub const WIFI_HEAP: usize = 56 * 1024;

/// Wi-Fi reconnect backoff.
#[cfg(feature = "wifi")]
pub const WIFI_BACKOFF_MIN: Duration = Duration::from_secs(1);
#[cfg(feature = "wifi")]
pub const WIFI_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Build-time settings (`TUMBLE_WIFI_SSID=... cargo build --release`).
pub const WIFI_SSID: &str = match option_env!("TUMBLE_WIFI_SSID") {
    Some(s) => s,
    None => "",
};
pub const WIFI_PASSWORD: &str = match option_env!("TUMBLE_WIFI_PASSWORD") {
    Some(s) => s,
    None => "",
};
/// The token WebSocket commands need, fixed by the build; empty: the chip makes one at its
/// first boot and keeps it in flash (`token.rs`).
pub const TOKEN: &str = match option_env!("TUMBLE_TOKEN") {
    Some(s) => s,
    None => "",
};
/// `TUMBLE_NO_AUTH=1`: no token, anyone who can reach the chip commands it (the original
/// firmware's open door, for its web app and old scripts).
pub const NO_AUTH: bool = is_one(option_env!("TUMBLE_NO_AUTH"));
/// `TUMBLE_PUBLIC_TELEMETRY=1`: clients without the token get the telemetry and `get_status`.
#[cfg(feature = "web")]
pub const PUBLIC_TELEMETRY: bool = is_one(option_env!("TUMBLE_PUBLIC_TELEMETRY"));

/// A build switch: set to `1`.
const fn is_one(v: Option<&str>) -> bool {
    matches!(v, Some(s) if s.len() == 1 && s.as_bytes()[0] == b'1')
}
/// Extra allowed browser origins, comma separated (the host's `--allow-origin`).
#[cfg(feature = "web")]
pub const ALLOW_ORIGIN: &str = match option_env!("TUMBLE_ALLOW_ORIGIN") {
    Some(s) => s,
    None => "",
};

/// The flash partition for the stored cycle and Wi-Fi credentials (partitions.csv).
pub const PARTITION_LABEL: &str = "tumble";
/// The program library's data partition (partitions.csv); a flash without it keeps no library.
pub const PROGRAMS_LABEL: &str = "programs";
/// The run history's data partition; a flash without it keeps no history.
pub const HISTORY_LABEL: &str = "history";
/// The longest run record kept (a run of more phases keeps its first ones).
pub const RUN_MAX: usize = 2048;
