//! Figures of every run, through the [`metrics`] facade: a product (or `dirsync serve`) that
//! installs a recorder (e.g. Prometheus) gets them; without one they cost nothing.
//!
//! - `dirsync_runs_total{direction, outcome}`: runs by outcome (`succeeded`, `no_change`,
//!   `held`, `failed`);
//! - `dirsync_run_duration_seconds{direction}`: how long runs took;
//! - `dirsync_remote_requests_total{route}` and `dirsync_remote_retries_total`: what the
//!   connectors asked of the remote.

use dirsync_core::{DirectionKind, RunOutcome, SyncRun};

/// The name of an outcome, as the views print it.
pub(crate) fn outcome_name(outcome: &RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Succeeded => "succeeded",
        RunOutcome::NoChange => "no_change",
        RunOutcome::Held { .. } => "held",
        RunOutcome::Failed { .. } => "failed",
        _ => "unknown",
    }
}

/// Records one finished run.
pub(crate) fn record_run(direction: DirectionKind, run: &SyncRun) {
    let direction = direction.to_string();
    metrics::counter!(
        "dirsync_runs_total",
        "direction" => direction.clone(),
        "outcome" => outcome_name(&run.outcome)
    )
    .increment(1);
    let seconds = (run.finished_at - run.started_at)
        .to_std()
        .map_or(0.0, |d| d.as_secs_f64());
    metrics::histogram!("dirsync_run_duration_seconds", "direction" => direction).record(seconds);
    if let Some(fetch) = &run.fetch {
        for (route, n) in &fetch.requests {
            metrics::counter!("dirsync_remote_requests_total", "route" => route.clone())
                .increment(*n);
        }
        metrics::counter!("dirsync_remote_retries_total").increment(fetch.retries);
    }
}
