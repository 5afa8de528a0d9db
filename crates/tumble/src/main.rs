//! `tumble`: Tumble's controller on the host. See `tumble --help`.

mod chart;
mod check;
mod cli;
mod config;
mod fleet;
mod player;
mod remote;
mod run;
mod server;
mod sim;
mod timeline;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use cli::Failure;

/// Tumble: a controller for timed washer cycles, on the host (a simulated washer).
#[derive(Parser)]
#[command(name = "tumble", version, propagate_version = true, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "\
Exit codes: 0 ok, 1 the cycle was refused, 2 usage or I/O error,
            3 the cycle stopped on a fault, 130 interrupted (Ctrl-C)";

#[derive(Subcommand)]
enum Command {
    /// Validate a cycle and summarise it (for tools: --json)
    #[command(
        after_help = "Examples:\n  tumble check examples/cycles/wash-1600.json\n  \
        tumble check --strict --json my-cycle.json"
    )]
    Check(check::Args),
    /// Print a cycle's expanded output events, or chart its plan (--svg)
    #[command(
        after_help = "Examples:\n  tumble timeline examples/cycles/original-example.json\n  \
        tumble timeline wash.json --phase 1 --format jsonl | head\n  \
        tumble timeline wash.json --svg plan.svg --from 1m --to 2m30s"
    )]
    Timeline(timeline::Args),
    /// Play a cycle on the simulated washer, in real time or in virtual time
    #[command(
        after_help = "Examples:\n  tumble run examples/cycles/original-example.json --speed 10\n  \
        tumble run wash.json --instant --record run.jsonl"
    )]
    Run(run::Args),
    /// Chart a recorded run (from `run --record`), with water level and drum speed
    #[command(after_help = "Example:\n  tumble plot run.jsonl -o run.svg --from 0 --to 5m")]
    Plot(chart::PlotArgs),
    /// The controller on the simulated washer: the WebSocket API at /ws and the page at /
    #[command(after_help = "Examples:\n  tumble serve\n  \
        tumble serve --bind 0.0.0.0 --token s3cret --speed 10\n  \
        tumble serve --allow-origin http://127.0.0.1:5173   # the original front end")]
    Serve(Box<server::Args>),
    /// Many simulated washers on one MQTT broker, each a `tumble serve` (demos, load tests)
    #[command(
        after_help = "Example:\n  tumble fleet --washers 20 --mqtt mqtt://127.0.0.1:1883 --mqtt-commands"
    )]
    Fleet(fleet::Args),
    /// Check a cycle here, then load it on a controller elsewhere (tumble serve or the chip)
    #[command(
        after_help = "Examples:\n  tumble send wash.json --to ws://192.168.1.20:8080/ws\n  \
        tumble send wash.json --to ws://washer-3.local:8080/ws --token s3cret --start"
    )]
    Send(remote::SendArgs),
    /// What a controller's past runs did: program, outcome, phases, water (table, CSV, JSON)
    #[command(
        after_help = "Examples:\n  tumble history ws://192.168.1.20:8080/ws --token s3cret\n  \
        tumble history ws://127.0.0.1:8080/ws --format csv > runs.csv"
    )]
    History(remote::HistoryArgs),
    /// Follow a controller elsewhere: what runs, which outputs are ON, as it changes
    #[command(after_help = "Example:\n  tumble watch ws://192.168.1.20:8080/ws --token s3cret")]
    Watch(remote::WatchArgs),
    /// Print the token `tumble serve` requires for commands (made at its first start), or
    /// make a new one (--rotate)
    #[command(
        after_help = "Examples:\n  tumble token\n  tumble token --rotate --state-dir /var/lib/tumble"
    )]
    Token(server::token::Args),
    /// Print the default board profile (TOML): copy it, edit it, pass it with --board
    Board,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(
        after_help = "Example:\n  tumble completions bash > ~/.local/share/bash-completion/completions/tumble"
    )]
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Check(_) => "check",
            Command::Timeline(_) => "timeline",
            Command::Run(_) => "run",
            Command::Plot(_) => "plot",
            Command::Serve(_) => "serve",
            Command::Fleet(_) => "fleet",
            Command::Send(_) => "send",
            Command::Watch(_) => "watch",
            Command::History(_) => "history",
            Command::Token(_) => "token",
            Command::Board => "board",
            Command::Completions { .. } => "completions",
        }
    }
}

fn main() -> ExitCode {
    // A panic on any thread ends the process (after the usual message): a server whose
    // controller thread died must not go on serving the page and stale telemetry as if it ran.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        std::process::exit(101);
    }));
    let args = match config::expand::<Cli>(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(why) => {
            eprintln!("tumble: {why}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse_from(args);
    let name = cli.command.name();
    let result = match cli.command {
        Command::Check(a) => check::run(a),
        Command::Timeline(a) => timeline::run(a),
        Command::Run(a) => run::run(a),
        Command::Plot(a) => chart::plot(a),
        Command::Serve(a) => server::serve(*a),
        Command::Fleet(a) => fleet::run(a),
        Command::Send(a) => remote::send(a),
        Command::Watch(a) => remote::watch(a),
        Command::History(a) => remote::history(a),
        Command::Token(a) => server::token::run(a),
        Command::Board => cli::print(sim::profile::DEFAULT),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tumble", &mut out);
            cli::print(&String::from_utf8_lossy(&out))
        }
    };
    match result {
        Ok(()) | Err(Failure::Closed) => ExitCode::SUCCESS,
        Err(Failure::Refused) => ExitCode::from(1),
        Err(Failure::Usage(msg)) => {
            // In clap's usual form, with the usage of the command.
            let mut cli = Cli::command();
            cli.build();
            let mut cmd = cli.find_subcommand_mut(name).cloned().unwrap_or(cli);
            cmd.error(clap::error::ErrorKind::ArgumentConflict, msg)
                .exit()
        }
        Err(Failure::Io(msg)) => {
            eprintln!("tumble: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Exit(code)) => ExitCode::from(code),
    }
}
