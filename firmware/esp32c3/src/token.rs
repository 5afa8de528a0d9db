//! The token WebSocket commands need (tumble-core's `access`): made from the hardware random
//! number generator at the first boot and kept in flash, printed on the console at every boot
//! and with the address once DHCP gives one; `{"cmd":"get_token"}` and `{"cmd":"rotate_token"}`
//! on the console (never over the network) tell it and replace it. A build may give one
//! (`TUMBLE_TOKEN`), or open the door on purpose (`TUMBLE_NO_AUTH=1`: anyone who can reach the
//! chip commands it, as the original firmware allowed; a warning at every boot).

use core::cell::RefCell;
use core::fmt::Write;

use critical_section::Mutex;
#[cfg(feature = "web")]
use tumble_core::access::Policy;
use tumble_core::protocol;
use tumble_fw_logic::local::{self, MAX_TOKEN, Saved, TOKEN_RANDOM};
use tumble_fw_logic::record::{self, Kind};

#[cfg(feature = "web")]
use crate::config::{ALLOW_ORIGIN, PUBLIC_TELEMETRY};
use crate::config::{NO_AUTH, TOKEN};
use crate::log::{error, info, warning};
use crate::shared::{Loader, Shared};
use crate::storage::Store;

type Token = heapless::String<MAX_TOKEN>;

// A build token that did not fit would leave the chip with none, open to everyone.
const _: () = assert!(
    TOKEN.len() <= MAX_TOKEN,
    "TUMBLE_TOKEN is longer than 64 bytes"
);

struct Door {
    /// None: open (`TUMBLE_NO_AUTH`).
    token: Option<Token>,
    /// Bumped at every rotation: a client let in with an older token is closed.
    rotation: u32,
    /// A rotated token that waits for the controller to be idle before it is stored.
    unsaved: bool,
}

static DOOR: Mutex<RefCell<Door>> = Mutex::new(RefCell::new(Door {
    token: None,
    rotation: 0,
    unsaved: false,
}));

/// A new token from the hardware generator: a true random source while the radio runs or the
/// SAR ADC feeds it (the first token, made at boot: see `main`).
fn made() -> Token {
    let rng = esp_hal::rng::Rng::new();
    let mut random = [0u8; TOKEN_RANDOM];
    for chunk in random.chunks_mut(4) {
        chunk.copy_from_slice(&rng.random().to_le_bytes()[..chunk.len()]);
    }
    local::token_from(random)
}

/// At boot, before any client: the build's token, the stored one, or a new one (stored now:
/// nothing runs yet).
pub fn init(store: Option<&mut Store>, buf: &mut [u8]) {
    let token = if NO_AUTH {
        warning!(
            "access",
            "no token (built with TUMBLE_NO_AUTH): anyone who can reach this chip can start the motor and open the valves"
        );
        None
    } else if !TOKEN.is_empty() {
        info!("access", "token from the build (TUMBLE_TOKEN)");
        // At most MAX_TOKEN bytes (checked at build time).
        Token::try_from(TOKEN).ok()
    } else {
        Some(stored_or_made(store, buf))
    };
    if let Some(t) = &token {
        info!(
            "access",
            "token {t}: open http://IP:8080/?token={t} (the address follows once the network is up)"
        );
    }
    critical_section::with(|cs| DOOR.borrow_ref_mut(cs).token = token);
}

fn stored_or_made(store: Option<&mut Store>, buf: &mut [u8]) -> Token {
    let Some(store) = store else {
        warning!("access", "no flash partition: a new token at every boot");
        return made();
    };
    if let Ok((Some(payload), _)) = store.newest(Kind::Token, buf)
        && let Some(t) = local::is_token(payload).and_then(|t| Token::try_from(t).ok())
    {
        return t;
    }
    let t = made();
    match save(store, &t) {
        Ok(()) => info!("access", "made a token (first boot), stored"),
        Err(why) => error!("access", "made a token, but storing it failed: {why}"),
    }
    t
}

fn save(store: &mut Store, t: &str) -> Result<(), &'static str> {
    let mut rec = [0u8; record::HEADER_LEN + MAX_TOKEN];
    let n = record::encode(Kind::Token, t.as_bytes(), &mut rec).map_err(|_| "too long")?;
    store
        .save_setting(Kind::Token, &rec[..n])
        .map_err(|_| "flash write failed")
}

#[cfg(feature = "web")]
/// What the door asks of a client right now, for `f` (which must be quick: it runs with
/// interrupts off).
pub fn with_policy<R>(f: impl FnOnce(&Policy<'_>, u32) -> R) -> R {
    critical_section::with(|cs| {
        let door = DOOR.borrow_ref(cs);
        let policy = Policy {
            token: door.token.as_deref(),
            public_telemetry: PUBLIC_TELEMETRY,
            allowed_origins: ALLOW_ORIGIN,
        };
        f(&policy, door.rotation)
    })
}

#[cfg(feature = "web")]
/// The rotation clients are let in with now.
pub fn rotation() -> u32 {
    critical_section::with(|cs| DOOR.borrow_ref(cs).rotation)
}

/// The current token, for the address line and `get_token`.
pub fn current() -> Option<Token> {
    critical_section::with(|cs| DOOR.borrow_ref(cs).token.clone())
}

/// `get_token` and `rotate_token`, on the console.
pub async fn handle(shared: &Shared, id: Option<&[u8]>, rotate: bool, w: &mut impl Write) {
    let Some(old) = current() else {
        let _ = protocol::write_v2_error(
            w,
            id,
            "invalid_request",
            "this build has no token (TUMBLE_NO_AUTH)",
            "",
        );
        return;
    };
    if !rotate {
        let _ = local::write_token_ok(w, id, &old, None);
        return;
    }
    if !TOKEN.is_empty() {
        let _ = protocol::write_v2_error(
            w,
            id,
            "invalid_request",
            "this build's token is fixed (TUMBLE_TOKEN): build without it to rotate",
            "",
        );
        return;
    }
    let fresh = made();
    critical_section::with(|cs| {
        let mut door = DOOR.borrow_ref_mut(cs);
        door.token = Some(fresh.clone());
        door.rotation = door.rotation.wrapping_add(1);
        door.unsaved = true;
    });
    warning!(
        "access",
        "the token was rotated: clients with the old one are closed"
    );
    // The loader first: with it held no command can start a cycle during the flash write.
    let mut l = shared.loader.lock().await;
    let saved = if shared.idle().await {
        store_unsaved(&mut l);
        Saved::Now
    } else {
        info!(
            "store",
            "a cycle is running: the new token is stored when it ends"
        );
        Saved::WhenIdle
    };
    let _ = local::write_token_ok(w, id, &fresh, Some(saved));
}

/// Stores a rotated token that is not in flash yet; the caller holds the loader and has seen
/// the controller idle.
pub fn store_unsaved(l: &mut Loader) {
    let pending = critical_section::with(|cs| {
        let mut door = DOOR.borrow_ref_mut(cs);
        core::mem::take(&mut door.unsaved)
            .then(|| door.token.clone())
            .flatten()
    });
    let (Some(t), Some(store)) = (pending, l.store.as_mut()) else {
        return;
    };
    match save(store, &t) {
        Ok(()) => info!("store", "the new token is stored"),
        Err(why) => error!("store", "cannot store the new token: {why}"),
    }
}

/// Whether a rotated token waits to be stored.
pub fn unsaved() -> bool {
    critical_section::with(|cs| DOOR.borrow_ref(cs).unsaved)
}
