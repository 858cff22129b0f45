//! Push channels: what a store keeps of a channel a source (Google's `users.watch`) sends change
//! notifications through.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::clip;
use crate::{Error, IntegrationId};

/// A push channel as stored: whose it is, the ids the source knows it by, when it expires, the
/// SHA-256 of its token (hex) — never the token, which goes to the source once, when the
/// channel is opened — and the last notification it brought.
///
/// An integration has one live channel; two while one replaces the other (the new one is
/// recorded before the old one is stopped, so that no notification falls between them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PushChannel {
    /// The integration it notifies.
    pub integration: IntegrationId,
    /// The channel's id (ours: chosen when it is opened; unique).
    pub id: String,
    /// The source's id of the watched resource (Google's `resourceId`; needed to stop it).
    pub resource_id: String,
    /// The lower-case hex SHA-256 of the channel's token.
    pub token_hash: String,
    /// Where the source sends notifications.
    pub address: String,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When the source stops sending through it.
    pub expires_at: DateTime<Utc>,
    /// When the last (verified) notification arrived, if one did.
    pub last_notification: Option<DateTime<Utc>>,
    /// The source's number of that notification (`X-Goog-Message-Number`).
    pub last_message: Option<u64>,
}

impl PushChannel {
    /// A channel record with no notification yet.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for an empty or longer than 200 characters id or resource id,
    /// or a token hash that is not 64 lower-case hex digits.
    pub fn new(
        integration: IntegrationId,
        id: impl Into<String>,
        resource_id: impl Into<String>,
        token_hash: impl Into<String>,
        address: impl Into<String>,
        opened_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Self, Error> {
        let id = checked("push channel id", id.into())?;
        let resource_id = checked("push channel resource id", resource_id.into())?;
        let token_hash = token_hash.into();
        if token_hash.len() != 64
            || !token_hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(Error::InvalidValue {
                kind: "push channel token hash",
                value: clip(&token_hash),
                reason: "must be 64 lower-case hex digits (a SHA-256)".to_owned(),
            });
        }
        Ok(Self {
            integration,
            id,
            resource_id,
            token_hash,
            address: address.into(),
            opened_at,
            expires_at,
            last_notification: None,
            last_message: None,
        })
    }

    /// Whether the source still sends through it at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

fn checked(kind: &'static str, value: String) -> Result<String, Error> {
    if value.is_empty() || value.chars().count() > 200 || value.chars().any(char::is_control) {
        return Err(Error::InvalidValue {
            kind,
            value: clip(&value),
            reason: "must be 1 to 200 characters, none a control character".to_owned(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_needs_ids_and_a_sha256() -> Result<(), Error> {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let integration = IntegrationId::random();
        let hash = "a".repeat(64);
        let ch = PushChannel::new(integration, "ch", "res", &hash, "https://x/h", at, at)?;
        assert!(!ch.is_live(at));
        assert!(PushChannel::new(integration, "", "res", &hash, "", at, at).is_err());
        assert!(PushChannel::new(integration, "ch", "", &hash, "", at, at).is_err());
        assert!(PushChannel::new(integration, "ch", "res", "A".repeat(64), "", at, at).is_err());
        Ok(())
    }
}
