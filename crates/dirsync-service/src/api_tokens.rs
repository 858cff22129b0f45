//! API tokens for HTTP APIs over the service: made here (shown once), kept by the store as a
//! SHA-256 only, checked on every request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dirsync_core::{ApiToken, ApiTokenSecret};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::{Error, Service};

/// The prefix of every token, so that secret scanners and people recognise one.
const PREFIX: &str = "dst_";

/// A token just made: its record and, this once, the token itself.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewApiToken {
    /// What the store keeps.
    pub record: ApiToken,
    /// The token to hand to its holder; it cannot be shown again.
    pub secret: ApiTokenSecret,
}

/// The lower-case hex SHA-256 of a presented token.
pub(crate) fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Service {
    /// Makes an API token named `name` (read-only or not) and stores its hash. The returned
    /// secret is the only copy of the token.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad name; the store's `AlreadyExists` when the name is taken.
    pub async fn create_api_token(
        &self,
        name: &str,
        read_only: bool,
    ) -> Result<NewApiToken, Error> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = ApiTokenSecret::new(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)));
        let record = ApiToken::new(
            name,
            read_only,
            self.clock.now(),
            hash(secret.expose_secret()),
        )?;
        self.store.create_api_token(&record).await?;
        tracing::info!(token = %record.name, read_only, "API token created");
        Ok(NewApiToken { record, secret })
    }

    /// The API token records, by name.
    ///
    /// # Errors
    /// A store error.
    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>, Error> {
        Ok(self.store.api_tokens().await?)
    }

    /// Revokes the token named `name`; requests presenting it are refused from now on.
    ///
    /// # Errors
    /// The store's `NotFound` when there is no such token.
    pub async fn revoke_api_token(&self, name: &str) -> Result<ApiToken, Error> {
        let token = self.store.revoke_api_token(name).await?;
        tracing::info!(token = %token.name, "API token revoked");
        Ok(token)
    }

    /// The record of the token a caller presented, or `None` when it is no token of ours. The
    /// comparison is of SHA-256 digests, so its timing says nothing about the token.
    ///
    /// # Errors
    /// A store error.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<ApiToken>, Error> {
        if !presented.starts_with(PREFIX) {
            return Ok(None);
        }
        Ok(self.store.api_token_by_hash(&hash(presented)).await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use dirsync_store::InMemoryStore;

    use super::*;
    #[tokio::test]
    async fn a_token_is_shown_once_stored_hashed_and_checked() {
        let service = Service::new(Arc::new(InMemoryStore::new()), crate::Registry::new());
        let made = service.create_api_token("ci", true).await.unwrap();
        let token = made.secret.expose_secret().to_owned();
        assert!(
            token.starts_with("dst_") && token.len() == 4 + 43,
            "{token}"
        );
        assert!(!format!("{made:?}").contains(&token), "no token in a Debug");
        let stored = service.api_tokens().await.unwrap();
        assert_eq!(stored, vec![made.record.clone()]);
        assert!(
            !serde_json::to_string(&stored)
                .unwrap()
                .contains(&token[4..])
        );
        assert_eq!(
            service.authenticate(&token).await.unwrap(),
            Some(made.record.clone())
        );
        assert_eq!(
            service.authenticate(&format!("{token}x")).await.unwrap(),
            None
        );
        assert_eq!(service.authenticate("Bearer nonsense").await.unwrap(), None);
        let other = service.create_api_token("deploy", false).await.unwrap();
        assert_ne!(other.secret, made.secret);
        assert!(
            service.create_api_token("ci", false).await.is_err(),
            "names are unique"
        );
        service.revoke_api_token("ci").await.unwrap();
        assert_eq!(service.authenticate(&token).await.unwrap(), None);
    }
}
