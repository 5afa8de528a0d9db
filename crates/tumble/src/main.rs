//! `tumble`: Tumble's controller on the host. See `tumble help`.

mod check;
mod cli;
mod timeline;

use std::process::ExitCode;

use cli::{Failure, Usage};

const HELP: &str = "\
tumble: washer-cycle controller on the host

usage:
  tumble check [--json] FILE            validate a cycle and summarise it
  tumble timeline FILE [--phase N] [--format text|jsonl]
                                        print the expanded output events
  tumble help                           this text

exit codes: 0 ok, 1 the cycle was refused, 2 usage or I/O error";

fn main() -> ExitCode {
    let mut args = lexopt::Parser::from_env();
    let result = match args.next() {
        Ok(Some(lexopt::Arg::Value(cmd))) => match cmd.to_string_lossy().as_ref() {
            "check" => check::run(args),
            "timeline" => timeline::run(args),
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
    }
}
