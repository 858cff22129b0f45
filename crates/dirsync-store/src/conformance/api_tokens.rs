//! Conformance cases for API token records.

use std::sync::Arc;

use dirsync_core::ApiToken;

use super::fixtures::t;
use crate::{Error, Store};

fn token(name: &str, read_only: bool, fill: char) -> ApiToken {
    ApiToken::new(name, read_only, t(1), fill.to_string().repeat(64))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// API token records round-trip, list by name, are found by hash, refuse a second token of
/// the same name, and are gone once revoked.
pub async fn api_tokens_are_kept_by_name_and_hash_until_revoked(store: Arc<dyn Store>) {
    assert_eq!(store.api_tokens().await.unwrap(), Vec::new());
    let reader = token("reader", true, 'a');
    let writer = token("deploy", false, 'b');
    store.create_api_token(&reader).await.unwrap();
    store.create_api_token(&writer).await.unwrap();
    assert_eq!(
        store.api_tokens().await.unwrap(),
        vec![writer.clone(), reader.clone()],
        "listed by name"
    );
    assert_eq!(
        store.api_token_by_hash(&reader.hash).await.unwrap(),
        Some(reader.clone())
    );
    assert_eq!(
        store.api_token_by_hash(&"c".repeat(64)).await.unwrap(),
        None
    );
    let twin = token("reader", false, 'd');
    assert!(matches!(
        store.create_api_token(&twin).await,
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(
        store.api_token_by_hash(&twin.hash).await.unwrap(),
        None,
        "the refused twin left nothing behind"
    );
    assert_eq!(store.revoke_api_token("reader").await.unwrap(), reader);
    assert_eq!(store.api_token_by_hash(&reader.hash).await.unwrap(), None);
    assert!(matches!(
        store.revoke_api_token("reader").await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(store.api_tokens().await.unwrap(), vec![writer]);
}
