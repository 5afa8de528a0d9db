//! `tumble timeline`: the expanded events of a cycle, as text or JSON lines.

use std::io::{BufWriter, Write};

use tumble_core::cycle::Millis;
use tumble_core::timeline::Timeline;

use crate::chart;
use crate::cli::{self, Failure};

/// How the events are printed.
#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Format {
    /// One line per event, for people
    Text,
    /// One JSON object per line: {"phase":0,"at_us":0,"pin":10,"output":"...","level":0}
    Jsonl,
}

/// `tumble timeline`.
#[derive(clap::Args)]
pub struct Args {
    /// The cycle document (JSON)
    #[arg(value_name = "FILE")]
    file: String,
    /// Only this phase: its index from 0, as in `phases[0]` and `tumble check`'s list (logs
    /// and telemetry count from 1)
    #[arg(long, value_name = "N")]
    phase: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Text, conflicts_with = "svg")]
    format: Format,
    /// Chart the plan into this SVG file instead of printing events
    #[arg(long, value_name = "CHART.svg")]
    svg: Option<String>,
    #[command(flatten)]
    window: chart::WindowArgs,
    #[command(flatten)]
    board: cli::BoardArg,
}

pub fn run(a: Args) -> cli::Result {
    let (phase, format, file, svg) = (a.phase, a.format, a.file, a.svg);
    if svg.is_none() && (a.window.from.is_some() || a.window.to.is_some()) {
        return Err(Failure::Usage("--from and --to need --svg".into()));
    }
    if svg.is_some() && phase.is_some() {
        return Err(Failure::Usage(
            "--phase and --svg cannot be used together: the chart shows the whole cycle".into(),
        ));
    }
    let window = chart::Window::from(&a.window)?;
    let board = cli::load_profile(a.board.board.as_deref())?.board;
    let (cycle, result) = cli::load(&file, &board)?;
    if let Err(e) = result {
        eprintln!("{file}: refused\n{e}");
        return Err(Failure::Refused);
    }
    if let Some(out) = svg {
        let title = file.rsplit('/').next().unwrap_or(&file);
        return chart::write(
            &out,
            window,
            |merge_us| Ok(chart::from_plan(&cycle, &board, title, merge_us)),
            cycle.duration_ms() * 1000,
        );
    }
    let phases = cycle.phases();
    let selected = match phase {
        Some(n) if n >= phases.len() => {
            return Err(Failure::Usage(format!(
                "--phase {n}: the cycle has {} (indices from 0)",
                cli::Count(phases.len() as u64, "phase")
            )));
        }
        Some(n) => n..n + 1,
        None => 0..phases.len(),
    };
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let io = |e: std::io::Error| Failure::io("stdout", e);
    for index in selected {
        let p = &phases[index];
        if format == Format::Text {
            writeln!(
                out,
                "phase {index} '{}': {} events",
                cycle.phase_label(p),
                p.events()
            )
            .map_err(io)?;
        }
        for ev in Timeline::new(&cycle, p) {
            let def = board.output(ev.output);
            let level = def.level(ev.on).as_u8();
            match format {
                Format::Text => writeln!(
                    out,
                    "  {:>12} ms  {:<16} pin {:>2} level {level} {}",
                    Millis(ev.at.as_micros()).to_string(),
                    def.name,
                    def.pin,
                    if ev.on { "ON" } else { "OFF" }
                ),
                Format::Jsonl => {
                    let line = cli::json_object(|o| {
                        o.field("phase", index)?
                            .field("at_us", ev.at.as_micros())?
                            .field("pin", def.pin)?
                            .field("output", def.name.as_str())?
                            .field("level", level)?;
                        Ok(())
                    });
                    writeln!(out, "{line}")
                }
            }
            .map_err(io)?;
        }
    }
    out.flush().map_err(io)
}
