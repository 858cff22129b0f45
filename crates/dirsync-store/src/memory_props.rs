//! Property tests of the in-memory store's transactions: any sequence of operations, valid or
//! not, is applied entirely or not at all.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use dirsync_core::{
    Account, AccountLink, DirectionKind, DirectoryChanges, DirectoryOp, Email, ExternalId, Group,
    GroupId, Inbound, Integration, LifecycleEvent, LifecycleKind, LinkedBy, Member, MemberKind,
    MemberRole, Membership, NewIntegration, OrgUnit, OrgUnitPath, Primary, Schedule, UserId,
    UserProfile,
};
use proptest::prelude::*;

use crate::{Error, InMemoryStore, Store};

/// An operation over a small universe of 4 users, 3 groups, 3 org units, so that sequences
/// collide (duplicates, removals of what is not there, illegal transitions).
#[derive(Debug, Clone)]
enum Step {
    CreateUser(u8, u8),
    UpdateEmail(u8, u8),
    Lifecycle(u8, u8),
    UpsertAccount(u8, Option<u8>),
    RemoveAccount(u8),
    UpsertGroup(u8),
    RemoveGroup(u8),
    UpsertMembership(u8, u8, bool),
    RemoveMembership(u8, u8, bool),
    UpsertOrgUnit(u8),
    RemoveOrgUnit(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..4u8, 0..5u8).prop_map(|(u, e)| Step::CreateUser(u, e)),
        (0..4u8, 0..5u8).prop_map(|(u, e)| Step::UpdateEmail(u, e)),
        (0..4u8, 0..4u8).prop_map(|(u, k)| Step::Lifecycle(u, k)),
        (0..4u8, proptest::option::of(0..4u8)).prop_map(|(a, u)| Step::UpsertAccount(a, u)),
        (0..4u8).prop_map(Step::RemoveAccount),
        (0..3u8).prop_map(Step::UpsertGroup),
        (0..3u8).prop_map(Step::RemoveGroup),
        (0..3u8, 0..4u8, any::<bool>()).prop_map(|(g, m, n)| Step::UpsertMembership(g, m, n)),
        (0..3u8, 0..4u8, any::<bool>()).prop_map(|(g, m, n)| Step::RemoveMembership(g, m, n)),
        (0..3u8).prop_map(Step::UpsertOrgUnit),
        (0..3u8).prop_map(Step::RemoveOrgUnit),
    ]
}

fn user_id(p: &Integration<Inbound, Primary>, u: u8) -> UserId {
    UserId::derived(p.id().as_uuid(), &[u])
}

fn op(p: &Integration<Inbound, Primary>, step: &Step) -> DirectoryOp {
    let id = p.id();
    let at = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let email = |e: u8| Email::new(format!("user{e}@example.com")).unwrap();
    let xid = |prefix: &str, n: u8| ExternalId::new(format!("{prefix}{n}")).unwrap();
    let authority = p.profile_authority();
    match step.clone() {
        Step::CreateUser(u, e) => DirectoryOp::Profile(authority.create_user(
            user_id(p, u),
            UserProfile::new(email(e)),
            at,
            None,
        )),
        Step::UpdateEmail(u, e) => DirectoryOp::Profile(
            authority.update_profile(user_id(p, u), UserProfile::new(email(e))),
        ),
        Step::Lifecycle(u, k) => {
            let kind = [
                LifecycleKind::Provisioned,
                LifecycleKind::Suspended,
                LifecycleKind::Reactivated,
                LifecycleKind::Deprovisioned,
            ][usize::from(k)];
            let event = LifecycleEvent {
                at: at + Duration::hours(i64::from(k)),
                kind,
                employment_type: None,
            };
            DirectoryOp::Profile(authority.lifecycle(user_id(p, u), event))
        }
        Step::UpsertAccount(a, u) => DirectoryOp::UpsertAccount(Account {
            integration: id,
            external_id: xid("a", a),
            email: email(a),
            link: u.map(|u| AccountLink {
                user: user_id(p, u),
                by: LinkedBy::Provisioned,
                at,
            }),
            attributes: Default::default(),
            first_seen: at,
            last_seen: at,
            missing_since: None,
            missing_runs: 0,
        }),
        Step::RemoveAccount(a) => DirectoryOp::RemoveAccount {
            external_id: xid("a", a),
        },
        Step::UpsertGroup(g) => DirectoryOp::UpsertGroup(Group {
            id: GroupId::derived(id.as_uuid(), &[g]),
            integration: id,
            external_id: xid("g", g),
            email: Email::new(format!("group{g}@example.com")).unwrap(),
            name: format!("g{g}"),
            description: String::new(),
        }),
        Step::RemoveGroup(g) => DirectoryOp::RemoveGroup {
            external_id: xid("g", g),
        },
        Step::UpsertMembership(g, m, nested) | Step::RemoveMembership(g, m, nested) => {
            let member = if nested {
                Member {
                    kind: MemberKind::Group,
                    external_id: xid("g", m % 3),
                    email: None,
                }
            } else {
                Member {
                    kind: MemberKind::User,
                    external_id: xid("a", m),
                    email: None,
                }
            };
            let membership = Membership {
                integration: id,
                group: xid("g", g),
                member,
                role: MemberRole::Member,
            };
            if matches!(step, Step::UpsertMembership(..)) {
                DirectoryOp::UpsertMembership(membership)
            } else {
                DirectoryOp::RemoveMembership(membership.key())
            }
        }
        Step::UpsertOrgUnit(o) => DirectoryOp::UpsertOrgUnit(OrgUnit {
            integration: id,
            external_id: xid("o", o),
            path: OrgUnitPath::new(format!("/ou{o}")).unwrap(),
            name: format!("ou{o}"),
            description: String::new(),
            parent: None,
        }),
        Step::RemoveOrgUnit(o) => DirectoryOp::RemoveOrgUnit {
            external_id: xid("o", o),
        },
    }
}

async fn dump(store: &dyn Store, p: &Integration<Inbound, Primary>) -> String {
    format!("{:?}", store.view(p.id()).await.unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Batches of random operations: each batch is applied entirely (version + 1) or not at
    /// all (the view is byte-for-byte what it was), never in part.
    #[test]
    fn every_apply_is_all_or_nothing(batches in proptest::collection::vec(proptest::collection::vec(step(), 1..8), 1..8)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let store: Arc<dyn Store> = Arc::new(InMemoryStore::new());
            let settings = crate::conformance::fixtures::settings();
            let new = NewIntegration::new("p", DirectionKind::Inbound, settings, Schedule::Manual, Utc::now()).unwrap();
            let p = store.create_integration(new).await.unwrap().into_primary().unwrap();
            for batch in &batches {
                let before = dump(&*store, &p).await;
                let version = store.version(p.id()).await.unwrap();
                let mut changes = DirectoryChanges::new(&p, version);
                changes.extend(batch.iter().map(|s| op(&p, s)));
                match store.apply(&changes).await {
                    Ok(applied) => prop_assert_eq!(applied.version, version.next()),
                    Err(Error::InvalidChange { index, .. }) => {
                        prop_assert!(index < batch.len());
                        prop_assert_eq!(dump(&*store, &p).await, before);
                    }
                    Err(other) => prop_assert!(false, "unexpected error {other:?}"),
                }
            }
            // The email index agrees with the users after any history.
            for user in store.users().await.unwrap() {
                let found = store.user_by_email(&user.profile.primary_email).await.unwrap();
                prop_assert_eq!(found.map(|u| u.id), Some(user.id));
            }
            Ok(())
        })?;
    }
}
