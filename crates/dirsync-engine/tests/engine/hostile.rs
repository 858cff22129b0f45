//! Hostile snapshots (issue 8, point 5): the planner over arbitrary, adversarial directories —
//! duplicate ids, duplicate emails in any case, manager cycles and self-managers, managers and
//! members that do not exist, nested-group cycles, deletions of unknown users, names with
//! control characters — never panics, and what it plans the store accepts in full, after
//! which planning the same snapshot again finds nothing to do.
//!
//! Cases: `PROPTEST_CASES` (default 64).

use dirsync_core::*;
use dirsync_engine::{Grace, Policy, plan_inbound};
use dirsync_store::{InMemoryStore, Store};
use proptest::prelude::*;

use crate::common::*;

/// A user: (id, email, manager, suspended, archived, admin, org unit, name).
type HostileUser = (u8, u8, Option<u8>, bool, bool, bool, u8, String);

/// Emails from a small pool, in varying case, so that duplicates are frequent.
fn email_of(n: u8) -> Email {
    let local = format!("p{}", n % 12);
    let local = if n >= 12 {
        local.to_ascii_uppercase()
    } else {
        local
    };
    email(&format!("{local}@Example.com"))
}

fn hostile_user() -> impl Strategy<Value = HostileUser> {
    (
        0u8..16,
        0u8..24,
        proptest::option::of(0u8..24),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0u8..3,
        // Arbitrary text: control characters, bidi marks, long strings.
        prop_oneof![
            "\\PC{0,12}",
            any::<String>(),
            Just("\u{0}\u{7}\u{1b}[31m\u{202e}".to_owned())
        ],
    )
}

/// A snapshot (or the builder's typed refusal) of a hostile directory.
#[allow(clippy::type_complexity)]
fn hostile_snapshot(
    users: &[HostileUser],
    deleted: &[u8],
    groups: &[(u8, u8)],
    members: &[(u8, u8, bool)],
) -> Result<Snapshot, Error> {
    let mut b = SnapshotBuilder::new(ObjectKinds::all(), ScopeFilter::everything(), t(0));
    b.org_units(
        (0u8..3)
            .map(|i| RemoteOrgUnit {
                external_id: xid(&format!("ou{i}")),
                path: OrgUnitPath::new(format!("/OU{i}")).unwrap(),
                name: format!("OU{i}"),
                description: String::new(),
                parent: None,
            })
            .collect(),
    )?;
    let remote: Vec<RemoteUser> = users
        .iter()
        .map(
            |(id, mail, manager, suspended, archived, admin, ou, name)| {
                let mut u = RemoteUser::new(xid(&format!("{id}")), email_of(*mail));
                u.manager_email = manager.map(email_of);
                u.suspended = *suspended;
                u.archived = *archived;
                u.is_admin = *admin;
                u.org_unit = Some(OrgUnitPath::new(format!("/OU{ou}")).unwrap());
                u.name = PersonName {
                    given: name.clone(),
                    family: name.chars().rev().collect(),
                    display: name.clone(),
                };
                u
            },
        )
        .collect();
    // Two pages, so that a duplicate can also straddle pages.
    let half = remote.len() / 2;
    b.users_page(remote[..half].to_vec(), Some("page-2"))?;
    b.users_page(remote[half..].to_vec(), None)?;
    b.deleted_users_page(
        deleted
            .iter()
            .map(|id| DeletedUser {
                external_id: xid(&format!("{id}")),
                primary_email: None,
                deleted_at: Some(t(0)),
            })
            .collect(),
        None,
    )?;
    let groups: Vec<RemoteGroup> = groups
        .iter()
        .map(|(id, mail)| RemoteGroup {
            external_id: xid(&format!("g{id}")),
            email: email(&format!("group{mail}@example.com")),
            name: format!("g{id}"),
            description: String::new(),
            direct_members_count: None,
        })
        .collect();
    b.groups_page(groups.clone(), None)?;
    for g in &groups {
        let of_g = members
            .iter()
            .filter(|(group, _, _)| xid(&format!("g{group}")) == g.external_id)
            .map(|(group, member, nested)| RemoteMember {
                group: xid(&format!("g{group}")),
                member: Member {
                    kind: if *nested {
                        MemberKind::Group
                    } else {
                        MemberKind::User
                    },
                    external_id: xid(&if *nested {
                        format!("g{}", member % 6)
                    } else {
                        format!("{member}")
                    }),
                    email: None,
                },
                role: MemberRole::Member,
            })
            .collect();
        b.members_page(&g.external_id, of_g, None)?;
    }
    b.finish()
}

#[allow(clippy::type_complexity)]
fn directory() -> impl Strategy<
    Value = (
        Vec<HostileUser>,
        Vec<u8>,
        Vec<(u8, u8)>,
        Vec<(u8, u8, bool)>,
    ),
> {
    (
        proptest::collection::vec(hostile_user(), 0..24),
        proptest::collection::vec(0u8..20, 0..4),
        proptest::collection::vec((0u8..6, 0u8..5), 0..6),
        proptest::collection::vec((0u8..6, 0u8..20, any::<bool>()), 0..30),
    )
}

fn policy(admins: bool, grace: bool) -> Policy {
    let mut p = lenient();
    p.act_on_admins = admins;
    if grace {
        p.grace = Grace::new(1, 0);
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_planner_takes_any_hostile_directory_without_panicking_and_the_store_accepts_its_plan(
        first in directory(),
        second in directory(),
        admins in any::<bool>(),
        grace in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let store = InMemoryStore::new();
            let p = active(&store, DirectionKind::Inbound).await;
            let policy = policy(admins, grace);
            // Two syncs in a row: the second one updates, deletes and relinks what the first
            // one wrote.
            for (at, (users, deleted, groups, members)) in [(1, &first), (2, &second)] {
                let snapshot = match hostile_snapshot(users, deleted, groups, members) {
                    Ok(s) => s,
                    // A typed refusal of the builder is an acceptable answer.
                    Err(_) => continue,
                };
                let view = store.view(p.id()).await.unwrap();
                let plan = match plan_inbound(&p, &snapshot, &view, &policy, t(at)) {
                    Ok(plan) => plan,
                    Err(dirsync_engine::Error::EmptySnapshot { .. }) => continue,
                    Err(e) => panic!("the planner refused a complete snapshot: {e}"),
                };
                let _ = plan.to_string();
                if plan.is_held() {
                    continue;
                }
                store
                    .apply(plan.changes())
                    .await
                    .unwrap_or_else(|e| panic!("the store refused the planner's plan: {e}\n{plan}"));
                // Replanning the applied snapshot converges: nothing to do, at the latest
                // after one more apply (a membership naming a nested group that the same plan
                // removes is cascaded away with it and added back once).
                let mut converged = false;
                for _ in 0..2 {
                    let view = store.view(p.id()).await.unwrap();
                    let again = plan_inbound(&p, &snapshot, &view, &policy, t(at)).unwrap();
                    if again.is_empty() {
                        converged = true;
                        break;
                    }
                    prop_assert!(!again.is_held(), "{again}");
                    store.apply(again.changes()).await.unwrap();
                }
                prop_assert!(converged, "replanning the applied snapshot does not converge");
            }
            Ok(())
        })?;
    }
}

/// Found by the property above: an email reassigned after its holder left (common in real
/// tenants) made every later apply fail. The user taking it is quarantined instead, and so is
/// a newcomer taking the email that user cannot give up; everything else applies.
#[tokio::test]
async fn an_email_still_held_by_a_user_who_left_is_quarantined_not_a_failed_apply() {
    let store = InMemoryStore::new();
    let p = active(&store, DirectionKind::Inbound).await;
    let policy = lenient();
    let mut tenant = Tenant {
        users: vec![user("1", "ada"), user("2", "bob")],
        ..Tenant::default()
    };
    sync(&store, &p, &tenant.snapshot(), &policy, t(1)).await;
    // Bob leaves; Ada takes his address; a newcomer takes Ada's; someone else joins.
    tenant.users = vec![user("1", "bob"), user("3", "ada"), user("4", "cyd")];
    let applied = sync(&store, &p, &tenant.snapshot(), &policy, t(2)).await;
    let quarantined: Vec<_> = applied
        .report()
        .quarantined
        .iter()
        .map(|q| {
            (
                q.external_id.as_ref().map(ToString::to_string),
                q.reason.clone(),
            )
        })
        .collect();
    assert_eq!(quarantined.len(), 2, "{quarantined:?}");
    for (id, reason) in &quarantined {
        assert!(matches!(id.as_deref(), Some("1" | "3")), "{quarantined:?}");
        assert!(
            reason.contains("held by another directory user"),
            "{reason}"
        );
    }
    assert_eq!(
        user_by(&store, "bob").await.status,
        UserStatus::Deprovisioned
    );
    assert_eq!(user_by(&store, "ada").await.status, UserStatus::Active);
    assert_eq!(user_by(&store, "cyd").await.status, UserStatus::Active);
    // Nothing else is pending: the next plan changes nothing.
    let again = plan(&store, &p, &tenant.snapshot(), &policy, t(3)).await;
    assert!(again.is_empty(), "{again}");
}
