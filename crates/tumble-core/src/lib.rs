//! Tumble's core: the washer-cycle format, its validation, the lazily merged timeline, the runner
//! state machine and the wire formats. No std, no allocator, no clock, no pins: a platform calls
//! in with the time and gets output changes and its next deadline back.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod access;
pub mod board;
pub mod controller;
pub mod cycle;
pub mod exchange;
pub mod history;
pub mod json;
pub mod library;
pub mod limits;
pub mod logline;
pub mod mqtt;
pub mod protocol;
pub mod runner;
pub mod sensor;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod timeline;
