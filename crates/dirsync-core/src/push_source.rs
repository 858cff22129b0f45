//! A source that pushes: a connector's way to open and stop a notification channel and to
//! re-read one user a notification named (the notification itself is never trusted), and,
//! for what it cannot push, to read its activity log and re-read the groups named there.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::{Activity, Authorization, ChannelToken, Error, ExternalId, GroupRead, RemoteUser};

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

    /// Whether this source, as `authorization` allows, can tell group and membership changes
    /// by [`read_activities`](Self::read_activities) (Google: the optional Reports API scope
    /// was granted). When not, push covers users only. No by default.
    fn polls_activities(&self, authorization: &Authorization) -> bool {
        let _ = authorization;
        false
    }

    /// The activities naming groups between `start` and `end` (both included), in any order,
    /// possibly with repeats.
    ///
    /// # Errors
    /// The connector's errors; by default, that the source cannot.
    async fn read_activities(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Activity>, Error> {
        let _ = (start, end);
        Err(unsupported("read activities"))
    }

    /// Re-reads one group (by the key an activity named it by) with all its members.
    ///
    /// # Errors
    /// The connector's errors; by default, that the source cannot.
    async fn read_group(&self, key: &str) -> Result<GroupRead, Error> {
        let _ = key;
        Err(unsupported("re-read one group"))
    }
}

fn unsupported(what: &str) -> Error {
    Error::InvalidValue {
        kind: "push source",
        value: String::new(),
        reason: format!("this source cannot {what}"),
    }
}
