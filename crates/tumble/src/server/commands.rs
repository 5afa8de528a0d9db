//! A frame from a client (a WebSocket, the MQTT command topic) through tumble-core's
//! `exchange`, the flow the chip runs too. This is the host's side of it: the controller
//! thread reached through its queues (a stop through the urgent one), the query view, the
//! program library and the run history in the state directory, the cycle file.

use std::sync::atomic::Ordering;
use std::sync::mpsc::TrySendError;
use std::sync::{Mutex, OnceLock};

use tokio::sync::oneshot;
use tumble_core::access::Access;
use tumble_core::board::Board;
use tumble_core::controller::{Applied, Arrival};
use tumble_core::cycle::{MAX_STORAGE, WarningCount};
use tumble_core::exchange::{self, ProgramStep, Refusal, Reply, Shell, ToStore};
use tumble_core::logline::CommandLine;
use tumble_core::protocol::{self, Handled, HistoryRequest, Op, Program, Query};

use super::App;
use super::controller::{Done, Job, Msg, Task, Urgent};
use super::log;

/// Runs one frame; returns its reply.
pub async fn command(
    app: &App,
    frame: &[u8],
    peer: &(dyn std::fmt::Display + Sync),
    level: Access,
) -> String {
    let call = Call {
        app,
        program: OnceLock::new(),
        program_name: Mutex::new(None),
    };
    let mut reply = Text(String::new());
    let ran = exchange::exchange(&call, frame, level, &mut reply).await;
    let stored = match ran.to_store() {
        Some(s) => call.store(s, frame),
        None => Ok(()),
    };
    let _ = ran.finish(&call, frame, stored, &peer, &mut reply);
    reply.0
}

/// A reply in a `String`: it takes any length.
struct Text(String);

impl std::fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.push_str(s);
        Ok(())
    }
}

impl Reply for Text {
    fn clear(&mut self) {
        self.0.clear();
    }

    fn as_str(&self) -> &str {
        &self.0
    }
}

/// One frame's way through the host.
struct Call<'a> {
    app: &'a App,
    /// A `load_program`'s document, read from the library.
    program: OnceLock<Vec<u8>>,
    /// Its name, for the history of the runs of the cycle it loads.
    program_name: Mutex<Option<String>>,
}

const STOPPED: Refusal = ("shutting_down", "controller stopped");

impl<'a> Shell<Text> for Call<'a> {
    /// Held through the three steps of a load (release, read, load) and its store, so loads
    /// from several clients take turns; a start waits for a load in progress, as on the chip.
    type Turn = tokio::sync::MutexGuard<'a, ()>;

    fn board(&self) -> &Board {
        &self.app.board
    }

    fn capacity(&self) -> usize {
        MAX_STORAGE
    }

    fn arrival(&self) -> Arrival {
        Arrival(self.app.arrivals.fetch_add(1, Ordering::SeqCst))
    }

    /// Parsing may take milliseconds: off the async workers' hot path, never on the
    /// controller.
    fn work<R>(&self, f: impl FnOnce() -> R) -> R {
        tokio::task::block_in_place(f)
    }

    async fn turn(&self) -> Self::Turn {
        self.app.loading.lock().await
    }

    /// Hands `op` to the controller and waits for what it did. A stop jumps the queue.
    async fn apply(&self, op: Op, arrival: Arrival) -> Result<Applied, Refusal> {
        if op == Op::Stop {
            let (tx, rx) = oneshot::channel();
            self.app
                .urgent
                .send(Urgent::Stop(arrival, tx))
                .map_err(|_| STOPPED)?;
            // A full inbox means the controller is awake and looks at the urgent queue first.
            let _ = self.app.inbox.try_send(Msg::Wake);
            return rx.await.map_err(|_| STOPPED);
        }
        Ok(job(self.app, Task::Op(op), arrival).await?.applied)
    }

    /// The controller stops the run and lends out its cycle storage, the document is read
    /// into it here (and the query view copied from it), and the controller takes it back.
    /// It never reads a document itself.
    async fn load(
        &self,
        _turn: &mut Self::Turn,
        doc: &[u8],
        arrival: Arrival,
    ) -> Result<Applied, Refusal> {
        let app = self.app;
        let mut lent = job(app, Task::Release, arrival)
            .await?
            .lent
            .ok_or(STOPPED)?;
        let lent = self.work(|| {
            let read = lent.read(doc, &app.board, &mut WarningCount::default());
            debug_assert!(read.is_ok(), "a checked document reads the same");
            let mut view = app.loaded.lock().unwrap_or_else(|e| e.into_inner());
            // Storage of the same size: it fits.
            view.copy_from(&lent);
            lent
        });
        // The controller holds no cycle until this arrives: wait for room rather than refuse.
        let (tx, rx) = oneshot::channel();
        let give_back = Msg::Job(Job {
            task: Task::Load(lent),
            arrival,
            reply: tx,
        });
        self.work(|| app.inbox.send(give_back))
            .map_err(|_| STOPPED)?;
        Ok(rx.await.map_err(|_| STOPPED)?.applied)
    }

    /// From the query view, a copy of the loaded cycle made at each load.
    async fn answer<'q>(&self, q: &Query<'q>, w: &mut Text) -> Handled<'q> {
        self.work(|| {
            let loaded = self.app.loaded.lock().unwrap_or_else(|e| e.into_inner());
            protocol::answer(q, &loaded, &self.app.board, w)
        })
        .unwrap_or_else(|_| Handled::new(protocol::Version::V2, q.name))
    }

    async fn program<'d>(
        &'d self,
        _turn: &mut Self::Turn,
        p: &Program<'_>,
        w: &mut Text,
    ) -> ProgramStep<'d> {
        self.work(|| library(self, p, w))
    }

    async fn history(&self, _turn: &mut Self::Turn, h: &HistoryRequest<'_>, w: &mut Text) -> bool {
        let runs = self.app.history.newest(h.limit);
        let _ = tumble_core::history::write_reply(w, h.id, runs.iter().map(String::as_str));
        true
    }

    fn log(&self, ok: bool, line: &CommandLine<'_>) {
        log::now(
            if ok { 'I' } else { 'W' },
            "command",
            format_args!("{line}"),
        );
    }
}

impl Call<'_> {
    /// The cycle file, written atomically, with the load turn held; the history names the
    /// runs of this cycle after its program, if it has one.
    fn store(&self, s: &ToStore, frame: &[u8]) -> std::io::Result<()> {
        let name = self
            .program_name
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        *self.app.program.lock().unwrap_or_else(|e| e.into_inner()) = name;
        let within = match s.from_library {
            true => self.program.get().map_or(&[][..], Vec::as_slice),
            false => frame,
        };
        let Some(doc) = within.get(s.doc.clone()) else {
            return Err(std::io::Error::other(
                "the loaded document was not where it was read",
            ));
        };
        self.work(|| self.app.store.save(s.load, doc))
            .inspect_err(|e| {
                log::now('E', "store", format_args!("cannot store the cycle: {e}"));
            })
    }
}

/// A program-library command on the state directory's library: answered, or for a
/// `load_program` its document (then loaded as a `load_cycle` of it).
fn library<'d>(call: &'d Call<'_>, p: &Program<'_>, reply: &mut Text) -> ProgramStep<'d> {
    use tumble_core::library::{self, Programs, Request};
    let app = call.app;
    let mut lib = app.programs.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(ok) = library::answer(p, &mut *lib, &app.board, MAX_STORAGE, reply) {
        return ProgramStep::Answered(ok);
    }
    let Request::Load { name } = &p.request else {
        return ProgramStep::Answered(false);
    };
    let mut buf = vec![0u8; protocol::MAX_FRAME];
    match lib.load(name, &mut buf) {
        Ok((saved, bytes)) => {
            // Where in `buf` the store put it is the store's business.
            let doc = bytes.to_vec();
            *call.program_name.lock().unwrap_or_else(|e| e.into_inner()) = Some(saved.to_string());
            ProgramStep::Load(call.program.get_or_init(|| doc))
        }
        Err(f) => {
            let _ = f.write(reply, p.id, name.as_str());
            ProgramStep::Answered(false)
        }
    }
}

/// Queues a task for the controller and waits for it; a full queue is refused as busy.
async fn job(app: &App, task: Task, arrival: Arrival) -> Result<Done, Refusal> {
    let (tx, rx) = oneshot::channel();
    match app.inbox.try_send(Msg::Job(Job {
        task,
        arrival,
        reply: tx,
    })) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return Err((
                "busy",
                "controller busy: too many commands at once, try again",
            ));
        }
        Err(TrySendError::Disconnected(_)) => return Err(STOPPED),
    }
    rx.await.map_err(|_| STOPPED)
}
