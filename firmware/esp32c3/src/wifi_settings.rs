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

/// A setting's record payload on its way to flash: the credentials (an empty SSID is the
/// clearing record) or the MQTT broker (an empty URL).
#[derive(Debug, Clone)]
pub struct Setting {
    pub kind: Kind,
    pub payload: heapless::Vec<u8, SETTING_MAX>,
}

/// The longest setting payload: the MQTT broker's.
pub const SETTING_MAX: usize = 3 + MAX_URL + MAX_WASHER;
const _: () = assert!(SETTING_MAX >= 2 + MAX_SSID + MAX_PASSWORD);

/// Settings waiting to be written, the newest of each kind.
static PENDING: Mutex<RefCell<heapless::Vec<Setting, 2>>> =
    Mutex::new(RefCell::new(heapless::Vec::new()));
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
    let (id, creds, shown) = match cmd {
        Local::SetWifi { id, ssid, password } => {
            let c = Credentials { ssid, password };
            set_current(Some(c.clone()));
            (id, c, None)
        }
        Local::ClearWifi { id } => {
            set_current(Credentials::built_in());
            let empty = Credentials {
                ssid: heapless::String::new(),
                password: heapless::String::new(),
            };
            (id, empty, Some(""))
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
    let ssid = shown.unwrap_or(creds.ssid.as_str());
    let mut payload = [0u8; 2 + MAX_SSID + MAX_PASSWORD];
    let plain = record::Credentials {
        ssid: &creds.ssid,
        password: &creds.password,
    };
    let setting = record::encode_credentials(&plain, &mut payload)
        .ok()
        .and_then(|n| payload[..n].try_into().ok())
        .map(|payload| Setting {
            kind: Kind::Credentials,
            payload,
        });
    let Some(setting) = setting else {
        let _ = protocol::write_v2_error(w, id, "invalid_request", "invalid credentials", "ssid");
        return;
    };
    match persist(shared, setting).await {
        Ok(saved) => {
            let _ = local::write_wifi_ok(w, id, ssid, saved);
        }
        Err(why) => {
            let _ = protocol::write_v2_error(
                w,
                id,
                "store_failed",
                format_args!("in use until the next reset, but storing failed: {why}"),
                "",
            );
        }
    }
}

/// Writes now if the controller is idle, else queues the write for when it is.
pub async fn persist(shared: &Shared, setting: Setting) -> Result<Saved, &'static str> {
    // The loader first: with it held no command can start a cycle during the flash write.
    let mut l = shared.loader.lock().await;
    if !shared.idle().await {
        info!(
            "store",
            "a cycle is running: the {} is stored when it ends",
            name(setting.kind)
        );
        critical_section::with(|cs| {
            let mut pending = PENDING.borrow_ref_mut(cs);
            pending.retain(|p| p.kind != setting.kind);
            // Room for each kind: one of each is kept.
            let _ = pending.push(setting);
        });
        PENDING_ADDED.signal(());
        return Ok(Saved::WhenIdle);
    }
    write(&mut l, &setting).map(|()| Saved::Now)
}

fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Mqtt => "MQTT broker",
        _ => "Wi-Fi credentials",
    }
}

fn write(l: &mut Loader, setting: &Setting) -> Result<(), &'static str> {
    let store = l.store.as_mut().ok_or("no \"tumble\" flash partition")?;
    let mut rec = [0u8; record::HEADER_LEN + SETTING_MAX];
    let m =
        record::encode(setting.kind, &setting.payload, &mut rec).map_err(|_| "record too long")?;
    match store.save_setting(setting.kind, &rec[..m]) {
        Ok(()) => {
            info!("store", "{} stored", name(setting.kind));
            Ok(())
        }
        Err(e) => {
            error!("store", "cannot store the {}: {e:?}", name(setting.kind));
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
        if critical_section::with(|cs| PENDING.borrow_ref(cs).is_empty()) && !token {
            continue;
        }
        let mut l = shared.loader.lock().await;
        if !shared.idle().await {
            continue;
        }
        if token {
            crate::token::store_unsaved(&mut l);
        }
        while let Some(setting) = critical_section::with(|cs| PENDING.borrow_ref_mut(cs).pop()) {
            let _ = write(&mut l, &setting);
        }
    }
}
