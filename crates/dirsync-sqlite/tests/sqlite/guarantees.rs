//! Database-level guarantees: what the schema itself refuses or cascades.

use super::*;

#[tokio::test]
async fn the_database_allows_at_most_one_primary() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let p = primary(&store).await;
    let second = store
        .create_integration(new_integration("second", DirectionKind::Inbound, t(1)))
        .await
        .unwrap();
    let out = store
        .create_integration(new_integration("out", DirectionKind::Outbound, t(1)))
        .await
        .unwrap();
    assert!(!second.is_primary());
    let conn = raw(&path);
    // Bypassing the rule: promote the secondary, or insert a second primary.
    let err = conn
        .execute(
            "UPDATE integrations SET role = 'primary' WHERE id = ?1",
            [second.id().to_string()],
        )
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation),
        "{err}"
    );
    let err = conn
        .execute(
            "INSERT INTO integrations (id, seq, created_s, created_ns, direction, role, record) \
             SELECT ?1, 99, created_s, created_ns, 'inbound', 'primary', record \
             FROM integrations WHERE id = ?2",
            [IntegrationId::random().to_string(), p.id().to_string()],
        )
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    );
    // An outbound primary is refused too (even with no other primary).
    conn.execute("DELETE FROM integrations WHERE role = 'primary'", [])
        .unwrap();
    let err = conn
        .execute(
            "UPDATE integrations SET role = 'primary' WHERE id = ?1",
            [out.id().to_string()],
        )
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    );
}

/// Creating the same `NewIntegration` twice never replaces the first (the rules do not check
/// for an existing id; the primary key refuses it). Only "an error, nothing changed" is
/// asserted: which variant it should be is for the contract to say.
#[tokio::test]
async fn creating_an_existing_integration_again_changes_nothing() {
    let store = SqliteStore::open_in_memory().unwrap();
    let new = new_integration("primary", DirectionKind::Inbound, t(0));
    let created = store.create_integration(new.clone()).await.unwrap();
    assert!(matches!(
        store.create_integration(new).await,
        Err(dirsync_store::Error::AlreadyExists { .. })
    ));
    assert_eq!(store.integrations().await.unwrap(), vec![created.clone()]);
    assert_eq!(
        store.primary().await.unwrap().map(|p| p.id()),
        Some(created.id())
    );
}

#[tokio::test]
async fn a_failed_apply_rolls_back_and_the_database_stays_sound() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let s = seed(&store).await;
    let id = s.primary.id();
    let before = dump(&store, id).await;
    // Many valid writes of every kind, then one invalid operation at the end.
    let mut changes = DirectoryChanges::new(&s.primary, Version(1));
    for i in 0..500 {
        changes.push(DirectoryOp::UpsertGroup(group(id, &format!("g{i}"))));
        changes.push(DirectoryOp::UpsertMembership(membership(
            id,
            &format!("g{i}"),
            "100",
            MemberKind::User,
            MemberRole::Member,
        )));
        changes.push(DirectoryOp::Profile(
            s.primary.profile_authority().create_user(
                UserId::random(),
                UserProfile::new(email(&format!("u{i}@example.com"))),
                t(2),
                None,
            ),
        ));
    }
    changes.push(DirectoryOp::RemoveGroup {
        external_id: xid("eng"),
    });
    changes.push(create_user(&s.primary, UserId::random(), "ADA@example.com"));
    let err = store.apply(&changes).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidChange { index, .. } if index == changes.ops().len() - 1),
        "{err:?}"
    );
    assert_eq!(dump(&store, id).await, before, "nothing of it was written");
    let conn = raw(&path);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let dangling: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0);
    // The store keeps working.
    let mut ok = DirectoryChanges::new(&s.primary, Version(1));
    ok.push(DirectoryOp::RemoveGroup {
        external_id: xid("eng"),
    });
    assert_eq!(store.apply(&ok).await.unwrap().version, Version(2));
}

#[tokio::test]
async fn removing_a_group_cascades_its_nested_memberships_in_sql() {
    let store = SqliteStore::open_in_memory().unwrap();
    let s = seed(&store).await;
    let id = s.primary.id();
    let mut changes = DirectoryChanges::new(&s.primary, Version(1));
    changes.push(DirectoryOp::RemoveGroup {
        external_id: xid("eng"),
    });
    store.apply(&changes).await.unwrap();
    let view = store.view(id).await.unwrap();
    let keys: Vec<MembershipKey> = view.memberships.iter().map(Membership::key).collect();
    assert_eq!(
        keys,
        vec![
            MembershipKey {
                group: xid("all"),
                kind: MemberKind::User,
                member: xid("200")
            },
            MembershipKey {
                group: xid("all"),
                kind: MemberKind::Customer,
                member: xid("C01")
            },
        ]
    );
    let removed = store.remove_integration(id).await.unwrap_err();
    assert!(matches!(removed, Error::PrimaryOwnsData { .. }));
}

#[tokio::test]
async fn removing_an_integration_counts_exactly_and_keeps_runs() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    primary(&store).await;
    let secondary = store
        .create_integration(new_integration("second", DirectionKind::Inbound, t(1)))
        .await
        .unwrap()
        .into_secondary_inbound()
        .unwrap();
    let id = secondary.id();
    let mut changes = DirectoryChanges::new(&secondary, Version::ZERO);
    for g in ["a", "b", "c"] {
        changes.push(DirectoryOp::UpsertGroup(group(id, g)));
        for m in ["1", "2"] {
            changes.push(DirectoryOp::UpsertMembership(membership(
                id,
                g,
                m,
                MemberKind::User,
                MemberRole::Member,
            )));
        }
    }
    changes.push(DirectoryOp::UpsertAccount(account(
        id,
        "1",
        "x@example.com",
        None,
    )));
    changes.push(DirectoryOp::UpsertOrgUnit(org_unit(id, "o1", "/A", None)));
    changes.push(DirectoryOp::UpsertOrgUnit(org_unit(id, "o2", "/B", None)));
    store.apply(&changes).await.unwrap();
    store.hold_plan(&held_plan(id, b"1", t(2))).await.unwrap();
    store.hold_plan(&held_plan(id, b"2", t(2))).await.unwrap();
    store.record_run(&run(id, t(2))).await.unwrap();
    store.acquire_lease(id, "w", t(9), t(1)).await.unwrap();
    let removed = store.remove_integration(id).await.unwrap();
    assert_eq!(
        removed,
        dirsync_store::Removed {
            accounts: 1,
            groups: 3,
            memberships: 6,
            org_units: 2,
            held_plans: 2,
            owned_memberships: 0,
            owned_groups: 0,
        }
    );
    assert_eq!(
        store.runs(id, 10).await.unwrap().len(),
        1,
        "runs are history"
    );
    let conn = raw(&path);
    for table in [
        "accounts",
        "groups",
        "memberships",
        "org_units",
        "held_plans",
        "leases",
        "versions",
    ] {
        let n: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE integration = ?1"),
                [id.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
}
