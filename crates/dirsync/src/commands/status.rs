//! `dirsync status` and what `scheduler:run-due` adds to its report on every call: per
//! integration its state and reason, last success, last failure, held plans, next run and push
//! channel, with
//! the exit code that says whether anything needs an operator: 1 while any integration is
//! failing (failed, or its newest run failed), else 3 while any plan is held, else 0.

use std::fmt::Write as _;

use anyhow::Result;
use dirsync_core::IntegrationState;
use dirsync_service::{Service, StatusReport};

use crate::output::{Code, Output};

/// The exit code a status report calls for.
fn code(report: &StatusReport) -> Code {
    if report.failing() > 0 {
        Code::Failure
    } else if report.held() > 0 {
        Code::Held
    } else {
        Code::Success
    }
}

/// The report as text: one block per integration.
fn text(report: &StatusReport) -> String {
    let mut out = String::new();
    if report.integrations.is_empty() {
        out.push_str("no integrations\n");
    }
    for i in &report.integrations {
        let state = match &i.state {
            IntegrationState::Failed { reason } => format!("FAILED: {reason}"),
            other => format!("{other:?}").to_lowercase(),
        };
        let _ = writeln!(out, "{} {} ({state})", i.id, i.title);
        if let Some(s) = &i.last_success {
            let _ = writeln!(out, "  last success  {}", s.at.to_rfc3339());
        }
        if let Some(f) = &i.last_failure {
            let reason = f.reason.as_deref().unwrap_or_default();
            let _ = writeln!(out, "  last failure  {}: {reason}", f.at.to_rfc3339());
        }
        if i.last_run_failed {
            out.push_str("  the newest run FAILED\n");
        }
        for h in &i.held_plans {
            let _ = writeln!(
                out,
                "  HELD plan {} since {}: {} (approve with plan:approve)",
                h.plan,
                h.held_at.to_rfc3339(),
                h.reason
            );
        }
        match i.next_run {
            Some(t) => {
                let _ = writeln!(out, "  next run      {}", t.to_rfc3339());
            }
            None => out.push_str("  next run      none scheduled\n"),
        }
        if let Some(p) = &i.push {
            let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or_else(|| "none yet".to_owned(), |t| t.to_rfc3339())
            };
            let _ = match &p.channel {
                Some(channel) => writeln!(
                    out,
                    "  push          channel {channel} expires {}, last notification {}",
                    at(p.expires_at),
                    at(p.last_notification)
                ),
                None => writeln!(
                    out,
                    "  push          on, no channel yet (opened at the next tick)"
                ),
            };
            let _ = match &p.note {
                Some(note) => writeln!(out, "  groups        {note}"),
                None => writeln!(
                    out,
                    "  groups        polled: activities read until {}, last poll {}, {} applied",
                    at(p.polled_until),
                    at(p.last_poll),
                    p.activities
                ),
            };
        }
    }
    let _ = write!(out, "{} failing, {} held", report.failing(), report.held());
    out
}

/// `dirsync status`.
pub(super) async fn status(s: &Service) -> Result<Output> {
    let report = s.status().await?;
    Ok(Output::new(serde_json::to_value(&report)?, text(&report)).with_code(code(&report)))
}

/// `scheduler:run-due`'s output with the status of every integration added (`status` in its
/// JSON), and the worse of its own exit code and the status's.
pub(super) async fn after_run_due(s: &Service, mut out: Output) -> Result<Output> {
    let report = s.status().await?;
    out.code = out.code.worst(code(&report));
    if (report.failing() > 0 || report.held() > 0)
        && let Some(own) = &mut out.text
    {
        let _ = write!(own, "\n{}", text(&report));
    }
    if let Some(json) = out.json.as_object_mut() {
        json.insert("status".to_owned(), serde_json::to_value(&report)?);
    }
    Ok(out)
}
