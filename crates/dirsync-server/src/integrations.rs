//! `/api/v1/integrations`: the lifecycle, settings and rules of integrations.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use dirsync_core::{
    DirectionKind, GroupAssignment, IntegrationId, ObjectKinds, RemoteSettings, RuleId, Safeguards,
    Schedule, ScopeFilter, System, Trigger,
};
use dirsync_service::views::{CreatedView, IntegrationView, RuleView, RunView};
use dirsync_service::{CreateIntegration, IntegrationUpdate, NewRule, Reauthorize, Silent};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::extract::Body;
use crate::openapi::Refusals;
use crate::{AppState, Error};

/// `POST /integrations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    /// The system; optional when `settings.system` names it, and then it must agree.
    #[schema(value_type = Option<String>)]
    system: Option<System>,
    title: String,
    /// `inbound` or `outbound`.
    #[schema(value_type = String)]
    direction: DirectionKind,
    /// Default: manual.
    #[schema(value_type = Option<Object>)]
    schedule: Option<Schedule>,
    /// The system's settings, as `integration:show` prints them.
    #[schema(value_type = Object)]
    settings: Value,
}

/// `PATCH /integrations/{id}`: what is absent keeps its value; `"safeguards": null` returns the
/// integration to the service's thresholds.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateBody {
    title: Option<String>,
    #[schema(value_type = Option<Object>)]
    schedule: Option<Schedule>,
    active: Option<bool>,
    /// `null` returns to the service's thresholds.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    safeguards: Option<Option<Safeguards>>,
    /// Turns pushed changes on (a push channel is opened) or off (it is stopped).
    push: Option<bool>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /integrations/{id}/reauthorize`: the settings that change, by name, as
/// `integration:show` prints them (Google: `subject`, `key`, `ownership`); the connector checks
/// them.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct ReauthorizeBody {
    settings: serde_json::Map<String, Value>,
}

/// `POST /integrations/{id}/rules`: an inbound rule (`kinds`, `scope`) or an outbound one
/// (`assignment`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleBody {
    name: String,
    #[schema(value_type = Option<Value>)]
    kinds: Option<ObjectKinds>,
    #[schema(value_type = Option<Value>)]
    scope: Option<ScopeFilter>,
    /// Default: scheduled.
    #[schema(value_type = Option<String>)]
    trigger: Option<Trigger>,
    #[schema(value_type = Option<Object>)]
    assignment: Option<GroupAssignment>,
}

pub(crate) fn id(text: &str) -> Result<IntegrationId, Error> {
    IntegrationId::parse(text)
        .map_err(|_| Error::BadRequest(format!("{text:?} is not an integration id")))
}

fn rule_id(text: &str) -> Result<RuleId, Error> {
    RuleId::parse(text).map_err(|_| Error::BadRequest(format!("{text:?} is not a rule id")))
}

fn view(state: &AppState, any: &dirsync_core::AnyIntegration) -> Json<IntegrationView> {
    Json(IntegrationView::new(any, &state.service))
}

#[utoipa::path(
    get,
    path = "/integrations",
    tag = "integrations",
    responses((status = 200, description = "Every integration", body = Vec<IntegrationView>), Refusals)
)]
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<Json<Vec<IntegrationView>>, Error> {
    let all = state.service.integrations().await?;
    Ok(Json(
        all.iter()
            .map(|a| IntegrationView::new(a, &state.service))
            .collect(),
    ))
}

#[utoipa::path(
    post,
    path = "/integrations",
    tag = "integrations",
    request_body = CreateBody,
    responses((status = 201, description = "Created (staged), with what the admin must grant", body = CreatedView), Refusals)
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Body(body): Body<CreateBody>,
) -> Result<(StatusCode, Json<CreatedView>), Error> {
    let named = match body.settings.get("system") {
        None => None,
        Some(Value::String(id)) => Some(System::new(id.clone())?),
        Some(_) => return Err(Error::BadRequest("settings.system must be a string".into())),
    };
    let system = match (body.system, named) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::BadRequest(format!(
                "system {a} does not match the settings' {b}"
            )));
        }
        (Some(system), _) | (None, Some(system)) => system,
        (None, None) => {
            return Err(Error::BadRequest(
                "name the system (`system`, or `settings.system`)".into(),
            ));
        }
    };
    let settings = RemoteSettings::new(system, body.settings)?;
    let created = state
        .service
        .create(CreateIntegration::new(
            body.title,
            body.direction,
            settings,
            body.schedule.unwrap_or(Schedule::Manual),
        ))
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedView::from(&created))))
}

#[utoipa::path(
    get,
    path = "/integrations/{id}",
    tag = "integrations",
    params(("id" = String, Path, description = "The integration's id")),
    responses((status = 200, description = "The integration", body = IntegrationView), Refusals)
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(integration): Path<String>,
) -> Result<Json<IntegrationView>, Error> {
    let any = state.service.integration(id(&integration)?).await?;
    Ok(view(&state, &any))
}

#[utoipa::path(
    patch,
    path = "/integrations/{id}",
    tag = "integrations",
    params(("id" = String, Path, description = "The integration's id")),
    request_body = UpdateBody,
    responses((status = 200, description = "The integration as edited", body = IntegrationView), Refusals)
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(integration): Path<String>,
    Body(body): Body<UpdateBody>,
) -> Result<Json<IntegrationView>, Error> {
    let mut update = IntegrationUpdate::new();
    if let Some(title) = body.title {
        update = update.title(title);
    }
    if let Some(schedule) = body.schedule {
        update = update.schedule(schedule);
    }
    if let Some(active) = body.active {
        update = update.active(active);
    }
    if let Some(safeguards) = body.safeguards {
        update = update.safeguards(safeguards);
    }
    let id = id(&integration)?;
    if update.is_empty() {
        let Some(push) = body.push else {
            return Err(Error::BadRequest(
                "nothing to change: give title, schedule, active, safeguards or push".into(),
            ));
        };
        let any = state.service.set_push(id, push).await?;
        return Ok(view(&state, &any));
    }
    let mut any = state.service.update(id, update).await?;
    if let Some(push) = body.push {
        any = state.service.set_push(id, push).await?;
    }
    Ok(view(&state, &any))
}

#[utoipa::path(
    delete,
    path = "/integrations/{id}",
    tag = "integrations",
    params(("id" = String, Path, description = "The integration's id")),
    responses((status = 200, description = "`{id, removed}`", body = Object), Refusals)
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    Path(integration): Path<String>,
) -> Result<Json<Value>, Error> {
    let removed = state.service.remove(id(&integration)?).await?;
    Ok(Json(json!({"id": integration, "removed": removed})))
}

#[utoipa::path(
    post,
    path = "/integrations/{id}/activate",
    tag = "integrations",
    params(("id" = String, Path, description = "The integration's id")),
    responses((status = 200, description = "The integration (as `GET`), with `initial_run` when activating ran one", body = Object), Refusals)
)]
pub(crate) async fn activate(
    State(state): State<AppState>,
    Path(integration): Path<String>,
) -> Result<Json<Value>, Error> {
    let activated = state.service.activate(id(&integration)?, &Silent).await?;
    let mut json =
        serde_json::to_value(IntegrationView::new(&activated.integration, &state.service))
            .unwrap_or(Value::Null);
    if let Some(run) = &activated.initial_run {
        json["initial_run"] = serde_json::to_value(RunView::from(run)).unwrap_or(Value::Null);
    }
    Ok(Json(json))
}

#[utoipa::path(
    post,
    path = "/integrations/{id}/deactivate",
    tag = "integrations",
    params(("id" = String, Path, description = "The integration's id")),
    responses((status = 200, description = "The integration", body = IntegrationView), Refusals)
)]
pub(crate) async fn deactivate(
    State(state): State<AppState>,
    Path(integration): Path<String>,
) -> Result<Json<IntegrationView>, Error> {
    let any = state.service.deactivate(id(&integration)?).await?;
    Ok(view(&state, &any))
}

#[utoipa::path(
    post,
    path = "/integrations/{id}/reactivate",
    tag = "integrations",
    params(("id" = String, Path, description = "The integration's id")),
    responses((status = 200, description = "The integration", body = IntegrationView), Refusals)
)]
pub(crate) async fn reactivate(
    State(state): State<AppState>,
    Path(integration): Path<String>,
) -> Result<Json<IntegrationView>, Error> {
    let any = state.service.reactivate(id(&integration)?).await?;
    Ok(view(&state, &any))
}

#[utoipa::path(
    post,
    path = "/integrations/{id}/reauthorize",
    tag = "integrations",
    params(("id" = String, Path, description = "The integration's id")),
    request_body = Object,
    responses((status = 200, description = "The integration", body = IntegrationView), Refusals)
)]
pub(crate) async fn reauthorize(
    State(state): State<AppState>,
    Path(integration): Path<String>,
    Body(body): Body<ReauthorizeBody>,
) -> Result<Json<IntegrationView>, Error> {
    let change = body
        .settings
        .into_iter()
        .fold(Reauthorize::default(), |change, (name, value)| {
            change.with_setting(name, value)
        });
    let any = state.service.reauthorize(id(&integration)?, change).await?;
    Ok(view(&state, &any))
}

#[utoipa::path(
    get,
    path = "/integrations/{id}/rules",
    tag = "rules",
    params(("id" = String, Path, description = "The integration's id")),
    responses((status = 200, description = "Its rules", body = Vec<RuleView>), Refusals)
)]
pub(crate) async fn rules(
    State(state): State<AppState>,
    Path(integration): Path<String>,
) -> Result<Json<Vec<RuleView>>, Error> {
    let rules = state.service.rules(id(&integration)?).await?;
    Ok(Json(rules.iter().map(RuleView::from).collect()))
}

#[utoipa::path(
    post,
    path = "/integrations/{id}/rules",
    tag = "rules",
    params(("id" = String, Path, description = "The integration's id")),
    request_body = RuleBody,
    responses((status = 201, description = "The rule added", body = RuleView), Refusals)
)]
pub(crate) async fn add_rule(
    State(state): State<AppState>,
    Path(integration): Path<String>,
    Body(body): Body<RuleBody>,
) -> Result<(StatusCode, Json<RuleView>), Error> {
    let trigger = body.trigger.unwrap_or(Trigger::Scheduled);
    let rule = match body.assignment {
        Some(assignment) => {
            if body.kinds.is_some() || body.scope.is_some() {
                return Err(Error::BadRequest(
                    "an outbound rule (assignment) takes no kinds or scope".into(),
                ));
            }
            NewRule::assign(body.name, assignment, trigger)
        }
        None => NewRule::sync(
            body.name,
            body.kinds.unwrap_or_else(ObjectKinds::all),
            body.scope.unwrap_or_default(),
            trigger,
        ),
    };
    let rule = state.service.add_rule(id(&integration)?, rule).await?;
    Ok((StatusCode::CREATED, Json(RuleView::from(&rule))))
}

#[utoipa::path(
    delete,
    path = "/integrations/{id}/rules/{rule}",
    tag = "rules",
    params(("id" = String, Path, description = "The integration's id"), ("rule" = String, Path, description = "The rule's id")),
    responses((status = 200, description = "The rule removed", body = RuleView), Refusals)
)]
pub(crate) async fn remove_rule(
    State(state): State<AppState>,
    Path((integration, rule)): Path<(String, String)>,
) -> Result<Json<RuleView>, Error> {
    let removed = state
        .service
        .remove_rule(id(&integration)?, rule_id(&rule)?)
        .await?;
    Ok(Json(RuleView::from(&removed)))
}

#[utoipa::path(
    post,
    path = "/integrations/{id}/rules/{rule}/run",
    tag = "rules",
    params(("id" = String, Path, description = "The integration's id"), ("rule" = String, Path, description = "The rule's id")),
    responses((status = 200, description = "The run's record", body = RunView), Refusals)
)]
pub(crate) async fn run_rule(
    State(state): State<AppState>,
    Path((integration, rule)): Path<(String, String)>,
) -> Result<Json<RunView>, Error> {
    let run = state
        .service
        .run_rule(id(&integration)?, rule_id(&rule)?, &Silent)
        .await?;
    Ok(Json(RunView::from(&run)))
}
