//! One-time sign-in links for a web console's first setup (`dirsync console:login`): a random
//! token kept by the store as a SHA-256 only (beside the API tokens, under a name of its own
//! kind), redeemed once, within [`BOOTSTRAP_LIFETIME_MINUTES`] of its making. Such a token is
//! no API token: [`Service::authenticate`] refuses it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dirsync_core::{ApiToken, ApiTokenSecret};
use rand::RngCore as _;

use crate::api_tokens::hash;
use crate::{Error, Service};

/// The prefix of a bootstrap token (an API token's is `dst_`).
const PREFIX: &str = "dsb_";

/// The prefix of a bootstrap token's record name.
pub const BOOTSTRAP_NAME_PREFIX: &str = "console-bootstrap-";

/// How long a bootstrap token may wait to be redeemed.
pub const BOOTSTRAP_LIFETIME_MINUTES: i64 = 15;

impl Service {
    /// Makes a one-time console sign-in token and stores its hash. The returned secret is the
    /// only copy; [`redeem_console_bootstrap`](Self::redeem_console_bootstrap) accepts it once.
    ///
    /// # Errors
    /// A store error.
    pub async fn create_console_bootstrap(&self) -> Result<ApiTokenSecret, Error> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = ApiTokenSecret::new(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)));
        let mut id = [0u8; 6];
        rand::rng().fill_bytes(&mut id);
        let name = format!("{BOOTSTRAP_NAME_PREFIX}{}", URL_SAFE_NO_PAD.encode(id));
        let record = ApiToken::new(name, false, self.clock.now(), hash(secret.expose_secret()))?;
        self.store.create_api_token(&record).await?;
        tracing::info!(token = %record.name, "console bootstrap link created");
        Ok(secret)
    }

    /// Redeems a bootstrap token: `true` once for a token made by
    /// [`create_console_bootstrap`](Self::create_console_bootstrap) less than
    /// [`BOOTSTRAP_LIFETIME_MINUTES`] ago, which is deleted; `false` for anything else (an
    /// expired one is deleted too). Of two redemptions at once, one wins.
    ///
    /// # Errors
    /// A store error.
    pub async fn redeem_console_bootstrap(&self, presented: &str) -> Result<bool, Error> {
        if !presented.starts_with(PREFIX) {
            return Ok(false);
        }
        let Some(record) = self.store.api_token_by_hash(&hash(presented)).await? else {
            return Ok(false);
        };
        if !record.name.starts_with(BOOTSTRAP_NAME_PREFIX) {
            return Ok(false);
        }
        // Deleting it is what makes it single-use: of two redemptions, one deletes it.
        match self.store.revoke_api_token(&record.name).await {
            Ok(_) => {}
            Err(dirsync_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        let age = self.clock.now() - record.created_at;
        let fresh = age < chrono::Duration::minutes(BOOTSTRAP_LIFETIME_MINUTES);
        tracing::info!(token = %record.name, fresh, "console bootstrap link redeemed");
        Ok(fresh)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use dirsync_store::InMemoryStore;

    use super::*;

    #[tokio::test]
    async fn a_bootstrap_token_is_redeemed_once_and_is_no_api_token() {
        let service = Service::new(Arc::new(InMemoryStore::new()), crate::Registry::new());
        let token = service.create_console_bootstrap().await.unwrap();
        let token = token.expose_secret().to_owned();
        assert!(token.starts_with("dsb_"), "{token}");
        assert_eq!(service.authenticate(&token).await.unwrap(), None);
        assert!(
            !service
                .redeem_console_bootstrap("dsb_nonsense")
                .await
                .unwrap()
        );
        assert!(service.redeem_console_bootstrap(&token).await.unwrap());
        assert!(!service.redeem_console_bootstrap(&token).await.unwrap());
        assert!(service.api_tokens().await.unwrap().is_empty());
        // An API token is not a bootstrap token, even with its prefix swapped.
        let api = service.create_api_token("ci", false).await.unwrap();
        let swapped = api.secret.expose_secret().replacen("dst_", "dsb_", 1);
        assert!(!service.redeem_console_bootstrap(&swapped).await.unwrap());
    }

    #[tokio::test]
    async fn a_stale_bootstrap_token_is_refused_and_deleted() {
        let store = Arc::new(InMemoryStore::new());
        let made = Service::new(store.clone(), crate::Registry::new());
        let token = made.create_console_bootstrap().await.unwrap();
        let later = chrono::Utc::now() + chrono::Duration::minutes(BOOTSTRAP_LIFETIME_MINUTES + 1);
        let redeemer =
            Service::new(store, crate::Registry::new()).with_clock(Arc::new(move || later));
        assert!(
            !redeemer
                .redeem_console_bootstrap(token.expose_secret())
                .await
                .unwrap()
        );
        assert!(redeemer.api_tokens().await.unwrap().is_empty());
    }
}
