//! The conformance suite: the [`Store`] contract as executable cases. Every backend runs all of
//! them, each on a fresh, empty store:
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use dirsync_store::{conformance, InMemoryStore, Store};
//! conformance::run_all(|| async { Arc::new(InMemoryStore::new()) as Arc<dyn Store> }).await;
//! # }
//! ```
//!
//! Cases assert error *kinds* (`matches!(err, Error::Conflict { .. })`), never messages. They
//! panic on failure, like tests; [`run_all`] runs every case and then panics with the names of
//! all that failed. The cases are not a stable API: new ones are added as the contract grows.

// This module is test code shipped as a library: asserting is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use dirsync_core::{
    AnyIntegration, AttributeValue, Authorization, DirectionKind, DirectoryChanges, DirectoryOp,
    DirectoryUser, EmploymentType, Inbound, Integration, IntegrationId, IntegrationState,
    KeyOwnership, LifecycleEvent, LifecycleKind, LinkedBy, Manager, MemberKind, MemberRole,
    Membership, ObjectKind, ObjectKinds, OrgUnitPath, OwnedMembership, OwnershipChange, Primary,
    RemoteSettings, RoleKind, RunOutcome, Schedule, Scope, ScopeFilter, SyncRule, SyncRun,
    TimeOfDay, Trigger, UserId, UserStatus, Version,
};
use futures::FutureExt;
use futures::future::BoxFuture;

use crate::{Error, Store};

mod api_tokens;
mod fencing;
pub mod fixtures;
mod retention;

pub use api_tokens::api_tokens_are_kept_by_name_and_hash_until_revoked;
pub use fencing::*;
use fixtures::*;
pub use retention::*;

/// One named case.
pub struct Case {
    /// The case's name (its function's name).
    pub name: &'static str,
    /// Runs the case on a store.
    pub run: fn(Arc<dyn Store>) -> BoxFuture<'static, ()>,
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        /// Every case, in order.
        pub fn cases() -> Vec<Case> {
            vec![$(Case { name: stringify!($name), run: |store| Box::pin($name(store)) }),*]
        }
    };
}

cases!(
    first_inbound_becomes_primary,
    outbound_created_first_never_becomes_primary,
    later_inbound_integrations_are_secondary,
    concurrent_creations_elect_exactly_one_primary,
    creating_an_integration_twice_is_refused,
    primary_cannot_be_removed_while_it_owns_data,
    primary_without_data_can_be_removed_and_the_next_inbound_is_primary,
    role_is_immutable,
    direction_is_immutable,
    system_and_creation_time_are_immutable,
    integration_fields_round_trip,
    stale_integration_revision_is_refused,
    unknown_ids_are_not_found,
    integrations_are_listed_oldest_first,
    directory_data_round_trips,
    email_lookups_ignore_case,
    duplicate_email_is_refused_and_nothing_is_written,
    failed_apply_leaves_no_partial_write,
    stale_version_is_a_conflict_and_writes_nothing,
    versions_bump_once_per_nonempty_apply,
    concurrent_applies_on_one_version_one_wins,
    profile_changes_from_a_secondary_are_refused,
    outbound_integrations_cannot_write_the_directory,
    illegal_lifecycle_transitions_are_refused,
    lifecycle_history_accumulates,
    email_change_frees_the_old_address,
    upserts_replace_existing_objects,
    removing_a_group_removes_its_memberships,
    removing_missing_objects_is_refused,
    links_to_unknown_users_are_refused,
    memberships_need_their_group,
    objects_of_another_integration_are_refused,
    views_are_isolated_per_integration,
    accounts_of_lists_links_across_integrations,
    removing_an_integration_removes_exactly_what_it_owns,
    run_records_persist_newest_first,
    recording_a_run_again_replaces_it,
    held_plans_persist_until_released,
    leases_are_exclusive_until_released_or_expired,
    a_run_that_lost_its_lease_cannot_apply,
    a_run_that_lost_its_lease_cannot_record_ownership,
    only_the_holder_renews_its_lease,
    runs_are_pruned_beyond_their_retention,
    ownership_records_round_trip_and_bump_the_version,
    ownership_records_are_for_outbound_integrations_at_their_version,
    removing_an_outbound_integration_removes_its_ownership_records,
    api_tokens_are_kept_by_name_and_hash_until_revoked,
);

/// Runs every case, each on a fresh store from `new_store`, and panics naming every case that
/// failed (with its message).
pub async fn run_all<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let mut failures = Vec::new();
    let all = cases();
    for case in &all {
        let store = new_store().await;
        if let Err(panic) = AssertUnwindSafe((case.run)(store)).catch_unwind().await {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{}: {message}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n  {}",
        failures.len(),
        all.len(),
        failures.join("\n  ")
    );
}

/// What `seed` wrote.
struct Seed {
    ada: UserId,
    bob: UserId,
    changes: DirectoryChanges,
}

/// Two users with accounts, two groups (one nested in the other), memberships and org units,
/// written by the primary in one apply.
async fn seed(store: &dyn Store, p: &Integration<Inbound, Primary>) -> Seed {
    let id = p.id();
    let (ada, bob) = (UserId::random(), UserId::random());
    let mut changes = DirectoryChanges::new(p, store.version(id).await.unwrap());
    changes.extend([
        create_user(p, ada, "ada@example.com"),
        create_user(p, bob, "bob@example.com"),
        DirectoryOp::UpsertAccount(account(
            id,
            "100",
            "ada@example.com",
            Some((ada, LinkedBy::Provisioned)),
        )),
        DirectoryOp::UpsertAccount(account(
            id,
            "200",
            "bob@example.com",
            Some((bob, LinkedBy::Provisioned)),
        )),
        DirectoryOp::UpsertGroup(group(id, "eng")),
        DirectoryOp::UpsertGroup(group(id, "all")),
        DirectoryOp::UpsertMembership(membership(
            id,
            "eng",
            "100",
            MemberKind::User,
            MemberRole::Owner,
        )),
        DirectoryOp::UpsertMembership(membership(
            id,
            "eng",
            "200",
            MemberKind::User,
            MemberRole::Member,
        )),
        DirectoryOp::UpsertMembership(membership(
            id,
            "all",
            "eng",
            MemberKind::Group,
            MemberRole::Member,
        )),
        DirectoryOp::UpsertOrgUnit(org_unit(id, "ou-root", "/", None)),
        DirectoryOp::UpsertOrgUnit(org_unit(id, "ou-eng", "/Engineering", Some("ou-root"))),
    ]);
    store.apply(&changes).await.unwrap();
    Seed { ada, bob, changes }
}

/// Everything a store shows, for before/after comparisons.
async fn everything(store: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    for integration in store.integrations().await.unwrap() {
        out.push(format!("{integration:?}"));
        out.push(format!("{:?}", store.view(integration.id()).await.unwrap()));
    }
    out.push(format!("{:?}", store.users().await.unwrap()));
    out
}

fn sorted<T: Clone, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort_by_key(|i| key(i));
    items
}

// ----------------------------------------------------------------------------------------------
// Integrations and the primary

/// The first inbound integration is the primary, and `primary()` returns it.
pub async fn first_inbound_becomes_primary(store: Arc<dyn Store>) {
    assert!(store.primary().await.unwrap().is_none());
    let created = create(&*store, "Google", DirectionKind::Inbound).await;
    assert!(created.is_primary());
    assert_eq!(created.role(), RoleKind::Primary);
    assert_eq!(created.state(), &IntegrationState::Staged);
    assert_eq!(created.revision(), 0);
    let p = store.primary().await.unwrap().expect("a primary");
    assert_eq!(p.id(), created.id());
}

/// An outbound integration created first is not the primary; the first inbound one is.
pub async fn outbound_created_first_never_becomes_primary(store: Arc<dyn Store>) {
    let out = create(&*store, "out", DirectionKind::Outbound).await;
    assert_eq!(out.role(), RoleKind::Secondary);
    assert!(store.primary().await.unwrap().is_none());
    let inbound = create(&*store, "in", DirectionKind::Inbound).await;
    assert!(inbound.is_primary());
    assert!(matches!(
        store.integration(out.id()).await.unwrap(),
        AnyIntegration::Outbound(_)
    ));
}

/// Inbound integrations after the first are secondaries; the primary does not change.
pub async fn later_inbound_integrations_are_secondary(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    for i in 0..3 {
        let s = create(&*store, &format!("s{i}"), DirectionKind::Inbound).await;
        assert!(matches!(s, AnyIntegration::Inbound(_)));
    }
    assert_eq!(store.primary().await.unwrap().map(|x| x.id()), Some(p.id()));
}

/// Of many inbound integrations created at once, exactly one becomes primary.
pub async fn concurrent_creations_elect_exactly_one_primary(store: Arc<dyn Store>) {
    let creations = (0..8).map(|i| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .create_integration(new_integration(
                    &format!("in{i}"),
                    DirectionKind::Inbound,
                    t(0),
                ))
                .await
        })
    });
    let created: Vec<AnyIntegration> = futures::future::join_all(creations)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let primaries: Vec<_> = created.iter().filter(|i| i.is_primary()).collect();
    assert_eq!(primaries.len(), 1, "exactly one primary");
    let stored = store.integrations().await.unwrap();
    assert_eq!(stored.iter().filter(|i| i.is_primary()).count(), 1);
    assert_eq!(
        store.primary().await.unwrap().map(|p| p.id()),
        Some(primaries[0].id())
    );
}

/// Creating the same integration twice is refused and changes nothing (the primary stays).
pub async fn creating_an_integration_twice_is_refused(store: Arc<dyn Store>) {
    let new = new_integration("primary", DirectionKind::Inbound, t(0));
    let created = store.create_integration(new.clone()).await.unwrap();
    let err = store.create_integration(new).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlreadyExists {
                kind: "integration",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.integrations().await.unwrap(), vec![created.clone()]);
    assert_eq!(
        store.primary().await.unwrap().map(|p| p.id()),
        Some(created.id())
    );
}

/// Removing the primary while it owns directory data is refused, and nothing changes.
pub async fn primary_cannot_be_removed_while_it_owns_data(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    seed(&*store, &p).await;
    let before = everything(&*store).await;
    let err = store.remove_integration(p.id()).await.unwrap_err();
    assert!(matches!(err, Error::PrimaryOwnsData { .. }), "{err:?}");
    assert_eq!(everything(&*store).await, before);
}

/// A primary that never owned data can be removed; the next inbound integration created is
/// then the primary (existing secondaries stay secondaries).
pub async fn primary_without_data_can_be_removed_and_the_next_inbound_is_primary(
    store: Arc<dyn Store>,
) {
    let p = primary(&*store).await;
    let s = secondary(&*store).await;
    store.remove_integration(p.id()).await.unwrap();
    assert!(store.primary().await.unwrap().is_none());
    assert!(matches!(
        store.integration(s.id()).await.unwrap(),
        AnyIntegration::Inbound(_)
    ));
    let next = create(&*store, "next", DirectionKind::Inbound).await;
    assert!(next.is_primary());
}

/// Saving an integration with another role is refused: the primary cannot be demoted and a
/// secondary cannot be promoted.
pub async fn role_is_immutable(store: Arc<dyn Store>) {
    let p: AnyIntegration = primary(&*store).await.into();
    let s: AnyIntegration = secondary(&*store).await.into();
    let demoted = forged(&p, |r| r.role = RoleKind::Secondary);
    let err = store.save_integration(&demoted).await.unwrap_err();
    assert!(
        matches!(err, Error::Immutable { field: "role", .. }),
        "{err:?}"
    );
    let promoted = forged(&s, |r| r.role = RoleKind::Primary);
    let err = store.save_integration(&promoted).await.unwrap_err();
    assert!(
        matches!(err, Error::Immutable { field: "role", .. }),
        "{err:?}"
    );
    assert_eq!(store.primary().await.unwrap().map(|x| x.id()), Some(p.id()));
    assert_eq!(store.integration(s.id()).await.unwrap(), s);
}

/// Saving an integration with the other direction is refused, both ways.
pub async fn direction_is_immutable(store: Arc<dyn Store>) {
    let _p = primary(&*store).await;
    let s: AnyIntegration = secondary(&*store).await.into();
    let o = create(&*store, "out", DirectionKind::Outbound).await;
    let err = store
        .save_integration(&forged(&s, |r| r.direction = DirectionKind::Outbound))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Immutable {
                field: "direction",
                ..
            }
        ),
        "{err:?}"
    );
    let err = store
        .save_integration(&forged(&o, |r| r.direction = DirectionKind::Inbound))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Immutable {
                field: "direction",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        store.integration(o.id()).await.unwrap().direction(),
        DirectionKind::Outbound
    );
}

/// The creation time cannot be rewritten.
pub async fn system_and_creation_time_are_immutable(store: Arc<dyn Store>) {
    let _p = primary(&*store).await;
    let s: AnyIntegration = secondary(&*store).await.into();
    let err = store
        .save_integration(&forged(&s, |r| r.created_at = t(99)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Immutable {
                field: "created_at",
                ..
            }
        ),
        "{err:?}"
    );
}

/// Every mutable field of an integration survives a save and a read.
pub async fn integration_fields_round_trip(store: Arc<dyn Store>) {
    let AnyIntegration::Primary(mut p) = create(&*store, "Google", DirectionKind::Inbound).await
    else {
        panic!("expected the primary");
    };
    p.set_title("Google Workspace (example.com)").unwrap();
    let berlin = TimeOfDay::parse("02:30", "Europe/Berlin").unwrap();
    p.set_schedule(Schedule::every_monday(berlin));
    let mut rule = SyncRule::new(
        "engineering nightly",
        ObjectKinds::new([ObjectKind::Users, ObjectKind::Memberships]).unwrap(),
        ScopeFilter::everything()
            .with_org_unit(OrgUnitPath::new("/Engineering").unwrap())
            .with_groups([email("eng@example.com")]),
        Trigger::Scheduled,
        t(3),
    );
    rule.last_run_at = Some(t(4));
    p.add_rule(rule.clone()).unwrap();
    p.add_rule(SyncRule::new(
        "manual",
        ObjectKinds::all(),
        ScopeFilter::everything(),
        Trigger::Manual,
        t(3),
    ))
    .unwrap();
    let s = RemoteSettings::new(
        fixtures::SYSTEM,
        serde_json::json!({
            "subject": "super@example.com", "key": {"kind": "named", "value": "vault/key"},
            "api_base": "http://127.0.0.1:9999", "quota_per_minute": 1200, "customer": "C012345",
            "nested": {"list": [1, 2.5, null, true]}
        }),
    )
    .unwrap();
    let authorization = Authorization {
        subject: Some(email("super@example.com")),
        client_id: Some("1234567890".into()),
        client_email: Some(email("sync@project.iam.gserviceaccount.com")),
        ownership: Some(KeyOwnership::CustomerOwned),
        scopes: [ORGUNIT_SCOPE, "https://example.com/auth/users"]
            .into_iter()
            .map(|s| Scope::new(s).unwrap())
            .collect(),
        checks: vec!["folder readable".into()],
        verified_at: t(5),
    };
    p.activate(authorization.clone()).unwrap();
    p.reauthorize(s, authorization).unwrap();
    p.fail("authorization revoked").unwrap();
    let saved = store.save_integration(&p.clone().into()).await.unwrap();
    assert_eq!(saved.revision(), 1);
    let read = store.integration(p.id()).await.unwrap();
    assert_eq!(read, saved);
    let mut expected = p.record().clone();
    expected.revision = 1;
    assert_eq!(read.record(), &expected);
    assert_eq!(
        read.state(),
        &IntegrationState::Failed {
            reason: "authorization revoked".into()
        }
    );
    assert_eq!(store.integrations().await.unwrap(), vec![saved]);
    assert!(
        read.record()
            .authorization
            .as_ref()
            .is_some_and(|a| { a.scopes.contains(&Scope::new(ORGUNIT_SCOPE).unwrap()) })
    );
}

/// A scope string, as connectors verify them.
const ORGUNIT_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.orgunit.readonly";

/// Saving from a stale copy is refused; the newer save stays.
pub async fn stale_integration_revision_is_refused(store: Arc<dyn Store>) {
    let AnyIntegration::Outbound(o) = create(&*store, "out", DirectionKind::Outbound).await else {
        panic!("expected outbound");
    };
    let mut first = o.clone();
    first.set_title("first").unwrap();
    let mut second = o;
    second.set_title("second").unwrap();
    store.save_integration(&first.into()).await.unwrap();
    let err = store
        .save_integration(&second.clone().into())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::StaleIntegration {
                expected: 0,
                actual: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        store.integration(second.id()).await.unwrap().title(),
        "first"
    );
}

/// Unknown ids are `NotFound` everywhere.
pub async fn unknown_ids_are_not_found(store: Arc<dyn Store>) {
    let ghost = IntegrationId::random();
    let nf = |e: Error| matches!(e, Error::NotFound { .. });
    assert!(nf(store.integration(ghost).await.unwrap_err()));
    assert!(nf(store.view(ghost).await.unwrap_err()));
    assert!(nf(store.version(ghost).await.unwrap_err()));
    assert!(nf(store.remove_integration(ghost).await.unwrap_err()));
    assert!(nf(store
        .acquire_lease(ghost, "me", t(1), t(0))
        .await
        .unwrap_err()));
    let plan = held_plan(ghost, b"x", t(7));
    assert!(nf(store.hold_plan(&plan).await.unwrap_err()));
    assert!(nf(store.release_plan(&plan.id).await.unwrap_err()));
    // A saved integration that the store does not have.
    let other = crate::InMemoryStore::new();
    let foreign = other
        .create_integration(new_integration("x", DirectionKind::Outbound, t(0)))
        .await
        .unwrap();
    assert!(nf(store.save_integration(&foreign).await.unwrap_err()));
    assert!(store.user(UserId::random()).await.unwrap().is_none());
    assert!(
        store
            .user_by_email(&email("nobody@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .accounts_of(UserId::random())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.runs(ghost, 10).await.unwrap().is_empty());
}

/// Integrations are listed by creation time, then creation order.
pub async fn integrations_are_listed_oldest_first(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for (i, at) in [(0, t(5)), (1, t(1)), (2, t(5)), (3, t(3))] {
        let created = store
            .create_integration(new_integration(
                &format!("i{i}"),
                DirectionKind::Outbound,
                at,
            ))
            .await
            .unwrap();
        ids.push((at, i, created.id()));
    }
    ids.sort();
    let listed: Vec<IntegrationId> = store
        .integrations()
        .await
        .unwrap()
        .iter()
        .map(|i| i.id())
        .collect();
    assert_eq!(listed, ids.iter().map(|(_, _, id)| *id).collect::<Vec<_>>());
}

// ----------------------------------------------------------------------------------------------
// Apply

/// Every field of users, accounts, groups, memberships and org units survives an apply and a view.
pub async fn directory_data_round_trips(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let seed = seed(&*store, &p).await;
    let view = store.view(p.id()).await.unwrap();
    assert_eq!(view.integration, p.id());
    assert_eq!(view.version, Version(1));
    let mut accounts = Vec::new();
    let mut groups = Vec::new();
    let mut memberships = Vec::new();
    let mut org_units = Vec::new();
    for op in seed.changes.ops() {
        match op {
            DirectoryOp::UpsertAccount(a) => accounts.push(a.clone()),
            DirectoryOp::UpsertGroup(g) => groups.push(g.clone()),
            DirectoryOp::UpsertMembership(m) => memberships.push(m.clone()),
            DirectoryOp::UpsertOrgUnit(o) => org_units.push(o.clone()),
            _ => {}
        }
    }
    assert_eq!(view.accounts, sorted(&accounts, |a| a.external_id.clone()));
    assert_eq!(view.groups, sorted(&groups, |g| g.external_id.clone()));
    assert_eq!(view.memberships, sorted(&memberships, Membership::key));
    assert_eq!(
        view.org_units,
        sorted(&org_units, |o| o.external_id.clone())
    );
    let expected_user = |id, address: &str| {
        DirectoryUser::provisioned(
            id,
            profile(address),
            LifecycleEvent {
                at: t(1),
                kind: LifecycleKind::Provisioned,
                employment_type: Some(EmploymentType::Employee),
            },
        )
        .unwrap()
    };
    let users = sorted(
        &[
            expected_user(seed.ada, "ada@example.com"),
            expected_user(seed.bob, "bob@example.com"),
        ],
        |u| u.id,
    );
    assert_eq!(view.users, users);
    assert_eq!(store.users().await.unwrap(), users);
    assert_eq!(
        store.user(seed.ada).await.unwrap().as_ref(),
        users.iter().find(|u| u.id == seed.ada)
    );

    // Missing marks and a resolved manager round-trip too.
    let mut missing = accounts[0].clone();
    missing.missing_since = Some(t(9));
    missing.missing_runs = 2;
    let mut managed = profile("ada@example.com");
    managed.manager = Some(Manager::Resolved(seed.bob));
    managed.is_admin = true;
    managed.employment_type = Some(EmploymentType::Contractor);
    let mut changes = DirectoryChanges::new(&p, Version(1));
    changes.push(DirectoryOp::UpsertAccount(missing.clone()));
    changes.push(DirectoryOp::Profile(
        p.profile_authority()
            .update_profile(seed.ada, managed.clone()),
    ));
    store.apply(&changes).await.unwrap();
    let view = store.view(p.id()).await.unwrap();
    assert!(view.accounts.contains(&missing));
    assert_eq!(
        store.user(seed.ada).await.unwrap().map(|u| u.profile),
        Some(managed)
    );
}

/// `user_by_email` ignores ASCII case in both the stored and the asked address.
pub async fn email_lookups_ignore_case(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let ada = UserId::random();
    let mut changes = DirectoryChanges::new(&p, Version::ZERO);
    changes.push(create_user(&p, ada, "Ada.Lovelace@Example.COM"));
    store.apply(&changes).await.unwrap();
    for asked in [
        "ada.lovelace@example.com",
        "ADA.LOVELACE@EXAMPLE.COM",
        "Ada.Lovelace@Example.COM",
    ] {
        let found = store.user_by_email(&email(asked)).await.unwrap();
        assert_eq!(found.map(|u| u.id), Some(ada), "{asked}");
    }
    let stored = store.user(ada).await.unwrap().unwrap();
    assert_eq!(
        stored.profile.primary_email.as_str(),
        "Ada.Lovelace@Example.COM",
        "the spelling is kept"
    );
}

/// Two users with one email (in any case) is an invalid change; nothing is written.
pub async fn duplicate_email_is_refused_and_nothing_is_written(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let before = everything(&*store).await;
    let mut changes = DirectoryChanges::new(&p, Version::ZERO);
    changes.push(create_user(&p, UserId::random(), "ada@example.com"));
    changes.push(create_user(&p, UserId::random(), "ADA@example.com"));
    let err = store.apply(&changes).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidChange { index: 1, .. }),
        "{err:?}"
    );
    assert_eq!(everything(&*store).await, before);
    assert_eq!(store.version(p.id()).await.unwrap(), Version::ZERO);
}

/// An apply that fails on its last operation leaves no trace of the earlier ones.
pub async fn failed_apply_leaves_no_partial_write(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let seeded = seed(&*store, &p).await;
    let before = everything(&*store).await;
    let id = p.id();
    let mut changes = DirectoryChanges::new(&p, Version(1));
    changes.extend([
        create_user(&p, UserId::random(), "carol@example.com"),
        lifecycle(&p, seeded.bob, LifecycleKind::Suspended, t(5)),
        DirectoryOp::UpsertGroup(group(id, "ops")),
        DirectoryOp::UpsertMembership(membership(
            id,
            "ops",
            "100",
            MemberKind::User,
            MemberRole::Member,
        )),
        DirectoryOp::RemoveGroup {
            external_id: xid("eng"),
        },
        DirectoryOp::RemoveOrgUnit {
            external_id: xid("ou-eng"),
        },
        DirectoryOp::RemoveAccount {
            external_id: xid("100"),
        },
        DirectoryOp::RemoveAccount {
            external_id: xid("no-such-account"),
        },
    ]);
    let err = store.apply(&changes).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidChange { index: 7, .. }),
        "{err:?}"
    );
    assert_eq!(everything(&*store).await, before);
    assert!(
        store
            .user_by_email(&email("carol@example.com"))
            .await
            .unwrap()
            .is_none()
    );
}

/// A change set planned against an older version is a conflict and writes nothing.
pub async fn stale_version_is_a_conflict_and_writes_nothing(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    seed(&*store, &p).await;
    let before = everything(&*store).await;
    for base in [Version::ZERO, Version(2)] {
        let mut changes = DirectoryChanges::new(&p, base);
        changes.push(DirectoryOp::UpsertGroup(group(p.id(), "late")));
        let err = store.apply(&changes).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Conflict {
                    actual: Version(1),
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert_eq!(everything(&*store).await, before);
}

/// Each non-empty apply bumps the version by one; an empty one writes nothing.
pub async fn versions_bump_once_per_nonempty_apply(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    assert_eq!(store.version(p.id()).await.unwrap(), Version::ZERO);
    let empty = DirectoryChanges::new(&p, Version::ZERO);
    let applied = store.apply(&empty).await.unwrap();
    assert_eq!((applied.version, applied.ops), (Version::ZERO, 0));
    assert_eq!(store.version(p.id()).await.unwrap(), Version::ZERO);
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        let mut changes = DirectoryChanges::new(&p, Version(i as u64));
        changes.push(DirectoryOp::UpsertGroup(group(p.id(), name)));
        changes.push(DirectoryOp::UpsertOrgUnit(org_unit(
            p.id(),
            name,
            &format!("/{name}"),
            None,
        )));
        let applied = store.apply(&changes).await.unwrap();
        assert_eq!((applied.version, applied.ops), (Version(i as u64 + 1), 2));
    }
    assert_eq!(store.view(p.id()).await.unwrap().version, Version(3));
}

/// Two change sets planned against the same version, applied at once: one wins, one conflicts.
pub async fn concurrent_applies_on_one_version_one_wins(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let applies = ["x", "y"].map(|name| {
        let store = Arc::clone(&store);
        let mut changes = DirectoryChanges::new(&p, Version::ZERO);
        changes.push(DirectoryOp::UpsertGroup(group(p.id(), name)));
        tokio::spawn(async move { store.apply(&changes).await })
    });
    let results: Vec<_> = futures::future::join_all(applies)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(Error::Conflict { .. })))
    );
    let view = store.view(p.id()).await.unwrap();
    assert_eq!((view.version, view.groups.len()), (Version(1), 1));
}

/// Profile changes made with a forged primary (a secondary's record claiming the role) are
/// refused by the store, which knows who the primary is.
pub async fn profile_changes_from_a_secondary_are_refused(store: Arc<dyn Store>) {
    let _p = primary(&*store).await;
    let s: AnyIntegration = secondary(&*store).await.into();
    let impostor = forged(&s, |r| r.role = RoleKind::Primary)
        .into_primary()
        .unwrap();
    let before = everything(&*store).await;
    let mut changes = DirectoryChanges::new(&impostor, Version::ZERO);
    changes.push(create_user(
        &impostor,
        UserId::random(),
        "mallory@example.com",
    ));
    let err = store.apply(&changes).await.unwrap_err();
    assert!(matches!(err, Error::NotPrimary { .. }), "{err:?}");
    assert_eq!(everything(&*store).await, before);
}

/// Directory changes for an outbound integration (forged as inbound) are refused.
pub async fn outbound_integrations_cannot_write_the_directory(store: Arc<dyn Store>) {
    let o = create(&*store, "out", DirectionKind::Outbound).await;
    let disguised = forged(&o, |r| r.direction = DirectionKind::Inbound)
        .into_secondary_inbound()
        .unwrap();
    let mut changes = DirectoryChanges::new(&disguised, Version::ZERO);
    changes.push(DirectoryOp::UpsertGroup(group(o.id(), "g")));
    let err = store.apply(&changes).await.unwrap_err();
    assert!(matches!(err, Error::NotInbound { .. }), "{err:?}");
    assert!(store.view(o.id()).await.unwrap().groups.is_empty());
}

/// A lifecycle transition that does not start at the user's status is an invalid change.
pub async fn illegal_lifecycle_transitions_are_refused(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let seeded = seed(&*store, &p).await;
    let before = everything(&*store).await;
    for kind in [LifecycleKind::Provisioned, LifecycleKind::Reactivated] {
        let mut changes = DirectoryChanges::new(&p, Version(1));
        changes.push(lifecycle(&p, seeded.ada, kind, t(5)));
        let err = store.apply(&changes).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidChange { index: 0, .. }),
            "{kind}: {err:?}"
        );
    }
    let mut changes = DirectoryChanges::new(&p, Version(1));
    changes.push(lifecycle(
        &p,
        UserId::random(),
        LifecycleKind::Suspended,
        t(5),
    ));
    assert!(matches!(
        store.apply(&changes).await.unwrap_err(),
        Error::InvalidChange { .. }
    ));
    assert_eq!(everything(&*store).await, before);
}

/// Transitions set the status and timestamps and accumulate in the history.
pub async fn lifecycle_history_accumulates(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let seeded = seed(&*store, &p).await;
    let steps = [
        (LifecycleKind::Suspended, UserStatus::Suspended),
        (LifecycleKind::Reactivated, UserStatus::Active),
        (LifecycleKind::Deprovisioned, UserStatus::Deprovisioned),
        (LifecycleKind::Provisioned, UserStatus::Active),
    ];
    for (i, (kind, status)) in steps.into_iter().enumerate() {
        let mut changes = DirectoryChanges::new(&p, Version(i as u64 + 1));
        changes.push(lifecycle(&p, seeded.ada, kind, t(10 + i as i64)));
        store.apply(&changes).await.unwrap();
        assert_eq!(
            store.user(seeded.ada).await.unwrap().unwrap().status,
            status
        );
    }
    let ada = store.user(seeded.ada).await.unwrap().unwrap();
    let kinds: Vec<LifecycleKind> = ada.lifecycle.history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            LifecycleKind::Provisioned,
            LifecycleKind::Suspended,
            LifecycleKind::Reactivated,
            LifecycleKind::Deprovisioned,
            LifecycleKind::Provisioned
        ]
    );
    assert_eq!(ada.lifecycle.provisioned_at, Some(t(13)));
    assert_eq!(
        (ada.lifecycle.suspended_at, ada.lifecycle.deprovisioned_at),
        (None, None)
    );
    assert_eq!(ada.lifecycle.history[3].at, t(12));
}

/// Changing a user's email frees the old address for another user.
pub async fn email_change_frees_the_old_address(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let seeded = seed(&*store, &p).await;
    let mut changes = DirectoryChanges::new(&p, Version(1));
    changes.push(DirectoryOp::Profile(
        p.profile_authority()
            .update_profile(seeded.ada, profile("ada.l@example.com")),
    ));
    let carol = UserId::random();
    changes.push(create_user(&p, carol, "ada@example.com"));
    store.apply(&changes).await.unwrap();
    assert_eq!(
        store
            .user_by_email(&email("ada.l@example.com"))
            .await
            .unwrap()
            .map(|u| u.id),
        Some(seeded.ada)
    );
    assert_eq!(
        store
            .user_by_email(&email("ada@example.com"))
            .await
            .unwrap()
            .map(|u| u.id),
        Some(carol)
    );
    // Taking an address in use is refused.
    let mut changes = DirectoryChanges::new(&p, Version(2));
    changes.push(DirectoryOp::Profile(
        p.profile_authority()
            .update_profile(seeded.bob, profile("ADA.L@example.com")),
    ));
    assert!(matches!(
        store.apply(&changes).await.unwrap_err(),
        Error::InvalidChange { index: 0, .. }
    ));
}

/// Upserting an existing object replaces it; nothing is duplicated.
pub async fn upserts_replace_existing_objects(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let seeded = seed(&*store, &p).await;
    let id = p.id();
    let mut acc = account(
        id,
        "100",
        "ada@example.com",
        Some((seeded.ada, LinkedBy::Provisioned)),
    );
    acc.attributes
        .insert("department".into(), AttributeValue::Text("Research".into()));
    acc.last_seen = t(20);
    let mut g = group(id, "eng");
    g.name = "Engineering".into();
    let m = membership(id, "eng", "200", MemberKind::User, MemberRole::Manager);
    let ou = org_unit(id, "ou-eng", "/Engineering/Platform", Some("ou-root"));
    let mut changes = DirectoryChanges::new(&p, Version(1));
    changes.extend([
        DirectoryOp::UpsertAccount(acc.clone()),
        DirectoryOp::UpsertGroup(g.clone()),
        DirectoryOp::UpsertMembership(m.clone()),
        DirectoryOp::UpsertOrgUnit(ou.clone()),
    ]);
    store.apply(&changes).await.unwrap();
    let view = store.view(id).await.unwrap();
    assert_eq!(
        (
            view.accounts.len(),
            view.groups.len(),
            view.memberships.len(),
            view.org_units.len()
        ),
        (2, 2, 3, 2)
    );
    assert!(view.accounts.contains(&acc));
    assert!(view.groups.contains(&g));
    assert!(view.memberships.contains(&m));
    assert!(view.org_units.contains(&ou));
}

/// Removing a group removes the memberships in it and those that nest it in other groups.
pub async fn removing_a_group_removes_its_memberships(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    seed(&*store, &p).await;
    let mut changes = DirectoryChanges::new(&p, Version(1));
    changes.push(DirectoryOp::RemoveGroup {
        external_id: xid("eng"),
    });
    store.apply(&changes).await.unwrap();
    let view = store.view(p.id()).await.unwrap();
    assert_eq!(
        view.groups
            .iter()
            .map(|g| g.external_id.as_str())
            .collect::<Vec<_>>(),
        ["all"]
    );
    assert!(view.memberships.is_empty(), "{:?}", view.memberships);
    assert_eq!(view.accounts.len(), 2, "accounts are not touched");
}

/// Removing an object that does not exist is an invalid change.
pub async fn removing_missing_objects_is_refused(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    seed(&*store, &p).await;
    let ops = [
        DirectoryOp::RemoveAccount {
            external_id: xid("nope"),
        },
        DirectoryOp::RemoveGroup {
            external_id: xid("nope"),
        },
        DirectoryOp::RemoveMembership(
            membership(p.id(), "eng", "nope", MemberKind::User, MemberRole::Member).key(),
        ),
        DirectoryOp::RemoveMembership(
            membership(p.id(), "eng", "100", MemberKind::Group, MemberRole::Member).key(),
        ),
        DirectoryOp::RemoveOrgUnit {
            external_id: xid("nope"),
        },
    ];
    for op in ops {
        let mut changes = DirectoryChanges::new(&p, Version(1));
        changes.push(op.clone());
        let err = store.apply(&changes).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidChange { index: 0, .. }),
            "{op:?}: {err:?}"
        );
    }
    assert_eq!(store.version(p.id()).await.unwrap(), Version(1));
}

/// An account cannot link to a user the directory does not have.
pub async fn links_to_unknown_users_are_refused(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let mut changes = DirectoryChanges::new(&p, Version::ZERO);
    changes.push(DirectoryOp::UpsertAccount(account(
        p.id(),
        "1",
        "x@example.com",
        Some((UserId::random(), LinkedBy::Provisioned)),
    )));
    assert!(matches!(
        store.apply(&changes).await.unwrap_err(),
        Error::InvalidChange { index: 0, .. }
    ));
    // Unlinked accounts are fine.
    let mut changes = DirectoryChanges::new(&p, Version::ZERO);
    changes.push(DirectoryOp::UpsertAccount(account(
        p.id(),
        "1",
        "x@example.com",
        None,
    )));
    store.apply(&changes).await.unwrap();
}

/// A membership needs its group to exist in the same integration.
pub async fn memberships_need_their_group(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let mut changes = DirectoryChanges::new(&p, Version::ZERO);
    changes.push(DirectoryOp::UpsertMembership(membership(
        p.id(),
        "ghost",
        "1",
        MemberKind::User,
        MemberRole::Member,
    )));
    assert!(matches!(
        store.apply(&changes).await.unwrap_err(),
        Error::InvalidChange { index: 0, .. }
    ));
}

/// An object carrying another integration's id is an invalid change.
pub async fn objects_of_another_integration_are_refused(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let s = secondary(&*store).await;
    let ops = [
        DirectoryOp::UpsertAccount(account(s.id(), "1", "x@example.com", None)),
        DirectoryOp::UpsertGroup(group(s.id(), "g")),
        DirectoryOp::UpsertOrgUnit(org_unit(s.id(), "o", "/O", None)),
    ];
    for op in ops {
        let mut changes = DirectoryChanges::new(&p, Version::ZERO);
        changes.push(op);
        assert!(matches!(
            store.apply(&changes).await.unwrap_err(),
            Error::InvalidChange { index: 0, .. }
        ));
    }
    let mut changes = DirectoryChanges::new(&p, Version::ZERO);
    changes.push(DirectoryOp::UpsertGroup(group(p.id(), "g")));
    changes.push(DirectoryOp::UpsertMembership(membership(
        s.id(),
        "g",
        "1",
        MemberKind::User,
        MemberRole::Member,
    )));
    assert!(matches!(
        store.apply(&changes).await.unwrap_err(),
        Error::InvalidChange { index: 1, .. }
    ));
    assert!(store.view(s.id()).await.unwrap().groups.is_empty());
}

/// Each integration's view holds only its own objects (and the shared directory users).
pub async fn views_are_isolated_per_integration(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let seeded = seed(&*store, &p).await;
    let s = secondary(&*store).await;
    let mut changes = DirectoryChanges::new(&s, Version::ZERO);
    changes.extend([
        DirectoryOp::UpsertAccount(account(
            s.id(),
            "100",
            "ada@example.com",
            Some((seeded.ada, LinkedBy::EmailMatch)),
        )),
        DirectoryOp::UpsertGroup(group(s.id(), "eng")),
        DirectoryOp::UpsertMembership(membership(
            s.id(),
            "eng",
            "100",
            MemberKind::User,
            MemberRole::Member,
        )),
        DirectoryOp::UpsertOrgUnit(org_unit(s.id(), "ou-eng", "/Engineering", None)),
    ]);
    store.apply(&changes).await.unwrap();
    let (pv, sv) = (
        store.view(p.id()).await.unwrap(),
        store.view(s.id()).await.unwrap(),
    );
    assert_eq!(
        (
            pv.accounts.len(),
            pv.groups.len(),
            pv.memberships.len(),
            pv.org_units.len()
        ),
        (2, 2, 3, 2)
    );
    assert_eq!(
        (
            sv.accounts.len(),
            sv.groups.len(),
            sv.memberships.len(),
            sv.org_units.len()
        ),
        (1, 1, 1, 1)
    );
    assert!(sv.accounts.iter().all(|a| a.integration == s.id()));
    assert_eq!((pv.version, sv.version), (Version(1), Version(1)));
    assert_eq!(pv.users, sv.users);
}

/// `accounts_of` returns a user's accounts in every integration.
pub async fn accounts_of_lists_links_across_integrations(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let seeded = seed(&*store, &p).await;
    let s = secondary(&*store).await;
    let linked = account(
        s.id(),
        "u-77",
        "ada@example.com",
        Some((seeded.ada, LinkedBy::EmailMatch)),
    );
    let mut changes = DirectoryChanges::new(&s, Version::ZERO);
    changes.push(DirectoryOp::UpsertAccount(linked.clone()));
    changes.push(DirectoryOp::UpsertAccount(account(
        s.id(),
        "u-78",
        "nobody@example.com",
        None,
    )));
    store.apply(&changes).await.unwrap();
    let mut accounts = store.accounts_of(seeded.ada).await.unwrap();
    accounts.sort_by_key(|a| a.external_id.clone());
    assert_eq!(accounts.len(), 2);
    assert!(accounts.contains(&linked));
    assert!(
        accounts
            .iter()
            .any(|a| a.integration == p.id()
                && a.link.is_some_and(|l| l.by == LinkedBy::Provisioned))
    );
    assert_eq!(store.accounts_of(seeded.bob).await.unwrap().len(), 1);
}

/// Removing an integration removes its accounts, groups, memberships, org units and held
/// plans — and nothing else. Run records stay as history.
pub async fn removing_an_integration_removes_exactly_what_it_owns(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let seeded = seed(&*store, &p).await;
    let s = secondary(&*store).await;
    let mut changes = DirectoryChanges::new(&s, Version::ZERO);
    changes.extend([
        DirectoryOp::UpsertAccount(account(
            s.id(),
            "100",
            "ada@example.com",
            Some((seeded.ada, LinkedBy::EmailMatch)),
        )),
        DirectoryOp::UpsertAccount(account(s.id(), "101", "zed@example.com", None)),
        DirectoryOp::UpsertGroup(group(s.id(), "eng")),
        DirectoryOp::UpsertMembership(membership(
            s.id(),
            "eng",
            "100",
            MemberKind::User,
            MemberRole::Member,
        )),
        DirectoryOp::UpsertOrgUnit(org_unit(s.id(), "ou-eng", "/Engineering", None)),
    ]);
    store.apply(&changes).await.unwrap();
    store
        .hold_plan(&held_plan(s.id(), b"s", t(7)))
        .await
        .unwrap();
    store
        .hold_plan(&held_plan(p.id(), b"p", t(7)))
        .await
        .unwrap();
    store.record_run(&run(s.id(), t(1))).await.unwrap();
    let primary_view = store.view(p.id()).await.unwrap();
    let users = store.users().await.unwrap();

    let removed = store.remove_integration(s.id()).await.unwrap();
    assert_eq!(
        (
            removed.accounts,
            removed.groups,
            removed.memberships,
            removed.org_units,
            removed.held_plans
        ),
        (2, 1, 1, 1, 1)
    );
    assert!(matches!(
        store.integration(s.id()).await.unwrap_err(),
        Error::NotFound { .. }
    ));
    assert_eq!(store.view(p.id()).await.unwrap(), primary_view);
    assert_eq!(store.users().await.unwrap(), users);
    assert_eq!(store.accounts_of(seeded.ada).await.unwrap().len(), 1);
    assert!(store.held_plans(s.id()).await.unwrap().is_empty());
    assert_eq!(store.held_plans(p.id()).await.unwrap().len(), 1);
    assert_eq!(
        store.runs(s.id(), 10).await.unwrap().len(),
        1,
        "run records are history"
    );
    assert_eq!(store.integrations().await.unwrap().len(), 1);
}

// ----------------------------------------------------------------------------------------------
// Runs, held plans, leases

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

/// A lease excludes other holders until it is released or expires; its holder may renew it.
pub async fn leases_are_exclusive_until_released_or_expired(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let o = create(&*store, "out", DirectionKind::Outbound).await;
    let a = store
        .acquire_lease(p.id(), "worker-a", t(2), t(0))
        .await
        .unwrap();
    assert_eq!((a.holder.as_str(), a.until), ("worker-a", t(2)));
    let err = store
        .acquire_lease(p.id(), "worker-b", t(3), t(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Leased { holder, .. } if holder == "worker-a"),
        "{err:?}"
    );
    // Other integrations are independent.
    store
        .acquire_lease(o.id(), "worker-b", t(3), t(1))
        .await
        .unwrap();
    // The holder renews.
    let renewed = store
        .acquire_lease(p.id(), "worker-a", t(4), t(1))
        .await
        .unwrap();
    // Releasing someone else's lease does nothing.
    store
        .release_lease(&crate::Lease {
            holder: "worker-b".into(),
            ..renewed.clone()
        })
        .await
        .unwrap();
    assert!(matches!(
        store
            .acquire_lease(p.id(), "worker-b", t(5), t(3))
            .await
            .unwrap_err(),
        Error::Leased { .. }
    ));
    // Expired at `now` = t(4): free.
    store
        .acquire_lease(p.id(), "worker-b", t(6), t(4))
        .await
        .unwrap();
    let b = crate::Lease {
        integration: p.id(),
        holder: "worker-b".into(),
        until: t(6),
    };
    store.release_lease(&b).await.unwrap();
    store
        .acquire_lease(p.id(), "worker-c", t(7), t(5))
        .await
        .unwrap();
}

fn owned(integration: IntegrationId, group: &str, member: &str) -> OwnedMembership {
    OwnedMembership {
        integration,
        group: xid(group),
        member: email(member),
        role: MemberRole::Member,
        created_at: t(1),
    }
}

/// Claims are stored and listed by (group, member); releases remove them (also with another
/// case of the email), releasing an unknown record is fine; each non-empty record bumps the
/// version once and an empty one writes nothing.
pub async fn ownership_records_round_trip_and_bump_the_version(store: Arc<dyn Store>) {
    let o = create(&*store, "out", DirectionKind::Outbound).await.id();
    assert!(store.owned_memberships(o).await.unwrap().is_empty());
    let claims = [
        owned(o, "g2", "bob@example.com"),
        owned(o, "g1", "zed@example.com"),
        owned(o, "g1", "ada@example.com"),
    ];
    let applied = store
        .record_ownership(
            o,
            Version::ZERO,
            &claims
                .iter()
                .cloned()
                .map(OwnershipChange::Claim)
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    assert_eq!(applied.version, Version::ZERO.next());
    assert_eq!(applied.ops, 3);
    let listed = store.owned_memberships(o).await.unwrap();
    let keys: Vec<(String, String)> = listed
        .iter()
        .map(|m| (m.group.to_string(), m.member.to_string()))
        .collect();
    assert_eq!(
        keys,
        [
            ("g1".to_owned(), "ada@example.com".to_owned()),
            ("g1".to_owned(), "zed@example.com".to_owned()),
            ("g2".to_owned(), "bob@example.com".to_owned()),
        ]
    );
    assert_eq!(listed[0], claims[2]);
    let released = store
        .record_ownership(
            o,
            applied.version,
            &[
                OwnershipChange::Release {
                    group: xid("g1"),
                    member: email("ADA@example.com"),
                },
                OwnershipChange::Release {
                    group: xid("g9"),
                    member: email("nobody@example.com"),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(released.version, applied.version.next());
    assert_eq!(store.owned_memberships(o).await.unwrap().len(), 2);
    let empty = store
        .record_ownership(o, released.version, &[])
        .await
        .unwrap();
    assert_eq!((empty.version, empty.ops), (released.version, 0));
    assert_eq!(store.version(o).await.unwrap(), released.version);
}

/// Inbound integrations own no remote memberships; a stale base is a conflict; a claim for
/// another integration is refused; nothing is written by a refused record.
pub async fn ownership_records_are_for_outbound_integrations_at_their_version(
    store: Arc<dyn Store>,
) {
    let p = primary(&*store).await;
    let err = store
        .record_ownership(
            p.id(),
            Version::ZERO,
            &[OwnershipChange::Claim(owned(p.id(), "g", "a@example.com"))],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotOutbound { .. }), "{err:?}");
    let o = create(&*store, "out", DirectionKind::Outbound).await.id();
    let other = create(&*store, "other", DirectionKind::Outbound).await.id();
    let err = store
        .record_ownership(
            o,
            Version::ZERO.next(),
            &[OwnershipChange::Claim(owned(o, "g", "a@example.com"))],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    let err = store
        .record_ownership(
            o,
            Version::ZERO,
            &[
                OwnershipChange::Claim(owned(o, "g", "a@example.com")),
                OwnershipChange::Claim(owned(other, "g", "b@example.com")),
            ],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidChange { index: 1, .. }),
        "{err:?}"
    );
    assert!(store.owned_memberships(o).await.unwrap().is_empty());
    assert!(store.owned_memberships(other).await.unwrap().is_empty());
    assert_eq!(store.version(o).await.unwrap(), Version::ZERO);
    let err = store
        .owned_memberships(IntegrationId::random())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// Removing an outbound integration forgets its ownership records, and only its own.
pub async fn removing_an_outbound_integration_removes_its_ownership_records(store: Arc<dyn Store>) {
    let a = create(&*store, "a", DirectionKind::Outbound).await.id();
    let b = create(&*store, "b", DirectionKind::Outbound).await.id();
    for (i, who) in [(a, "x@example.com"), (b, "y@example.com")] {
        store
            .record_ownership(
                i,
                Version::ZERO,
                &[OwnershipChange::Claim(owned(i, "g", who))],
            )
            .await
            .unwrap();
    }
    let removed = store.remove_integration(a).await.unwrap();
    assert_eq!(removed.owned_memberships, 1);
    assert_eq!(store.owned_memberships(b).await.unwrap().len(), 1);
}
