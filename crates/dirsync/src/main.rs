//! `dirsync --help` (in the repository: `cargo run --bin dirsync -- --help`)
//!
//! A command-line tool over a SQLite directory file for real tenants and scripts: create and
//! activate Google integrations, edit their settings and safeguards, manage rules, sync (or
//! dry-run), review, approve or discard held plans, run the scheduler from cron, and list users,
//! groups and org units. Tables for people, JSON (shapes documented in the README) or CSV for
//! scripts; exit codes 0 success, 1 failure, 3 held by a safeguard.

mod args;
mod cli;
mod commands;
mod config;
mod notify;
mod output;
mod render;
mod tuning;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use dirsync_service::TerminalProgress;
use serde_json::json;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, Format, LogFormat};
use crate::config::Settings;
use crate::output::Code;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands that need no settings and no directory.
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "dirsync",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Command::Man => {
            let man = clap_mangen::Man::new(Cli::command());
            return match man.render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(false, &e.into()),
            };
        }
        _ => {}
    }
    let settings = match Settings::resolve(&cli) {
        Ok(s) => s,
        Err(e) => return fail(cli.json || cli.format == Some(Format::Json), &e),
    };
    let json = settings.format == Format::Json;
    init_logging(&cli, &settings);
    let bars = TerminalProgress::new(!json && std::io::stderr().is_terminal());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(json, &e.into()),
    };
    let fields = cli.fields.clone();
    let result = runtime.block_on(commands::run(cli.command, &settings, &bars));
    bars.finish();
    let printed = result.and_then(|out| Ok((out.render(settings.format, &fields)?, out.code)));
    match printed {
        Ok((printed, code)) => {
            // A closed pipe (`dirsync users:list | head`) is not an error worth a panic.
            if !printed.is_empty() {
                let _ = writeln!(std::io::stdout().lock(), "{printed}");
            }
            ExitCode::from(code as u8)
        }
        Err(e) => fail(json, &e),
    }
}

/// Log lines on stderr: RUST_LOG if set, else -v/-q, else the config file's `log`, else
/// warnings and errors (none with `--format json`, whose stderr carries only the JSON error).
fn init_logging(cli: &Cli, settings: &Settings) {
    let from_flags = match (cli.quiet, cli.verbose) {
        (true, _) => Some("error"),
        (false, 0) => None,
        (false, 1) => Some("info"),
        (false, 2) => Some("debug"),
        (false, _) => Some("trace"),
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => env,
        _ => from_flags
            .map(str::to_owned)
            .or_else(|| settings.log.clone())
            .unwrap_or_else(|| {
                if settings.format == Format::Json {
                    "off".to_owned()
                } else {
                    "warn".to_owned()
                }
            }),
    };
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("warning: ignoring the log filter {filter:?}: {e}");
        EnvFilter::new("warn")
    });
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Only fails if a subscriber is already set, which nothing here does.
    let _ = match cli.log_format {
        LogFormat::Json => logs.json().try_init(),
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).try_init(),
    };
}

fn fail(json: bool, e: &anyhow::Error) -> ExitCode {
    if json {
        let error =
            json!({"error": {"kind": commands::error_kind(e), "message": format!("{e:#}")}});
        eprintln!("{error}");
    } else {
        eprintln!("error: {e:#}");
    }
    ExitCode::from(Code::Failure as u8)
}
