//! Conformance case of run-record retention (issue 12, point 5).

use std::sync::Arc;

use dirsync_core::DirectionKind;

use super::fixtures::*;
use crate::Store;

/// `prune_runs` deletes an integration's runs beyond its newest `keep` and those that started
/// before the cutoff, never its newest run, and never another integration's.
pub async fn runs_are_pruned_beyond_their_retention(store: Arc<dyn Store>) {
    let p = primary(&*store).await.id();
    let o = create(&*store, "out", DirectionKind::Outbound).await.id();
    for hour in 1..=5 {
        store.record_run(&run(p, t(hour))).await.unwrap();
        store.record_run(&run(o, t(hour))).await.unwrap();
    }
    let starts =
        |runs: Vec<dirsync_core::SyncRun>| runs.iter().map(|r| r.started_at).collect::<Vec<_>>();
    // The newest three.
    assert_eq!(store.prune_runs(p, 3, t(0)).await.unwrap(), 2);
    assert_eq!(starts(store.runs(p, 10).await.unwrap()), [t(5), t(4), t(3)]);
    // Those started before t(5) go, the newest stays.
    assert_eq!(store.prune_runs(p, 10, t(5)).await.unwrap(), 2);
    assert_eq!(starts(store.runs(p, 10).await.unwrap()), [t(5)]);
    // Never the newest run.
    assert_eq!(store.prune_runs(p, 0, t(100)).await.unwrap(), 0);
    assert_eq!(store.runs(p, 10).await.unwrap().len(), 1);
    // The other integration kept all of its runs.
    assert_eq!(store.runs(o, 10).await.unwrap().len(), 5);
}
