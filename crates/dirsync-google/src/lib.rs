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
//!   the concurrency bound caps requests in flight, across all page chains.
//!
//! With a real key: `.key_file("key.json")` (or `.key_json(ServiceAccountKey::new(json))`) instead
//! of `.token_source(..)`, and the default `api_base`.

#![warn(missing_docs)]

pub mod auth;
pub mod builder;
mod client;
pub mod config;
pub mod error;
mod fetch;
#[cfg(test)]
mod hostile_tests;
mod kind;
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
    AccessCheck, AccessDenied, AccessReport, AuthorizationMethod, DirectorySource, DirectoryTarget,
    Email, FetchProgress, FetchRequest, Fetched, KeyOwnership, RemoteApplyReport, RemoteChanges,
    Scope,
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

use client::{ApiRequest, Client, Counters};

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

/// `report` with the optional Reports scope among its granted scopes when `granted` (push
/// then covers groups and memberships by polling); nothing is said when it is not (push covers
/// users only, and activation does not fail for it).
fn with_reports(mut report: AccessReport, reports: Scope, granted: bool) -> AccessReport {
    if granted && report.all_passed() {
        report.checks.push(AccessCheck::scope(reports, true));
    }
    report
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

    /// Per-scope token requests (a consent: the scopes its token grants), then one small
    /// call per granted API.
    async fn check_access(&self) -> Result<AccessReport, Error> {
        let mut granted = BTreeSet::new();
        let mut missing = BTreeSet::new();
        if let Some(consent) = &self.consent {
            let scopes = consent.granted_scopes().await?;
            for scope in &self.scopes {
                if scopes.contains(scope) {
                    granted.insert(scope.clone());
                } else {
                    missing.insert(scope.clone());
                }
            }
            let readable = scopes.contains(&Scope::new(scopes::DOMAIN_READONLY)?);
            let reports = Scope::new(scopes::REPORTS_AUDIT_READONLY)?;
            let polls = self.pushes() && scopes.contains(&reports);
            let checked = self.probe_in_domain(granted, missing, readable).await.map_err(|e| {
                if matches!(
                    e,
                    Error::Access(AccessDenied::Unauthorized { .. })
                        | Error::Http {
                            status: Some(403),
                            ..
                        }
                ) && e.is_configuration()
                {
                    Error::Access(AccessDenied::Unauthorized {
                        reason: format!(
                            "{} consented, but Google refuses them the Directory API ({e}): a Workspace admin must authorize the integration",
                            consent.consent().authorized_by
                        ),
                    })
                } else {
                    e
                }
            })?;
            return Ok(with_reports(checked, reports, polls)
                .with_subject(consent.consent().authorized_by.clone())
                .with_method(AuthorizationMethod::OAuth));
        }
        let key = self.key.as_ref().ok_or_else(|| Error::Config {
            reason: "validate_access needs the service-account key (key_json or key_file)".into(),
        })?;
        let sa = key.service_account(&self.subject)?;
        let domains = Scope::new(scopes::DOMAIN_READONLY)?;
        let reports = Scope::new(scopes::REPORTS_AUDIT_READONLY)?;
        // The first scope's token request alone (a wrong key or subject fails there, after one
        // request), then every other at once (each is a round trip to the token endpoint).
        // The answers are read in the scopes' order, as one request at a time would give them.
        // Through the connector's own token source when it has one: the tokens the check was
        // issued then serve the probes and the first sync instead of being asked again.
        let sa = &sa;
        let check = |scope| async move {
            match &self.key_tokens {
                Some(tokens) => tokens.check(scope).await,
                None => auth::check_scope(&self.client.http, sa, key, &self.subject, scope).await,
            }
        };
        let mut scopes = self.scopes.iter();
        let first = match scopes.next() {
            Some(scope) => Some(check(scope).await?),
            None => None,
        };
        let (rest, readable, polled) = futures::join!(
            futures::future::join_all(scopes.map(check)),
            check(&domains),
            check(&reports),
        );
        let checked = first.map(Ok).into_iter().chain(rest);
        for (scope, check) in self.scopes.iter().zip(checked) {
            match check? {
                ScopeCheck::Granted => {
                    granted.insert(scope.clone());
                }
                ScopeCheck::Missing { description } => {
                    tracing::warn!(scope = scope.as_str(), %description, "scope not granted");
                    missing.insert(scope.clone());
                }
            }
        }
        // Optional: whatever keeps them from being granted only leaves the domains unnamed,
        // or the groups unpolled.
        let readable = matches!(readable, Ok(ScopeCheck::Granted));
        let polled = matches!(polled, Ok(ScopeCheck::Granted));
        let polls = self.pushes() && polled;
        let report = self.probe_in_domain(granted, missing, readable).await?;
        Ok(with_reports(report, reports, polls)
            .with_subject(self.subject.clone())
            .with_client(key.client_id.clone(), key.client_email.clone())
            .with_ownership(self.ownership)
            .with_method(AuthorizationMethod::ServiceAccount))
    }

    /// [`probe`](Self::probe), and, when the grant allows reading the customer's domains
    /// (`readable`: the optional scope `admin.directory.domain.readonly`), a check that names
    /// them and, for an integration limited to a domain, one that it is among them (failed:
    /// naming the domains there are; the APIs are not probed with a domain that is not one).
    async fn probe_in_domain(
        &self,
        granted: BTreeSet<Scope>,
        missing: BTreeSet<Scope>,
        readable: bool,
    ) -> Result<AccessReport, Error> {
        if !readable {
            return self.probe(granted, missing).await;
        }
        let Some(chosen) = &self.domain else {
            // No domain to check first: the domains are read beside the probes.
            let (domains, report) = futures::join!(self.domains(), self.probe(granted, missing));
            let mut report = report?;
            if let Some(domains) = domains? {
                report.checks.push(AccessCheck::passed(format!(
                    "the customer's domains: {}",
                    domains.join(", ")
                )));
            }
            return Ok(report);
        };
        let Some(domains) = self.domains().await? else {
            return self.probe(granted, missing).await;
        };
        // Whether the chosen domain is one of them.
        let known = domains.contains(chosen);
        let mut report = if known {
            self.probe(granted, missing).await?
        } else {
            AccessReport::new(
                self.scopes
                    .iter()
                    .map(|s| AccessCheck::scope(s.clone(), granted.contains(s)))
                    .collect(),
            )
        };
        let list = domains.join(", ");
        report.checks.push(AccessCheck::passed(format!(
            "the customer's domains: {list}"
        )));
        report.checks.push(if known {
            AccessCheck::passed(format!("domain {chosen}"))
        } else {
            AccessCheck::failed(
                format!("domain {chosen}"),
                format!(
                    "it is not one of the customer's domains ({list}): choose one of them (google-integration:update --domain)"
                ),
            )
        });
        Ok(report)
    }

    /// The customer's domain names (`domains.list`), lower case; `None` when Google refuses
    /// them to this grant or does not answer (they are optional: nothing fails for that).
    async fn domains(&self) -> Result<Option<Vec<String>>, Error> {
        let scope = Scope::new(scopes::DOMAIN_READONLY)?;
        let req = ApiRequest::new(
            &self.api_base,
            fetch_routes::DOMAINS,
            &["customer", &self.customer, "domains"],
            &[("fields", "domains(domainName)")],
            &scope,
        )?;
        match self.client.get_json(&req, &Counters::default()).await {
            Ok(page) => Ok(Some(
                page.get("domains")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.get("domainName").and_then(serde_json::Value::as_str))
                    .map(str::to_ascii_lowercase)
                    .collect(),
            )),
            Err(e) => {
                tracing::info!(error = %e, "the customer's domains could not be read");
                Ok(None)
            }
        }
    }

    /// One small call per granted API; a scope the API refuses moves to `missing`.
    async fn probe(
        &self,
        mut granted: BTreeSet<Scope>,
        mut missing: BTreeSet<Scope>,
    ) -> Result<AccessReport, Error> {
        let counters = Counters::default();
        let customer = [self.listing_scope(), ("maxResults", "1")];
        let probes = [
            Probe {
                scope: scopes::USER_READONLY,
                route: fetch_routes::USERS,
                segments: vec!["users"],
                query: customer.to_vec(),
            },
            Probe {
                scope: scopes::GROUP_READONLY,
                route: fetch_routes::GROUPS,
                segments: vec!["groups"],
                query: customer.to_vec(),
            },
            Probe {
                scope: scopes::ORGUNIT_READONLY,
                route: fetch_routes::ORG_UNITS,
                segments: vec!["customer", self.customer.as_str(), "orgunits"],
                query: vec![("type", "children")],
            },
        ];
        let mut some_group = None;
        let mut requests = Vec::new();
        for Probe {
            scope,
            route,
            segments,
            query,
        } in probes
        {
            let scope = Scope::new(scope)?;
            if granted.contains(&scope) {
                requests.push(ApiRequest::new(
                    &self.api_base,
                    route,
                    &segments,
                    &query,
                    &scope,
                )?);
            }
        }
        // The probes at once; their answers read in order, as one at a time would give them.
        let answers = futures::future::join_all(
            requests
                .iter()
                .map(|req| self.client.get_json(req, &counters)),
        )
        .await;
        for (req, answer) in requests.iter().zip(answers) {
            let route = req.route;
            match answer {
                Ok(page) if route == fetch_routes::GROUPS => {
                    some_group = page
                        .pointer("/groups/0/id")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned);
                }
                Ok(_) => {}
                Err(Error::Access(AccessDenied::MissingScopes { scopes })) => {
                    for s in scopes {
                        granted.remove(&s);
                        missing.insert(s);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        // `group.member` (outbound writes) is proven without writing: it authorizes
        // `members.list`, so one group's first member is read with its token.
        let member_scope = Scope::new(scopes::GROUP_MEMBER)?;
        if let (true, Some(group)) = (granted.contains(&member_scope), some_group) {
            let req = ApiRequest::new(
                &self.api_base,
                fetch_routes::MEMBERS,
                &["groups", &group, "members"],
                &[("maxResults", "1")],
                &member_scope,
            )?;
            match self.client.get_json(&req, &counters).await {
                Ok(_) => {}
                Err(Error::Access(AccessDenied::MissingScopes { .. })) => {
                    granted.remove(&member_scope);
                    missing.insert(member_scope);
                }
                Err(e) => return Err(e),
            }
        }
        let checks = self
            .scopes
            .iter()
            .map(|scope| AccessCheck::scope(scope.clone(), granted.contains(scope)))
            .collect();
        Ok(AccessReport::new(checks))
    }
}

use fetch::routes as fetch_routes;

/// One small call that proves an API answers for a granted scope.
struct Probe<'a> {
    scope: &'static str,
    route: &'static str,
    segments: Vec<&'a str>,
    query: Vec<(&'a str, &'a str)>,
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
