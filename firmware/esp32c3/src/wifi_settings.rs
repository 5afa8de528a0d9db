//! The Wi-Fi credentials in use, and the console commands that change them. Stored credentials
//! (from `{"cmd":"set_wifi",...}`) win over the build-time ones (`TUMBLE_WIFI_SSID`,
//! `TUMBLE_WIFI_PASSWORD`); `{"cmd":"clear_wifi"}` forgets them. New credentials apply at once;
//! they reach flash at once when no cycle runs, otherwise as soon as the controller is idle
//! (flash is never written while a phase runs), and the reply says which. The MQTT broker
//! (`set_mqtt`, `clear_mqtt`, kept by `mqtt.rs`) is stored the same way, by [`persist`].

use core::cell::RefCell;
use core::fmt::Write;

use critical_section::Mutex;
use embassy_futures::select::select;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer};
use tumble_core::protocol;
use tumble_fw_logic::local::{self, Local, Saved};
use tumble_fw_logic::record::{self, Kind, MAX_PASSWORD, MAX_SSID, MAX_URL, MAX_WASHER};

use crate::config::{WIFI_PASSWORD, WIFI_SSID};
use crate::log::{error, info, warning};
use crate::shared::{Loader, Shared};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub ssid: heapless::String<MAX_SSID>,
    pub password: heapless::String<MAX_PASSWORD>,
}

impl Credentials {
    fn new(ssid: &str, password: &str) -> Option<Self> {
        Some(Credentials {
            ssid: ssid.try_into().ok()?,
            password: password.try_into().ok()?,
        })
    }

    /// The build-time credentials, if an SSID was given.
    pub fn built_in() -> Option<Self> {
        Self::new(WIFI_SSID, WIFI_PASSWORD).filter(|c| !c.ssid.is_empty())
    }
}

static CURRENT: Mutex<RefCell<Option<Credentials>>> = Mutex::new(RefCell::new(None));

/// A setting the console changes, stored as the newest record of its kind. What is written is
/// the value in use when the write happens (a write may wait for the controller to be idle):
/// the console's, or the clearing record when the build's is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Credentials,
    #[cfg(feature = "mqtt")]
    Mqtt,
}

impl Setting {
    fn kind(self) -> Kind {
        match self {
            Setting::Credentials => Kind::Credentials,
            #[cfg(feature = "mqtt")]
            Setting::Mqtt => Kind::Mqtt,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Setting::Credentials => "Wi-Fi credentials",
            #[cfg(feature = "mqtt")]
            Setting::Mqtt => "MQTT broker",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The record payload of the value in use: its length in `out`.
    fn payload(self, out: &mut [u8]) -> Option<usize> {
        match self {
            Setting::Credentials => {
                let creds = current().filter(|c| Some(c) != Credentials::built_in().as_ref());
                let plain = creds.as_ref().map_or(
                    record::Credentials {
                        ssid: "",
                        password: "",
                    },
                    |c| record::Credentials {
                        ssid: &c.ssid,
                        password: &c.password,
                    },
                );
                record::encode_credentials(&plain, out).ok()
            }
            #[cfg(feature = "mqtt")]
            Setting::Mqtt => crate::mqtt::payload(out),
        }
    }
}

/// The longest setting payload: the MQTT broker's.
const SETTING_MAX: usize = 3 + MAX_URL + MAX_WASHER;
const _: () = assert!(SETTING_MAX >= 2 + MAX_SSID + MAX_PASSWORD);

/// Settings waiting to be written (a bit per `Setting`).
static PENDING: Mutex<core::cell::Cell<u8>> = Mutex::new(core::cell::Cell::new(0));
static PENDING_ADDED: Signal<CriticalSectionRawMutex, ()> = Signal::new();
/// The credentials changed: the Wi-Fi task reconnects with them.
pub static CHANGED: Signal<CriticalSectionRawMutex, ()> = Signal::new();

#[cfg_attr(not(feature = "wifi"), allow(dead_code))]
pub fn current() -> Option<Credentials> {
    critical_section::with(|cs| CURRENT.borrow_ref(cs).clone())
}

fn set_current(c: Option<Credentials>) {
    critical_section::with(|cs| *CURRENT.borrow_ref_mut(cs) = c);
    CHANGED.signal(());
}

/// At boot: the stored credentials (a stored empty SSID means "none stored").
pub fn init(stored: Option<Credentials>) {
    let (creds, from) = match stored.filter(|c| !c.ssid.is_empty()) {
        Some(c) => (Some(c), "stored on the console"),
        None => (Credentials::built_in(), "from the build"),
    };
    match &creds {
        Some(c) => info!("wifi", "network \"{}\" ({from})", c.ssid),
        None => warning!(
            "wifi",
            "no network set: build with TUMBLE_WIFI_SSID=... or send {{\"cmd\":\"set_wifi\",\"ssid\":\"...\",\"password\":\"...\"}} on this console"
        ),
    }
    critical_section::with(|cs| *CURRENT.borrow_ref_mut(cs) = creds);
}

/// Decodes a stored credentials record's payload.
pub fn decode(payload: &[u8]) -> Option<Credentials> {
    let c = record::decode_credentials(payload).ok()?;
    Credentials::new(c.ssid, c.password)
}

/// Handles a console-only command and writes its reply.
pub async fn handle(shared: &Shared, cmd: Local<'_>, w: &mut impl Write) {
    let (id, ssid) = match cmd {
        Local::SetWifi { id, ssid, password } => {
            let shown = ssid.clone();
            set_current(Some(Credentials { ssid, password }));
            (id, shown)
        }
        Local::ClearWifi { id } => {
            set_current(Credentials::built_in());
            (id, heapless::String::new())
        }
        Local::Refused { id, message, path } => {
            let _ = protocol::write_v2_error(w, id, "invalid_request", message, path);
            return;
        }
        Local::SetMqtt { .. } | Local::ClearMqtt { .. } => {
            #[cfg(feature = "mqtt")]
            crate::mqtt::handle(shared, cmd, w).await;
            #[cfg(not(feature = "mqtt"))]
            if let Local::SetMqtt { id, .. } | Local::ClearMqtt { id } = cmd {
                let why = "this build has no MQTT (it has no network)";
                let _ = protocol::write_v2_error(w, id, "unsupported", why, "cmd");
            }
            return;
        }
        Local::GetToken { id } => return crate::token::handle(shared, id, false, w).await,
        Local::RotateToken { id } => return crate::token::handle(shared, id, true, w).await,
        // Answered elsewhere (the console prints the help; get_memory is a command).
        Local::Help | Local::GetMemory { .. } => return,
    };
    if cfg!(not(feature = "wifi")) {
        warning!(
            "wifi",
            "this build has no Wi-Fi: the credentials are only stored"
        );
    }
    let setting = Setting::Credentials;
    match persist(shared, setting).await {
        Ok(saved) => {
            let _ = local::write_wifi_ok(w, id, &ssid, saved);
        }
        Err(why) => write_not_stored(w, id, why),
    }
}

/// The reply to a setting that applies but could not be stored.
pub fn write_not_stored(w: &mut impl Write, id: Option<&[u8]>, why: &str) {
    let msg = format_args!("in use until the next reset, but storing failed: {why}");
    let _ = protocol::write_v2_error(w, id, "store_failed", msg, "");
}

/// Writes now if the controller is idle, else queues the write for when it is.
pub async fn persist(shared: &Shared, setting: Setting) -> Result<Saved, &'static str> {
    // The loader first: with it held no command can start a cycle during the flash write.
    let mut l = shared.loader.lock().await;
    if !shared.idle().await {
        info!(
            "store",
            "a cycle is running: the {} is stored when it ends",
            setting.name()
        );
        critical_section::with(|cs| {
            let p = PENDING.borrow(cs);
            p.set(p.get() | setting.bit());
        });
        PENDING_ADDED.signal(());
        return Ok(Saved::WhenIdle);
    }
    write(&mut l, setting).map(|()| Saved::Now)
}

fn write(l: &mut Loader, setting: Setting) -> Result<(), &'static str> {
    let store = l.store.as_mut().ok_or("no \"tumble\" flash partition")?;
    let mut payload = [0u8; SETTING_MAX];
    let n = setting.payload(&mut payload).ok_or("invalid setting")?;
    let mut rec = [0u8; record::HEADER_LEN + SETTING_MAX];
    let m =
        record::encode(setting.kind(), &payload[..n], &mut rec).map_err(|_| "record too long")?;
    match store.save_setting(setting.kind(), &rec[..m]) {
        Ok(()) => {
            info!("store", "{} stored", setting.name());
            Ok(())
        }
        Err(e) => {
            error!("store", "cannot store the {}: {e:?}", setting.name());
            Err("flash write failed")
        }
    }
}

/// Writes queued credentials (and a rotated token) once the controller is idle.
#[embassy_executor::task]
pub async fn deferred_writer(shared: &'static Shared) {
    loop {
        select(PENDING_ADDED.wait(), Timer::after(Duration::from_secs(1))).await;
        let token = crate::token::unsaved();
        if critical_section::with(|cs| PENDING.borrow(cs).get()) == 0 && !token {
            continue;
        }
        let mut l = shared.loader.lock().await;
        if !shared.idle().await {
            continue;
        }
        if token {
            crate::token::store_unsaved(&mut l);
        }
        let pending = critical_section::with(|cs| PENDING.borrow(cs).replace(0));
        #[cfg(feature = "mqtt")]
        let all = [Setting::Credentials, Setting::Mqtt];
        #[cfg(not(feature = "mqtt"))]
        let all = [Setting::Credentials];
        for setting in all {
            if pending & setting.bit() != 0 {
                let _ = write(&mut l, setting);
            }
        }
    }
}
