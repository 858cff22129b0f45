//! Run commands: sync and dry run, run history, held plans (list, show, discard; approval is
//! a run), and the scheduler's due rules.

use std::fmt::Write;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use dirsync_core::{PlanId, RunOutcome, SyncRun};
use dirsync_service::views::{HeldPlanView, PlanView};
use dirsync_service::{DryRun, PlannedChange, Service, TerminalProgress as Bars};
use serde_json::json;

use super::integration_id;
use crate::output::{Code, Output};
use crate::render;

/// The exit code a run calls for.
pub(super) fn run_code(run: &SyncRun) -> Code {
    match run.outcome {
        RunOutcome::Held { .. } => Code::Held,
        RunOutcome::Failed { .. } => Code::Failure,
        _ => Code::Success,
    }
}

pub(super) fn run_output(run: &SyncRun) -> Output {
    Output::new(render::run(run), render::run_text(run)).with_code(run_code(run))
}

pub(super) async fn sync(s: &Service, id: &str, dry_run: bool, bars: &Bars) -> Result<Output> {
    let id = integration_id(id)?;
    if !dry_run {
        return Ok(run_output(&s.sync(id, bars).await?));
    }
    let plan = s.dry_run(id, bars).await?;
    let changes = s.explain(&plan).await?;
    let text = plan_text(&plan, &changes);
    Ok(Output::new(
        render::json(PlanView::new(&plan, changes)),
        text,
    ))
}

/// A plan summarized, then explained operation by operation (the first 200).
fn plan_text(plan: &DryRun, changes: &[PlannedChange]) -> String {
    let mut text = plan.to_string();
    for change in changes.iter().take(200) {
        let _ = write!(text, "\n  {change}");
    }
    if changes.len() > 200 {
        let _ = write!(
            text,
            "\n  … and {} more (--format json lists all)",
            changes.len() - 200
        );
    }
    text
}

pub(super) async fn list(s: &Service, id: &str, limit: usize) -> Result<Output> {
    let runs = s.runs(integration_id(id)?, limit).await?;
    let text = runs
        .iter()
        .map(|r| format!("{}  {}", r.started_at.to_rfc3339(), render::run_text(r)))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(
        Output::list(runs.iter().map(render::run).collect(), &[]).with_text(if text.is_empty() {
            "no runs yet".to_owned()
        } else {
            text
        }),
    )
}

pub(super) async fn plans(s: &Service, integration: Option<&str>) -> Result<Output> {
    let held = match integration {
        Some(id) => s.held_plans(integration_id(id)?).await?,
        None => s.all_held_plans().await?,
    };
    let rows: Vec<_> = held
        .iter()
        .map(|h| render::json(HeldPlanView::from(h)))
        .collect();
    let empty = rows.is_empty();
    let out = Output::list(rows, &["plan_id", "integration", "held_at", "reason"]);
    Ok(if empty {
        out.with_text("no held plans".to_owned())
    } else {
        out
    })
}

pub(super) async fn show_plan(s: &Service, id: &PlanId) -> Result<Output> {
    let detail = s.held_plan(id).await?;
    let held = &detail.held;
    let changes = s.explain(&detail.plan).await?;
    let mut text = plan_text(&detail.plan, &changes);
    let _ = write!(
        text,
        "\nheld at {}: {}\napprove: dirsync plan:approve {id}\ndiscard: dirsync plan:discard {id}",
        held.held_at.to_rfc3339(),
        held.reason
    );
    let view = PlanView::new(&detail.plan, changes).held(held);
    Ok(Output::new(render::json(view), text))
}

pub(super) async fn discard(s: &Service, id: &PlanId) -> Result<Output> {
    let held = s.discard(id).await?;
    Ok(Output::new(
        json!({
            "plan_id": held.id.to_string(),
            "integration": held.integration.to_string(),
            "discarded": true,
        }),
        format!(
            "discarded plan {} of integration {}; the next sync plans afresh",
            held.id, held.integration
        ),
    ))
}

pub(super) async fn run_due(s: &Service, now: Option<&str>, bars: &Bars) -> Result<Output> {
    let now = match now {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .with_context(|| format!("--now {t:?} is not an RFC 3339 instant"))?
            .with_timezone(&Utc),
        None => Utc::now(),
    };
    let due = s.run_due(now, bars).await?;
    let mut code = Code::Success;
    let mut rows = Vec::new();
    let mut text = String::new();
    for d in &due {
        match &d.result {
            Ok(run) => {
                code = code.worst(run_code(run));
                rows.push(render::run(run));
                let _ = writeln!(
                    text,
                    "rule {} of {}: {}",
                    d.rule,
                    d.integration,
                    render::run_text(run)
                );
            }
            Err(e) => {
                code = Code::Failure;
                rows.push(json!({
                    "integration": d.integration.to_string(),
                    "rule": d.rule.to_string(),
                    "outcome": "error",
                    "failure": e.to_string(),
                }));
                let _ = writeln!(text, "rule {} of {}: ERROR {e}", d.rule, d.integration);
            }
        }
    }
    if due.is_empty() {
        text.push_str("nothing due");
    }
    Ok(Output::new(json!({"now": now.to_rfc3339(), "runs": rows}), text).with_code(code))
}
