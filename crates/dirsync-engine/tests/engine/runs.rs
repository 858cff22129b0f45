//! The runner: records, holds, approvals, failures, leases.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use dirsync_core::*;
use dirsync_engine::{Error, Policy, RunContext, Threshold, approve, sync_inbound};
use dirsync_store::{InMemoryStore, Store};

use crate::common::*;

fn clock() -> impl Fn() -> DateTime<Utc> + Send + Sync {
    || t(100)
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
        lease: Duration::minutes(10),
        progress: &NoProgress,
        run_id: None,
        due_at: None,
    }
}

fn tenant(n: usize) -> Tenant {
    Tenant {
        users: (0..n)
            .map(|i| user(&format!("{i}"), &format!("u{i}")))
            .collect(),
        ..Tenant::default()
    }
}

async fn dump(store: &dyn Store, id: IntegrationId) -> String {
    format!("{:?}", store.view(id).await.unwrap())
}

#[tokio::test]
async fn a_run_applies_then_the_next_changes_nothing() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let source = FakeSource::new(tenant(5));
    let (policy, clock) = (Policy::default(), clock());
    let c = ctx(&store, &policy, &clock);
    let run = sync_inbound(&c, &source, p.id(), None).await.unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_eq!(run.counts.get("users_created"), Some(&5));
    assert!(run.fetch.is_some());
    let second = sync_inbound(&c, &source, p.id(), None).await.unwrap();
    assert_eq!(second.outcome, RunOutcome::NoChange);
    assert_eq!(
        store.version(p.id()).await.unwrap(),
        Version(1),
        "a run with no change writes nothing"
    );
    assert_eq!(store.runs(p.id(), 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_tripped_safeguard_holds_the_plan_until_its_id_is_approved() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let source = FakeSource::new(tenant(20));
    let mut policy = lenient();
    policy.safeguards.users = Threshold::new(3, 100.0, 1);
    let clock = clock();
    let c = ctx(&store, &policy, &clock);
    sync_inbound(&c, &source, p.id(), None).await.unwrap();
    source.tenant.lock().unwrap().users.drain(..10);
    let before = dump(&store, p.id()).await;

    let run = sync_inbound(&c, &source, p.id(), None).await.unwrap();
    let RunOutcome::Held { plan } = run.outcome.clone() else {
        panic!("expected a held run, got {run:?}")
    };
    assert_eq!(
        dump(&store, p.id()).await,
        before,
        "a held plan applies nothing"
    );
    let held = store.held_plan(&plan).await.unwrap().unwrap();
    assert!(held.reason.contains("users"), "{}", held.reason);

    // Any other id is refused.
    let other = PlanId::digest(b"something else");
    assert!(matches!(
        approve(&c, &other).await.unwrap_err(),
        Error::NoHeldPlan { .. }
    ));
    // Holding again (same plan) keeps one held plan.
    sync_inbound(&c, &source, p.id(), None).await.unwrap();
    assert_eq!(store.held_plans(p.id()).await.unwrap().len(), 1);

    let approved = approve(&c, &plan).await.unwrap();
    assert_eq!(approved.outcome, RunOutcome::Succeeded);
    assert_eq!(approved.counts.get("users_deprovisioned"), Some(&10));
    assert!(store.held_plan(&plan).await.unwrap().is_none());
    assert_eq!(
        user_by(&store, "u0").await.status,
        UserStatus::Deprovisioned
    );
}

#[tokio::test]
async fn a_stale_or_altered_held_plan_is_refused() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let source = FakeSource::new(tenant(20));
    let mut policy = lenient();
    policy.safeguards.users = Threshold::new(1, 100.0, 1);
    let clock = clock();
    let c = ctx(&store, &policy, &clock);
    sync_inbound(&c, &source, p.id(), None).await.unwrap();
    source.tenant.lock().unwrap().users.drain(..5);
    let RunOutcome::Held { plan } = sync_inbound(&c, &source, p.id(), None)
        .await
        .unwrap()
        .outcome
    else {
        panic!("held")
    };

    // Altered content: its hash no longer matches the id.
    let mut held = store.held_plan(&plan).await.unwrap().unwrap();
    let original = held.clone();
    held.plan["based_on"] = serde_json::json!(0);
    store.hold_plan(&held).await.unwrap();
    assert!(matches!(
        approve(&c, &plan).await.unwrap_err(),
        Error::TamperedPlan { .. }
    ));
    store.hold_plan(&original).await.unwrap();

    // The store moves on (a new user arrives): the held plan is stale.
    source
        .tenant
        .lock()
        .unwrap()
        .users
        .push(user("new", "newcomer"));
    let mut relaxed = policy.clone();
    relaxed.safeguards = lenient().safeguards;
    let c2 = ctx(&store, &relaxed, &clock);
    let moved = sync_inbound(&c2, &source, p.id(), None).await.unwrap();
    assert_eq!(moved.outcome, RunOutcome::Succeeded);
    // (The newer run applied; the older held plan was superseded and released.)
    assert!(matches!(
        approve(&c, &plan).await.unwrap_err(),
        Error::NoHeldPlan { .. }
    ));
    store.hold_plan(&original).await.unwrap();
    assert!(matches!(
        approve(&c, &plan).await.unwrap_err(),
        Error::StalePlan { .. }
    ));
}

#[tokio::test]
async fn a_failing_fetch_records_a_failed_run_and_writes_nothing() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let source = FakeSource::new(tenant(3));
    let (policy, clock) = (Policy::default(), clock());
    let c = ctx(&store, &policy, &clock);
    sync_inbound(&c, &source, p.id(), None).await.unwrap();
    let before = dump(&store, p.id()).await;
    *source.fail.lock().unwrap() = Some(dirsync_core::Error::Remote {
        route: "GET /admin/directory/v1/users".into(),
        status: Some(503),
        reason: None,
        message: "page 3 kept failing".into(),
        transient: true,
    });
    let run = sync_inbound(&c, &source, p.id(), None).await.unwrap();
    assert!(
        matches!(&run.outcome, RunOutcome::Failed { reason } if reason.contains("503")),
        "{run:?}"
    );
    assert_eq!(dump(&store, p.id()).await, before);
    assert!(
        store.integration(p.id()).await.unwrap().state().can_sync(),
        "a transient failure is not a configuration error"
    );

    // A revoked authorization fails the integration until it is reauthorized.
    *source.fail.lock().unwrap() = Some(dirsync_core::Error::Access(
        dirsync_core::AccessDenied::Unauthorized {
            reason: "unauthorized_client".into(),
        },
    ));
    let run = sync_inbound(&c, &source, p.id(), None).await.unwrap();
    assert!(matches!(run.outcome, RunOutcome::Failed { .. }));
    assert!(matches!(
        store.integration(p.id()).await.unwrap().state(),
        IntegrationState::Failed { .. }
    ));
    assert_eq!(dump(&store, p.id()).await, before);
    assert!(matches!(
        sync_inbound(&c, &source, p.id(), None).await.unwrap_err(),
        Error::NotActive { .. }
    ));
}

#[tokio::test]
async fn a_failing_store_leaves_nothing_half_written() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let source = FakeSource::new(tenant(10));
    let (policy, clock) = (Policy::default(), clock());
    let c = ctx(&store, &policy, &clock);
    // The apply fails inside the store, after 15 of its rows (10 users, their accounts, ...)
    // were written.
    store.fail_next_apply_after(15).unwrap();
    let run = sync_inbound(&c, &source, p.id(), None).await.unwrap();
    assert!(matches!(run.outcome, RunOutcome::Failed { .. }), "{run:?}");
    assert_eq!(store.injected_apply_failure().unwrap(), Some(15));
    assert!(store.users().await.unwrap().is_empty());
    assert_eq!(store.version(p.id()).await.unwrap(), Version::ZERO);
    // The next run converges.
    assert_eq!(
        sync_inbound(&c, &source, p.id(), None)
            .await
            .unwrap()
            .outcome,
        RunOutcome::Succeeded
    );
    assert_eq!(store.users().await.unwrap().len(), 10);
}

#[tokio::test]
async fn two_runs_of_one_integration_never_interleave() {
    let store = Arc::new(InMemoryStore::new());
    let p = active(&*store, DirectionKind::Inbound).await;
    store
        .acquire_lease(p.id(), "another-worker", t(200), t(100))
        .await
        .unwrap();
    let source = FakeSource::new(tenant(2));
    let (policy, clock) = (Policy::default(), clock());
    let c = ctx(&*store, &policy, &clock);
    let err = sync_inbound(&c, &source, p.id(), None).await.unwrap_err();
    assert!(
        matches!(err, Error::Store(dirsync_store::Error::Leased { .. })),
        "{err:?}"
    );
    assert!(store.users().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_rule_run_fetches_its_scope_and_records_when_it_ran() {
    let store = InMemoryStore::new();
    let AnyIntegration::Primary(mut p) = active(&store, DirectionKind::Inbound).await else {
        panic!("primary")
    };
    let rule = SyncRule::new(
        "users only",
        ObjectKinds::only(ObjectKind::Users),
        ScopeFilter::everything(),
        Trigger::Scheduled,
        t(0),
    );
    p.add_rule(rule.clone()).unwrap();
    let p = store.save_integration(&p.into()).await.unwrap();
    let mut tenant = tenant(2);
    tenant.groups = vec![group("g")];
    let source = FakeSource::new(tenant);
    let (policy, clock) = (Policy::default(), clock());
    let c = ctx(&store, &policy, &clock);
    let run = sync_inbound(&c, &source, p.id(), Some(rule.id))
        .await
        .unwrap();
    assert_eq!(run.rule, Some(rule.id));
    assert!(
        store.view(p.id()).await.unwrap().groups.is_empty(),
        "groups are outside the rule"
    );
    let stored = store.integration(p.id()).await.unwrap();
    assert_eq!(stored.record().rules[0].last_run_at, Some(t(100)));
}
