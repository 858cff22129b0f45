//! `GET /metrics`: Prometheus text, when the state was given a recorder's handle
//! ([`AppState::with_metrics`](crate::AppState::with_metrics)). The service counts runs, their
//! durations and remote requests as they happen; the gauges of the directory's state are read
//! from the store at each scrape:
//!
//! - `dirsync_held_plans`: plans waiting for approval;
//! - `dirsync_failed_integrations`: integrations in state `failed`;
//! - `dirsync_integration_last_success_timestamp_seconds{integration}`: the end of each
//!   integration's last run that succeeded or found nothing to change.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use dirsync_core::{IntegrationState, RunOutcome};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::openapi::Refusals;
use crate::{AppState, Error};

/// How many recent runs are searched for an integration's last success.
const RECENT_RUNS: usize = 50;

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"), Refusals)
)]
pub(crate) async fn render(
    State(state): State<AppState>,
    handle: axum::Extension<PrometheusHandle>,
) -> Result<impl IntoResponse, Error> {
    let service = &state.service;
    let mut held = 0usize;
    let mut failed = 0usize;
    for any in service.integrations().await? {
        held += service.held_plans(any.id()).await?.len();
        if matches!(any.state(), IntegrationState::Failed { .. }) {
            failed += 1;
        }
        let last = service
            .runs(any.id(), RECENT_RUNS)
            .await?
            .into_iter()
            .find(|r| matches!(r.outcome, RunOutcome::Succeeded | RunOutcome::NoChange));
        if let Some(run) = last {
            metrics::gauge!(
                "dirsync_integration_last_success_timestamp_seconds",
                "integration" => any.id().to_string()
            )
            .set(run.finished_at.timestamp() as f64);
        }
    }
    metrics::gauge!("dirsync_held_plans").set(held as f64);
    metrics::gauge!("dirsync_failed_integrations").set(failed as f64);
    handle.run_upkeep();
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    ))
}
