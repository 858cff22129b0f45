//! Conformance cases of what integrations share and own: views, accounts across
//! integrations, removal.

use super::*;

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
