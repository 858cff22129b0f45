//! Parity with the in-memory reference backend, and bulk writes.

use super::*;

/// The same operations on an `InMemoryStore` and a `SqliteStore` give the same answers,
/// orderings included: remote ids that sort differently by bytes than by case or length,
/// every member kind, runs and plans at equal instants, integrations created at one instant.
#[tokio::test]
async fn answers_and_orderings_match_the_in_memory_store() {
    let memory: Arc<dyn Store> = Arc::new(InMemoryStore::new());
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let stores = [memory, sqlite];

    let news = [
        new_integration("out", DirectionKind::Outbound, t(5)),
        new_integration("primary", DirectionKind::Inbound, t(5)),
        new_integration("early", DirectionKind::Inbound, t(1)),
        new_integration(
            "late",
            DirectionKind::Inbound,
            t(5) + Duration::nanoseconds(1),
        ),
        new_integration("same", DirectionKind::Inbound, t(5)),
    ];
    let users: Vec<UserId> = (0..20).map(|_| UserId::random()).collect();
    let run_ids: Vec<RunId> = (0..5).map(|_| RunId::random()).collect();
    let ids = [
        "b", "B", "a", "a1", "aa", "10", "9", "Ω", "é", "z-", "z_", "Z", " x",
    ];

    let mut answers = Vec::new();
    for store in &stores {
        let mut created = Vec::new();
        for new in &news {
            created.push(store.create_integration(new.clone()).await.unwrap());
        }
        let p = store.primary().await.unwrap().unwrap();
        let second = created[2].clone().into_secondary_inbound().unwrap();
        let mut changes = DirectoryChanges::new(&p, Version::ZERO);
        for (i, user) in users.iter().enumerate() {
            changes.push(create_user(&p, *user, &format!("user{i}@Example.com")));
        }
        for (i, ext) in ids.iter().enumerate() {
            let user = users[i % users.len()];
            changes.push(DirectoryOp::UpsertAccount(account(
                p.id(),
                ext,
                &format!("a{i}@example.com"),
                Some((user, LinkedBy::Provisioned)),
            )));
            changes.push(DirectoryOp::UpsertGroup(group(p.id(), ext)));
            changes.push(DirectoryOp::UpsertOrgUnit(org_unit(
                p.id(),
                ext,
                &format!("/U{i}"),
                None,
            )));
        }
        for g in &ids {
            for (j, m) in ids.iter().enumerate() {
                let kind = [MemberKind::Customer, MemberKind::Group, MemberKind::User][j % 3];
                let role = [MemberRole::Member, MemberRole::Owner, MemberRole::Manager][j % 3];
                changes.push(DirectoryOp::UpsertMembership(membership(
                    p.id(),
                    g,
                    m,
                    kind,
                    role,
                )));
            }
        }
        changes.push(DirectoryOp::RemoveGroup {
            external_id: xid("a1"),
        });
        changes.push(DirectoryOp::RemoveMembership(MembershipKey {
            group: xid("b"),
            kind: MemberKind::Customer,
            member: xid("b"),
        }));
        store.apply(&changes).await.unwrap();
        let mut linked = DirectoryChanges::new(&second, Version::ZERO);
        for (i, ext) in ids.iter().enumerate().take(5) {
            linked.push(DirectoryOp::UpsertAccount(account(
                second.id(),
                ext,
                &format!("s{i}@example.com"),
                Some((users[0], LinkedBy::Provisioned)),
            )));
        }
        store.apply(&linked).await.unwrap();

        for (i, hour) in [3, 1, 3, 2, 3].into_iter().enumerate() {
            let mut r = run(p.id(), t(hour));
            // The same run ids in both stores.
            r.id = run_ids[i];
            store.record_run(&r).await.unwrap();
        }
        for (i, hour) in [4, 2, 4, 4].into_iter().enumerate() {
            store
                .hold_plan(&held_plan(p.id(), &[u8::try_from(i).unwrap()], t(hour)))
                .await
                .unwrap();
        }
        let view = store.view(p.id()).await.unwrap();
        let integrations: Vec<IntegrationId> = store
            .integrations()
            .await
            .unwrap()
            .iter()
            .map(AnyIntegration::id)
            .collect();
        answers.push((
            integrations,
            view,
            store.view(second.id()).await.unwrap(),
            store.users().await.unwrap(),
            store.accounts_of(users[0]).await.unwrap(),
            store.runs(p.id(), 3).await.unwrap(),
            store.held_plans(p.id()).await.unwrap(),
            store.remove_integration(created[4].id()).await.unwrap(),
        ));
    }
    let (memory, sqlite) = (&answers[0], &answers[1]);
    assert_eq!(sqlite.0, memory.0, "integrations");
    assert_eq!(sqlite.1, memory.1, "primary's view");
    assert_eq!(sqlite.2, memory.2, "secondary's view");
    assert_eq!(sqlite.3, memory.3, "users");
    assert_eq!(sqlite.4, memory.4, "accounts_of");
    assert_eq!(sqlite.5, memory.5, "runs");
    assert_eq!(sqlite.6, memory.6, "held plans");
    assert_eq!(sqlite.7, memory.7, "removed");
    assert!(memory.1.memberships.len() > 100);
}

// Bulk writes.

/// A large apply in one transaction and its view, as a smoke test (not timed).
#[tokio::test]
async fn a_large_apply_round_trips() {
    let store = SqliteStore::open_in_memory().unwrap();
    let p = primary(&store).await;
    let id = p.id();
    let mut changes = DirectoryChanges::new(&p, Version::ZERO);
    for g in 0..50 {
        changes.push(DirectoryOp::UpsertGroup(group(id, &format!("g{g:03}"))));
        for m in 0..200 {
            changes.push(DirectoryOp::UpsertMembership(membership(
                id,
                &format!("g{g:03}"),
                &format!("{m:05}"),
                MemberKind::User,
                MemberRole::Member,
            )));
        }
    }
    let applied = store.apply(&changes).await.unwrap();
    assert_eq!(applied.ops, 50 * 201);
    let view = store.view(id).await.unwrap();
    assert_eq!(view.memberships.len(), 10_000);
    assert!(view.memberships.windows(2).all(|w| w[0].key() < w[1].key()));
}
