//! Conformance cases of integrations: the primary, immutable fields, revisions, listing.

use super::*;

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
        method: None,
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
