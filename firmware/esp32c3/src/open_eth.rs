//! An embassy-net driver for the OpenCores Ethernet MAC ("open_eth") that Espressif's QEMU maps
//! into the emulated ESP32-C3 (`-nic user,model=open_eth`) where the chip has its radio. No
//! real C3 has this MAC. Written for the emulator, as ESP-IDF's `esp_eth_mac_openeth.c` is: the
//! emulator moves a frame at the moment its descriptor is written, reports no errors and always
//! has a link, so there is no error handling, no PHY and no interrupt (a timer polls).
//!
//! The MAC has 128 buffer descriptors of two words (length and flags, buffer address) at
//! `BASE + 0x400`: the first `TX_BD_NUM` transmit, the rest receive, each ring ending at the one
//! with the wrap bit. The emulator copies frames to and from our static buffers by address.

use core::sync::atomic::{AtomicBool, Ordering, fence};
use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState};
use embassy_sync::waitqueue::AtomicWaker;
use embassy_time::Timer;
use static_cell::ConstStaticCell;

use crate::config::{ETH_POLL, ETH_RX_BUFS, ETH_TX_BUFS};

/// DR_REG_EMAC_BASE of the emulator's ESP32-C3 (the ESP32's EMAC address block).
const BASE: usize = 0x600C_D000;
const DESCRIPTORS: usize = BASE + 0x400;

const MODER: usize = 0x00;
const INT_SOURCE: usize = 0x04;
const PACKETLEN: usize = 0x18;
const TX_BD_NUM: usize = 0x20;
const MAC_ADDR0: usize = 0x40;
const MAC_ADDR1: usize = 0x44;

/// MODER after reset; anything else at that address means there is no such MAC.
const MODER_DEFAULT: u32 = 0xa000;
const MODER_RST: u32 = 1 << 11;
const MODER_TXEN: u32 = 1 << 1;
const MODER_RXEN: u32 = 1 << 0;

/// Descriptor flags (word 0; the length is in the high half). `READY` is the transmit
/// descriptor's "owned by the MAC" bit and the receive descriptor's "empty" bit.
const READY: u32 = 1 << 15;
const WRAP: u32 = 1 << 13;
const TX_PAD: u32 = 1 << 12;
const TX_CRC: u32 = 1 << 11;

/// One frame buffer, the MAC's default maximum frame length.
const BUF: usize = 1536;
/// The emulator appends a 4-byte frame check sequence (zeros) to every received frame.
const FCS: usize = 4;
/// Shortest frame; shorter ones are padded by the MAC.
const MIN_FRAME: u32 = 64;
/// An Ethernet frame without its FCS: 1,500 bytes of payload and the 14-byte header.
const MTU: usize = 1514;

/// The frame buffers the MAC reads and writes.
pub struct Buffers {
    rx: [[u8; BUF]; ETH_RX_BUFS],
    tx: [[u8; BUF]; ETH_TX_BUFS],
}

/// Const-initialised: zeros in .bss, never built on the stack.
static BUFFERS: ConstStaticCell<Buffers> = ConstStaticCell::new(Buffers {
    rx: [[0; BUF]; ETH_RX_BUFS],
    tx: [[0; BUF]; ETH_TX_BUFS],
});

/// Woken by `poll` when a frame has arrived or a transmit buffer has become free.
static WAKER: AtomicWaker = AtomicWaker::new();
/// The stack asked for a transmit buffer and got none.
static TX_WAITING: AtomicBool = AtomicBool::new(false);

fn read_reg(offset: usize) -> u32 {
    // SAFETY: BASE + offset is one of the MAC's word-aligned registers (below BASE + 0x54). The
    // emulator maps the MAC there, and without it the address is inside the emulator's catch-all
    // peripheral block, whose reads have no effect; a volatile read is how MMIO is read.
    unsafe { ((BASE + offset) as *const u32).read_volatile() }
}

fn write_reg(offset: usize, value: u32) {
    // SAFETY: as in `read_reg`; only called once `probe` found the MAC, so the write lands in
    // the MAC's register file and touches no memory of ours.
    unsafe { ((BASE + offset) as *mut u32).write_volatile(value) }
}

/// Word `word` (0: length and flags, 1: buffer address) of descriptor `index` (0..128).
fn read_desc(index: usize, word: usize) -> u32 {
    debug_assert!(index < 128 && word < 2);
    // SAFETY: a word of the MAC's descriptor memory (BASE + 0x400 .. + 0x800), present once
    // `probe` found the MAC; volatile, since the MAC changes it.
    unsafe { ((DESCRIPTORS + index * 8 + word * 4) as *const u32).read_volatile() }
}

fn write_desc(index: usize, word: usize, value: u32) {
    debug_assert!(index < 128 && word < 2);
    // SAFETY: as in `read_desc`. Writing word 0 of a transmit descriptor with READY sends the
    // frame in its buffer, which the caller has filled.
    unsafe { ((DESCRIPTORS + index * 8 + word * 4) as *mut u32).write_volatile(value) }
}

/// Receive descriptors follow the transmit ones.
fn rx_desc(i: usize) -> usize {
    ETH_TX_BUFS + i
}

/// The flags that end a ring on its last descriptor.
fn wrap(i: usize, count: usize) -> u32 {
    if i == count - 1 { WRAP } else { 0 }
}

/// The MAC, with its rings set up and frames flowing.
pub struct OpenEth {
    bufs: &'static mut Buffers,
    rx_next: usize,
    tx_next: usize,
    mac: [u8; 6],
}

impl OpenEth {
    /// Resets the MAC, gives it the buffers and `mac`, and starts it. None when there is no
    /// open_eth MAC (the emulator was started without `-nic ...,model=open_eth`).
    pub fn new(mac: [u8; 6]) -> Option<Self> {
        if read_reg(MODER) != MODER_DEFAULT {
            return None;
        }
        write_reg(MODER, MODER_DEFAULT | MODER_RST);
        write_reg(MODER, MODER_DEFAULT);
        // At most BUF - FCS bytes of a frame, so frame and FCS never overrun a buffer.
        write_reg(PACKETLEN, (MIN_FRAME << 16) | (BUF - FCS) as u32);
        write_reg(TX_BD_NUM, ETH_TX_BUFS as u32);
        let bufs = BUFFERS.take();
        for (i, b) in bufs.tx.iter().enumerate() {
            write_desc(i, 1, b.as_ptr() as u32);
            write_desc(i, 0, wrap(i, ETH_TX_BUFS));
        }
        for (i, b) in bufs.rx.iter().enumerate() {
            write_desc(rx_desc(i), 1, b.as_ptr() as u32);
            write_desc(rx_desc(i), 0, READY | wrap(i, ETH_RX_BUFS));
        }
        let [a0, a1, a2, a3, a4, a5] = mac;
        write_reg(MAC_ADDR0, u32::from_be_bytes([a2, a3, a4, a5]));
        write_reg(MAC_ADDR1, u32::from_be_bytes([0, 0, a0, a1]));
        // Receive only our address and broadcasts (not promiscuous); interrupts stay masked.
        write_reg(INT_SOURCE, u32::MAX);
        write_reg(MODER, MODER_DEFAULT | MODER_TXEN | MODER_RXEN);
        Some(Self {
            bufs,
            rx_next: 0,
            tx_next: 0,
            mac,
        })
    }
}

/// A frame waits in a receive buffer, or a transmit buffer is free while the stack waits for one.
fn ready() -> bool {
    let rx = (0..ETH_RX_BUFS).any(|i| read_desc(rx_desc(i), 0) & READY == 0);
    let tx = TX_WAITING.load(Ordering::Relaxed)
        && (0..ETH_TX_BUFS).any(|i| read_desc(i, 0) & READY == 0);
    rx || tx
}

/// Wakes the stack when the MAC has something for it: the emulator raises the MAC's interrupt
/// too, but a 1 ms look costs less code than an interrupt handler and is fast enough here.
#[embassy_executor::task]
pub async fn poll() -> ! {
    loop {
        Timer::after(ETH_POLL).await;
        if ready() {
            TX_WAITING.store(false, Ordering::Relaxed);
            WAKER.wake();
        }
    }
}

pub struct RxToken<'a> {
    buf: &'a mut [u8; BUF],
    len: usize,
    /// Its index in the receive ring.
    index: usize,
}

impl embassy_net_driver::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        // The MAC's writes to the buffer happened before its write of the descriptor we read.
        fence(Ordering::Acquire);
        let r = f(&mut self.buf[..self.len]);
        // Our reads of the buffer are done before the MAC may fill it again.
        fence(Ordering::Release);
        write_desc(
            rx_desc(self.index),
            0,
            READY | wrap(self.index, ETH_RX_BUFS),
        );
        r
    }
}

pub struct TxToken<'a> {
    bufs: &'a mut [[u8; BUF]; ETH_TX_BUFS],
    next: &'a mut usize,
}

impl embassy_net_driver::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let i = *self.next;
        let len = len.min(MTU);
        let r = f(&mut self.bufs[i][..len]);
        // The frame is in the buffer before the MAC is told to send it.
        fence(Ordering::Release);
        let flags = READY | TX_PAD | TX_CRC | wrap(i, ETH_TX_BUFS);
        write_desc(i, 0, ((len as u32) << 16) | flags);
        // Only now: the MAC sends from its own ring position, so a token the stack drops unused
        // must not move ours.
        *self.next = (i + 1) % ETH_TX_BUFS;
        r
    }
}

/// The next transmit buffer, if the MAC has given it back.
fn tx_token<'a>(
    bufs: &'a mut [[u8; BUF]; ETH_TX_BUFS],
    next: &'a mut usize,
) -> Option<TxToken<'a>> {
    if read_desc(*next, 0) & READY != 0 {
        TX_WAITING.store(true, Ordering::Relaxed);
        return None;
    }
    Some(TxToken { bufs, next })
}

impl Driver for OpenEth {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, cx: &mut Context) -> Option<(RxToken<'_>, TxToken<'_>)> {
        WAKER.register(cx.waker());
        let i = self.rx_next;
        let flags = read_desc(rx_desc(i), 0);
        if flags & READY != 0 {
            return None;
        }
        // A reply may be sent while the frame is handled: both tokens or none.
        let tx = tx_token(&mut self.bufs.tx, &mut self.tx_next)?;
        self.rx_next = (i + 1) % ETH_RX_BUFS;
        let len = ((flags >> 16) as usize).saturating_sub(FCS).min(BUF);
        let rx = RxToken {
            buf: &mut self.bufs.rx[i],
            len,
            index: i,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<TxToken<'_>> {
        WAKER.register(cx.waker());
        tx_token(&mut self.bufs.tx, &mut self.tx_next)
    }

    fn link_state(&mut self, _cx: &mut Context) -> LinkState {
        // The emulator's link never goes down.
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MTU;
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}
