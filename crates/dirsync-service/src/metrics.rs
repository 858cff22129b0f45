//! Figures of every run, through the [`metrics`] facade: a product (or `dirsync serve`) that
//! installs a recorder (e.g. Prometheus) gets them; without one they cost nothing.
//!
//! - `dirsync_runs_total{direction, outcome}`: runs by outcome (`succeeded`, `no_change`,
//!   `held`, `failed`);
//! - `dirsync_run_duration_seconds{direction}`: how long runs took;
//! - `dirsync_remote_requests_total{route, status}` and `dirsync_remote_retries_total{route,
//!   status}`: what the connectors asked of the remote, by the status it answered (`error`: no
//!   answer; `unknown`: a connector that does not count statuses) and, for retries, the status
//!   that caused them.

use std::collections::BTreeMap;

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
        let routes = fetch.requests.iter().map(|(route, n)| (route.clone(), *n));
        for (route, status, n) in by_status(&fetch.responses, routes) {
            metrics::counter!("dirsync_remote_requests_total", "route" => route, "status" => status)
                .increment(n);
        }
        let unsplit = std::iter::once((String::new(), fetch.retries));
        for (route, status, n) in by_status(&fetch.retries_by, unsplit) {
            metrics::counter!("dirsync_remote_retries_total", "route" => route, "status" => status)
                .increment(n);
        }
    }
}

/// `(route, status, count)` from counts by route and status, and what `totals` (by route; all
/// routes together under `""`) has beyond them under the status `unknown` (a connector that
/// counts no statuses, a request cut short by a cancel).
fn by_status(
    split: &BTreeMap<String, BTreeMap<String, u64>>,
    totals: impl Iterator<Item = (String, u64)>,
) -> Vec<(String, String, u64)> {
    let mut out: Vec<(String, String, u64)> = split
        .iter()
        .flat_map(|(route, statuses)| {
            statuses
                .iter()
                .map(move |(status, n)| (route.clone(), status.clone(), *n))
        })
        .collect();
    for (route, total) in totals {
        let counted: u64 = if route.is_empty() {
            split.values().flat_map(BTreeMap::values).sum()
        } else {
            split.get(&route).map_or(0, |s| s.values().sum())
        };
        if total > counted {
            let route = if route.is_empty() {
                "unknown".to_owned()
            } else {
                route
            };
            out.push((route, "unknown".to_owned(), total - counted));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_status_with_what_no_status_accounts_for_as_unknown() {
        let split = BTreeMap::from([(
            "GET /users".to_owned(),
            BTreeMap::from([("200".to_owned(), 3), ("503".to_owned(), 1)]),
        )]);
        let totals = [("GET /users".to_owned(), 5), ("GET /groups".to_owned(), 2)];
        assert_eq!(
            by_status(&split, totals.into_iter()),
            [
                ("GET /users".to_owned(), "200".to_owned(), 3),
                ("GET /users".to_owned(), "503".to_owned(), 1),
                ("GET /users".to_owned(), "unknown".to_owned(), 1),
                ("GET /groups".to_owned(), "unknown".to_owned(), 2),
            ]
        );
        // Retries of a record without routes: all of them, under `unknown`.
        let none = BTreeMap::new();
        assert_eq!(
            by_status(&none, std::iter::once((String::new(), 4))),
            [("unknown".to_owned(), "unknown".to_owned(), 4)]
        );
        // Nothing beyond the split: nothing more.
        assert_eq!(
            by_status(&split, std::iter::once((String::new(), 1))).len(),
            2
        );
    }
}
