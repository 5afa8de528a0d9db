//! The controller thread: the runner on the simulated washer, the one alarm, sensor samples, and
//! the commands clients send. It only applies. Frames are read, checked and parsed on the
//! network side (`protocol::read`); replies and telemetry frames are written there from the
//! snapshots it hands back; log lines are put into words by the log thread. What runs here is
//! bounded: the events due, a sample, one command, a 64 KB swap for a load.
//!
//! A stop comes through its own queue and goes before every queued command. The thread shares
//! no lock with any other: it takes commands from channels and hands results back on channels.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tumble_core::board::{Level, Sensors};
use tumble_core::cycle::Cycle;
use tumble_core::protocol::{self, Op, Outcome};
use tumble_core::runner::{Notice, Outputs, Runner, Snapshot};

use super::log;
use crate::player::{Change, Clock};
use crate::sim::Washer;

/// What a command asks of the runner.
pub enum Work {
    /// A load: the cycle `protocol::read` parsed, and the copy queries will read once it is in.
    Load(Box<Cycle>, Arc<Cycle>),
    /// Any other command.
    Op(Op),
    /// A command a stop that arrived after it overtook: refused, nothing changes.
    Overtaken,
}

pub struct Job {
    pub work: Work,
    /// When its frame arrived, in the order of every frame's arrival.
    pub seq: u64,
    pub reply: oneshot::Sender<Done>,
}

pub struct Done {
    pub outcome: Outcome,
    /// For a load: its number, so that an older load never overwrites a newer one on disk.
    pub load: Option<u64>,
}

pub enum Msg {
    Job(Job),
    /// Something waits in the urgent queue.
    Wake,
}

/// Goes before everything in the inbox.
pub enum Urgent {
    /// A stop, and when its frame arrived.
    Stop(u64, oneshot::Sender<Done>),
    /// Stop the cycle (every output OFF) and end the thread.
    Shutdown,
}

pub struct ControlLoop {
    pub runner: Box<Runner>,
    pub washer: Washer,
    pub clock: Arc<Clock>,
    pub telemetry_every: Duration,
    /// The runner at each telemetry tick, for the telemetry writer (a channel of one: a
    /// snapshot the writer has not taken yet is dropped, never waited for).
    pub snapshots: SyncSender<Snapshot>,
    /// The loaded cycle, to name the phases in notices.
    pub loaded: Arc<Cycle>,
    /// Every output change, for `--record` (written by the record thread).
    pub record: Option<Sender<Change>>,
}

/// The pins: the simulator, the record, and the notices of one runner call.
struct Pins<'a> {
    washer: &'a mut Washer,
    record: &'a Option<Sender<Change>>,
    now_us: u64,
    notices: &'a mut Vec<Notice>,
}

impl Outputs for Pins<'_> {
    fn set(&mut self, pin: u8, level: Level, due_us: u64) {
        self.washer.set(pin, level, due_us);
        if let Some(record) = self.record {
            let board = &self.washer.profile().board;
            let on = board
                .by_pin(pin)
                .is_some_and(|id| board.output(id).is_on(level));
            let _ = record.send(Change {
                due_us,
                actual_us: self.now_us,
                pin,
                level,
                on,
            });
        }
    }

    fn notice(&mut self, notice: Notice) {
        self.notices.push(notice);
    }
}

impl ControlLoop {
    /// Runs until a Shutdown or until every sender of the inbox is gone.
    pub fn run(mut self, inbox: Receiver<Msg>, urgent: Receiver<Urgent>) {
        let sample_us = self.washer.profile().sample_ms as u64 * 1000;
        let mut next_sample = self.clock.now();
        let mut next_telemetry = Instant::now();
        let mut notices = Vec::new();
        let mut loads = 0u64;
        // The arrival of the last stop applied: what arrived before it may not start anything.
        let mut stopped_at = 0u64;
        loop {
            let deadline = self
                .runner
                .poll_timeout()
                .unwrap_or(u64::MAX)
                .min(next_sample);
            let wait = self
                .clock
                .real_until(deadline)
                .min(next_telemetry.saturating_duration_since(Instant::now()));
            let msg = inbox.recv_timeout(wait);
            // A stop goes first, whatever else is queued.
            while let Ok(u) = urgent.try_recv() {
                let stop = self.apply(Work::Op(Op::Stop), &mut notices);
                match u {
                    Urgent::Stop(seq, reply) => {
                        stopped_at = stopped_at.max(seq);
                        let _ = reply.send(Done {
                            outcome: stop,
                            load: None,
                        });
                    }
                    Urgent::Shutdown => return,
                }
            }
            match msg {
                Ok(Msg::Job(job)) => {
                    let load = matches!(job.work, Work::Load(..)).then(|| {
                        loads += 1;
                        loads
                    });
                    let work = match job.work {
                        Work::Op(op) if op.moves() && job.seq < stopped_at => Work::Overtaken,
                        work => work,
                    };
                    let outcome = self.apply(work, &mut notices);
                    let done = Done { outcome, load };
                    let _ = job.reply.send(done);
                }
                Ok(Msg::Wake) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.apply(Work::Op(Op::Stop), &mut notices);
                    return;
                }
            }
            let now = self.clock.now();
            let mut pins = Pins {
                washer: &mut self.washer,
                record: &self.record,
                now_us: now,
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
            log::notices(&mut notices, &self.loaded);
            if next_telemetry <= Instant::now() {
                let _ = self.snapshots.try_send(self.runner.snapshot(now));
                next_telemetry += self.telemetry_every;
                if next_telemetry < Instant::now() {
                    next_telemetry = Instant::now() + self.telemetry_every;
                }
            }
        }
    }

    /// One command on the runner; its notices are logged with the cycle they are about (for a
    /// load, the one it replaced).
    fn apply(&mut self, work: Work, notices: &mut Vec<Notice>) -> Outcome {
        let now = self.clock.now();
        let mut pins = Pins {
            washer: &mut self.washer,
            record: &self.record,
            now_us: now,
            notices,
        };
        let outcome = match work {
            Work::Op(op) => protocol::apply(op, &mut self.runner, &mut pins, now),
            Work::Overtaken => protocol::overtaken(&mut self.runner, &mut pins, now),
            Work::Load(mut cycle, view) => {
                let outcome = protocol::load(&mut self.runner, &mut cycle, &mut pins, now);
                log::notices(pins.notices, &self.loaded);
                self.loaded = view;
                // The replaced cycle is freed here; it is only a heap block.
                drop(cycle);
                outcome
            }
        };
        log::notices(notices, &self.loaded);
        outcome
    }
}
