//! Property tests over generated directories.

use std::collections::{BTreeMap, BTreeSet};

use dirsync_core::*;
use dirsync_engine::{Policy, Threshold};
use dirsync_store::{InMemoryStore, Store};
use proptest::prelude::*;

use crate::common::*;

/// One generated user: id, (suspended, org unit, manager, contractor, renamed).
type UserSpec = (u16, (bool, u8, Option<u16>, bool, bool));

fn tenant() -> impl Strategy<Value = Tenant> {
    let users = proptest::collection::btree_map(
        0u16..40,
        (
            any::<bool>(),
            0u8..3,
            proptest::option::of(0u16..40),
            any::<bool>(),
            any::<bool>(),
        ),
        0..25,
    );
    let groups = proptest::collection::btree_set(0u8..6, 0..5);
    let members = proptest::collection::btree_set((0u8..6, 0u16..40, 0u8..3, any::<bool>()), 0..40);
    let units = proptest::collection::btree_set(0u8..4, 0..4);
    (users, groups, members, units).prop_map(|(users, groups, members, units)| {
        build(users.into_iter().collect(), groups, members, units)
    })
}

fn build(
    users: Vec<UserSpec>,
    groups: BTreeSet<u8>,
    members: BTreeSet<(u8, u16, u8, bool)>,
    units: BTreeSet<u8>,
) -> Tenant {
    let ids: BTreeSet<u16> = users.iter().map(|(id, _)| *id).collect();
    let mut t = Tenant::default();
    for (id, (suspended, ou, manager, contractor, renamed)) in &users {
        let name = if *renamed {
            format!("u{id}.x")
        } else {
            format!("u{id}")
        };
        let mut u = user(&format!("{id}"), &name);
        u.suspended = *suspended;
        u.org_unit = Some(OrgUnitPath::new(format!("/OU{ou}")).unwrap());
        u.manager_email = manager.map(|m| email(&format!("u{m}@example.com")));
        u.employment_type = Some(if *contractor {
            EmploymentType::Contractor
        } else {
            EmploymentType::Employee
        });
        u.attributes
            .insert("ou".into(), AttributeValue::Int(i64::from(*ou)));
        t.users.push(u);
    }
    t.groups = groups.iter().map(|g| group(&format!("g{g}"))).collect();
    for (g, m, role, nested) in members {
        if !groups.contains(&g) {
            continue;
        }
        let role = [MemberRole::Member, MemberRole::Manager, MemberRole::Owner][usize::from(role)];
        if nested {
            let inner = (g + 1) % 6;
            if groups.contains(&inner) && inner != g {
                t.members.push(RemoteMember {
                    group: xid(&format!("g{g}")),
                    member: Member {
                        kind: MemberKind::Group,
                        external_id: xid(&format!("g{inner}")),
                        email: None,
                    },
                    role,
                });
            }
        } else if ids.contains(&m) {
            t.members
                .push(member(&format!("g{g}"), &format!("{m}"), role));
        }
    }
    let mut seen = BTreeSet::new();
    t.members
        .retain(|m| seen.insert((m.group.clone(), m.member.kind, m.member.external_id.clone())));
    t.org_units = units
        .iter()
        .map(|u| RemoteOrgUnit {
            external_id: xid(&format!("ou{u}")),
            path: OrgUnitPath::new(format!("/OU{u}")).unwrap(),
            name: format!("OU{u}"),
            description: String::new(),
            parent: None,
        })
        .collect();
    t
}

/// What a store shows of the live directory of one integration, independent of ids and times.
#[derive(Debug, PartialEq)]
struct Live {
    accounts: BTreeMap<ExternalId, (Email, Attributes, String, UserStatus, Option<String>)>,
    groups: BTreeMap<ExternalId, (Email, String)>,
    memberships: BTreeSet<(MembershipKey, MemberRole)>,
    org_units: BTreeMap<ExternalId, OrgUnitPath>,
}

async fn live(store: &dyn Store, id: IntegrationId) -> Live {
    let view = store.view(id).await.unwrap();
    let users: BTreeMap<UserId, &DirectoryUser> = view.users.iter().map(|u| (u.id, u)).collect();
    // The manager's email. Whether it resolved may differ by history, rightly: a store that
    // once knew the manager keeps them as a (deprovisioned) directory user to point at.
    let manager = |m: &Option<Manager>| match m {
        Some(Manager::Resolved(id)) => users.get(id).map(|u| u.profile.primary_email.key()),
        Some(Manager::Unresolved(e)) => Some(e.key()),
        None => None,
    };
    Live {
        accounts: view
            .accounts
            .iter()
            .filter(|a| a.missing_since.is_none())
            .map(|a| {
                let u = a.link.and_then(|l| users.get(&l.user)).unwrap();
                (
                    a.external_id.clone(),
                    (
                        a.email.clone(),
                        a.attributes.clone(),
                        u.profile.primary_email.key(),
                        u.status,
                        manager(&u.profile.manager),
                    ),
                )
            })
            .collect(),
        groups: view
            .groups
            .iter()
            .map(|g| (g.external_id.clone(), (g.email.clone(), g.name.clone())))
            .collect(),
        memberships: view.memberships.iter().map(|m| (m.key(), m.role)).collect(),
        org_units: view
            .org_units
            .iter()
            .map(|o| (o.external_id.clone(), o.path.clone()))
            .collect(),
    }
}

fn run<F: std::future::Future<Output = Result<(), TestCaseError>>>(
    f: F,
) -> Result<(), TestCaseError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Planning again on the snapshot just applied yields an empty plan.
    #[test]
    fn planning_the_applied_snapshot_again_is_empty(x in tenant()) {
        run(async {
            let store = InMemoryStore::new();
            let p = active(&store, DirectionKind::Inbound).await;
            sync(&store, &p, &x.snapshot(), &lenient(), t(0)).await;
            let again = plan(&store, &p, &x.snapshot(), &lenient(), t(1)).await;
            prop_assert!(again.is_empty(), "{again}");
            prop_assert!(again.changes().is_empty());
            Ok(())
        })?;
    }

    /// A store at `b` that applies the plan for `a` shows the same live directory as a store
    /// that synced `a` directly.
    #[test]
    fn applying_a_plan_from_b_to_a_gives_a(a in tenant(), b in tenant()) {
        run(async {
            let direct = InMemoryStore::new();
            let pd = active(&direct, DirectionKind::Inbound).await;
            sync(&direct, &pd, &a.snapshot(), &lenient(), t(0)).await;

            let via = InMemoryStore::new();
            let pv = active(&via, DirectionKind::Inbound).await;
            sync(&via, &pv, &b.snapshot(), &lenient(), t(0)).await;
            if a.users.is_empty() && a.groups.is_empty() && a.org_units.is_empty() && !(b.users.is_empty() && b.groups.is_empty() && b.org_units.is_empty()) {
                // An empty snapshot over a store with data is refused by design.
                let view = via.view(pv.id()).await.unwrap();
                prop_assert!(dirsync_engine::plan_inbound(&pv, &a.snapshot(), &view, &lenient(), t(1)).is_err());
                return Ok(());
            }
            sync(&via, &pv, &a.snapshot(), &lenient(), t(1)).await;
            prop_assert_eq!(live(&via, pv.id()).await, live(&direct, pd.id()).await);
            Ok(())
        })?;
    }

    /// With a users safeguard of `max` removals, removing `k` of `n` users holds the plan
    /// exactly when `k > max`.
    #[test]
    fn the_users_safeguard_trips_exactly_above_its_threshold(n in 1usize..40, k in 0usize..40, max in 0u64..20) {
        let k = k.min(n);
        run(async {
            let store = InMemoryStore::new();
            let p = active(&store, DirectionKind::Inbound).await;
            let mut x = Tenant { users: (0..n).map(|i| user(&format!("{i}"), &format!("u{i}"))).collect(), ..Tenant::default() };
            x.groups = vec![group("keep")];
            sync(&store, &p, &x.snapshot(), &lenient(), t(0)).await;
            x.users.drain(..k);
            let mut policy = lenient();
            policy.safeguards.users = Threshold::new(max, 100.0, 1);
            let plan = plan(&store, &p, &x.snapshot(), &policy, t(1)).await;
            prop_assert_eq!(plan.is_held(), k as u64 > max, "{}", plan);
            Ok(())
        })?;
    }

    /// A store that fails *during* an apply — after writing some of its rows — leaves the
    /// directory exactly as it was, and the next apply converges.
    #[test]
    fn a_failing_store_changes_nothing(a in tenant(), b in tenant(), at in 0usize..1_000) {
        run(async {
            let store = InMemoryStore::new();
            let p = active(&store, DirectionKind::Inbound).await;
            prop_assume!(
                !(b.users.is_empty() && b.groups.is_empty() && b.org_units.is_empty()),
                "an empty source is refused over a store with data"
            );
            sync(&store, &p, &b.snapshot(), &lenient(), t(0)).await;
            let before = format!("{:?}", store.view(p.id()).await.unwrap());
            let view = store.view(p.id()).await.unwrap();
            let plan = dirsync_engine::plan_inbound(&p, &a.snapshot(), &view, &lenient(), t(1));
            prop_assume!(plan.is_ok(), "the planner refused the snapshot");
            let plan = plan.unwrap();
            prop_assume!(!plan.changes().is_empty(), "nothing to apply");
            // Every operation writes at least one row, and the version is written too: a
            // failure after `writes` rows strikes inside the apply.
            let writes = at % plan.changes().ops().len();
            store.fail_next_apply_after(writes).unwrap();
            prop_assert!(store.apply(plan.changes()).await.is_err());
            prop_assert_eq!(store.injected_apply_failure().unwrap(), Some(writes));
            prop_assert_eq!(format!("{:?}", store.view(p.id()).await.unwrap()), before);
            store.apply(plan.changes()).await.unwrap();
            Ok(())
        })?;
    }
}

#[test]
fn default_policy_is_conservative() {
    let p = Policy::default();
    assert!(!p.act_on_admins);
    assert!(p.grace.runs > 0 && p.grace.seconds > 0);
}
