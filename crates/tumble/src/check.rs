//! `tumble check`: validate a cycle and summarise it, for people or (with --json) for tools.

use std::fmt::Write;

use tumble_core::cycle::{Cycle, CycleError, Report, TriggerMode};

use crate::cli::{self, Failure, Secs};

pub fn run(args: lexopt::Parser) -> cli::Result {
    let mut json = false;
    let mut board_file = None;
    let file = cli::file_and_options(args, |opt, args| {
        match opt {
            "json" => json = true,
            "board" => board_file = Some(cli::value::<String>(args, opt)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let board = cli::load_profile(board_file.as_deref())?.board;
    let (cycle, result) = cli::load(&file, &board)?;
    let out = match (&result, json) {
        (Ok(report), false) => human(&file, &cycle, report),
        (Err(e), false) => format!("{file}: refused\n{e}\n"),
        (Ok(report), true) => json_ok(&cycle, report),
        (Err(e), true) => json_err(e),
    };
    match result {
        Ok(_) => {
            print!("{out}");
            Ok(())
        }
        Err(_) if json => {
            print!("{out}");
            Err(Failure::Refused)
        }
        Err(_) => {
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
        "{file}: ok, {} phases, {} events, {}",
        phases.len(),
        cycle.total_events(),
        Secs(cycle.duration_ms())
    );
    for (i, p) in phases.iter().enumerate() {
        let name = cycle.text(p.name);
        let _ = write!(s, "  phase {i} '{}'", cycle.phase_label(p));
        if !name.is_empty() && name != cycle.phase_label(p) {
            let _ = write!(s, " ({name})");
        }
        let _ = write!(
            s,
            ": {} components, {} events, {}",
            p.component_range().len(),
            p.events(),
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
    let total = report.warnings.len() + report.more_warnings;
    if total > 0 {
        let _ = writeln!(s, "{total} warnings:");
        for w in &report.warnings {
            let _ = writeln!(s, "  {}: {}", w.path, w.message);
        }
        if report.more_warnings > 0 {
            let _ = writeln!(s, "  ... and {} more", report.more_warnings);
        }
    }
    s
}

fn json_ok(cycle: &Cycle, report: &Report) -> String {
    let mut s = String::from("{\"ok\":true,");
    let _ = cycle.write_summary(report, &mut s);
    s.push_str("}\n");
    s
}

fn json_err(e: &CycleError) -> String {
    let mut s = String::from("{\"ok\":false,\"error\":");
    let _ = e.write_json(&mut s);
    s.push_str("}\n");
    s
}
