//! `tumble`: Tumble's controller on the host. See `tumble help`.

mod chart;
mod check;
mod cli;
mod player;
mod run;
mod server;
mod sim;
mod timeline;

use std::process::ExitCode;

use cli::{Failure, Usage};

const HELP: &str = "\
tumble: washer-cycle controller on the host

usage:
  tumble check [--json] [--board BOARD.toml] FILE
                                        validate a cycle and summarise it
  tumble timeline FILE [--phase N] [--format text|jsonl] [--board BOARD.toml]
                                        print the expanded output events
  tumble timeline FILE --svg CHART.svg [--from T] [--to T]
                                        chart the plan (times like 90s, 1h20m, 250ms)
  tumble run FILE [--instant | --speed X] [--record OUT.jsonl] [--board BOARD.toml] [--quiet]
                                        play a cycle on the simulated washer
  tumble plot RECORD.jsonl -o CHART.svg [--from T] [--to T] [--board BOARD.toml]
                                        chart a recorded run, with water level and drum speed
  tumble serve [--port 8080] [--bind 127.0.0.1] [--board FILE] [--state-dir DIR] [--speed X]
               [--telemetry-ms 100] [--token T] [--allow-origin ORIGIN]... [--max-clients 16]
                                        the controller on the simulated washer, WebSocket API at /ws
  tumble board                          print the default board profile (TOML)
  tumble help                           this text

exit codes: 0 ok, 1 the cycle was refused, 2 usage or I/O error,
            3 the cycle stopped on a fault, 130 interrupted (Ctrl-C)";

fn main() -> ExitCode {
    let mut args = lexopt::Parser::from_env();
    let result = match args.next() {
        Ok(Some(lexopt::Arg::Value(cmd))) => match cmd.to_string_lossy().as_ref() {
            "check" => check::run(args),
            "timeline" => timeline::run(args),
            "run" => run::run(args),
            "plot" => chart::plot(args),
            "serve" => server::serve(args),
            "board" => {
                print!("{}", sim::profile::DEFAULT);
                Ok(())
            }
            "help" => {
                println!("{HELP}");
                Ok(())
            }
            other => Err(Usage::new(format!("unknown command {other:?}")).into()),
        },
        Ok(Some(lexopt::Arg::Long("help") | lexopt::Arg::Short('h'))) => {
            println!("{HELP}");
            Ok(())
        }
        Ok(_) => Err(Usage::new("a command is needed".into()).into()),
        Err(e) => Err(Usage::new(e.to_string()).into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused) => ExitCode::from(1),
        Err(Failure::Usage(u)) => {
            eprintln!("tumble: {u}\n\n{HELP}");
            ExitCode::from(2)
        }
        Err(Failure::Io(msg)) => {
            eprintln!("tumble: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Exit(code)) => ExitCode::from(code),
    }
}
