//! Conformance case of activity cursors (issue 19, point 3: polling groups and memberships).

use std::sync::Arc;

use dirsync_core::{Activity, ActivityCursor, DirectionKind, IntegrationId};

use super::fixtures::*;
use crate::{Error, Store};

/// An activity cursor round-trips (the window's end, the ids seen in the overlap with their
/// times, the counts), is replaced per integration, is `None` before the first poll, refused
/// for an unknown integration, and goes with its integration.
pub async fn activity_cursors_are_kept_per_integration(store: Arc<dyn Store>) {
    let p = primary(&*store).await.id();
    let other = create(&*store, "other", DirectionKind::Inbound).await.id();
    assert_eq!(store.activity_cursor(p).await.unwrap(), None);

    let mut cursor = ActivityCursor::new(p, t(1), t(1));
    let seen = [
        Activity::new("admin:1", t(2), "g@example.com"),
        Activity::new("groups_enterprise:7", t(3), "h@example.com"),
    ];
    cursor.advance(t(4), chrono::Duration::days(1), &seen, 2, t(4));
    store.save_activity_cursor(&cursor).await.unwrap();
    store
        .save_activity_cursor(&ActivityCursor::new(other, t(9), t(9)))
        .await
        .unwrap();
    assert_eq!(
        store.activity_cursor(p).await.unwrap(),
        Some(cursor.clone())
    );

    cursor.advance(t(5), chrono::Duration::days(1), &[], 0, t(5));
    store.save_activity_cursor(&cursor).await.unwrap();
    assert_eq!(
        store.activity_cursor(p).await.unwrap(),
        Some(cursor),
        "replaced"
    );

    assert!(matches!(
        store
            .save_activity_cursor(&ActivityCursor::new(IntegrationId::random(), t(1), t(1)))
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.activity_cursor(IntegrationId::random()).await,
        Err(Error::NotFound { .. })
    ));

    store.remove_integration(other).await.unwrap();
    assert!(matches!(
        store.activity_cursor(other).await,
        Err(Error::NotFound { .. })
    ));
    let again = create(&*store, "other", DirectionKind::Inbound).await.id();
    assert_eq!(store.activity_cursor(again).await.unwrap(), None);
}
