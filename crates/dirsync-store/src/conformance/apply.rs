//! Conformance cases of apply: round trips, validation, versions, cascades, all or nothing.

use super::*;

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
