//! The Wi-Fi credentials in use, and the console commands that change them. Stored credentials
//! (from `{"cmd":"set_wifi",...}`) win over the build-time ones (`TUMBLE_WIFI_SSID`,
//! `TUMBLE_WIFI_PASSWORD`); `{"cmd":"clear_wifi"}` forgets them. New credentials apply at once;
//! they reach flash at once when no cycle runs, otherwise as soon as the controller is idle
//! (flash is never written while a phase runs), and the reply says which.

use core::cell::RefCell;
use core::fmt::Write;

use critical_section::Mutex;
use embassy_futures::select::select;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer};
use tumble_core::protocol;
use tumble_fw_logic::local::{self, Local, Saved};
use tumble_fw_logic::record::{self, Kind, MAX_PASSWORD, MAX_SSID};

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
/// Credentials waiting to be written (an empty SSID: the clearing record).
static PENDING: Mutex<RefCell<Option<Credentials>>> = Mutex::new(RefCell::new(None));
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
    match persist(shared, creds.clone()).await {
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
async fn persist(shared: &Shared, creds: Credentials) -> Result<Saved, &'static str> {
    // The loader first: with it held no command can start a cycle during the flash write.
    let mut l = shared.loader.lock().await;
    if !shared.idle().await {
        critical_section::with(|cs| *PENDING.borrow_ref_mut(cs) = Some(creds));
        PENDING_ADDED.signal(());
        info!(
            "store",
            "a cycle is running: the Wi-Fi credentials are stored when it ends"
        );
        return Ok(Saved::WhenIdle);
    }
    write(&mut l, &creds).map(|()| Saved::Now)
}

fn write(l: &mut Loader, creds: &Credentials) -> Result<(), &'static str> {
    let store = l.store.as_mut().ok_or("no \"tumble\" flash partition")?;
    let mut payload = [0u8; 2 + MAX_SSID + MAX_PASSWORD];
    let n = record::encode_credentials(
        &record::Credentials {
            ssid: &creds.ssid,
            password: &creds.password,
        },
        &mut payload,
    )
    .map_err(|_| "invalid credentials")?;
    let mut rec = [0u8; record::HEADER_LEN + 2 + MAX_SSID + MAX_PASSWORD];
    let m = record::encode(Kind::Credentials, &payload[..n], &mut rec)
        .map_err(|_| "record too long")?;
    match store.save_setting(Kind::Credentials, &rec[..m]) {
        Ok(()) => {
            info!("store", "Wi-Fi credentials stored");
            Ok(())
        }
        Err(e) => {
            error!("store", "cannot store the Wi-Fi credentials: {e:?}");
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
        if critical_section::with(|cs| PENDING.borrow_ref(cs).is_none()) && !token {
            continue;
        }
        let mut l = shared.loader.lock().await;
        if !shared.idle().await {
            continue;
        }
        if token {
            crate::token::store_unsaved(&mut l);
        }
        let Some(creds) = critical_section::with(|cs| PENDING.borrow_ref_mut(cs).take()) else {
            continue;
        };
        let _ = write(&mut l, &creds);
    }
}
