//! Group provisioning between the two tenants: B ends holding A's groups and memberships
//! (nested groups included), role changes in A reach B, groups made by hand in B (one with the
//! email of an A group) stay untouched, a mass member removal is held until approved, and
//! injected write errors and lost acknowledgements converge with no duplicate group.

use dirsync_core::{GroupOrigin, GroupProvisioning, GroupSource};
use dirsync_google_emulator::{MemberType, Role};

use super::*;

/// A's groups as B should hold them: by email, (name, members by email with role), leaving
/// out `skip` and members B cannot have (users without an account of ours, the customer,
/// outsiders, nested groups not provisioned).
fn expected(w: &World, skip: &str) -> BTreeMap<String, (String, BTreeMap<String, Role>)> {
    let (a, b) = (w.a.tenant(), w.b.tenant());
    let ours = |email: &str| b.user(email).is_some_and(|u| !u.custom_ids.is_empty());
    let provisioned = |email: &str| email != skip && a.group(email).is_some();
    a.groups()
        .iter()
        .filter(|g| g.email != skip)
        .map(|g| {
            let members = g
                .members
                .iter()
                .filter_map(|m| {
                    let email = m.email.clone()?;
                    let keep = match m.member_type {
                        MemberType::User => ours(&email),
                        MemberType::Group => provisioned(&email),
                        _ => false,
                    };
                    keep.then_some((email, m.role))
                })
                .collect();
            (g.email.clone(), (g.name.clone(), members))
        })
        .collect()
}

/// B's groups: by email, (name, members by email with role).
fn held(w: &World) -> BTreeMap<String, (String, BTreeMap<String, Role>)> {
    w.b.tenant()
        .groups()
        .iter()
        .map(|g| {
            let members = g
                .members
                .iter()
                .filter_map(|m| m.email.clone().map(|e| (e, m.role)))
                .collect();
            (g.email.clone(), (g.name.clone(), members))
        })
        .collect()
}

/// B holds every A group but `skip` exactly, and the groups made by hand as they were.
fn assert_groups_converged(w: &World, skip: &str, by_hand: &[dirsync_google_emulator::Group]) {
    let want = expected(w, skip);
    let have = held(w);
    for (email, group) in &want {
        assert_eq!(have.get(email), Some(group), "{email}");
    }
    for group in by_hand {
        assert_eq!(w.b.tenant().group(&group.id), Some(group), "made by hand");
    }
    assert_eq!(have.len(), want.len() + by_hand.len(), "no other group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_holds_as_groups_and_follows_their_roles_and_members_through_faults() {
    let w = world().await;
    let nested =
        w.a.tenant()
            .groups()
            .iter()
            .any(|g| g.members.iter().any(|m| m.member_type == MemberType::Group));
    assert!(nested, "A has nested groups");
    // B has a group made by hand, and one with the email of an A group.
    let taken = w.a.tenant().groups().last().unwrap().email.clone();
    let by_hand = w.b.with_tenant(|t| {
        let mut mine = t
            .add_group(&format!("hand.group@{DOMAIN}"), "Mine")
            .unwrap();
        t.add_member(&mine.id, &format!("hand.made@{DOMAIN}"), Role::Owner)
            .unwrap();
        mine = t.group(&mine.id).cloned().unwrap();
        let theirs = t.add_group(&taken, "Theirs").unwrap();
        vec![mine, theirs]
    });
    w.service
        .add_rule(
            w.outbound,
            NewRule::provision_users(
                "People",
                UserProvisioning::new(Selector::Everyone).creating_org_units(true),
                Trigger::Manual,
            ),
        )
        .await
        .unwrap();
    w.service
        .add_rule(
            w.outbound,
            NewRule::provision_groups(
                "Groups",
                GroupProvisioning::new(GroupSource::AllOf(w.primary)),
                Trigger::Manual,
            ),
        )
        .await
        .unwrap();

    // Dry run: a group per A group but the taken one, their members; nothing written.
    let plan = w.service.dry_run(w.outbound, &Silent).await.unwrap();
    let explained = w.service.explain(&plan).await.unwrap();
    let count = |a: Action| explained.iter().filter(|c| c.action == a).count();
    assert_eq!(
        count(Action::CreateRemoteGroup),
        w.a.tenant().groups().len() - 1
    );
    assert!(count(Action::AddRemoteMember) > 100, "{explained:#?}");
    let DryRun::Remote(remote) = &plan else {
        panic!("remote plan")
    };
    assert!(
        remote
            .report()
            .quarantined
            .iter()
            .any(|q| q.label == taken && q.reason.contains("not ours")),
        "{:?}",
        remote.report().quarantined
    );
    assert_eq!(w.b.stats().write_requests(), 0);

    // One run: users, then groups, then memberships; a second writes nothing.
    let run = w.outbound().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert_groups_converged(&w, &taken, &by_hand);
    let writes = w.b.stats().write_requests();
    let again = w.outbound().await;
    assert_eq!(again.outcome, RunOutcome::NoChange, "{again:?}");
    assert_eq!(w.b.stats().write_requests(), writes);
    let owned = w.service.store().owned_groups(w.outbound).await.unwrap();
    assert_eq!(owned.len(), w.a.tenant().groups().len() - 1);
    assert!(owned.iter().all(|o| o.origin == GroupOrigin::Created));

    // Roles changed, members added and a group renamed in A reach B (members.patch).
    let (group, member) = {
        let a = w.a.tenant();
        let g = a
            .groups()
            .iter()
            .find(|g| g.email != taken && g.members.len() > 3)
            .unwrap();
        let m = g
            .members
            .iter()
            .find(|m| m.member_type == MemberType::User && m.role == Role::Member)
            .unwrap();
        (g.email.clone(), m.email.clone().unwrap())
    };
    w.a.with_tenant(|t| {
        t.set_member_role(&group, &member, Role::Manager).unwrap();
        t.set_group_fields(&group, &group, "Renamed in A", "")
            .unwrap();
    });
    w.inbound().await;
    let patched = w.b.stats().members_patched;
    let run = w.outbound().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert_eq!(w.b.stats().members_patched, patched + 1);
    assert_groups_converged(&w, &taken, &by_hand);

    // A mass member removal is held until approved.
    let emptied = {
        let a = w.a.tenant();
        let g = a
            .groups()
            .iter()
            .filter(|g| g.email != taken)
            .max_by_key(|g| g.members.len())
            .unwrap();
        (g.email.clone(), g.members.clone())
    };
    w.a.with_tenant(|t| {
        for m in &emptied.1 {
            if m.member_type == MemberType::User {
                t.remove_member(&emptied.0, &m.id).unwrap();
            }
        }
    });
    w.inbound().await;
    let writes = w.b.stats().write_requests();
    let run = w.outbound().await;
    let RunOutcome::Held { plan } = run.outcome else {
        panic!("expected a held run, got {run:?}");
    };
    assert_eq!(w.b.stats().write_requests(), writes, "nothing written");
    let approved = w.service.approve(&plan).await.unwrap();
    assert_eq!(approved.outcome, RunOutcome::Succeeded, "{approved:?}");
    assert_groups_converged(&w, &taken, &by_hand);

    // New groups while B fails 20 % of writes and loses 10 % of acknowledgements: the runs
    // converge with one group per email (a lost groups.insert is recognised as ours).
    let people: Vec<String> =
        w.a.tenant()
            .live_users()
            .filter(|u| !u.suspended && !u.is_admin && u.primary_email != w.conflict)
            .map(|u| u.primary_email.clone())
            .take(12)
            .collect();
    w.a.with_tenant(|t| {
        for i in 0..15 {
            let g = t
                .add_group(&format!("new.group.{i}@{DOMAIN}"), "New")
                .unwrap();
            for p in people.iter().skip(i % 4).take(5) {
                t.add_member(&g.id, p, Role::Member).unwrap();
            }
        }
    });
    w.inbound().await;
    w.b.set_faults(Faults {
        write_error_rate: 0.2,
        lost_write_rate: 0.1,
        seed: 11,
        ..Faults::default()
    });
    let mut outcomes = Vec::new();
    for _ in 0..8 {
        let run = w.outbound().await;
        outcomes.push(run.outcome.clone());
        if matches!(run.outcome, RunOutcome::Succeeded | RunOutcome::NoChange) {
            break;
        }
    }
    w.b.set_faults(Faults::default());
    assert!(w.b.stats().errors_injected > 0, "{outcomes:?}");
    assert!(
        matches!(
            outcomes.last(),
            Some(RunOutcome::Succeeded | RunOutcome::NoChange)
        ),
        "{outcomes:?}"
    );
    assert_groups_converged(&w, &taken, &by_hand);
    let inserted = w.b.stats().groups_inserted;
    assert_eq!(
        inserted as usize,
        w.a.tenant().groups().len() - 1,
        "one groups.insert applied per group: no duplicate"
    );
    let owned = w.service.store().owned_groups(w.outbound).await.unwrap();
    assert!(owned.iter().all(|o| o.origin == GroupOrigin::Created));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_group_insert_is_recognised_and_a_fully_managed_rule_adopts() {
    let w = world().await;
    let first = w.a.tenant().groups().first().unwrap().email.clone();
    let second = w.a.tenant().groups().get(1).unwrap().email.clone();
    // B already has a group with the email of the second: adopted by a fully managed rule.
    w.b.with_tenant(|t| t.add_group(&second, "Theirs").map(drop))
        .unwrap();
    w.service
        .add_rule(
            w.outbound,
            NewRule::provision_users(
                "People",
                UserProvisioning::new(Selector::Everyone).creating_org_units(true),
                Trigger::Manual,
            ),
        )
        .await
        .unwrap();
    w.service
        .add_rule(
            w.outbound,
            NewRule::provision_groups(
                "Two groups",
                GroupProvisioning::new(GroupSource::Groups(
                    [Email::new(&first).unwrap(), Email::new(&second).unwrap()].into(),
                ))
                .fully_managing(true),
                Trigger::Manual,
            ),
        )
        .await
        .unwrap();
    // Every write is applied and its answer lost: an insert's retry meets "already exists",
    // which after a lost answer is our own write (a patch's retry is lost again: the run
    // fails, and the next one, without faults, finishes the adoption).
    w.b.set_faults(Faults {
        lost_write_rate: 1.0,
        seed: 3,
        ..Faults::default()
    });
    let lossy = w.outbound().await;
    w.b.set_faults(Faults::default());
    assert!(w.b.stats().errors_injected > 0);
    assert!(w.b.tenant().group(&first).is_some(), "{lossy:?}");
    let run = w.outbound().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert_eq!(w.b.stats().groups_inserted, 1, "never inserted twice");
    assert!(
        run.quarantined
            .iter()
            .all(|q| q.kind != dirsync_core::ObjectKind::Groups),
        "{run:?}"
    );
    let owned: BTreeMap<String, GroupOrigin> = w
        .service
        .store()
        .owned_groups(w.outbound)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.email.to_string(), o.origin))
        .collect();
    assert_eq!(
        owned,
        BTreeMap::from([
            (first.clone(), GroupOrigin::Created),
            (second.clone(), GroupOrigin::Adopted)
        ])
    );
    assert_eq!(w.b.tenant().group(&second).unwrap().name, {
        w.a.tenant().group(&second).unwrap().name.clone()
    });
    let again = w.outbound().await;
    assert_eq!(again.outcome, RunOutcome::NoChange, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_groups_rule_needs_the_group_scope_and_says_so() {
    let w = world().await;
    let scope = "https://www.googleapis.com/auth/admin.directory.group";
    w.b.deny_scope(scope);
    let rule = || {
        NewRule::provision_groups(
            "Groups",
            GroupProvisioning::new(GroupSource::AllOf(w.primary)),
            Trigger::Manual,
        )
    };
    let refused = w
        .service
        .add_rule(w.outbound, rule())
        .await
        .unwrap_err()
        .to_string();
    // Named exactly (not only as the prefix of group.member or group.readonly).
    let named = refused
        .match_indices(scope)
        .any(|(i, _)| !refused[i + scope.len()..].starts_with('.'));
    assert!(named, "{refused}");
    let any = w.service.store().integration(w.outbound).await.unwrap();
    assert!(any.record().rules.is_empty(), "the rule was not added");
    w.b.allow_scope(scope);
    // Groups come from an inbound integration.
    let from_b = NewRule::provision_groups(
        "From B",
        GroupProvisioning::new(GroupSource::AllOf(w.outbound)),
        Trigger::Manual,
    );
    let wrong = w.service.add_rule(w.outbound, from_b).await.unwrap_err();
    assert!(wrong.to_string().contains("inbound"), "{wrong}");
    w.service.add_rule(w.outbound, rule()).await.unwrap();
}
