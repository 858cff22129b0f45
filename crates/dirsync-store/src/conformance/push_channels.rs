//! Conformance cases of push channel records (issue 19, point 1).

use std::sync::Arc;

use dirsync_core::{DirectionKind, IntegrationId, PushChannel};

use super::fixtures::*;
use crate::{Error, Store};

fn channel(integration: IntegrationId, id: &str, opened: i64) -> PushChannel {
    PushChannel::new(
        integration,
        id,
        format!("res-{id}"),
        "c".repeat(64),
        "https://sync.example.com/hooks/google/x",
        t(opened),
        t(opened + 6),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Push channels round-trip, list oldest first per integration, are replaced by id (the last
/// notification), refuse an id another integration uses, go when removed, and go with their
/// integration.
pub async fn push_channels_are_kept_per_integration_until_removed(store: Arc<dyn Store>) {
    let p = primary(&*store).await.id();
    let other = create(&*store, "other", DirectionKind::Inbound).await.id();
    assert_eq!(store.push_channels(p).await.unwrap(), Vec::new());
    let newer = channel(p, "b-newer", 5);
    let older = channel(p, "z-older", 1);
    store.save_push_channel(&newer).await.unwrap();
    store.save_push_channel(&older).await.unwrap();
    store
        .save_push_channel(&channel(other, "o", 1))
        .await
        .unwrap();
    assert_eq!(
        store.push_channels(p).await.unwrap(),
        vec![older.clone(), newer.clone()],
        "oldest first"
    );

    let mut notified = newer.clone();
    notified.last_notification = Some(t(6));
    notified.last_message = Some(42);
    store.save_push_channel(&notified).await.unwrap();
    assert_eq!(
        store.push_channels(p).await.unwrap(),
        vec![older.clone(), notified.clone()]
    );

    assert!(matches!(
        store.save_push_channel(&channel(other, "b-newer", 2)).await,
        Err(Error::AlreadyExists { .. })
    ));
    assert!(matches!(
        store
            .save_push_channel(&channel(IntegrationId::random(), "x", 1))
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.push_channels(IntegrationId::random()).await,
        Err(Error::NotFound { .. })
    ));

    assert_eq!(
        store.remove_push_channel("z-older").await.unwrap(),
        Some(older)
    );
    assert_eq!(store.remove_push_channel("z-older").await.unwrap(), None);
    assert_eq!(store.push_channels(p).await.unwrap(), vec![notified]);

    store.remove_integration(other).await.unwrap();
    assert_eq!(
        store.remove_push_channel("o").await.unwrap(),
        None,
        "removing the integration removed its channels"
    );
}
