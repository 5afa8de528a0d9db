//! `tumble run`: play a cycle on the simulated washer, in real time or in virtual time.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tumble_core::board::Board;
use tumble_core::controller::{Arrival, Config, Controller, Work};
use tumble_core::cycle::{Cycle, Millis};
use tumble_core::json::{Fixed, Object};
use tumble_core::logline;
use tumble_core::runner::{Fault, Notice, OutputChange, Outputs, PhaseEnd};
use tumble_core::time::{self, Instant};

use crate::cli::{self, Count, Failure, Secs, json_object};
use crate::player::{self, Change, Outcome, Pace, Progress, Seen};
use crate::sim::Washer;

/// Exit code of a cycle that stopped on a fault.
pub const EXIT_FAULT: u8 = 3;
/// Exit code of a run stopped by Ctrl-C (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// `tumble run`.
#[derive(clap::Args)]
pub struct Args {
    /// The cycle document (JSON)
    #[arg(value_name = "FILE")]
    file: String,
    /// Virtual time: jump from event to event as fast as the machine can
    #[arg(long, conflicts_with = "speed")]
    instant: bool,
    /// Real time, this many times faster (0.5 is half speed)
    #[arg(long, value_name = "X", value_parser = cli::speed, default_value_t = 1.0,
          allow_negative_numbers = true)]
    speed: f64,
    /// Write every output change and sensor sample as JSON lines (for `tumble plot`)
    #[arg(long, value_name = "OUT.jsonl")]
    record: Option<String>,
    /// Print only the result, not every output change
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    board: cli::BoardArg,
}

struct Options {
    pace: Pace,
    record: Option<String>,
    quiet: bool,
    board: Option<String>,
}

pub fn run(a: Args) -> cli::Result {
    let o = Options {
        pace: match a.instant {
            true => Pace::Instant,
            false => Pace::RealTime { speed: a.speed },
        },
        record: a.record,
        quiet: a.quiet,
        board: a.board.board,
    };
    let file = a.file;
    let profile = cli::load_profile(o.board.as_deref())?;
    let (mut cycle, report) = cli::load(&file, &profile.board)?;
    if let Err(e) = report {
        eprintln!("{file}: refused\n{e}");
        return Err(Failure::Refused);
    }
    let info = CycleInfo::of(&cycle, &profile.board);
    let mut record = match &o.record {
        Some(path) => Some(BufWriter::new(
            File::create(path).map_err(|e| Failure::io(path, e))?,
        )),
        None => None,
    };
    if let Some(rec) = record.as_mut() {
        // First line: which cycle this is a record of (`tumble plot` titles its chart so).
        let name = file.rsplit('/').next().unwrap_or(&file);
        let head = json_object(|o| {
            o.field("t_us", 0u8)?
                .field("kind", "cycle")?
                .field("file", name)?
                .field("phases", info.cycle.phases().len())?
                .field("events", info.cycle.total_events())?;
            Ok(())
        });
        writeln!(rec, "{head}").map_err(|e| Failure::io(o.record.as_deref().unwrap_or(""), e))?;
    }
    let config = Config {
        sample: time::Duration::from_millis(profile.sample_ms as u64),
        telemetry: None,
    };
    // The cycle brings its own storage: the controller needs none of its own.
    let mut ctl = Box::new(Controller::new(profile.board.clone(), config, &mut []));
    let start = Instant::from_micros(0);
    ctl.execute(Work::Load(&mut cycle), Arrival(0), start, &mut Unwired);

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C asks the timing thread to stop the cycle: it leaves every output OFF, then exits.
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .map_err(|e| Failure::Io(format!("cannot catch Ctrl-C: {e}")))?;

    let progress = Arc::new(Progress::default());
    let (tx, rx) = mpsc::channel();
    let timing = {
        let (progress, stop, pace) = (progress.clone(), stop.clone(), o.pace);
        let mut washer = Washer::new(profile);
        std::thread::Builder::new()
            .name("timing".into())
            .spawn(move || {
                let outcome = player::play(&mut ctl, &mut washer, pace, &tx, &progress, &stop);
                (outcome, ctl)
            })
            .map_err(|e| Failure::Io(format!("cannot start the timing thread: {e}")))?
    };

    let bar = progress_bar(&info);
    let mut record_error = None;
    let log = Log {
        quiet: o.quiet,
        bar: &bar,
        info: &info,
    };
    log.line(
        'I',
        start,
        "cycle",
        format_args!(
            "Starting '{file}': {} phases, {} events, {}",
            info.cycle.phases().len(),
            info.cycle.total_events(),
            Secs(info.cycle.duration_ms())
        ),
    );
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(seen) => {
                let written = record.as_mut().map(|rec| write_record(rec, &seen, &info));
                if let Some(Err(e)) = written {
                    // Stop the cycle the safe way (the timing thread switches everything OFF),
                    // then report: never exit with a cycle still playing.
                    record_error = Some(e);
                    record = None;
                    stop.store(true, Ordering::Relaxed);
                }
                log.seen(&seen);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        update_bar(&bar, &progress, &info);
    }
    bar.finish_and_clear();
    let (outcome, ctl) = timing
        .join()
        .map_err(|_| Failure::Io("the timing thread panicked".into()))?;
    if let Some(rec) = record.as_mut()
        && let Err(e) = rec.flush()
    {
        record_error = Some(e);
    }
    let fault = ctl.runner().snapshot(outcome.end).fault;
    summary(&outcome, fault.is_some(), o.pace);
    if let Some(e) = record_error {
        return Err(Failure::Io(format!("record: {e}; the cycle was stopped")));
    }
    if outcome.interrupted {
        Err(Failure::Exit(EXIT_INTERRUPTED))
    } else if fault.is_some() {
        Err(Failure::Exit(EXIT_FAULT))
    } else {
        Ok(())
    }
}

/// Loading an idle runner switches nothing; this stands in for the pins until the player runs.
struct Unwired;

impl Outputs for Unwired {
    fn set(&mut self, _change: OutputChange) {}
}

/// What the log and the record need to know once the runner owns the cycle: a copy of it (for
/// phase names, counts and log lines in the shared words of `tumble_core::logline`) and the board.
struct CycleInfo {
    cycle: Box<Cycle<'static>>,
    board: Board,
}

impl CycleInfo {
    fn of(cycle: &Cycle<'_>, board: &Board) -> Self {
        let mut copy = Box::new(Cycle::new(cli::storage()));
        // Storage of the same size: it fits.
        copy.copy_from(cycle);
        CycleInfo {
            cycle: copy,
            board: board.clone(),
        }
    }

    fn output(&self, pin: u8) -> &str {
        self.board
            .by_pin(pin)
            .map_or("?", |id| self.board.output(id).name.as_str())
    }

    fn phase(&self, index: u8) -> PhaseName<'_> {
        PhaseName(&self.cycle, index)
    }
}

/// "'wash' (2/3)".
struct PhaseName<'a>(&'a Cycle<'a>, u8);

impl fmt::Display for PhaseName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phases = self.0.phases();
        let label = phases
            .get(self.1 as usize)
            .map_or("?", |p| self.0.phase_label(p));
        write!(f, "'{label}' ({}/{})", self.1 + 1, phases.len())
    }
}

/// ESP-IDF style log lines on stdout: `I (5000) cycle: ...`, ms since the cycle start.
struct Log<'a> {
    quiet: bool,
    bar: &'a ProgressBar,
    info: &'a CycleInfo,
}

impl Log<'_> {
    fn line(&self, level: char, at: Instant, tag: &str, msg: fmt::Arguments<'_>) {
        if self.quiet && level == 'I' {
            return;
        }
        let text = format!("{level} ({}) {tag}: {msg}", at.as_millis());
        if self.bar.is_hidden() {
            // A closed stdout (`| head`) must not stop the cycle: its outputs still need their OFF.
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        } else {
            self.bar.println(text);
        }
    }

    fn seen(&self, seen: &Seen) {
        let info = self.info;
        match *seen {
            Seen::Output(Change {
                due_us,
                actual_us,
                pin,
                level,
                on,
            }) => {
                let name = info.output(pin);
                self.line(
                    'I',
                    Instant::from_micros(due_us),
                    "output",
                    format_args!(
                        "{name} {} (pin {pin} = {}) due {} ms, at {} ms",
                        if on { "ON" } else { "OFF" },
                        level.as_u8(),
                        Millis(due_us),
                        Millis(actual_us)
                    ),
                );
            }
            Seen::Sample { .. } => {}
            Seen::Notice(Notice::PhaseStarted { at, phase }) => {
                let p = &info.cycle.phases()[phase as usize];
                self.line(
                    'I',
                    at,
                    "cycle",
                    format_args!(
                        "Phase {}: {} events, {}",
                        info.phase(phase),
                        p.events(),
                        Secs(p.duration_ms() as u64)
                    ),
                );
            }
            // Ends in the words `tumble serve` and the firmware use.
            Seen::Notice(notice) => {
                let l = logline::describe(notice, &info.cycle);
                self.line(l.level, l.at, "cycle", format_args!("{}", l.message));
            }
        }
    }
}

fn write_record(out: &mut impl Write, seen: &Seen, info: &CycleInfo) -> std::io::Result<()> {
    let line = |t_us: u64, kind: &str, more: &dyn Fn(&mut Object<String>) -> fmt::Result| {
        json_object(|o| {
            o.field("t_us", t_us)?.field("kind", kind)?;
            more(o)
        })
    };
    let text = match *seen {
        Seen::Output(c) => c.record_line(info.output(c.pin)),
        Seen::Sample {
            at,
            rpm,
            pressure_hz,
            level_litres,
            drum_rpm,
        } => line(at.as_micros(), "sensors", &|o| {
            o.field("rpm", Fixed(rpm.into(), 1))?
                .field("pressure_hz", Fixed(pressure_hz.into(), 1))?
                .field("level_litres", Fixed(level_litres, 3))?
                .field("drum_rpm", Fixed(drum_rpm, 2))?;
            Ok(())
        }),
        Seen::Notice(Notice::PhaseStarted { at, phase }) => {
            let cycle = &info.cycle;
            let p = &cycle.phases()[phase as usize];
            line(at.as_micros(), "phase_start", &|o| {
                o.field("phase", phase)?
                    .field("id", cycle.text(p.id))?
                    .field("name", cycle.phase_label(p))?
                    .field("color", cycle.text(p.color))?
                    .field("events", p.events())?
                    .field("duration_ms", p.duration_ms())?;
                Ok(())
            })
        }
        Seen::Notice(Notice::PhaseEnded { at, phase, end }) => {
            let at_us = at.as_micros();
            let mut text = line(at_us, "phase_end", &|o| {
                o.field("phase", phase)?.field("end", end.word())?;
                Ok(())
            });
            if let PhaseEnd::Faulted(Fault::WaitTimeout { phase }) = end {
                text.push('\n');
                text += &line(at_us, "fault", &|o| {
                    o.field("fault", "wait_timeout")?.field("phase", phase)?;
                    Ok(())
                });
            }
            text
        }
        Seen::Notice(Notice::CycleEnded { at, completed }) => {
            line(at.as_micros(), "cycle_end", &|o| {
                o.field("completed", completed)?;
                Ok(())
            })
        }
    };
    writeln!(out, "{text}")
}

fn progress_bar(info: &CycleInfo) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(info.cycle.duration_ms().max(1)),
        indicatif::ProgressDrawTarget::stderr_with_hz(10),
    );
    bar.set_style(
        ProgressStyle::with_template("{prefix:>20} [{bar:40}] {percent:>3}% {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}

fn update_bar(bar: &ProgressBar, progress: &Progress, info: &CycleInfo) {
    if bar.is_hidden() {
        return;
    }
    let now_ms = progress.now_us.load(Ordering::Relaxed) / 1000;
    let phase = progress.phase.load(Ordering::Relaxed) as u8;
    let phases = info.cycle.phases();
    if let Some(p) = phases.get(phase as usize) {
        bar.set_prefix(info.phase(phase).to_string());
        let done: u64 = phases[..phase as usize]
            .iter()
            .map(|p| p.duration_ms() as u64)
            .sum();
        let total = p.duration_ms() as u64;
        bar.set_message(format!(
            "phase {} / {}",
            Secs(now_ms.saturating_sub(done).min(total)),
            Secs(total)
        ));
    }
    bar.set_position(now_ms.min(info.cycle.duration_ms()));
}

/// The lines `--quiet` keeps.
fn summary(outcome: &Outcome, faulted: bool, pace: Pace) {
    use std::fmt::Write as _;
    let how = if outcome.interrupted {
        "interrupted"
    } else if faulted {
        "fault"
    } else {
        "completed"
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "result: {how} after {} of cycle time, {} fired, {} late, outputs {}",
        Secs(outcome.end.as_millis()),
        Count(outcome.stats.events_fired, "event"),
        outcome.stats.late_events,
        if outcome.all_off {
            "all OFF"
        } else {
            "NOT all OFF"
        }
    );
    if !outcome.realtime_policy && matches!(pace, Pace::RealTime { .. }) {
        let _ = writeln!(
            s,
            "note: real-time scheduling (SCHED_FIFO) was not permitted; timing may suffer on a busy machine"
        );
    }
    let l = &outcome.lateness;
    let q = |x: f64| {
        l.quantile(x)
            .map_or("over 100000".to_owned(), |v| v.to_string())
    };
    let _ = match l.events {
        0 => writeln!(s, "lateness: no events"),
        n => writeln!(
            s,
            "lateness: p50={}us p99={}us max={}us over {}",
            q(0.5),
            q(0.99),
            l.max_us,
            Count(n, "event")
        ),
    };
    // The cycle is over and every output OFF: a closed stdout changes nothing now.
    let _ = cli::print(&s);
}
