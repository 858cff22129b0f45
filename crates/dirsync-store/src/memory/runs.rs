//! Sync run records: recorded (a rerecord replaces), listed newest first, pruned.

use chrono::{DateTime, Utc};
use dirsync_core::{IntegrationId, RunId, SyncRun};

use super::State;

pub(super) fn record(state: &mut State, run: &SyncRun) {
    state.runs.retain(|r| r.id != run.id);
    state.runs.push(run.clone());
}

/// An integration's runs, newest first (the later recorded first among runs that started at
/// the same instant).
fn newest_first(state: &State, integration: IntegrationId) -> Vec<&SyncRun> {
    let mut runs: Vec<(usize, &SyncRun)> = state
        .runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.integration == integration)
        .collect();
    runs.sort_by(|(ia, a), (ib, b)| b.started_at.cmp(&a.started_at).then(ib.cmp(ia)));
    runs.into_iter().map(|(_, r)| r).collect()
}

pub(super) fn newest(state: &State, integration: IntegrationId, limit: usize) -> Vec<SyncRun> {
    newest_first(state, integration)
        .into_iter()
        .take(limit)
        .cloned()
        .collect()
}

/// Keeps the newest `keep` runs (at least the latest) and of those only the ones started since
/// `before` (the latest always); how many were removed.
pub(super) fn prune(
    state: &mut State,
    integration: IntegrationId,
    keep: usize,
    before: DateTime<Utc>,
) -> u64 {
    let kept: Vec<RunId> = newest_first(state, integration)
        .into_iter()
        .take(keep.max(1))
        .enumerate()
        .filter(|(rank, r)| *rank == 0 || r.started_at >= before)
        .map(|(_, r)| r.id)
        .collect();
    let len = state.runs.len();
    state
        .runs
        .retain(|r| r.integration != integration || kept.contains(&r.id));
    (len - state.runs.len()) as u64
}
