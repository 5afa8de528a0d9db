//! `tumble timeline`: the expanded events of a cycle, as text or JSON lines.

use std::io::{BufWriter, Write};

use tumble_core::cycle::Millis;
use tumble_core::json::write_str;
use tumble_core::timeline::Timeline;

use crate::chart;
use crate::cli::{self, Failure, Usage};

#[derive(PartialEq)]
enum Format {
    Text,
    Jsonl,
}

pub fn run(args: lexopt::Parser) -> cli::Result {
    let mut phase = None;
    let mut format = Format::Text;
    let mut svg = None;
    let mut window = chart::Window::default();
    let mut board_file = None;
    let file = cli::file_and_options(args, |opt, args| {
        match opt {
            "phase" => phase = Some(cli::value::<usize>(args, opt)?),
            "svg" => svg = Some(cli::value::<String>(args, opt)?),
            "board" => board_file = Some(cli::value::<String>(args, opt)?),
            "from" | "to" => window.set(opt, &cli::value::<String>(args, opt)?)?,
            "format" => {
                format = match cli::value::<String>(args, opt)?.as_str() {
                    "text" => Format::Text,
                    "jsonl" => Format::Jsonl,
                    other => {
                        return Err(
                            Usage::new(format!("unknown format {other:?} (text, jsonl)")).into(),
                        );
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let board = cli::load_profile(board_file.as_deref())?.board;
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
            return Err(Usage::new(format!(
                "--phase {n}: the cycle has {} phases",
                phases.len()
            ))
            .into());
        }
        Some(n) => n..n + 1,
        None => 0..phases.len(),
    };
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let io = |e: std::io::Error| Failure::Io(format!("stdout: {e}"));
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
                    Millis(ev.at_us).to_string(),
                    def.name,
                    def.pin,
                    if ev.on { "ON" } else { "OFF" }
                ),
                Format::Jsonl => {
                    let mut name = String::new();
                    let _ = write_str(&mut name, &def.name);
                    writeln!(
                        out,
                        "{{\"phase\":{index},\"at_us\":{},\"pin\":{},\"output\":{name},\"level\":{level}}}",
                        ev.at_us, def.pin
                    )
                }
            }
            .map_err(io)?;
        }
    }
    out.flush().map_err(io)
}
