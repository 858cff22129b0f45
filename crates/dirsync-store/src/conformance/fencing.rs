//! Conformance cases of fenced writes (issue 12, point 2): a run's writes carry the lease it
//! took, and a run that lost its lease cannot write.

use std::sync::Arc;

use dirsync_core::{DirectionKind, DirectoryChanges, OwnershipChange, UserId, Version};

use super::fixtures::*;
use crate::{Error, Lease, Store};

fn lost(e: &Error, who: &str) -> bool {
    matches!(e, Error::LeaseLost { holder, .. } if holder == who)
}

/// An apply fenced by the lease its run holds is written; once the lease expired and another
/// run took it, or it was released, the same fenced apply is refused with `LeaseLost` and
/// writes nothing.
pub async fn a_run_that_lost_its_lease_cannot_apply(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let a = store
        .acquire_lease(p.id(), "run-a", t(2), t(0))
        .await
        .unwrap();
    let mut first = DirectoryChanges::new(&p, Version::ZERO);
    first.push(create_user(&p, UserId::random(), "ada@example.com"));
    let applied = store.apply_fenced(&first, &a).await.unwrap();
    assert_eq!(applied.version, Version::ZERO.next());
    // Run a's lease expires; run b takes it over.
    let b = store
        .acquire_lease(p.id(), "run-b", t(5), t(3))
        .await
        .unwrap();
    let mut late = DirectoryChanges::new(&p, applied.version);
    late.push(create_user(&p, UserId::random(), "bob@example.com"));
    let err = store.apply_fenced(&late, &a).await.unwrap_err();
    assert!(lost(&err, "run-a"), "{err:?}");
    assert_eq!(store.version(p.id()).await.unwrap(), applied.version);
    assert!(
        store
            .user_by_email(&email("bob@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    // A released lease fences too.
    store.release_lease(&b).await.unwrap();
    let err = store.apply_fenced(&late, &b).await.unwrap_err();
    assert!(lost(&err, "run-b"), "{err:?}");
    assert_eq!(store.version(p.id()).await.unwrap(), applied.version);
}

/// Ownership records are fenced the same way.
pub async fn a_run_that_lost_its_lease_cannot_record_ownership(store: Arc<dyn Store>) {
    let o = create(&*store, "out", DirectionKind::Outbound).await.id();
    let a = store.acquire_lease(o, "run-a", t(2), t(0)).await.unwrap();
    let claim = |member: &str| {
        OwnershipChange::Claim(dirsync_core::OwnedMembership {
            integration: o,
            group: xid("g1"),
            member: email(member),
            role: dirsync_core::MemberRole::Member,
            created_at: t(1),
        })
    };
    let applied = store
        .record_ownership_fenced(Version::ZERO, &[claim("ada@example.com")], &a)
        .await
        .unwrap();
    store.acquire_lease(o, "run-b", t(5), t(3)).await.unwrap();
    let err = store
        .record_ownership_fenced(applied.version, &[claim("bob@example.com")], &a)
        .await
        .unwrap_err();
    assert!(lost(&err, "run-a"), "{err:?}");
    assert_eq!(store.owned_memberships(o).await.unwrap().len(), 1);
    assert_eq!(store.version(o).await.unwrap(), applied.version);
}

/// A heartbeat renews the lease of its holder, expired or not while no one else took it; a
/// renewal of a lease another run took, or that was released, is `LeaseLost`.
pub async fn only_the_holder_renews_its_lease(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let a = store
        .acquire_lease(p.id(), "run-a", t(2), t(0))
        .await
        .unwrap();
    let renewed = store.renew_lease(&a, t(4)).await.unwrap();
    assert_eq!((renewed.holder.as_str(), renewed.until), ("run-a", t(4)));
    // Renewed: another holder is refused at t(3), where the first lease had expired.
    let err = store
        .acquire_lease(p.id(), "run-b", t(6), t(3))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Leased { .. }), "{err:?}");
    // Expired at t(5) and taken by b: a's renewal is refused.
    store
        .acquire_lease(p.id(), "run-b", t(7), t(5))
        .await
        .unwrap();
    let err = store.renew_lease(&a, t(8)).await.unwrap_err();
    assert!(lost(&err, "run-a"), "{err:?}");
    let b = Lease {
        integration: p.id(),
        holder: "run-b".into(),
        until: t(7),
    };
    store.release_lease(&b).await.unwrap();
    let err = store.renew_lease(&b, t(8)).await.unwrap_err();
    assert!(lost(&err, "run-b"), "{err:?}");
}

/// A lease excludes other holders until it is released or expires; its holder may renew it.
pub async fn leases_are_exclusive_until_released_or_expired(store: Arc<dyn Store>) {
    let p = primary(&*store).await;
    let o = create(&*store, "out", DirectionKind::Outbound).await;
    let a = store
        .acquire_lease(p.id(), "worker-a", t(2), t(0))
        .await
        .unwrap();
    assert_eq!((a.holder.as_str(), a.until), ("worker-a", t(2)));
    let err = store
        .acquire_lease(p.id(), "worker-b", t(3), t(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Leased { holder, .. } if holder == "worker-a"),
        "{err:?}"
    );
    // Other integrations are independent.
    store
        .acquire_lease(o.id(), "worker-b", t(3), t(1))
        .await
        .unwrap();
    // The holder renews.
    let renewed = store
        .acquire_lease(p.id(), "worker-a", t(4), t(1))
        .await
        .unwrap();
    // Releasing someone else's lease does nothing.
    store
        .release_lease(&crate::Lease {
            holder: "worker-b".into(),
            ..renewed.clone()
        })
        .await
        .unwrap();
    assert!(matches!(
        store
            .acquire_lease(p.id(), "worker-b", t(5), t(3))
            .await
            .unwrap_err(),
        Error::Leased { .. }
    ));
    // Expired at `now` = t(4): free.
    store
        .acquire_lease(p.id(), "worker-b", t(6), t(4))
        .await
        .unwrap();
    let b = crate::Lease {
        integration: p.id(),
        holder: "worker-b".into(),
        until: t(6),
    };
    store.release_lease(&b).await.unwrap();
    store
        .acquire_lease(p.id(), "worker-c", t(7), t(5))
        .await
        .unwrap();
}
