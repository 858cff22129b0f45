//! The stable JSON shapes of dirsync's output (documented in the README) and the human text of
//! runs.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};
use dirsync_core::{
    AnyIntegration, DirectoryUser, Group, IntegrationState, Manager, Membership, OrgUnit,
    RunOutcome, Safeguards, SyncRule, SyncRun, Threshold, UserId,
};
use dirsync_engine::Policy;
use dirsync_service::AdminInstructions;
use serde_json::{Value, json};

fn time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

/// `users:list`: one object per user.
pub(crate) fn users(users: &[DirectoryUser]) -> Vec<Value> {
    let emails: HashMap<UserId, &str> = users
        .iter()
        .map(|u| (u.id, u.profile.primary_email.as_str()))
        .collect();
    let rows = users.iter().map(|u| {
        let p = &u.profile;
        let manager = match &p.manager {
            Some(Manager::Resolved(id)) => emails.get(id).map(|e| (*e).to_owned()),
            Some(Manager::Unresolved(email)) => Some(email.to_string()),
            None => None,
        };
        json!({
            "id": u.id.to_string(),
            "primary_email": p.primary_email.as_str(),
            "given_name": p.name.given,
            "family_name": p.name.family,
            "display_name": p.name.display,
            "employee_id": p.employee_id,
            "employment_type": p.employment_type.map(|t| t.to_string()),
            "manager_email": manager,
            "org_unit_path": p.org_unit.as_ref().map(ToString::to_string),
            "is_admin": p.is_admin,
            "status": u.status.to_string(),
            "provisioned_at": time(u.lifecycle.provisioned_at),
            "suspended_at": time(u.lifecycle.suspended_at),
            "deprovisioned_at": time(u.lifecycle.deprovisioned_at),
        })
    });
    rows.collect()
}

/// `groups:list`: groups with their direct members.
pub(crate) fn groups(groups: &[Group], memberships: &[Membership]) -> Vec<Value> {
    let mut by_group: HashMap<&str, Vec<&Membership>> = HashMap::new();
    for m in memberships {
        by_group.entry(m.group.as_str()).or_default().push(m);
    }
    let rows = groups.iter().map(|g| {
        let members: Vec<Value> = by_group
            .get(g.external_id.as_str())
            .map(|ms| {
                ms.iter()
                    .map(|m| {
                        json!({
                            "email": m.member.email.as_ref().map(|e| e.as_str()),
                            "role": m.role.to_string(),
                            "type": serde_json::to_value(m.member.kind).unwrap_or(Value::Null),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "email": g.email.as_str(),
            "name": g.name,
            "description": g.description,
            "member_count": members.len(),
            "members": members,
        })
    });
    rows.collect()
}

/// `orgunits:list`.
pub(crate) fn org_units(units: &[OrgUnit]) -> Vec<Value> {
    units
        .iter()
        .map(|o| {
            json!({
                "path": o.path.to_string(),
                "name": o.name,
                "parent_path": o.path.parent().map(|p| p.to_string()),
            })
        })
        .collect()
}

fn state(s: &IntegrationState) -> Value {
    match s {
        IntegrationState::Failed { reason } => json!({"name": "failed", "reason": reason}),
        other => json!({"name": other.name()}),
    }
}

/// Safeguard thresholds by kind.
fn safeguards(s: &Safeguards) -> Value {
    let t = |t: &Threshold| json!({"max_count": t.max_count, "max_percent": t.max_percent, "min_count": t.min_count});
    json!({
        "users": t(&s.users),
        "groups": t(&s.groups),
        "memberships": t(&s.memberships),
        "remote_members": t(&s.remote_members),
    })
}

/// An integration (`integration:list` rows, `integration:show`), with the safeguards that apply
/// to it under `policy`.
pub(crate) fn integration(any: &AnyIntegration, policy: &Policy) -> Value {
    let r = any.record();
    let authorization = r.authorization.as_ref().map(|a| {
        json!({
            "subject": a.subject.as_str(),
            "client_id": a.client_id,
            "client_email": a.client_email.as_str(),
            "ownership": serde_json::to_value(a.ownership).unwrap_or(Value::Null),
            "scopes": a.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "verified_at": a.verified_at.to_rfc3339(),
        })
    });
    json!({
        "id": r.id.to_string(),
        "title": r.title,
        "system": r.settings.system().to_string(),
        "direction": r.direction.to_string(),
        "primary": any.is_primary(),
        "state": state(&r.state),
        "state_name": r.state.name(),
        "schedule": serde_json::to_value(r.schedule).unwrap_or(Value::Null),
        "schedule_text": r.schedule.to_string(),
        "rules": r.rules.iter().map(rule).collect::<Vec<_>>(),
        "authorization": authorization,
        "settings": serde_json::to_value(&r.settings).unwrap_or(Value::Null),
        "safeguards": safeguards(policy.safeguards_for(r)),
        "own_safeguards": r.safeguards.is_some(),
        "created_at": r.created_at.to_rfc3339(),
    })
}

/// A rule.
pub(crate) fn rule(r: &SyncRule) -> Value {
    json!({
        "id": r.id.to_string(),
        "name": r.name,
        "kinds": r.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "scope": serde_json::to_value(&r.scope).unwrap_or(Value::Null),
        "trigger": r.trigger.to_string(),
        "assignment": r.assignment.as_ref().map(|a| serde_json::to_value(a).unwrap_or(Value::Null)),
        "created_at": r.created_at.to_rfc3339(),
        "last_run_at": time(r.last_run_at),
    })
}

/// The outcome's name and, for held and failed runs, what goes with it.
pub(crate) fn outcome(o: &RunOutcome) -> (&'static str, Value) {
    match o {
        RunOutcome::Succeeded => ("succeeded", Value::Null),
        RunOutcome::NoChange => ("no_change", Value::Null),
        RunOutcome::Held { plan } => ("held", Value::String(plan.to_string())),
        RunOutcome::Failed { reason } => ("failed", Value::String(reason.clone())),
    }
}

/// A run (`sync`, `rule:run`, `runs`, `plan:approve`).
pub(crate) fn run(r: &SyncRun) -> Value {
    let (name, detail) = outcome(&r.outcome);
    let fetch = r.fetch.as_ref();
    json!({
        "run_id": r.id.to_string(),
        "integration": r.integration.to_string(),
        "rule": r.rule.map(|x| x.to_string()),
        "outcome": name,
        "held_plan": if name == "held" { detail.clone() } else { Value::Null },
        "failure": if name == "failed" { detail } else { Value::Null },
        "counts": r.counts,
        "quarantined": r.quarantined.len(),
        "requests": fetch.map_or(0, |f| f.total_requests()),
        "retries": fetch.map_or(0, |f| f.retries),
        "started_at": r.started_at.to_rfc3339(),
        "finished_at": r.finished_at.to_rfc3339(),
    })
}

/// The admin's instructions.
pub(crate) fn instructions(i: &AdminInstructions) -> Value {
    json!({
        "client_id": i.client_id,
        "client_email": i.client_email.as_str(),
        "subject": i.subject.as_str(),
        "scopes": i.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    })
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
