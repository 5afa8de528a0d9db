//! `tumble check`: validate a cycle and summarise it, for people or (with --json) for tools.

use std::fmt::Write;

use tumble_core::cycle::{Cycle, CycleError, Report, TriggerMode};
use tumble_core::json::Object;
use tumble_core::limits::CHIP_CYCLE_STORAGE;

use crate::cli::{self, Count, Failure, Secs};

/// `tumble check`.
#[derive(clap::Args)]
pub struct Args {
    /// The cycle document (JSON)
    #[arg(value_name = "FILE")]
    file: String,
    /// Print the summary (or the error) as one JSON object, as the v2 protocol's
    /// validate_cycle answers
    #[arg(long)]
    json: bool,
    /// Refuse the cycle when there is any warning (exit 1), not only when there is an error
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    board: cli::BoardArg,
}

pub fn run(a: Args) -> cli::Result {
    let board = cli::load_profile(a.board.board.as_deref())?.board;
    let file = &a.file;
    let (cycle, result) = cli::load(file, &board)?;
    let warned = result.as_ref().is_ok_and(|r| r.count() > 0);
    let strict = a.strict && warned;
    let out = match (&result, a.json) {
        (Ok(report), false) if strict => format!(
            "{}{file}: refused (--strict: every warning is an error)\n",
            human(file, &cycle, report)
        ),
        (Ok(report), false) => human(file, &cycle, report),
        (Err(e), false) => format!("{file}: refused\n{e}\n"),
        (Ok(report), true) => json_ok(&cycle, report, !strict),
        (Err(e), true) => json_err(e),
    };
    match (result, a.json) {
        (Ok(_), _) if !strict => cli::print(&out),
        (_, true) => {
            cli::print(&out)?;
            Err(Failure::Refused)
        }
        (_, false) => {
            eprint!("{out}");
            Err(Failure::Refused)
        }
    }
}

fn human(file: &str, cycle: &Cycle, report: &Report) -> String {
    let mut s = String::new();
    let phases = cycle.phases();
    let _ = writeln!(
        s,
        "{file}: ok, {}, {}, {}",
        Count(phases.len() as u64, "phase"),
        Count(cycle.total_events(), "event"),
        Secs(cycle.duration_ms())
    );
    for (i, p) in phases.iter().enumerate() {
        let id = cycle.text(p.id);
        let _ = write!(s, "  phase {i} '{}'", cycle.phase_label(p));
        if !id.is_empty() && id != cycle.phase_label(p) {
            let _ = write!(s, " (id {id})");
        }
        let _ = write!(
            s,
            ": {}, {}, {}",
            Count(p.component_count() as u64, "component"),
            Count(p.events(), "event"),
            Secs(p.duration_ms() as u64)
        );
        if let Some(t) = p.trigger {
            let cmp = if t.above { '>' } else { '<' };
            let _ = write!(s, ", ends when {} {cmp} {}", t.sensor.name(), t.threshold);
            if let TriggerMode::Wait { timeout_ms } = t.mode {
                let _ = write!(
                    s,
                    " (waits for it; fault {timeout_ms} ms after its last event)"
                );
            }
        }
        s.push('\n');
    }
    let used = cycle.storage_used();
    let _ = write!(s, "  storage: {used} bytes");
    if used > CHIP_CYCLE_STORAGE {
        let _ = write!(
            s,
            ": too large for the ESP32-C3 firmware, which keeps {CHIP_CYCLE_STORAGE}"
        );
    }
    s.push('\n');
    let total = report.count();
    if total > 0 {
        let _ = writeln!(s, "{}:", Count(total as u64, "warning"));
        for w in &report.warnings {
            let _ = writeln!(s, "  {}: {}", w.path, w.message);
        }
        if report.more_warnings > 0 {
            let _ = writeln!(s, "  ... and {} more", report.more_warnings);
        }
    }
    s
}

/// The summary; `ok` false when --strict refuses it for its warnings.
fn json_ok(cycle: &Cycle, report: &Report, ok: bool) -> String {
    let mut s = String::new();
    let _ = (|| {
        let mut o = Object::open(&mut s)?;
        o.field("ok", ok)?
            .field_if("strict", (!ok).then_some(true))?;
        cycle.write_summary(report, &mut o)?;
        o.field("storage_bytes", cycle.storage_used())?;
        o.close()
    })();
    s.push('\n');
    s
}

fn json_err(e: &CycleError) -> String {
    let mut s = String::new();
    let _ = (|| {
        let mut o = Object::open(&mut s)?;
        o.field("ok", false)?
            .field_with("error", |w| e.write_json(w))?;
        o.close()
    })();
    s.push('\n');
    s
}
