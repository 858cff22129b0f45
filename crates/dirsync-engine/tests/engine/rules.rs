//! Table tests of the planner's rules.

use chrono::Duration;
use dirsync_core::*;
use dirsync_engine::{Grace, OnSuspended, OpKind, Policy, Threshold, plan_secondary};
use dirsync_store::Store;

use crate::common::*;

#[tokio::test]
async fn new_users_are_provisioned_and_a_second_plan_is_empty() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = vec![user("1", "ada"), user("2", "bob")];
    tenant.users[1].employment_type = Some(EmploymentType::Contractor);
    let plan = sync(&store, &p, &tenant.snapshot(), &Policy::default(), t(1)).await;
    assert_eq!(
        (
            count(&plan, OpKind::UsersCreated),
            count(&plan, OpKind::AccountsAdded)
        ),
        (2, 2)
    );
    let bob = user_by(&store, "bob").await;
    assert_eq!(bob.status, UserStatus::Active);
    assert_eq!(bob.lifecycle.provisioned_at, Some(t(1)));
    assert_eq!(
        bob.lifecycle.history[0].employment_type,
        Some(EmploymentType::Contractor)
    );
    assert_eq!(
        store.accounts_of(bob.id).await.unwrap()[0]
            .link
            .map(|l| l.by),
        Some(LinkedBy::Provisioned)
    );
    let again = plan_(&store, &p, &tenant, t(2)).await;
    assert!(again.is_empty(), "{again}");
    assert!(again.changes().is_empty());
}

async fn plan_(
    store: &dyn dirsync_store::Store,
    p: &AnyIntegration,
    tenant: &Tenant,
    at: chrono::DateTime<chrono::Utc>,
) -> dirsync_engine::Plan<dirsync_engine::ToDirectory> {
    plan(store, p, &tenant.snapshot(), &Policy::default(), at).await
}

#[tokio::test]
async fn plans_are_deterministic_with_stable_ids() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = (0..20)
        .map(|i| user(&format!("{i}"), &format!("u{i}")))
        .collect();
    tenant.groups = vec![group("g")];
    tenant.members = vec![member("g", "3", MemberRole::Owner)];
    let a = plan_(&store, &p, &tenant, t(1)).await;
    let b = plan_(&store, &p, &tenant, t(1)).await;
    assert_eq!(a, b);
    assert_eq!(a.id(), b.id());
    assert!(a.verify());
    let json = a.to_json().unwrap();
    let back: dirsync_engine::Plan<dirsync_engine::ToDirectory> =
        serde_json::from_value(json).unwrap();
    assert_eq!(back, a);
    assert!(a.to_string().contains("users created"), "{a}");
}

#[tokio::test]
async fn profile_changes_follow_the_immutable_id_not_the_email() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = vec![user("1", "ada")];
    sync(&store, &p, &tenant.snapshot(), &Policy::default(), t(1)).await;
    let before = user_by(&store, "ada").await;
    tenant.users[0].primary_email = email("ada.lovelace@example.com");
    tenant.users[0].employee_id = Some("E-7".into());
    let plan = sync(&store, &p, &tenant.snapshot(), &Policy::default(), t(2)).await;
    assert_eq!(
        (
            count(&plan, OpKind::UsersUpdated),
            count(&plan, OpKind::UsersCreated)
        ),
        (1, 0)
    );
    let after = store.user(before.id).await.unwrap().unwrap();
    assert_eq!(
        after.profile.primary_email.as_str(),
        "ada.lovelace@example.com"
    );
    assert_eq!(after.profile.employee_id.as_deref(), Some("E-7"));
}

#[tokio::test]
async fn source_suspensions_are_mirrored_per_policy() {
    for (on, want) in [
        (OnSuspended::Suspend, UserStatus::Suspended),
        (OnSuspended::Deprovision, UserStatus::Deprovisioned),
    ] {
        let store = fresh();
        let p = active(&store, DirectionKind::Inbound).await;
        let policy = lenient().with_on_suspended(on);
        let mut tenant = Tenant::default();
        tenant.users = vec![user("1", "ada")];
        sync(&store, &p, &tenant.snapshot(), &policy, t(1)).await;
        tenant.users[0].suspended = true;
        sync(&store, &p, &tenant.snapshot(), &policy, t(2)).await;
        assert_eq!(user_by(&store, "ada").await.status, want);
        tenant.users[0].suspended = false;
        let plan = sync(&store, &p, &tenant.snapshot(), &policy, t(3)).await;
        let ada = user_by(&store, "ada").await;
        assert_eq!(ada.status, UserStatus::Active);
        let back = if on == OnSuspended::Suspend {
            OpKind::UsersReactivated
        } else {
            OpKind::UsersReprovisioned
        };
        assert_eq!(count(&plan, back), 1);
    }
}

#[tokio::test]
async fn missing_users_wait_out_the_grace_and_those_who_return_are_untouched() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let policy = Policy::default().with_grace(Grace::new(3, 24 * 3600));
    let mut tenant = Tenant::default();
    tenant.users = (0..40)
        .map(|i| user(&format!("{i}"), &format!("u{i}")))
        .collect();
    sync(&store, &p, &tenant.snapshot(), &policy, t(0)).await;
    let gone = tenant.users.remove(0);
    let back = tenant.users.remove(0);
    // Run 1: both marked missing, nobody deprovisioned.
    let plan = sync(&store, &p, &tenant.snapshot(), &policy, t(1)).await;
    assert_eq!(
        (
            count(&plan, OpKind::AccountsMissing),
            count(&plan, OpKind::UsersDeprovisioned)
        ),
        (2, 0)
    );
    assert_eq!(plan.report().in_grace.len(), 2);
    // One returns before the grace ends: untouched, marks cleared.
    tenant.users.push(back.clone());
    let plan = sync(&store, &p, &tenant.snapshot(), &policy, t(2)).await;
    assert_eq!(count(&plan, OpKind::AccountsReturned), 1);
    assert_eq!(user_by(&store, "u1").await.status, UserStatus::Active);
    // Run 3 (3 runs missing, but only 3 hours): still in grace.
    let plan = sync(&store, &p, &tenant.snapshot(), &policy, t(3)).await;
    assert_eq!(count(&plan, OpKind::UsersDeprovisioned), 0);
    // A day later: deprovisioned.
    let plan = sync(&store, &p, &tenant.snapshot(), &policy, t(30)).await;
    assert_eq!(count(&plan, OpKind::UsersDeprovisioned), 1);
    let u0 = user_by(&store, gone.primary_email.local_part()).await;
    assert_eq!(
        (u0.status, u0.lifecycle.deprovisioned_at),
        (UserStatus::Deprovisioned, Some(t(30)))
    );
    // And then nothing more is written for them.
    assert!(plan_(&store, &p, &tenant, t(40)).await.is_empty());
}

#[tokio::test]
async fn users_the_source_reports_deleted_need_no_grace() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = (0..40)
        .map(|i| user(&format!("{i}"), &format!("u{i}")))
        .collect();
    sync(&store, &p, &tenant.snapshot(), &Policy::default(), t(0)).await;
    let gone = tenant.users.remove(5);
    tenant.deleted.push(DeletedUser {
        external_id: gone.external_id.clone(),
        primary_email: Some(gone.primary_email.clone()),
        deleted_at: Some(t(1)),
    });
    let plan = sync(&store, &p, &tenant.snapshot(), &Policy::default(), t(1)).await;
    assert_eq!(count(&plan, OpKind::UsersDeprovisioned), 1);
    assert_eq!(
        user_by(&store, "u5").await.status,
        UserStatus::Deprovisioned
    );
}

#[tokio::test]
async fn administrators_are_protected_unless_the_policy_says_otherwise() {
    for act_on_admins in [false, true] {
        let store = fresh();
        let p = active(&store, DirectionKind::Inbound).await;
        let policy = lenient().with_act_on_admins(act_on_admins);
        let mut tenant = Tenant::default();
        tenant.users = vec![user("1", "root"), user("2", "ada")];
        tenant.users[0].is_admin = true;
        sync(&store, &p, &tenant.snapshot(), &policy, t(0)).await;
        tenant.users.remove(0);
        let plan = sync(&store, &p, &tenant.snapshot(), &policy, t(1)).await;
        let root = user_by(&store, "root").await;
        if act_on_admins {
            assert_eq!(root.status, UserStatus::Deprovisioned);
        } else {
            assert_eq!(root.status, UserStatus::Active);
            assert_eq!(plan.report().protected.len(), 1, "{plan}");
        }
    }
}

#[tokio::test]
async fn duplicate_emails_are_quarantined_and_never_cause_a_delete() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = vec![user("1", "ada"), user("2", "bob")];
    sync(&store, &p, &tenant.snapshot(), &lenient(), t(0)).await;
    // A second account with ada's email appears: both are quarantined, ada is not missing.
    tenant.users.push(user("3", "ada"));
    let plan = sync(&store, &p, &tenant.snapshot(), &lenient(), t(1)).await;
    assert_eq!(plan.report().quarantined.len(), 2, "{plan}");
    assert!(plan.is_empty(), "{plan}");
    assert_eq!(user_by(&store, "ada").await.status, UserStatus::Active);
}

#[tokio::test]
async fn an_empty_snapshot_is_refused_where_the_store_has_data() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    // An empty tenant into an empty store is fine.
    assert!(plan_(&store, &p, &Tenant::default(), t(0)).await.is_empty());
    let mut tenant = Tenant::default();
    tenant.users = vec![user("1", "ada")];
    sync(&store, &p, &tenant.snapshot(), &lenient(), t(0)).await;
    let view = store.view(p.id()).await.unwrap();
    let err =
        dirsync_engine::plan_inbound(&p, &Tenant::default().snapshot(), &view, &lenient(), t(1))
            .unwrap_err();
    assert!(
        matches!(err, dirsync_engine::Error::EmptySnapshot { held: 1, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn managers_resolve_report_unknowns_and_cycles_without_looping() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = vec![
        user("1", "ceo"),
        user("2", "ada"),
        user("3", "bob"),
        user("4", "cat"),
        user("5", "dan"),
    ];
    tenant.users[1].manager_email = Some(email("ceo@example.com"));
    tenant.users[2].manager_email = Some(email("nobody@example.com"));
    tenant.users[3].manager_email = Some(email("dan@example.com"));
    tenant.users[4].manager_email = Some(email("cat@example.com"));
    let plan = sync(&store, &p, &tenant.snapshot(), &lenient(), t(0)).await;
    let ceo = user_by(&store, "ceo").await;
    assert_eq!(
        user_by(&store, "ada").await.profile.manager,
        Some(Manager::Resolved(ceo.id))
    );
    assert_eq!(
        user_by(&store, "bob").await.profile.manager,
        Some(Manager::Unresolved(email("nobody@example.com")))
    );
    assert_eq!(
        plan.report().unresolved_managers,
        vec![(email("bob@example.com"), email("nobody@example.com"))]
    );
    assert_eq!(plan.report().manager_cycles.len(), 1);
    assert_eq!(plan.report().manager_cycles[0].len(), 2);
    // Once the manager exists, the next run resolves it.
    tenant.users.push(user("6", "nobody"));
    sync(&store, &p, &tenant.snapshot(), &lenient(), t(1)).await;
    let nobody = user_by(&store, "nobody").await;
    assert_eq!(
        user_by(&store, "bob").await.profile.manager,
        Some(Manager::Resolved(nobody.id))
    );
}

#[tokio::test]
async fn a_returning_person_is_reprovisioned_not_duplicated() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = vec![user("1", "ada"), user("2", "bob")];
    sync(&store, &p, &tenant.snapshot(), &lenient(), t(0)).await;
    let ada = user_by(&store, "ada").await;
    tenant.users.remove(0);
    sync(&store, &p, &tenant.snapshot(), &lenient(), t(1)).await;
    assert_eq!(
        user_by(&store, "ada").await.status,
        UserStatus::Deprovisioned
    );
    // Rehired with a new Google account and the same email: the same directory user.
    tenant.users.push(user("9", "ada"));
    let plan = sync(&store, &p, &tenant.snapshot(), &lenient(), t(2)).await;
    assert_eq!(count(&plan, OpKind::UsersReprovisioned), 1);
    assert_eq!(count(&plan, OpKind::UsersCreated), 0);
    let again = user_by(&store, "ada").await;
    assert_eq!((again.id, again.status), (ada.id, UserStatus::Active));
    assert_eq!(store.users().await.unwrap().len(), 2);
}

#[tokio::test]
async fn email_swaps_are_quarantined_not_half_applied() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = vec![user("1", "ada"), user("2", "bob")];
    sync(&store, &p, &tenant.snapshot(), &lenient(), t(0)).await;
    tenant.users[0].primary_email = email("bob@example.com");
    tenant.users[1].primary_email = email("ada@example.com");
    let plan = sync(&store, &p, &tenant.snapshot(), &lenient(), t(1)).await;
    assert_eq!(plan.report().quarantined.len(), 2, "{plan}");
    // A chain (ada -> ada2, bob -> ada) is ordered and applied.
    tenant.users[0].primary_email = email("ada2@example.com");
    sync(&store, &p, &tenant.snapshot(), &lenient(), t(2)).await;
    assert_eq!(
        store
            .user_by_email(&email("ada@example.com"))
            .await
            .unwrap()
            .map(|u| u.profile.employee_id),
        Some(None)
    );
}

#[tokio::test]
async fn secondaries_link_by_exact_email_and_write_no_profile() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut primary_tenant = Tenant::default();
    primary_tenant.users = vec![user("1", "ada"), user("2", "bob")];
    sync(&store, &p, &primary_tenant.snapshot(), &lenient(), t(0)).await;
    let AnyIntegration::Inbound(s) = active(&store, DirectionKind::Inbound).await else {
        panic!("secondary")
    };
    let mut vendor = Tenant::default();
    let mut a = user("v-1", "ADA");
    a.attributes.insert(
        "department".into(),
        AttributeValue::Text("Engineering".into()),
    );
    a.name.display = "Someone Else".into();
    vendor.users = vec![a, user("v-2", "zed")];
    let view = store.view(s.id()).await.unwrap();
    let plan = plan_secondary(&s, &vendor.snapshot(), &view, &lenient(), t(1)).unwrap();
    assert!(
        plan.changes()
            .ops()
            .iter()
            .all(|op| !matches!(op, DirectoryOp::Profile(_)))
    );
    assert_eq!(count(&plan, OpKind::AccountsLinked), 1);
    store.apply(plan.changes()).await.unwrap();
    let ada = user_by(&store, "ada").await;
    assert_eq!(
        ada.profile.name.display, "ada Test",
        "the secondary does not write the profile"
    );
    let accounts = store.accounts_of(ada.id).await.unwrap();
    let linked = accounts.iter().find(|a| a.integration == s.id()).unwrap();
    assert_eq!(linked.link.map(|l| l.by), Some(LinkedBy::EmailMatch));
    assert_eq!(
        linked.attributes.get("department"),
        Some(&AttributeValue::Text("Engineering".into()))
    );
    let zed = store
        .view(s.id())
        .await
        .unwrap()
        .accounts
        .into_iter()
        .find(|a| a.external_id == xid("v-2"))
        .unwrap();
    assert!(zed.link.is_none(), "no directory user has zed's email");
    // A vendor account that disappears is removed after the grace.
    vendor.users.remove(1);
    let any_s: AnyIntegration = s.into();
    let plan = sync(&store, &any_s, &vendor.snapshot(), &lenient(), t(2)).await;
    assert_eq!(count(&plan, OpKind::AccountsRemoved), 1);
}

#[tokio::test]
async fn groups_memberships_and_org_units_follow_the_source() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = vec![user("1", "ada"), user("2", "bob")];
    tenant.groups = vec![group("eng"), group("all"), group("old")];
    tenant.members = vec![
        member("eng", "1", MemberRole::Owner),
        member("eng", "2", MemberRole::Member),
        member("old", "2", MemberRole::Member),
        RemoteMember {
            group: xid("all"),
            member: Member {
                kind: MemberKind::Group,
                external_id: xid("eng"),
                email: None,
            },
            role: MemberRole::Member,
        },
    ];
    tenant.org_units = vec![RemoteOrgUnit {
        external_id: xid("ou1"),
        path: OrgUnitPath::new("/Staff").unwrap(),
        name: "Staff".into(),
        description: String::new(),
        parent: None,
    }];
    let plan = sync(&store, &p, &tenant.snapshot(), &lenient(), t(0)).await;
    assert_eq!(
        (
            count(&plan, OpKind::GroupsCreated),
            count(&plan, OpKind::MembershipsAdded),
            count(&plan, OpKind::OrgUnitsCreated)
        ),
        (3, 4, 1)
    );
    tenant.members[1].role = MemberRole::Manager;
    tenant.members.remove(0);
    tenant.groups.retain(|g| g.external_id != xid("old"));
    tenant.members.retain(|m| m.group != xid("old"));
    tenant.org_units[0].name = "Everyone".into();
    let plan = sync(&store, &p, &tenant.snapshot(), &lenient(), t(1)).await;
    assert_eq!(count(&plan, OpKind::MembershipsUpdated), 1);
    assert_eq!(
        count(&plan, OpKind::MembershipsRemoved),
        1,
        "the removed group's membership goes with it: {plan}"
    );
    assert_eq!(count(&plan, OpKind::GroupsRemoved), 1);
    assert_eq!(count(&plan, OpKind::OrgUnitsUpdated), 1);
    let view = store.view(p.id()).await.unwrap();
    assert_eq!(view.groups.len(), 2);
    assert_eq!(view.memberships.len(), 2);
    assert!(plan_(&store, &p, &tenant, t(2)).await.is_empty());
}

#[tokio::test]
async fn a_scoped_rule_never_treats_users_outside_its_scope_as_missing() {
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = vec![user("1", "ada"), user("2", "bob")];
    tenant.users[1].org_unit = Some(OrgUnitPath::new("/Sales").unwrap());
    sync(&store, &p, &tenant.snapshot(), &lenient(), t(0)).await;
    let staff = ScopeFilter::everything().with_org_unit(OrgUnitPath::new("/Staff").unwrap());
    let only_staff = Tenant {
        users: vec![tenant.users[0].clone()],
        ..Tenant::default()
    };
    let snapshot = only_staff.snapshot_of(ObjectKinds::only(ObjectKind::Users), staff);
    let plan = sync(&store, &p, &snapshot, &lenient(), t(1)).await;
    assert!(plan.is_empty(), "{plan}");
    assert_eq!(user_by(&store, "bob").await.status, UserStatus::Active);
}

#[tokio::test]
async fn safeguards_hold_plans_exactly_above_their_thresholds() {
    let mut policy = lenient();
    policy.safeguards.users = Threshold::new(5, 100.0, 1);
    for (removed, held) in [(5, false), (6, true)] {
        let store = fresh();
        let p = active(&store, DirectionKind::Inbound).await;
        let mut tenant = Tenant::default();
        tenant.users = (0..20)
            .map(|i| user(&format!("{i}"), &format!("u{i}")))
            .collect();
        sync(&store, &p, &tenant.snapshot(), &policy, t(0)).await;
        tenant.users.drain(..removed);
        let plan = plan(&store, &p, &tenant.snapshot(), &policy, t(1)).await;
        assert_eq!(plan.is_held(), held, "{removed} removed: {plan}");
        if held {
            assert_eq!((plan.trips()[0].count, plan.trips()[0].total), (6, 20));
            assert!(plan.to_string().contains("HELD"));
        }
    }
    let groups = Policy::default().safeguards.groups;
    assert!(
        !groups.trips(2, 10) && groups.trips(3, 10),
        "10 % of 10 groups is 1: three removals trip it"
    );
    let _ = Duration::zero();
}

#[tokio::test]
async fn an_integrations_own_safeguards_replace_the_policys() {
    // The policy would let 6 of 20 go; the integration's own threshold holds at more than 2,
    // and going back to the policy's lets the same change through.
    let mut policy = lenient();
    policy.safeguards.users = Threshold::new(10, 100.0, 1);
    let store = fresh();
    let mut p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = (0..20)
        .map(|i| user(&format!("{i}"), &format!("u{i}")))
        .collect();
    sync(&store, &p, &tenant.snapshot(), &policy, t(0)).await;
    let mut own = policy.safeguards;
    own.users.max_count = 2;
    p.set_safeguards(Some(own));
    p = store.save_integration(&p).await.unwrap();
    assert_eq!(policy.safeguards_for(p.record()).users.max_count, 2);
    tenant.users.drain(..3);
    let held = plan(&store, &p, &tenant.snapshot(), &policy, t(1)).await;
    assert!(held.is_held(), "{held}");
    assert_eq!((held.trips()[0].count, held.trips()[0].total), (3, 20));
    p.set_safeguards(None);
    p = store.save_integration(&p).await.unwrap();
    let free = plan(&store, &p, &tenant.snapshot(), &policy, t(1)).await;
    assert!(!free.is_held(), "{free}");
    assert_eq!(
        free.changes(),
        held.changes(),
        "the same plan, only not held"
    );
}

#[tokio::test]
async fn users_who_arrive_suspended_are_mirrored_but_are_no_removal() {
    // Many suspended users in the initial sync (more than the users safeguard's count) must
    // not hold it: nobody active in the directory is taken away.
    let store = fresh();
    let p = active(&store, DirectionKind::Inbound).await;
    let mut tenant = Tenant::default();
    tenant.users = (0..200)
        .map(|i| {
            let mut u = user(&format!("{i}"), &format!("u{i}"));
            u.suspended = i < 80;
            u
        })
        .collect();
    let policy = Policy::default();
    let initial = plan(&store, &p, &tenant.snapshot(), &policy, t(0)).await;
    assert!(!initial.is_held(), "{initial}");
    sync(&store, &p, &tenant.snapshot(), &policy, t(0)).await;
    assert_eq!(user_by(&store, "u0").await.status, UserStatus::Suspended);
    assert_eq!(user_by(&store, "u100").await.status, UserStatus::Active);
    // Suspending 80 active users later is a removal, and is held.
    for u in &mut tenant.users {
        u.suspended = !u.suspended;
    }
    let later = plan(&store, &p, &tenant.snapshot(), &policy, t(1)).await;
    assert!(later.is_held(), "{later}");
}
