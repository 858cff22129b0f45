//! Pushed changes: one object at a time through the same rules, the push window.

use chrono::{DateTime, Duration, Utc};
use dirsync_core::*;
use dirsync_engine::{Policy, Push, PushOutcome, PushWindow, RunContext, apply_push, approve};
use dirsync_store::{InMemoryStore, Store};

use crate::common::*;

fn ctx<'a>(
    store: &'a dyn Store,
    policy: &'a Policy,
    clock: &'a (dyn dirsync_engine::Clock + 'a),
) -> RunContext<'a> {
    RunContext {
        store,
        policy,
        clock,
        holder: "push".into(),
        lease: Duration::minutes(10),
        progress: &NoProgress,
        run_id: None,
        due_at: None,
    }
}

fn clock() -> impl Fn() -> DateTime<Utc> + Send + Sync {
    || t(100)
}

fn applied(outcome: PushOutcome) -> SyncRun {
    match outcome {
        PushOutcome::Applied(run) => run,
        other => panic!("not applied: {other:?}"),
    }
}

#[tokio::test]
async fn the_primary_provisions_suspends_and_deprovisions_one_push_at_a_time() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let (policy, clock) = (Policy::default(), clock());
    let c = ctx(&store, &policy, &clock);
    let window = PushWindow::default();
    for i in 0..3 {
        let push = Push::User(user(&format!("{i}"), &format!("u{i}")));
        let run = applied(apply_push(&c, &window, p.id(), &push).await.unwrap());
        assert_eq!(run.counts.get("users_created"), Some(&1));
        assert_eq!(run.counts.get(dirsync_engine::PUSH_COUNT), Some(&1));
    }
    // A repeated push changes nothing and records nothing.
    let again = Push::User(user("1", "u1"));
    assert_eq!(
        apply_push(&c, &window, p.id(), &again).await.unwrap(),
        PushOutcome::NoChange
    );
    assert_eq!(store.runs(p.id(), 100).await.unwrap().len(), 3);
    // The others are not missing: a push is not a snapshot.
    let mut off = user("0", "u0");
    off.suspended = true;
    applied(
        apply_push(&c, &window, p.id(), &Push::User(off))
            .await
            .unwrap(),
    );
    assert_eq!(user_by(&store, "u0").await.status, UserStatus::Suspended);
    assert_eq!(user_by(&store, "u2").await.status, UserStatus::Active);
    // A deletion is the source's word: no grace.
    let run = applied(
        apply_push(&c, &window, p.id(), &Push::UserDeleted(xid("2")))
            .await
            .unwrap(),
    );
    assert_eq!(run.counts.get("users_deprovisioned"), Some(&1));
    assert_eq!(
        user_by(&store, "u2").await.status,
        UserStatus::Deprovisioned
    );
    assert_eq!(user_by(&store, "u1").await.status, UserStatus::Active);
}

#[tokio::test]
async fn a_secondary_push_links_and_enriches_but_never_writes_profiles() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let s = active(&store, DirectionKind::Inbound).await;
    let (policy, clock) = (Policy::default(), clock());
    let c = ctx(&store, &policy, &clock);
    let w = PushWindow::default();
    applied(
        apply_push(&c, &w, p.id(), &Push::User(user("p1", "ada")))
            .await
            .unwrap(),
    );
    let mut theirs = user("s1", "ada");
    theirs.name.given = "Someone else".into();
    theirs.suspended = true;
    theirs
        .attributes
        .insert("department".into(), AttributeValue::Text("R&D".into()));
    let run = applied(
        apply_push(&c, &w, s.id(), &Push::User(theirs))
            .await
            .unwrap(),
    );
    assert_eq!(run.counts.get("accounts_linked"), Some(&1));
    let ada = user_by(&store, "ada").await;
    assert_eq!(ada.profile.name.given, "ada");
    assert_eq!(ada.status, UserStatus::Active);
    let accounts = store.accounts_of(ada.id).await.unwrap();
    assert_eq!(accounts.len(), 2);
    // A second account of the secondary claiming the same email is refused, nothing written.
    let version = store.version(s.id()).await.unwrap();
    let dup = apply_push(&c, &w, s.id(), &Push::User(user("s2", "ada"))).await;
    assert!(
        matches!(dup, Err(dirsync_engine::Error::Taken { .. })),
        "{dup:?}"
    );
    assert_eq!(store.version(s.id()).await.unwrap(), version);
}

#[tokio::test]
async fn groups_are_pushed_whole_and_deleted_on_the_sources_word() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let (policy, clock) = (Policy::default(), clock());
    let c = ctx(&store, &policy, &clock);
    let w = PushWindow::default();
    for i in 0..3 {
        applied(
            apply_push(
                &c,
                &w,
                p.id(),
                &Push::User(user(&format!("{i}"), &format!("u{i}"))),
            )
            .await
            .unwrap(),
        );
    }
    let members = |ids: &[&str]| {
        ids.iter()
            .map(|u| member("g", u, MemberRole::Member))
            .collect::<Vec<_>>()
    };
    let push = Push::Group {
        group: group("g"),
        members: members(&["0", "1"]),
    };
    applied(apply_push(&c, &w, p.id(), &push).await.unwrap());
    let push = Push::Group {
        group: group("g"),
        members: members(&["1", "2"]),
    };
    let run = applied(apply_push(&c, &w, p.id(), &push).await.unwrap());
    assert_eq!(run.counts.get("memberships_added"), Some(&1));
    assert_eq!(run.counts.get("memberships_removed"), Some(&1));
    let view = store.view(p.id()).await.unwrap();
    assert_eq!(view.memberships.len(), 2);
    applied(
        apply_push(&c, &w, p.id(), &Push::GroupDeleted(xid("g")))
            .await
            .unwrap(),
    );
    let view = store.view(p.id()).await.unwrap();
    assert!(view.groups.is_empty() && view.memberships.is_empty());
    assert_eq!(view.accounts.len(), 3, "users stay");
}

#[tokio::test]
async fn the_window_holds_removals_beyond_its_count_until_an_approval() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let (policy, clock) = (Policy::default(), clock());
    let c = ctx(&store, &policy, &clock);
    let w = PushWindow::new(2, 10);
    for i in 0..4 {
        applied(
            apply_push(
                &c,
                &w,
                p.id(),
                &Push::User(user(&format!("{i}"), &format!("u{i}"))),
            )
            .await
            .unwrap(),
        );
    }
    for i in 0..2 {
        applied(
            apply_push(&c, &w, p.id(), &Push::UserDeleted(xid(&format!("{i}"))))
                .await
                .unwrap(),
        );
    }
    let held = apply_push(&c, &w, p.id(), &Push::UserDeleted(xid("2")))
        .await
        .unwrap();
    let PushOutcome::Held {
        plan, retry_after, ..
    } = held
    else {
        panic!("not held: {held:?}")
    };
    assert_eq!(retry_after, Duration::minutes(10));
    assert_eq!(user_by(&store, "u2").await.status, UserStatus::Active);
    // Creations still go through while removals are held.
    applied(
        apply_push(&c, &w, p.id(), &Push::User(user("9", "u9")))
            .await
            .unwrap(),
    );
    // The source retries: still held. An approval opens a new window; the retry goes through.
    assert!(matches!(
        apply_push(&c, &w, p.id(), &Push::UserDeleted(xid("2")))
            .await
            .unwrap(),
        PushOutcome::Held { .. }
    ));
    let latest = store.held_plans(p.id()).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_ne!(latest[0].id, plan, "the retry's plan superseded the first");
    approve(&c, &latest[0].id).await.unwrap();
    assert_eq!(
        user_by(&store, "u2").await.status,
        UserStatus::Deprovisioned
    );
    let retry = apply_push(&c, &w, p.id(), &Push::UserDeleted(xid("2")))
        .await
        .unwrap();
    assert_eq!(retry, PushOutcome::NoChange, "the approval applied it");
    applied(
        apply_push(&c, &w, p.id(), &Push::UserDeleted(xid("3")))
            .await
            .unwrap(),
    );
}
