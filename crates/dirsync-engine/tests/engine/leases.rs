//! Leases that hold (issue 12, point 2): a run renews its lease while it works, stops when a
//! renewal fails, and gives its lease back when it is cancelled. Tokio's paused clock drives
//! the heartbeats: no real waiting.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use dirsync_core::*;
use dirsync_engine::{Error, Policy, RunContext, sync_inbound};
use dirsync_store::{FaultPoint, FaultyStore, InMemoryStore, Operation, Store};

use crate::common::*;

/// A source that takes `delay` (of tokio's clock) before it answers.
#[derive(Debug)]
struct SlowSource {
    inner: FakeSource,
    delay: StdDuration,
}

#[async_trait]
impl DirectorySource for SlowSource {
    async fn validate_access(&self) -> Result<AccessReport, dirsync_core::Error> {
        self.inner.validate_access().await
    }

    async fn fetch(
        &self,
        request: &FetchRequest,
        progress: &dyn FetchProgress,
    ) -> Result<Fetched, dirsync_core::Error> {
        tokio::time::sleep(self.delay).await;
        self.inner.fetch(request, progress).await
    }
}

fn slow(users: usize, delay: StdDuration) -> SlowSource {
    let mut tenant = Tenant::default();
    tenant.users = (0..users)
        .map(|i| user(&format!("{i}"), &format!("u{i}")))
        .collect();
    SlowSource {
        inner: FakeSource::new(tenant),
        delay,
    }
}

/// Wall time that follows tokio's (paused) clock from `t(100)`.
fn tokio_clock() -> impl Fn() -> DateTime<Utc> + Send + Sync {
    let start = tokio::time::Instant::now();
    move || t(100) + Duration::from_std(start.elapsed()).unwrap()
}

fn ctx<'a>(
    store: &'a dyn Store,
    policy: &'a Policy,
    clock: &'a (dyn dirsync_engine::Clock + 'a),
) -> RunContext<'a> {
    RunContext {
        store,
        policy,
        clock,
        holder: "test-runner".into(),
        lease: Duration::seconds(3),
        progress: &NoProgress,
        run_id: None,
        due_at: None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_longer_than_its_lease_keeps_it_by_its_heartbeat() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let (policy, clock) = (Policy::default(), tokio_clock());
    let c = ctx(&store, &policy, &clock);
    // The fetch takes 10 s; the lease lives 3 s.
    let source = slow(3, StdDuration::from_secs(10));
    let competitor = async {
        tokio::time::sleep(StdDuration::from_secs(7)).await;
        let now = clock();
        store
            .acquire_lease(p.id(), "another-worker", now + Duration::seconds(3), now)
            .await
    };
    let (run, taken) = tokio::join!(sync_inbound(&c, &source, p.id(), None), competitor);
    let err = taken.unwrap_err();
    assert!(
        matches!(&err, dirsync_store::Error::Leased { holder, .. } if holder.starts_with("test-runner#")),
        "7 s into a 10 s run, its 3 s lease is still held: {err:?}"
    );
    assert_eq!(run.unwrap().outcome, RunOutcome::Succeeded);
    // Released at the end.
    let now = clock();
    store
        .acquire_lease(p.id(), "another-worker", now + Duration::seconds(3), now)
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_run_whose_renewal_fails_stops_before_writing() {
    let store = FaultyStore::new(InMemoryStore::new());
    let p = active(&store, DirectionKind::Inbound).await;
    let (policy, clock) = (Policy::default(), tokio_clock());
    let c = ctx(&store, &policy, &clock);
    // The lease is taken (call 0); its first renewal (call 1) fails.
    store.fail(Operation::Lease, FaultPoint::Before, 1, Some(1));
    let source = slow(3, StdDuration::from_secs(10));
    let err = sync_inbound(&c, &source, p.id(), None).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store(dirsync_store::Error::Unavailable {
                backend: "faulty",
                ..
            })
        ),
        "{err:?}"
    );
    assert!(store.users().await.unwrap().is_empty(), "nothing written");
    assert_eq!(store.version(p.id()).await.unwrap(), Version::ZERO);
    assert!(store.runs(p.id(), 10).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_run_releases_its_lease() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let (policy, clock) = (Policy::default(), tokio_clock());
    let c = ctx(&store, &policy, &clock);
    let source = slow(3, StdDuration::from_secs(10));
    // The caller goes away after 1 s (a web request that is closed): the run's future is
    // dropped mid-fetch.
    let cancelled = tokio::time::timeout(
        StdDuration::from_secs(1),
        sync_inbound(&c, &source, p.id(), None),
    )
    .await;
    assert!(cancelled.is_err(), "the run was cancelled");
    let now = clock();
    store
        .acquire_lease(p.id(), "another-worker", now + Duration::seconds(3), now)
        .await
        .expect("the cancelled run's lease was released");
    assert!(store.users().await.unwrap().is_empty());
}
