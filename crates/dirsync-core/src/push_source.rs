//! A source that pushes: a connector's way to open and stop a notification channel and to
//! re-read one user a notification named (the notification itself is never trusted).

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::{ChannelToken, Error, ExternalId, RemoteUser};

/// What to open: our channel id, the address notifications go to, the token they carry back
/// (a secret) and the life asked for (the source may grant less).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChannelRequest {
    /// The channel's id (ours).
    pub id: String,
    /// Where notifications are sent (`https://…/hooks/google/<integration>`).
    pub address: String,
    /// What every notification carries back to prove its origin.
    pub token: ChannelToken,
    /// How long it should live.
    pub ttl: Duration,
}

impl ChannelRequest {
    /// A request to open channel `id` to `address` carrying `token`, for `ttl`.
    pub fn new(
        id: impl Into<String>,
        address: impl Into<String>,
        token: ChannelToken,
        ttl: Duration,
    ) -> Self {
        Self {
            id: id.into(),
            address: address.into(),
            token,
            ttl,
        }
    }
}

/// A channel the source opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenedChannel {
    /// The source's id of what is watched (needed to stop it).
    pub resource_id: String,
    /// When the source stops sending through it.
    pub expires_at: DateTime<Utc>,
}

impl OpenedChannel {
    /// A channel known to the source as `resource_id`, until `expires_at`.
    pub fn new(resource_id: impl Into<String>, expires_at: DateTime<Utc>) -> Self {
        Self {
            resource_id: resource_id.into(),
            expires_at,
        }
    }
}

/// One user as the source has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserRead {
    /// The user exists (active or suspended).
    Present(Box<RemoteUser>),
    /// The source confirms the user is deleted (or unknown to it).
    Deleted,
}

/// A source that can push changes (Google's `users.watch`). Object-safe: a
/// [`Connection`](crate::Connection) holds `Arc<dyn PushSource>`.
#[async_trait]
pub trait PushSource: Send + Sync + Debug {
    /// Opens a channel.
    ///
    /// # Errors
    /// The connector's errors (authorization, an address the source refuses, transport).
    async fn open_channel(&self, request: &ChannelRequest) -> Result<OpenedChannel, Error>;

    /// Stops a channel; a channel the source no longer knows is not an error.
    ///
    /// # Errors
    /// The connector's errors.
    async fn stop_channel(&self, id: &str, resource_id: &str) -> Result<(), Error>;

    /// Re-reads one user by its remote id.
    ///
    /// # Errors
    /// The connector's errors; an unparsable user.
    async fn read_user(&self, id: &ExternalId) -> Result<UserRead, Error>;
}
