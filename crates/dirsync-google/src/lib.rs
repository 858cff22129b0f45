//! # dirsync-google
//!
//! The Google Workspace Admin SDK Directory API connector of directory-sync. [`GoogleKind`]
//! registers the system `google_workspace` in a connector registry ([`GoogleSettings`], the
//! [`scopes`] an admin grants, a connector per integration). The connector implements
//! [`DirectorySource`] (reading, for every integration) and [`DirectoryTarget`] (writing group
//! members, for outbound integrations):
//!
//! - [`validate_access`](DirectorySource::validate_access) asks the key's token endpoint for a
//!   token **per required scope** with its own JWT-bearer exchange, so the endpoint's OAuth
//!   error is read: `unauthorized_client` names a missing scope, `invalid_grant` and friends are
//!   a bad subject or key ([`AccessDenied::Unauthorized`]). It then calls each granted
//!   API once (`maxResults=1`).
//! - [`fetch`](DirectorySource::fetch) reads org units (`type=all`, unpaginated), users (500 a
//!   page, `fields=` partial responses, gzip) and a second `showDeleted=true` listing, groups
//!   (200) and members (200) of many groups concurrently, skipping groups whose
//!   `directMembersCount` is `"0"`. Every page chain is followed to its end into a
//!   [`SnapshotBuilder`](dirsync_core::SnapshotBuilder): the result is a complete
//!   [`Snapshot`](dirsync_core::Snapshot) or an error, never a partial snapshot. A short
//!   group allow-list (an outbound integration's managed groups) is read with one `groups.get`
//!   per group instead of listing the tenant's groups, and only those groups' members are listed.
//! - [`apply`](DirectoryTarget::apply) writes [`RemoteChanges`] with `members.insert`
//!   (`POST …/groups/{groupKey}/members`, `{"email", "role"}`), `members.patch` (a member's
//!   role: `PATCH …/members/{memberKey}`, `{"role"}`) and `members.delete`
//!   (`DELETE …/groups/{groupKey}/members/{memberKey}`), idempotently; it declares exactly these
//!   ([`supported_operations`](DirectoryTarget::supported_operations)), so a plan needing
//!   another operation is refused before anything is written. Writes are idempotent: 409 `duplicate` and a
//!   404 naming `memberKey` are [`AlreadyDone`](dirsync_core::RemoteOpOutcome::AlreadyDone),
//!   a 404 naming `groupKey` is that operation's
//!   [`Failed`](dirsync_core::RemoteOpOutcome::Failed). Operations on one (group, member) keep
//!   their order; others run concurrently. A configuration failure (scope not granted, 403
//!   `forbidden`, credentials refused) stops the apply with an error before or instead of
//!   writing; any other failure after retries fails only its operation. The report carries one
//!   outcome per operation, in order, and the write figures (requests by route, retries).
//! - Retries are decided by Google's error `reason` and status ([`retry::decide`]); a
//!   client-side [`pacer`] keeps the subject under its per-minute quota; a 401 drops the cached
//!   token and retries once. Records that cannot be mapped are quarantined, not dropped.
//!
//! Auth goes through `gcp_auth::CustomServiceAccount` with domain-wide delegation, behind our
//! [`TokenSource`] trait; tests and emulators use [`StaticTokenSource`]. Or, with
//! [`Credential::OAuth`], by an admin's consent ([`oauth`]: authorization code with PKCE, the
//! id_token verified against Google's JWKS, the refresh token kept in the
//! [`SecretStore`](dirsync_core::SecretStore) and refreshed by
//! [`RefreshTokenSource`](oauth::RefreshTokenSource)). No token, key or JWT appears in any
//! error, log line or `Debug` output.
//!
//! ```
//! use std::sync::Arc;
//! use dirsync_core::{
//!     DirectionKind, DirectorySource, DirectoryTarget, Email, FetchRequest, ObjectKind,
//!     ObjectKinds, ScopeFilter,
//! };
//! use dirsync_google::{GoogleConnector, RetryConfig, StaticTokenSource, required_scopes};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let connector = Arc::new(GoogleConnector::builder()
//!     .api_base("http://127.0.0.1:8080") // an emulator; plain http only on loopback
//!     .subject(Email::new("admin@example.com")?)
//!     .token_source(Arc::new(StaticTokenSource::new(["test-token"])))
//!     .concurrency(4)
//!     .requests_per_minute(2_400)
//!     .retry(RetryConfig::default())
//!     .build()?);
//! let source: Arc<dyn DirectorySource> = connector.clone();
//! let _request = FetchRequest::new(ObjectKinds::all(), ScopeFilter::everything());
//! // source.fetch(&_request, &dirsync_core::NoProgress).await? → a complete snapshot.
//!
//! // An outbound integration: its scopes, and the same connector as a target.
//! let scopes = required_scopes(DirectionKind::Outbound, [ObjectKind::Memberships]);
//! assert_eq!(scopes.len(), 2); // group.readonly (reads) + group.member (writes)
//! let kinds = [ObjectKind::Groups, ObjectKind::Memberships];
//! let scopes = required_scopes(DirectionKind::Outbound, kinds);
//! assert_eq!(scopes.len(), 3); // and group (provisioning groups)
//! let _target: Arc<dyn DirectoryTarget> = connector;
//! // _target.apply(&changes).await? → one outcome per operation, in order.
//!
//! // Plain http to anything but loopback is refused:
//! assert!(GoogleConnector::builder()
//!     .api_base("http://admin.googleapis.com")
//!     .subject(Email::new("admin@example.com")?)
//!     .token_source(Arc::new(StaticTokenSource::new(["t"])))
//!     .build()
//!     .is_err());
//! # Ok(()) }
//! ```
//!
//! ## Choices worth knowing
//!
//! - **Tokens per scope.** Every API call asks its [`TokenSource`] for a token of exactly one
//!   scope (users → `user.readonly`, groups and members → `group.readonly`, org units →
//!   `orgunit.readonly`, member writes → `group.member`), so a missing grant for one API cannot
//!   break the others, and gcp_auth's exact-scope-list cache has one canonical key per scope.
//! - **Outbound scopes.** An outbound integration needs `group.readonly` to read its managed
//!   groups (`group.member` authorizes `members.*` but not `groups.get`/`groups.list`, reference
//!   §0.13) and `group.member` to write; it needs no user or org-unit scope
//!   ([`required_scopes`]). Give the builder
//!   those [`scopes`](GoogleConnectorBuilder::scopes): `validate_access` checks exactly them,
//!   and proves `group.member` without writing, by listing one member of one group with it.
//! - **Writes are retried like reads** (same [`retry::decide`], pacer and concurrency bound),
//!   which is safe because they are idempotent. An insert or delete whose earlier attempt may
//!   have been applied unseen (a timeout, a dropped connection, a 502/504) and whose retry finds
//!   the change made is reported [`Done`](dirsync_core::RemoteOpOutcome::Done), not
//!   `AlreadyDone`: it was most likely ours. After an operation on a (group, member) fails, the
//!   later ones on the same pair are not attempted.
//! - **Path keys are percent-encoded** as Google's client libraries do (`@` → `%40`, `+` →
//!   `%2B`, `/` → `%2F`), so no server can read a `+` in an address as a space.
//! - **Rule scopes are applied client-side** over the full listings: users and org units outside
//!   the filter's subtree (`OrgUnitPath::is_within`) and groups not on the allow-list are left
//!   out. `query=orgUnitPath='/X'` is not sent: its subtree semantics are not in the contract, and
//!   a wrong server-side filter would look like mass deletion. In an org-unit-scoped rule a user
//!   without `orgUnitPath` is quarantined (counted present), never dropped.
//! - **Members are listed by group id** (`/groups/{id}/members`), not by email: ids are immutable
//!   while a fetch runs.
//! - **Deleted users** come from a second `showDeleted=true` listing, so a deletion is positive
//!   evidence; they are kept when their org unit is in scope or unknown.
//! - **403 `forbidden`/`accessNotConfigured`/`domainCannotUseApis`** convert to
//!   [`AccessDenied::Unauthorized`] (a configuration error), **403
//!   `insufficientPermissions`** to [`AccessDenied::MissingScopes`] naming the scope the
//!   call used; other HTTP failures to [`dirsync_core::Error::Remote`] with route, status,
//!   reason and whether they were transient.
//! - The [`pacer`] spaces request starts evenly, 2 % under `N` a minute, for the whole connector
//!   (one subject; exact spacing let one start too many into a sliding minute);
//!   the concurrency bound caps requests in flight, across all page chains. It adapts: an
//!   answer that says Google is shedding load or rate limiting (429, 503, 403 with a rate-limit
//!   reason) halves it, once a round, and it climbs back by one for every round of answers
//!   without one, never past the configured concurrency.
//!
//! With a real key: `.key_file("key.json")` (or `.key_json(ServiceAccountKey::new(json))`) instead
//! of `.token_source(..)`, and the default `api_base`.
//!
//! [`AccessDenied::Unauthorized`]: dirsync_core::AccessDenied::Unauthorized
//! [`AccessDenied::MissingScopes`]: dirsync_core::AccessDenied::MissingScopes

#![warn(missing_docs)]

mod access;
pub mod auth;
pub mod builder;
mod client;
pub mod config;
mod counters;
pub mod error;
mod fetch;
#[cfg(test)]
mod hostile_tests;
mod kind;
mod limit;
mod mapping;
mod member_queue;
pub mod oauth;
pub mod pacer;
mod push;
mod reports;
pub mod retry;
pub mod settings;
mod wire;
mod write;
mod write_groups;
mod write_users;

use std::collections::BTreeSet;
use std::fmt;

use async_trait::async_trait;
use dirsync_core::{
    AccessReport, DirectorySource, DirectoryTarget, Email, FetchProgress, FetchRequest, Fetched,
    KeyOwnership, RemoteApplyReport, RemoteChanges, Scope,
};
use url::Url;

pub use auth::{GcpAuthTokenSource, KeyInfo, ScopeCheck, StaticTokenSource, TokenSource};
pub use builder::{DEFAULT_API_BASE, DEFAULT_MAX_RESPONSE_BYTES, GoogleConnectorBuilder};
pub use config::{EmploymentTypeSource, MappingConfig, RetryConfig};
pub use dirsync_core;
pub use error::Error;
pub use kind::GoogleKind;
pub use retry::Decision;
pub use settings::{
    Credential, GoogleSettings, KeyReference, OAuthSettings, SYSTEM, ServiceAccountKey,
    required_scopes, scopes,
};

use client::Client;

/// The Google Workspace Directory connector for one integration (one customer, one delegated
/// subject). Build it with [`GoogleConnector::builder`]; share it as
/// `Arc<dyn DirectorySource>`.
pub struct GoogleConnector {
    client: Client,
    api_base: Url,
    customer: String,
    domain: Option<String>,
    subject: Email,
    key: Option<KeyInfo>,
    /// The token source built from `key`, when the tokens come from it.
    key_tokens: Option<std::sync::Arc<auth::GcpAuthTokenSource>>,
    consent: Option<std::sync::Arc<oauth::RefreshTokenSource>>,
    ownership: KeyOwnership,
    scopes: BTreeSet<Scope>,
    mapping: MappingConfig,
    concurrency: usize,
}

impl fmt::Debug for GoogleConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleConnector")
            .field("api_base", &self.api_base.as_str())
            .field("customer", &self.customer)
            .field("domain", &self.domain)
            .field("subject", &self.subject)
            .field("client_email", &self.key.as_ref().map(|k| &k.client_email))
            .field("ownership", &self.ownership)
            .field("scopes", &self.scopes)
            .field("concurrency", &self.concurrency)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl GoogleConnector {
    /// A builder with the defaults.
    pub fn builder() -> GoogleConnectorBuilder {
        GoogleConnectorBuilder::new()
    }

    /// The API base URL.
    pub fn api_base(&self) -> &Url {
        &self.api_base
    }

    /// The customer.
    pub fn customer(&self) -> &str {
        &self.customer
    }

    /// The one domain users and groups are listed from, if the integration is limited to one.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// What users.list and groups.list are asked for: `domain=D` when limited to a domain,
    /// else `customer=C` (Google takes one or the other).
    pub(crate) fn listing_scope(&self) -> (&'static str, &str) {
        match &self.domain {
            Some(domain) => ("domain", domain),
            None => ("customer", &self.customer),
        }
    }

    /// Whether this connector reads users as an inbound source (the one that may push, and
    /// poll the Reports API when granted).
    fn pushes(&self) -> bool {
        self.scopes
            .iter()
            .any(|s| s.as_str() == scopes::USER_READONLY)
    }

    /// The delegated subject.
    pub fn subject(&self) -> &Email {
        &self.subject
    }

    /// Who owns the service account.
    pub fn ownership(&self) -> KeyOwnership {
        self.ownership
    }

    /// The service account's email, when a key was given.
    pub fn client_email(&self) -> Option<&Email> {
        self.key.as_ref().map(|k| &k.client_email)
    }

    /// The scopes [`validate_access`](DirectorySource::validate_access) checks.
    pub fn scopes(&self) -> &BTreeSet<Scope> {
        &self.scopes
    }
}

#[async_trait]
impl DirectoryTarget for GoogleConnector {
    async fn apply(
        &self,
        changes: &RemoteChanges,
    ) -> Result<RemoteApplyReport, dirsync_core::Error> {
        Ok(self.apply_changes(changes).await?)
    }

    fn supported_operations(&self) -> dirsync_core::RemoteOpKinds {
        write::supported_operations()
    }
}

#[async_trait]
impl DirectorySource for GoogleConnector {
    async fn validate_access(&self) -> Result<AccessReport, dirsync_core::Error> {
        Ok(self.check_access().await?)
    }

    async fn fetch(
        &self,
        request: &FetchRequest,
        progress: &dyn FetchProgress,
    ) -> Result<Fetched, dirsync_core::Error> {
        Ok(self.fetch_snapshot(request, progress).await?)
    }
}

/// The README's example, compiled as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
