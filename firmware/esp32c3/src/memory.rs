//! Where the big things live. Static RAM (.data + .bss) must stay under 160 KB (docs/firmware.md
//! has the measured table):
//!
//! - the runner (66.7 KB, its loaded cycle inside) is an ordinary static, in .bss;
//! - the spare cycle a load parses into (64.0 KB) lives in the RAM the second-stage bootloader
//!   used, which is free once the app runs (`#[ram(reclaimed)]`, section .dram2_uninit,
//!   64.8 KB): the only other thing esp-hal's examples put there is the Wi-Fi heap;
//! - the Wi-Fi heap (`WIFI_HEAP`) is an uninitialised static in .noinit, placed by esp-hal's
//!   linker script after .bss, at the low end of the region the main stack grows down into;
//! - the console's line buffer (8 KiB) is in RTC fast memory, an 8 KiB block nothing else uses.

use core::mem::MaybeUninit;

use tumble_core::cycle::Cycle;

#[esp_hal::ram(reclaimed)]
static mut SPARE: MaybeUninit<Cycle> = MaybeUninit::uninit();

/// The spare cycle storage, once. Panics if called twice.
pub fn spare_cycle() -> &'static mut Cycle {
    static TAKEN: critical_section::Mutex<core::cell::Cell<bool>> =
        critical_section::Mutex::new(core::cell::Cell::new(false));
    let first = critical_section::with(|cs| !TAKEN.borrow(cs).replace(true));
    assert!(first, "the spare cycle is taken once");
    // SAFETY: SPARE is only reached here, and the flag above lets this run once, so this is the
    // only reference to it ever made; the memory (reclaimed bootloader RAM) is ours once the
    // app runs, and `write` initialises it before the reference is handed out.
    unsafe { (*core::ptr::addr_of_mut!(SPARE)).write(Cycle::new()) }
}

/// Gives the Wi-Fi driver its heap.
#[cfg(feature = "wifi")]
pub fn wifi_heap() {
    esp_alloc::heap_allocator!(#[unsafe(link_section = ".noinit.wifi_heap")] size: crate::config::WIFI_HEAP);
}

/// The console's line buffer, in the 8 KiB of RTC fast memory, which nothing else uses: a
/// `CLIENT_BUF` like a WebSocket client's, so a console line may be a whole cycle document.
/// (`persistent`: zeroed on the first boot only; the contents do not matter.)
#[esp_hal::ram(unstable(rtc_fast, persistent))]
static mut CONSOLE_BUF: [u8; crate::config::CLIENT_BUF] = [0; crate::config::CLIENT_BUF];

/// The console buffer, once. Panics if called twice.
pub fn console_buffer() -> &'static mut [u8; crate::config::CLIENT_BUF] {
    static TAKEN: critical_section::Mutex<core::cell::Cell<bool>> =
        critical_section::Mutex::new(core::cell::Cell::new(false));
    let first = critical_section::with(|cs| !TAKEN.borrow(cs).replace(true));
    assert!(first, "the console buffer is taken once");
    // SAFETY: CONSOLE_BUF is only reached here, and the flag above lets this run once, so this
    // is the only reference to it ever made. Any byte pattern is a valid [u8; N].
    unsafe { &mut *core::ptr::addr_of_mut!(CONSOLE_BUF) }
}
