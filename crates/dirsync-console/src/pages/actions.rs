//! The forms that change things: each calls the service and answers 303 to the page that
//! shows the result (the guard has checked the session, the CSRF token and the role).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use dirsync_core::{
    IntegrationState, ObjectKind, ObjectKinds, PlanId, RuleId, RunOutcome, ScopeFilter, SyncRun,
    Trigger,
};
use dirsync_service::{IntegrationUpdate, NewRule};
use serde::Deserialize;

use super::integration_id;
use crate::schedule_form;
use crate::{Console, Error};

fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A run's outcome in words, for the page it comes back to.
pub(crate) fn outcome(run: &SyncRun) -> String {
    match &run.outcome {
        RunOutcome::Failed { reason } => format!("failed ({reason})"),
        RunOutcome::Held { .. } => "held for approval".to_owned(),
        _ => dirsync_service::views::RunView::from(run)
            .outcome
            .replace('_', " "),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SettingsForm {
    title: String,
    interval: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    zone: String,
    active: Option<String>,
}

/// `POST /console/integrations/{id}/settings`: title, sync interval, active.
pub(crate) async fn settings(
    State(console): State<Console>,
    Path(id): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Result<Redirect, Error> {
    let id = integration_id(&id)?;
    let any = console.service.integration(id).await?;
    let mut update = IntegrationUpdate::new().title(form.title.trim());
    if let Some(schedule) = schedule_form::parse(&form.interval, &form.at, &form.zone)? {
        update = update.schedule(schedule);
    }
    let checked = form.active.is_some();
    let active = match any.state() {
        IntegrationState::Staged => None,
        IntegrationState::Failed { .. } if checked => None,
        _ => Some(checked),
    };
    if let Some(active) = active {
        update = update.active(active);
    }
    console.service.update(id, update).await?;
    Ok(Redirect::to(&format!("/console/integrations/{id}?saved=1")))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RemoveForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /console/integrations/{id}/remove`: only with the title typed.
pub(crate) async fn remove(
    State(console): State<Console>,
    Path(id): Path<String>,
    Form(form): Form<RemoveForm>,
) -> Result<Redirect, Error> {
    let id = integration_id(&id)?;
    let any = console.service.integration(id).await?;
    let title = any.record().title.clone();
    if form.confirm.trim() != title.trim() {
        return Err(Error::BadRequest(
            "the typed title does not match the integration's: nothing was removed".to_owned(),
        ));
    }
    console.service.remove(id).await?;
    Ok(Redirect::to(&format!(
        "/console?{}",
        query(&[("removed", &title)])
    )))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RuleForm {
    name: String,
    #[serde(default)]
    trigger: String,
    kind_users: Option<String>,
    kind_groups: Option<String>,
    kind_memberships: Option<String>,
    kind_org_units: Option<String>,
}

/// `POST /console/integrations/{id}/rules`: an inbound rule (what it syncs, how it runs).
pub(crate) async fn add_rule(
    State(console): State<Console>,
    Path(id): Path<String>,
    Form(form): Form<RuleForm>,
) -> Result<Redirect, Error> {
    let id = integration_id(&id)?;
    let chosen = [
        (&form.kind_users, ObjectKind::Users),
        (&form.kind_groups, ObjectKind::Groups),
        (&form.kind_memberships, ObjectKind::Memberships),
        (&form.kind_org_units, ObjectKind::OrgUnits),
    ];
    let kinds = ObjectKinds::new(
        chosen
            .iter()
            .filter(|(on, _)| on.is_some())
            .map(|(_, k)| *k),
    )
    .map_err(|_| Error::BadRequest("choose what the rule syncs".to_owned()))?;
    let trigger = match form.trigger.as_str() {
        "manual" => Trigger::Manual,
        _ => Trigger::Scheduled,
    };
    let rule = NewRule::sync(form.name.trim(), kinds, ScopeFilter::everything(), trigger);
    console.service.add_rule(id, rule).await?;
    Ok(Redirect::to(&format!(
        "/console/integrations/{id}?rule_added=1#rules"
    )))
}

fn rule_id(text: &str) -> Result<RuleId, Error> {
    RuleId::parse(text).map_err(|_| Error::BadRequest("not a rule id".to_owned()))
}

/// `POST /console/integrations/{id}/rules/{rule}/run`: starts it in the background, then back
/// to the page, which shows it running (and refreshes) until its outcome is recorded.
pub(crate) async fn run_rule(
    State(console): State<Console>,
    Path((id, rule)): Path<(String, String)>,
) -> Result<Redirect, Error> {
    let id = integration_id(&id)?;
    let run = console.service.start_rule(id, rule_id(&rule)?).await?;
    Ok(Redirect::to(&format!(
        "/console/integrations/{id}?run={run}"
    )))
}

/// `POST /console/integrations/{id}/rules/{rule}/remove`.
pub(crate) async fn remove_rule(
    State(console): State<Console>,
    Path((id, rule)): Path<(String, String)>,
) -> Result<Redirect, Error> {
    let id = integration_id(&id)?;
    console.service.remove_rule(id, rule_id(&rule)?).await?;
    Ok(Redirect::to(&format!(
        "/console/integrations/{id}?rule_removed=1#rules"
    )))
}

#[derive(Debug, Deserialize)]
pub(crate) struct PlanForm {
    integration: String,
}

fn plan_id(text: &str) -> Result<PlanId, Error> {
    PlanId::parse(text).map_err(|_| Error::BadRequest("not a plan id".to_owned()))
}

/// `POST /console/plans/{plan}/approve`: applies the held plan as it was held.
pub(crate) async fn approve(
    State(console): State<Console>,
    Path(plan): Path<String>,
    Form(form): Form<PlanForm>,
) -> Result<Redirect, Error> {
    let id = integration_id(&form.integration)?;
    let run = console.service.approve(&plan_id(&plan)?).await?;
    Ok(Redirect::to(&format!(
        "/console/integrations/{id}?{}#runs",
        query(&[("approved", &outcome(&run))])
    )))
}

/// `POST /console/plans/{plan}/discard`.
pub(crate) async fn discard(
    State(console): State<Console>,
    Path(plan): Path<String>,
    Form(form): Form<PlanForm>,
) -> Result<Redirect, Error> {
    let id = integration_id(&form.integration)?;
    console.service.discard(&plan_id(&plan)?).await?;
    Ok(Redirect::to(&format!(
        "/console/integrations/{id}?discarded=1#held"
    )))
}
