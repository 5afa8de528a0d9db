//! The parts of the ESP32-C3 firmware that are not hardware, kept in a crate that builds and is
//! tested on the host (`cargo test -p tumble-fw-logic --target x86_64-unknown-linux-gnu`):
//!
//! - [`alarm`]: one wake-up of the control loop, the instant worked out ahead and written at
//!   its time;
//! - [`pins`]: the runner's output changes as set/clear masks, one register write per group;
//! - [`session`]: one command frame through tumble-core's protocol, reply in a fixed buffer,
//!   the document to store located in the frame so it can be sealed in place;
//! - [`board`]: the board profile the firmware is built for, checked at build time and boot;
//! - [`console`]: the serial console's line framing;
//! - [`local`]: console-only commands (Wi-Fi credentials);
//! - [`mqtt`]: the MQTT 3.1.1 packets the firmware sends and reads;
//! - [`programs`]: the program library in flash (a sequential-storage map);
//! - [`record`]: the sealed, checksummed record a cycle or the Wi-Fi credentials are kept in
//!   flash as;
//! - [`writer`]: `fmt::Write` into fixed buffers.
//!
//! What the control loop does at each wake-up is tumble-core's `controller::Controller`, driven
//! by [`alarm::Alarm`].
//!
//! No unsafe, no allocation, no clock: the firmware passes `now` in, as it does to the runner.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod alarm;
pub mod board;
pub mod console;
pub mod local;
pub mod mqtt;
pub mod pins;
pub mod programs;
pub mod record;
pub mod session;
pub mod writer;

#[cfg(test)]
mod testutil;
