//! Conformance cases of run records and held plans.

use super::*;

/// Run records round-trip and list newest first, per integration, up to the limit.
pub async fn run_records_persist_newest_first(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let o = create(&*store, "out", DirectionKind::Outbound).await;
    let runs: Vec<SyncRun> = [2, 0, 3, 1]
        .into_iter()
        .map(|h| run(p.id(), t(h)))
        .collect();
    for r in &runs {
        store.record_run(r).await.unwrap();
    }
    store.record_run(&run(o.id(), t(9))).await.unwrap();
    let listed = store.runs(p.id(), 10).await.unwrap();
    let mut expected = runs.clone();
    expected.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    assert_eq!(listed, expected);
    assert_eq!(store.runs(p.id(), 2).await.unwrap(), expected[..2].to_vec());
    assert_eq!(store.runs(o.id(), 10).await.unwrap().len(), 1);
}

/// Recording a run with an id recorded before replaces it: no duplicate, the latest content.
pub async fn recording_a_run_again_replaces_it(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let mut r = run(p.id(), t(1));
    store.record_run(&r).await.unwrap();
    store.record_run(&run(p.id(), t(2))).await.unwrap();
    r.outcome = RunOutcome::Succeeded;
    r.finished_at = t(30);
    store.record_run(&r).await.unwrap();
    let runs = store.runs(p.id(), 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs.iter().find(|x| x.id == r.id), Some(&r));
}

/// Held plans persist, list oldest first, and are gone once released.
pub async fn held_plans_persist_until_released(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let first = held_plan(p.id(), b"first", t(7));
    let mut second = held_plan(p.id(), b"second", t(7));
    second.held_at = t(8);
    store.hold_plan(&second).await.unwrap();
    store.hold_plan(&first).await.unwrap();
    assert_eq!(
        store.held_plan(&first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.held_plans(p.id()).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(store.release_plan(&first.id).await.unwrap(), first);
    assert_eq!(store.held_plan(&first.id).await.unwrap(), None);
    assert!(matches!(
        store.release_plan(&first.id).await.unwrap_err(),
        Error::NotFound { .. }
    ));
    assert_eq!(store.held_plans(p.id()).await.unwrap(), vec![second]);
}
