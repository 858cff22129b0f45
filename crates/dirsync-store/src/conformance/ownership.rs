//! Conformance cases of outbound ownership records.

use super::*;

fn owned(integration: IntegrationId, group: &str, member: &str) -> OwnedMembership {
    OwnedMembership {
        integration,
        group: xid(group),
        member: email(member),
        role: MemberRole::Member,
        created_at: t(1),
    }
}

/// Claims are stored and listed by (group, member); releases remove them (also with another
/// case of the email), releasing an unknown record is fine; each non-empty record bumps the
/// version once and an empty one writes nothing.
pub async fn ownership_records_round_trip_and_bump_the_version(store: Arc<dyn Store>) {
    let o = create(&*store, "out", DirectionKind::Outbound).await.id();
    assert!(store.owned_memberships(o).await.unwrap().is_empty());
    let claims = [
        owned(o, "g2", "bob@example.com"),
        owned(o, "g1", "zed@example.com"),
        owned(o, "g1", "ada@example.com"),
    ];
    let applied = store
        .record_ownership(
            o,
            Version::ZERO,
            &claims
                .iter()
                .cloned()
                .map(OwnershipChange::Claim)
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    assert_eq!(applied.version, Version::ZERO.next());
    assert_eq!(applied.ops, 3);
    let listed = store.owned_memberships(o).await.unwrap();
    let keys: Vec<(String, String)> = listed
        .iter()
        .map(|m| (m.group.to_string(), m.member.to_string()))
        .collect();
    assert_eq!(
        keys,
        [
            ("g1".to_owned(), "ada@example.com".to_owned()),
            ("g1".to_owned(), "zed@example.com".to_owned()),
            ("g2".to_owned(), "bob@example.com".to_owned()),
        ]
    );
    assert_eq!(listed[0], claims[2]);
    let released = store
        .record_ownership(
            o,
            applied.version,
            &[
                OwnershipChange::Release {
                    group: xid("g1"),
                    member: email("ADA@example.com"),
                },
                OwnershipChange::Release {
                    group: xid("g9"),
                    member: email("nobody@example.com"),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(released.version, applied.version.next());
    assert_eq!(store.owned_memberships(o).await.unwrap().len(), 2);
    let empty = store
        .record_ownership(o, released.version, &[])
        .await
        .unwrap();
    assert_eq!((empty.version, empty.ops), (released.version, 0));
    assert_eq!(store.version(o).await.unwrap(), released.version);
}

/// Inbound integrations own no remote memberships; a stale base is a conflict; a claim for
/// another integration is refused; nothing is written by a refused record.
pub async fn ownership_records_are_for_outbound_integrations_at_their_version(
    store: Arc<dyn Store>,
) {
    let p = primary(&*store).await;
    let err = store
        .record_ownership(
            p.id(),
            Version::ZERO,
            &[OwnershipChange::Claim(owned(p.id(), "g", "a@example.com"))],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotOutbound { .. }), "{err:?}");
    let o = create(&*store, "out", DirectionKind::Outbound).await.id();
    let other = create(&*store, "other", DirectionKind::Outbound).await.id();
    let err = store
        .record_ownership(
            o,
            Version::ZERO.next(),
            &[OwnershipChange::Claim(owned(o, "g", "a@example.com"))],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    let err = store
        .record_ownership(
            o,
            Version::ZERO,
            &[
                OwnershipChange::Claim(owned(o, "g", "a@example.com")),
                OwnershipChange::Claim(owned(other, "g", "b@example.com")),
            ],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidChange { index: 1, .. }),
        "{err:?}"
    );
    assert!(store.owned_memberships(o).await.unwrap().is_empty());
    assert!(store.owned_memberships(other).await.unwrap().is_empty());
    assert_eq!(store.version(o).await.unwrap(), Version::ZERO);
    let err = store
        .owned_memberships(IntegrationId::random())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// Removing an outbound integration forgets its ownership records, and only its own.
pub async fn removing_an_outbound_integration_removes_its_ownership_records(store: Arc<dyn Store>) {
    let a = create(&*store, "a", DirectionKind::Outbound).await.id();
    let b = create(&*store, "b", DirectionKind::Outbound).await.id();
    for (i, who) in [(a, "x@example.com"), (b, "y@example.com")] {
        store
            .record_ownership(
                i,
                Version::ZERO,
                &[OwnershipChange::Claim(owned(i, "g", who))],
            )
            .await
            .unwrap();
    }
    let removed = store.remove_integration(a).await.unwrap();
    assert_eq!(removed.owned_memberships, 1);
    assert_eq!(store.owned_memberships(b).await.unwrap().len(), 1);
}

fn owned_group(integration: IntegrationId, group: &str, origin: GroupOrigin) -> OwnedGroup {
    OwnedGroup {
        integration,
        email: email(group),
        origin,
        recorded_at: t(1),
    }
}

/// Group records are stored by email key (a later claim in another case replaces one), listed
/// by it, released by it (an unknown release is fine), and recorded in the same transaction and
/// version bump as membership records; removing the integration forgets them.
pub async fn group_ownership_records_round_trip_with_memberships_in_one_record(
    store: Arc<dyn Store>,
) {
    let o = create(&*store, "out", DirectionKind::Outbound).await.id();
    assert!(store.owned_groups(o).await.unwrap().is_empty());
    let applied = store
        .record_ownership(
            o,
            Version::ZERO,
            &[
                OwnershipChange::ClaimGroup(owned_group(o, "b@example.com", GroupOrigin::Pending)),
                OwnershipChange::ClaimGroup(owned_group(o, "a@example.com", GroupOrigin::Adopted)),
                OwnershipChange::Claim(owned(o, "g1", "ada@example.com")),
                OwnershipChange::ClaimGroup(owned_group(o, "B@example.com", GroupOrigin::Created)),
            ],
        )
        .await
        .unwrap();
    assert_eq!(applied.version, Version::ZERO.next());
    let groups = store.owned_groups(o).await.unwrap();
    let listed: Vec<(String, GroupOrigin)> = groups
        .iter()
        .map(|g| (g.email.to_string(), g.origin))
        .collect();
    assert_eq!(
        listed,
        [
            ("a@example.com".to_owned(), GroupOrigin::Adopted),
            ("B@example.com".to_owned(), GroupOrigin::Created),
        ]
    );
    assert_eq!(store.owned_memberships(o).await.unwrap().len(), 1);
    let released = store
        .record_ownership(
            o,
            applied.version,
            &[
                OwnershipChange::ReleaseGroup {
                    email: email("b@EXAMPLE.com"),
                },
                OwnershipChange::ReleaseGroup {
                    email: email("nobody@example.com"),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(released.version, applied.version.next());
    let left = store.owned_groups(o).await.unwrap();
    assert_eq!(
        left,
        [owned_group(o, "a@example.com", GroupOrigin::Adopted)]
    );
    let removed = store.remove_integration(o).await.unwrap();
    assert_eq!((removed.owned_groups, removed.owned_memberships), (1, 1));
}

/// A group claim for another integration is refused, writing nothing; an unknown integration
/// has no group records to read.
pub async fn group_ownership_records_are_refused_for_another_integration(store: Arc<dyn Store>) {
    let o = create(&*store, "out", DirectionKind::Outbound).await.id();
    let other = create(&*store, "other", DirectionKind::Outbound).await.id();
    let err = store
        .record_ownership(
            o,
            Version::ZERO,
            &[
                OwnershipChange::ClaimGroup(owned_group(o, "a@example.com", GroupOrigin::Created)),
                OwnershipChange::ClaimGroup(owned_group(
                    other,
                    "b@example.com",
                    GroupOrigin::Created,
                )),
            ],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidChange { index: 1, .. }),
        "{err:?}"
    );
    assert!(store.owned_groups(o).await.unwrap().is_empty());
    assert_eq!(store.version(o).await.unwrap(), Version::ZERO);
    let err = store
        .owned_groups(IntegrationId::random())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}
