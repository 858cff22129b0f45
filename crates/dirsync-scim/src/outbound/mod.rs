//! The outbound SCIM client ([`ScimClient`]): provisions the directory's users, groups and
//! memberships into an application's SCIM 2.0 endpoint (RFC 7644). It is both sides of an
//! outbound integration's connection:
//!
//! - as a [`DirectorySource`](dirsync_core::DirectorySource) it reads a complete snapshot of
//!   the application's users and groups (with their members) by paging `startIndex`/`count`
//!   until `totalResults`; a page that fails after retries fails the fetch, so nothing is ever
//!   deleted from a partial listing. The application has no org units: a snapshot never holds
//!   any, and the planner then places every account in the root.
//! - as a [`DirectoryTarget`](dirsync_core::DirectoryTarget) it applies the engine's plan:
//!   `POST /Users` (create), `PATCH /Users/{id}` (an RFC 7644 `PatchOp`: profile replace,
//!   `active` false/true), `DELETE /Users/{id}`; `POST`/`PATCH`/`DELETE /Groups` and member
//!   `add`/`remove` PATCHes (consecutive additions to one group in one PATCH, up to 500).
//!
//! Ownership is the [`ProvisioningMarker`](dirsync_core::ProvisioningMarker) written as the
//! account's `externalId` (`created:<integration>:<directory user id>`) by the create itself.
//! A create whose answer was lost (a 5xx or a dropped connection after the application stored
//! it) is recognised before it is sent again: the client asks `filter=externalId eq "…"`, and
//! a `409 uniqueness` answer is resolved the same way, so a retry never makes a duplicate.
//!
//! 429 and 5xx answers and dropped connections are retried, waiting what `Retry-After` says
//! (capped at [`ClientConfig::max_wait`]) or backing off exponentially; a pacer spaces request
//! starts ([`ScimEndpoint::requests_per_minute`](crate::ScimEndpoint::requests_per_minute)).
//! The bearer token is a [`Secret`]: never in a log line, an error or `Debug`.

mod http;
mod pacer;
mod read;
mod wire;
mod write;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use dirsync_core::{
    Error as CoreError, FetchStats, IntegrationId, RemoteOpKind, RemoteOpKinds, Secret,
};

use crate::ScimEndpoint;
use crate::error::Error;
use http::Http;

/// The pace of an endpoint whose settings name none: 6,000 requests a minute (100 a second).
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 6_000;

/// How an outbound client pages, retries and waits. Start from [`ClientConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Resources asked for per listing page (`count`).
    pub page_size: u32,
    /// Tries of one request before it fails (the first included).
    pub attempts: u32,
    /// The first backoff when the answer has no `Retry-After` (doubled each try).
    pub backoff: Duration,
    /// The longest wait before a retry, whatever `Retry-After` asks.
    pub max_wait: Duration,
    /// A request's timeout.
    pub timeout: Duration,
}

impl Default for ClientConfig {
    /// Pages of 200, 6 tries, backoff from 250 ms, waits capped at 30 s, 30 s timeouts.
    fn default() -> Self {
        Self {
            page_size: 200,
            attempts: 6,
            backoff: Duration::from_millis(250),
            max_wait: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
        }
    }
}

impl ClientConfig {
    /// Listing pages of `n` resources.
    #[must_use]
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Retry waits of at most `max` (and a first backoff of at most that).
    #[must_use]
    pub fn with_max_wait(mut self, max: Duration) -> Self {
        self.max_wait = max;
        self.backoff = self.backoff.min(max);
        self
    }

    /// `n` tries per request (at least one).
    #[must_use]
    pub fn with_attempts(mut self, n: u32) -> Self {
        self.attempts = n.max(1);
        self
    }
}

/// The operations an outbound SCIM client applies: users (create, update, suspend as
/// `active=false`, reactivate, delete), groups (create, update, delete) and members (insert,
/// delete). SCIM has no member roles and no org units.
pub fn supported_operations() -> RemoteOpKinds {
    RemoteOpKinds::new([
        RemoteOpKind::InsertMember,
        RemoteOpKind::DeleteMember,
        RemoteOpKind::CreateUser,
        RemoteOpKind::UpdateUser,
        RemoteOpKind::SuspendUser,
        RemoteOpKind::ReactivateUser,
        RemoteOpKind::DeleteUser,
        RemoteOpKind::CreateGroup,
        RemoteOpKind::UpdateGroup,
        RemoteOpKind::DeleteGroup,
    ])
}

/// Checks an endpoint's settings: an `http` or `https` base URL and a secret name.
///
/// # Errors
/// [`CoreError::InvalidValue`] naming what is wrong.
pub(crate) fn check_endpoint(endpoint: &ScimEndpoint) -> Result<(), CoreError> {
    let invalid = |kind: &'static str, value: &str, reason: &str| CoreError::InvalidValue {
        kind,
        value: value.chars().take(80).collect(),
        reason: reason.to_owned(),
    };
    let url = reqwest::Url::parse(&endpoint.base_url)
        .map_err(|e| invalid("SCIM base URL", &endpoint.base_url, &e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            "SCIM base URL",
            &endpoint.base_url,
            "must be an http(s) URL with a host",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(invalid(
            "SCIM base URL",
            "",
            "must not carry credentials or a query (the token is a secret of its own)",
        ));
    }
    if endpoint.token_secret.trim().is_empty() {
        return Err(invalid("SCIM token secret", "", "must name a secret"));
    }
    Ok(())
}

/// An outbound SCIM integration's client: reads snapshots of the application and applies
/// plans to it (see the [module documentation](self)). Made by the connector kind's `connect`,
/// or with [`ScimClient::new`].
#[derive(Debug)]
pub struct ScimClient {
    http: Http,
    integration: IntegrationId,
    page_size: u32,
    /// The application's user and group ids by email key (a group's is its `externalId`),
    /// from the last snapshot and the writes since (member PATCHes name users and groups by
    /// id, the plan by email).
    ids: Mutex<HashMap<String, String>>,
    /// Whether `ids` holds a complete snapshot (then a user or group it lacks is not in the
    /// application, and no lookup is needed).
    indexed: std::sync::atomic::AtomicBool,
}

impl ScimClient {
    /// A client of `endpoint` presenting `token`, for the outbound integration `integration`.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a base URL that does not parse; [`Error::Internal`] when no
    /// HTTP client can be built.
    pub fn new(
        endpoint: &ScimEndpoint,
        token: Secret,
        integration: IntegrationId,
        config: ClientConfig,
    ) -> Result<Self, Error> {
        check_endpoint(endpoint).map_err(|e| Error::InvalidValue(e.to_string()))?;
        let per_minute = endpoint
            .requests_per_minute
            .unwrap_or(DEFAULT_REQUESTS_PER_MINUTE);
        Ok(Self {
            page_size: config.page_size,
            http: Http::new(&endpoint.base_url, token, per_minute, config)?,
            integration,
            ids: Mutex::new(HashMap::new()),
            indexed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The figures of the requests sent since the last call, and a fresh count from here.
    fn take_stats(&self) -> FetchStats {
        self.http.take_stats()
    }

    fn remember(&self, email_key: String, id: String) {
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(email_key, id);
    }

    /// The account `id` is now known by `email_key` alone.
    fn rename(&self, email_key: String, id: &str) {
        let mut ids = self
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ids.retain(|_, v| v != id);
        ids.insert(email_key, id.to_owned());
    }

    fn known_id(&self, email_key: &str) -> Option<String> {
        self.ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(email_key)
            .cloned()
    }
}

#[cfg(test)]
mod tests;
