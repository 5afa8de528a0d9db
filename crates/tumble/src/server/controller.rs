//! The controller thread: the runner on the simulated washer, the one alarm, sensor samples,
//! telemetry, and the frames clients send, one at a time. Nothing here waits on the network.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tumble_core::board::{Level, Sensors};
use tumble_core::cycle::Cycle;
use tumble_core::logline;
use tumble_core::protocol::{self, Controller};
use tumble_core::runner::{Notice, Outputs, Runner};
use tumble_core::telemetry;

use super::log;
use crate::player::Clock;
use crate::sim::Washer;

/// A text frame from a client, and where its reply goes.
pub struct Request {
    pub frame: Vec<u8>,
    pub reply: oneshot::Sender<Reply>,
}

pub struct Reply {
    pub text: String,
    pub command: String,
    pub ok: bool,
    /// A cycle was loaded: store this document as load number `.0` before replying.
    pub store: Option<(u64, Vec<u8>)>,
}

pub enum Msg {
    Frame(Request),
    /// Stop the cycle (every output OFF) and end the thread.
    Shutdown,
}

pub struct ControlLoop {
    pub runner: Box<Runner>,
    pub spare: Box<Cycle>,
    pub washer: Washer,
    pub clock: Arc<Clock>,
    pub telemetry_every: Duration,
    pub telemetry: watch::Sender<Arc<str>>,
}

/// The pins: the simulator, and the notices of one runner call, logged after it (the log needs
/// the cycle, which the runner holds while it runs).
struct Pins<'a> {
    washer: &'a mut Washer,
    notices: &'a mut Vec<Notice>,
}

impl Outputs for Pins<'_> {
    fn set(&mut self, pin: u8, level: Level, due_us: u64) {
        self.washer.set(pin, level, due_us);
    }

    fn notice(&mut self, notice: Notice) {
        self.notices.push(notice);
    }
}

impl ControlLoop {
    /// Runs until a Shutdown message or until every sender is gone.
    pub fn run(mut self, inbox: Receiver<Msg>) {
        let sample_us = self.washer.profile().sample_ms as u64 * 1000;
        let mut next_sample = self.clock.now();
        let mut next_telemetry = std::time::Instant::now();
        let mut notices = Vec::new();
        let mut loads = 0u64;
        loop {
            let deadline = self
                .runner
                .poll_timeout()
                .unwrap_or(u64::MAX)
                .min(next_sample);
            let wait = self
                .clock
                .real_until(deadline)
                .min(next_telemetry.saturating_duration_since(std::time::Instant::now()));
            match inbox.recv_timeout(wait) {
                Ok(Msg::Frame(req)) => {
                    let reply = self.handle(&req.frame, &mut loads, &mut notices);
                    self.log(&mut notices);
                    let _ = req.reply.send(reply);
                }
                Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                    let now = self.clock.now();
                    let mut pins = Pins {
                        washer: &mut self.washer,
                        notices: &mut notices,
                    };
                    let _ = self.runner.stop(now, &mut pins);
                    self.log(&mut notices);
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            let now = self.clock.now();
            let mut pins = Pins {
                washer: &mut self.washer,
                notices: &mut notices,
            };
            self.runner.handle_timeout(now, &mut pins);
            if next_sample <= now {
                let readings = pins.washer.read(now);
                self.runner.handle_readings(now, readings, &mut pins);
                // On the sample grid, so the rate does not drift with call lateness.
                next_sample += sample_us;
                if next_sample <= now {
                    next_sample = now + sample_us;
                }
            }
            self.log(&mut notices);
            if next_telemetry <= std::time::Instant::now() {
                let mut frame = String::with_capacity(1024);
                let _ = telemetry::write_frame(&mut frame, &self.runner, now);
                // watch keeps only the latest: a slow client skips stale frames.
                self.telemetry.send_replace(frame.into());
                next_telemetry += self.telemetry_every;
                if next_telemetry < std::time::Instant::now() {
                    next_telemetry = std::time::Instant::now() + self.telemetry_every;
                }
            }
        }
    }

    /// Logs the notices of the last runner calls, in the words the firmware uses too.
    fn log(&self, notices: &mut Vec<Notice>) {
        // A reload's notices are about the cycle it replaced, now in the spare storage.
        let cycle = if logline::about_replaced_cycle(notices) {
            &*self.spare
        } else {
            self.runner.cycle()
        };
        for notice in notices.drain(..) {
            let l = logline::describe(notice, cycle);
            log::line(l.level, l.at_us, "cycle", format_args!("{}", l.message));
        }
    }

    fn handle(&mut self, frame: &[u8], loads: &mut u64, notices: &mut Vec<Notice>) -> Reply {
        let now = self.clock.now();
        let mut pins = Pins {
            washer: &mut self.washer,
            notices,
        };
        let mut c = Controller {
            runner: &mut self.runner,
            spare: &mut self.spare,
            outputs: &mut pins,
            now_us: now,
        };
        let mut text = String::new();
        // Writing to a String cannot fail.
        let h = protocol::handle(frame, &mut c, &mut text).expect("a String takes any reply");
        Reply {
            text,
            command: h.command.to_owned(),
            ok: h.ok,
            store: h.store.map(|doc| {
                *loads += 1;
                (*loads, doc.to_vec())
            }),
        }
    }
}
