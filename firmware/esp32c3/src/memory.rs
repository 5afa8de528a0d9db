//! Where the big things live. Static RAM (.data + .bss) must stay under 160 KB (docs/firmware.md
//! has the measured table):
//!
//! - the controller (the runner with its phase table) is an ordinary static, in .bss;
//! - the cycle storage (`CYCLE_STORAGE`, 16 KiB: what a loaded cycle's strings, component
//!   records and pattern steps take, as much as a document holds) lives in the RAM the
//!   second-stage bootloader used, which is free once the app runs (`#[ram(reclaimed)]`,
//!   section .dram2_uninit, 64.8 KB). There is one: a load checks the document storing nothing,
//!   then reads it into this storage with the run stopped;
//! - the Wi-Fi heap (`WIFI_HEAP`) is an uninitialised static in .noinit, placed by esp-hal's
//!   linker script after .bss, at the low end of the region the main stack grows down into;
//! - the console's line buffer (8 KiB) is in RTC fast memory, an 8 KiB block nothing else uses.

use core::mem::MaybeUninit;

use tumble_fw_logic::session::CYCLE_STORAGE;

#[esp_hal::ram(reclaimed)]
static mut STORAGE: MaybeUninit<[u8; CYCLE_STORAGE]> = MaybeUninit::uninit();

/// The cycle storage, once. Panics if called twice.
pub fn cycle_storage() -> &'static mut [u8] {
    static TAKEN: critical_section::Mutex<core::cell::Cell<bool>> =
        critical_section::Mutex::new(core::cell::Cell::new(false));
    let first = critical_section::with(|cs| !TAKEN.borrow(cs).replace(true));
    assert!(first, "the cycle storage is taken once");
    // SAFETY: STORAGE is only reached here, and the flag above lets this run once, so this is
    // the only reference to it ever made; the memory (reclaimed bootloader RAM) is ours once
    // the app runs, and `write` initialises it before the reference is handed out.
    unsafe { (*core::ptr::addr_of_mut!(STORAGE)).write([0; CYCLE_STORAGE]) }
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

unsafe extern "C" {
    /// The main stack's lowest address (it grows down to here), from esp-hal's linker script.
    static _stack_end: u32;
    /// Its highest address, where it starts.
    static _stack_start: u32;
}

/// Written over the unused main stack at boot; what is still there later was never used.
const PAINT: u32 = 0x5a5a_5a5a;
/// Left alone at the bottom: esp-hal's stack guard word sits 60 bytes above the end.
const GUARD_ROOM: usize = 128;
/// Left alone below the caller's frame while painting.
const SP_ROOM: usize = 1024;

fn stack_range() -> (usize, usize) {
    (
        (&raw const _stack_end) as usize,
        (&raw const _stack_start) as usize,
    )
}

/// Paints the main stack below the caller, once, early in the main task (before any other task
/// is spawned).
/// Never inlined: `marker` must be in a frame of its own, below all of the caller's frame;
/// inlined into a caller with a large frame it can land above that frame's other locals, and
/// the paint overwrote them (it did in the `emu` build).
#[inline(never)]
pub fn paint_stack() {
    let marker = 0u32;
    let sp = (&raw const marker) as usize;
    let (end, _) = stack_range();
    let from = end + GUARD_ROOM;
    let to = sp.saturating_sub(SP_ROOM) & !3;
    critical_section::with(|_| {
        for addr in (from..to).step_by(4) {
            // SAFETY: [from, to) is the unused part of the main stack, between the guard word's
            // neighbourhood and 1 KiB below the live frame; with interrupts off nothing else
            // uses it meanwhile (interrupt handlers run on this stack, below the frame).
            unsafe { (addr as *mut u32).write_volatile(PAINT) };
        }
    });
}

/// The RAM figures `get_memory` reports.
pub fn report() -> tumble_fw_logic::local::Memory {
    let (end, start) = stack_range();
    let from = end + GUARD_ROOM;
    let words = (from..start).step_by(4).map(|addr| {
        // SAFETY: the main stack is RAM that lives as long as the program; a word-aligned
        // volatile read of it is always valid (a word being written concurrently is read as
        // either value, and either counts as used).
        unsafe { (addr as *const u32).read_volatile() }
    });
    let unused = tumble_fw_logic::local::unused_bytes(words, PAINT);
    tumble_fw_logic::local::Memory {
        stack_size: start - end,
        stack_used_max: (start - from).saturating_sub(unused),
        heap: heap(),
    }
}

#[cfg(feature = "wifi")]
fn heap() -> Option<(usize, usize, usize)> {
    let s = esp_alloc::HEAP.stats();
    Some((s.size, s.current_usage, s.max_usage))
}

#[cfg(not(feature = "wifi"))]
fn heap() -> Option<(usize, usize, usize)> {
    None
}
