//! The JSON documents dirsync prints — the library's stable views
//! ([`dirsync_service::views`]), shared with `dirsync serve` — and the human text of runs.

use std::fmt::Write;

use dirsync_core::{
    AnyIntegration, DirectoryUser, Group, Membership, OrgUnit, RunOutcome, SyncRule, SyncRun,
};
use dirsync_service::Service;
use dirsync_service::views::{
    GroupView, IntegrationView, OrgUnitView, RuleView, RunView, UserView,
};
use serde::Serialize;
use serde_json::Value;

/// A view as JSON (the views are plain data: this cannot fail in practice).
pub(crate) fn json(view: impl Serialize) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}

/// `users:list`: one object per user.
pub(crate) fn users(users: &[DirectoryUser]) -> Vec<Value> {
    UserView::list(users).into_iter().map(json).collect()
}

/// `groups:list`: groups with their direct members.
pub(crate) fn groups(groups: &[Group], memberships: &[Membership]) -> Vec<Value> {
    GroupView::list(groups, memberships)
        .into_iter()
        .map(json)
        .collect()
}

/// `orgunits:list`.
pub(crate) fn org_units(units: &[OrgUnit]) -> Vec<Value> {
    units.iter().map(|o| json(OrgUnitView::from(o))).collect()
}

/// An integration, with its system's name and the safeguards that apply to it in `service`.
pub(crate) fn integration(any: &AnyIntegration, service: &Service) -> Value {
    json(IntegrationView::new(any, service))
}

/// A rule.
pub(crate) fn rule(r: &SyncRule) -> Value {
    json(RuleView::from(r))
}

/// A run.
pub(crate) fn run(r: &SyncRun) -> Value {
    json(RunView::from(r))
}

/// A run in one human line (plus counts).
pub(crate) fn run_text(r: &SyncRun) -> String {
    let what = match &r.outcome {
        RunOutcome::Succeeded => "applied".to_owned(),
        RunOutcome::NoChange => "no change; nothing written".to_owned(),
        RunOutcome::Held { plan } => {
            format!("HELD by a safeguard; review, then: dirsync plan:approve {plan}")
        }
        RunOutcome::Failed { reason } => format!("FAILED: {reason}"),
        other => format!("{other:?}"),
    };
    let mut s = format!("run {} {what}", r.id);
    let counts: Vec<String> = r
        .counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{} {n}", k.replace('_', " ")))
        .collect();
    if !counts.is_empty() {
        let _ = write!(s, "\n  {}", counts.join(", "));
    }
    if let Some(f) = &r.fetch {
        let _ = write!(
            s,
            "\n  {} requests, {} retries, {} ms",
            f.total_requests(),
            f.retries,
            f.elapsed_ms
        );
    }
    if !r.quarantined.is_empty() {
        let _ = write!(s, "\n  {} records quarantined", r.quarantined.len());
    }
    s
}
