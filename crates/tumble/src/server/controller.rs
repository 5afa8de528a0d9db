//! The controller thread: the runner on the simulated washer, the one alarm, sensor samples, and
//! the commands clients send. It only applies. Frames are read, checked and parsed on the
//! network side (`protocol::read`); replies and telemetry frames are written there from the
//! snapshots it hands back; log lines are put into words by the log thread. What runs here is
//! bounded: the events due, a sample, one command; a load is two swaps around the network side's
//! reading of the document into the storage the first one lends out.
//!
//! What is due and what a command does is tumble-core's `Controller`; this is its shell on the
//! host: the clock, the simulator, the channels. A stop comes through its own queue and goes
//! before every queued command. The thread shares no lock with any other: it takes commands
//! from channels and hands results back on channels.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};

use tokio::sync::oneshot;
use tumble_core::board::Sensors;
use tumble_core::controller::{Applied, Arrival, Controller, Work};
use tumble_core::cycle::Cycle;
use tumble_core::protocol::Op;
use tumble_core::runner::{OutputChange, Outputs, Snapshot};
use tumble_core::time::Instant;

use super::log;
use crate::player::{Change, Clock};
use crate::sim::Washer;

/// What a command asks of the controller.
pub enum Task {
    /// The first half of a load: stop the run and lend the cycle's storage out (in [`Done`]).
    Release,
    /// The second half: the lent storage, with the checked document read into it.
    Load(Box<Cycle<'static>>),
    /// Any other command.
    Op(Op),
}

/// What a task did, and for a release the storage it lent.
pub struct Done {
    pub applied: Applied,
    pub lent: Option<Box<Cycle<'static>>>,
}

pub struct Job {
    pub task: Task,
    /// When its frame arrived, in the order of every frame's arrival.
    pub arrival: Arrival,
    pub reply: oneshot::Sender<Done>,
}

pub enum Msg {
    Job(Job),
    /// Something waits in the urgent queue.
    Wake,
}

/// Goes before everything in the inbox.
pub enum Urgent {
    /// A stop, and when its frame arrived.
    Stop(Arrival, oneshot::Sender<Applied>),
    /// Stop the cycle (every output OFF) and end the thread.
    Shutdown,
}

pub struct ControlLoop {
    pub ctl: Box<Controller<'static>>,
    pub washer: Washer,
    pub clock: Arc<Clock>,
    /// The runner at each telemetry tick, for the telemetry writer (a channel of one: a
    /// snapshot the writer has not taken yet is dropped, never waited for).
    pub snapshots: SyncSender<Snapshot>,
    /// Every output change, for `--record` (written by the record thread).
    pub record: Option<Sender<Change>>,
}

/// The pins: the simulator, and the record.
struct Pins<'a> {
    washer: &'a mut Washer,
    record: &'a Option<Sender<Change>>,
    now: Instant,
}

impl Outputs for Pins<'_> {
    fn set(&mut self, change: OutputChange) {
        self.washer.set(change);
        if let Some(record) = self.record {
            let _ = record.send(Change {
                due_us: change.due.as_micros(),
                actual_us: self.now.as_micros(),
                pin: change.pin,
                level: change.level,
                on: change.on,
            });
        }
    }
}

impl ControlLoop {
    /// Runs until a Shutdown or until every sender of the inbox is gone.
    pub fn run(mut self, inbox: Receiver<Msg>, urgent: Receiver<Urgent>) {
        loop {
            let wait = self.clock.real_until(self.ctl.poll_timeout());
            let msg = inbox.recv_timeout(wait);
            // A stop goes first, whatever else is queued.
            while let Ok(u) = urgent.try_recv() {
                match u {
                    Urgent::Stop(arrival, reply) => {
                        let _ = reply.send(self.execute(Work::Op(Op::Stop), arrival));
                    }
                    Urgent::Shutdown => {
                        self.execute(Work::Op(Op::Stop), Arrival::LAST);
                        return;
                    }
                }
            }
            match msg {
                Ok(Msg::Job(job)) => {
                    let (applied, lent) = match job.task {
                        Task::Op(op) => (self.execute(Work::Op(op), job.arrival), None),
                        Task::Release => {
                            let mut lent = Box::new(Cycle::none());
                            let applied = self.execute(Work::Release(&mut lent), job.arrival);
                            (applied, Some(lent))
                        }
                        // What it swaps out is the empty cycle the release left.
                        Task::Load(mut cycle) => {
                            (self.execute(Work::Load(&mut cycle), job.arrival), None)
                        }
                    };
                    let _ = job.reply.send(Done { applied, lent });
                }
                Ok(Msg::Wake) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.execute(Work::Op(Op::Stop), Arrival::LAST);
                    return;
                }
            }
            self.wake();
        }
    }

    /// The events due, a sample, a telemetry snapshot: whatever the controller says is due.
    fn wake(&mut self) {
        let now = self.clock.now();
        let mut pins = Pins {
            washer: &mut self.washer,
            record: &self.record,
            now,
        };
        let step = self.ctl.handle_timeout(now, &mut pins);
        if step.sample_due {
            let readings = pins.washer.read(now);
            self.ctl.handle_sample(now, readings, &mut pins);
        }
        if let Some(s) = step.telemetry {
            let _ = self.snapshots.try_send(s);
        }
        self.forward_notices();
    }

    fn execute(&mut self, work: Work<'_, 'static>, arrival: Arrival) -> Applied {
        let now = self.clock.now();
        let mut pins = Pins {
            washer: &mut self.washer,
            record: &self.record,
            now,
        };
        let applied = self.ctl.execute(work, arrival, now, &mut pins);
        self.forward_notices();
        applied
    }

    /// To the log thread, which puts them into words.
    fn forward_notices(&mut self) {
        while let Some(n) = self.ctl.poll_notice() {
            log::notice(n);
        }
        let lost = self.ctl.lost_notices();
        if lost > 0 {
            log::lost_notices(lost);
        }
    }
}
