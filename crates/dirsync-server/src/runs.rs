//! Runs and held plans: sync (or dry-run) an integration, its run history, and the review,
//! approval and discarding of plans a safeguard held.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use dirsync_core::PlanId;
use dirsync_service::Silent;
use dirsync_service::views::{HeldPlanView, PlanView, RunView};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::extract::Params;
use crate::integrations::id;
use crate::openapi::Refusals;
use crate::{AppState, Error};

/// `POST /integrations/{id}/sync?dry_run=true`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SyncQuery {
    /// Answer the plan, explained, instead of running it.
    #[serde(default)]
    dry_run: bool,
}

/// `GET /integrations/{id}/runs?limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunsQuery {
    /// Default 20, at most 1,000.
    limit: Option<usize>,
}

fn plan_id(text: &str) -> Result<PlanId, Error> {
    PlanId::parse(text).map_err(|_| Error::BadRequest(format!("{text:?} is not a plan id")))
}

/// A sync: 202 with the run's id, the run going on as a job (see `jobs.rs`); with `dry_run`,
/// the plan it would apply, explained, at once.
#[utoipa::path(
    post,
    path = "/integrations/{id}/sync",
    tag = "runs",
    params(("id" = String, Path, description = "The integration's id"), SyncQuery),
    responses((status = 202, description = "The run goes on as a job", body = crate::jobs::Accepted), (status = 200, description = "With `dry_run=true`: the plan, explained", body = PlanView), Refusals)
)]
pub(crate) async fn sync(
    State(state): State<AppState>,
    Path(integration): Path<String>,
    Params(query): Params<SyncQuery>,
) -> Result<(StatusCode, Json<Value>), Error> {
    if !query.dry_run {
        return crate::jobs::start_sync(&state, &integration).await;
    }
    let integration = id(&integration)?;
    let plan = state.service.dry_run(integration, &Silent).await?;
    let changes = state.service.explain(&plan).await?;
    let json = serde_json::to_value(PlanView::new(&plan, changes)).unwrap_or(Value::Null);
    Ok((StatusCode::OK, Json(json)))
}

#[utoipa::path(
    get,
    path = "/integrations/{id}/runs",
    tag = "runs",
    params(("id" = String, Path, description = "The integration's id"), RunsQuery),
    responses((status = 200, description = "Its runs, newest first", body = Vec<RunView>), Refusals)
)]
pub(crate) async fn runs(
    State(state): State<AppState>,
    Path(integration): Path<String>,
    Params(query): Params<RunsQuery>,
) -> Result<Json<Vec<RunView>>, Error> {
    let limit = query.limit.unwrap_or(20).min(1_000);
    let runs = state.service.runs(id(&integration)?, limit).await?;
    Ok(Json(runs.iter().map(RunView::from).collect()))
}

#[utoipa::path(
    get,
    path = "/plans",
    tag = "plans",
    responses((status = 200, description = "Held plans", body = Vec<HeldPlanView>), Refusals)
)]
pub(crate) async fn plans(State(state): State<AppState>) -> Result<Json<Vec<HeldPlanView>>, Error> {
    let held = state.service.all_held_plans().await?;
    Ok(Json(held.iter().map(HeldPlanView::from).collect()))
}

#[utoipa::path(
    get,
    path = "/plans/{id}",
    tag = "plans",
    params(("id" = String, Path, description = "The plan's id")),
    responses((status = 200, description = "The plan, explained", body = PlanView), Refusals)
)]
pub(crate) async fn plan(
    State(state): State<AppState>,
    Path(plan): Path<String>,
) -> Result<Json<PlanView>, Error> {
    let detail = state.service.held_plan(&plan_id(&plan)?).await?;
    let changes = state.service.explain(&detail.plan).await?;
    Ok(Json(
        PlanView::new(&detail.plan, changes).held(&detail.held),
    ))
}

#[utoipa::path(
    post,
    path = "/plans/{id}/approve",
    tag = "plans",
    params(("id" = String, Path, description = "The plan's id")),
    responses((status = 200, description = "The run that applied it", body = RunView), Refusals)
)]
pub(crate) async fn approve(
    State(state): State<AppState>,
    Path(plan): Path<String>,
) -> Result<Json<RunView>, Error> {
    let run = state.service.approve(&plan_id(&plan)?).await?;
    Ok(Json(RunView::from(&run)))
}

#[utoipa::path(
    delete,
    path = "/plans/{id}",
    tag = "plans",
    params(("id" = String, Path, description = "The plan's id")),
    responses((status = 200, description = "`{plan_id, integration, discarded}`", body = Object), Refusals)
)]
pub(crate) async fn discard(
    State(state): State<AppState>,
    Path(plan): Path<String>,
) -> Result<Json<Value>, Error> {
    let held = state.service.discard(&plan_id(&plan)?).await?;
    Ok(Json(json!({
        "plan_id": held.id.to_string(),
        "integration": held.integration.to_string(),
        "discarded": true,
    })))
}

/// What `dirsync status` shows: per integration its state, last success and failure, held
/// plans and next run.
#[utoipa::path(
    get,
    path = "/status",
    tag = "status",
    responses((status = 200, description = "Per integration: state, last success and failure, held plans, next run", body = dirsync_service::StatusReport), Refusals)
)]
pub(crate) async fn status(
    State(state): State<AppState>,
) -> Result<Json<dirsync_service::StatusReport>, Error> {
    Ok(Json(state.service.status().await?))
}
