//! `dirsync --help` (in the repository: `cargo run --bin dirsync -- --help`)
//!
//! A command-line tool over a SQLite directory file for real tenants and scripts: create and
//! activate Google integrations, manage rules, sync (or dry-run), approve held plans, run the
//! scheduler from cron, and list users, groups and org units. Human output by default, `--json`
//! for scripts (shapes documented in the README); exit codes 0 success, 1 failure, 3 held by a
//! safeguard.

mod cli;
mod commands;
mod notify;
mod render;
mod status;
mod tuning;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use crate::cli::Cli;

/// What a command printed and how the process should exit.
pub(crate) struct Output {
    /// The `--json` document.
    pub(crate) json: serde_json::Value,
    /// The human text.
    pub(crate) text: String,
    /// The exit code.
    pub(crate) code: Code,
}

/// dirsync's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// Done.
    Success = 0,
    /// Something failed (a run failed, or the command did).
    Failure = 1,
    /// A safeguard held the run; nothing was applied.
    Held = 3,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let bars = dirsync_service::TerminalProgress::new(!json && std::io::stderr().is_terminal());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(json, &anyhow::Error::from(e)),
    };
    let result = runtime.block_on(commands::run(cli, &bars));
    bars.finish();
    match result {
        Ok(out) => {
            let printed = if json {
                out.json.to_string()
            } else {
                out.text.trim_end().to_owned()
            };
            // A closed pipe (`dirsync users:list | head`) is not an error worth a panic.
            if !printed.is_empty() {
                let _ = writeln!(std::io::stdout().lock(), "{printed}");
            }
            ExitCode::from(out.code as u8)
        }
        Err(e) => fail(json, &e),
    }
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
