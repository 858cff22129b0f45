//! # dirsync-google-emulator
//!
//! A stateful fake of the Google Workspace Admin SDK **Directory API** and its **OAuth token
//! endpoint**, served on `127.0.0.1` (never another interface), for directory-sync's examples,
//! end-to-end tests and benchmarks. It follows `reference/google-directory-api.md`: the same
//! paths, JSON shapes, page sizes, error envelope and token-endpoint errors as Google. Library
//! code never depends on it; it is a dev-dependency.
//!
//! ## Quick start
//!
//! ```
//! use dirsync_google_emulator::{Emulator, EmulatorConfig, TenantSpec};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), dirsync_google_emulator::Error> {
//! let emulator = Emulator::start(EmulatorConfig::new(TenantSpec::small(7))).await?;
//! // Point the connector at these:
//! let api_base = emulator.base_url();          // http://127.0.0.1:PORT
//! let key_json = emulator.service_account_key_json(); // token_uri = emulator.token_uri()
//! let subject = emulator.admin_subject();       // a super admin to impersonate
//! assert!(key_json.contains(&emulator.token_uri()));
//! assert!(api_base.starts_with("http://127.0.0.1:"));
//! assert_eq!(emulator.tenant().live_users().count(), 50);
//! assert!(subject.ends_with("@example.com"));
//! // Change the tenant while it runs; later listings see it.
//! let someone = emulator.tenant().users()[3].primary_email.clone();
//! emulator.suspend_user(&someone)?;
//! assert!(emulator.tenant().user(&someone).is_some_and(|u| u.suspended));
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## What is served
//!
//! | route | notes |
//! |---|---|
//! | `POST /token` | JWT-bearer grant (what gcp_auth's `CustomServiceAccount` sends) |
//! | `GET /admin/directory/v1/users` | `customer`/`domain`, `maxResults` 1..=500 (default 100), `pageToken`, `showDeleted`, `orderBy` (`email`, `givenName`, `familyName`), `sortOrder`, `query` (subset below) |
//! | `GET /admin/directory/v1/users/{userKey}` | id, primary email or alias |
//! | `GET /admin/directory/v1/groups` | `customer`/`domain`/`userKey`, `maxResults` 1..=200 (default 200), `pageToken`, `sortOrder` |
//! | `GET /admin/directory/v1/groups/{groupKey}` | |
//! | `GET/POST /admin/directory/v1/groups/{groupKey}/members` | list: `maxResults` 1..=200, `roles`, `includeDerivedMembership`; insert: `{"email"|"id", "role"}` |
//! | `GET/DELETE /admin/directory/v1/groups/{groupKey}/members/{memberKey}` | delete answers 204 |
//! | `GET /admin/directory/v1/groups/{groupKey}/hasMember/{memberKey}` | nested membership counts |
//! | `GET /admin/directory/v1/customer/{customerId}/orgunits` | `type=children` (default) / `all` / `allIncludingParent`, `orgUnitPath`; not paginated |
//! | `GET /admin/directory/v1/customer/{customerId}/orgunits/{+orgUnitPath}` | path without leading `/`, or `id:…` |
//! | `GET /admin/directory/v1/customers/{customerKey}` | `my_customer` or the id |
//! | `GET /admin/directory/v1/customer/{customerId}/domains` | `domains.list`: the primary domain and those added with [`Tenant::add_domain`] (scope `admin.directory.domain(.readonly)`) |
//! | `POST /admin/directory/v1/users/watch` | push channel: `customer`/`domain`, `event` filter; body `{id, type: "web_hook", address, token, params: {ttl}}` |
//! | `POST /admin/directory_v1/channels/stop` | `{id, resourceId}`; 204, or 404 for an unknown or stopped channel |
//!
//! Every API route takes `fields=` (partial responses: `a,b/c,d(e,f)` — comma lists, `/` paths and
//! `( )` sub-selections, applied element-wise to arrays; unknown names are dropped silently) and
//! `prettyPrint` (default `true`, like Google). Empty arrays are omitted, `directMembersCount`
//! is a string, `nextPageToken` is absent on the last page. Responses are gzip-compressed when
//! the client sends `Accept-Encoding: gzip`.
//!
//! `customer` accepts `my_customer` and the tenant's id (anything else: 403 `forbidden`).
//! `domain` (users.list, groups.list) accepts one of the customer's domains and lists only the
//! users or groups whose address is in it (another domain: 403 `forbidden`).
//! users.list without `customer` or `domain`: 400 `badRequest`. `query` subset (space-separated
//! terms, AND): `orgUnitPath='/X'` (that unit and everything below it), `isSuspended=true|false`,
//! `isAdmin=true|false`, `email='a@b'` (exact), `email:prefix*`; anything else is 400 `invalid`.
//! groups.list `query` is not supported (400 `invalid`). `showDeleted=true` lists **only** deleted
//! users (with `deletionTime`), as Google does.
//!
//! ## Pagination
//!
//! Page tokens are opaque (base64url of `v1`, a fingerprint of the listing's parameters, the page
//! index and the last sort key of the page). Pages continue *after the last key*, so objects added
//! or removed between pages neither shift nor duplicate the others. A token from another listing
//! (or garbage) is 400 `invalid` `Invalid Input: pageToken`. `maxResults` outside the range is
//! 400 `invalid` `Invalid value 'N'. Values must be within the range: [1, MAX]` (Google's ESF
//! wording; the discovery document gives the bounds). Users are sorted by lower-case primary email
//! (or the `orderBy` field, then email); groups by email; members by id.
//!
//! ## Push notifications
//!
//! `users.watch` answers the channel (`kind: api#channel`, `id`, `resourceId`, `resourceUri`,
//! `token`, `expiration` in epoch milliseconds as a string); its life is `params.ttl` seconds,
//! at most [`PushDelivery::max_ttl`] (6 hours, as observed; the default too). The address must
//! be https, or http on a loopback host (else 400 `push.webhookUrlNotHttps`); an id already in
//! use is 400 `push.channelIdNotUnique`. The channel is then sent a `sync` message (number 1),
//! and every later user change (through the API or [`RunningEmulator`]'s mutations) one message:
//! `add`, `update` or `delete`, a JSON body `{kind, id, etag, primaryEmail}`, and the headers
//! `X-Goog-Channel-ID`, `X-Goog-Channel-Token`, `X-Goog-Channel-Expiration` (RFC 1123),
//! `X-Goog-Message-Number`, `X-Goog-Resource-ID`, `X-Goog-Resource-URI` and
//! `X-Goog-Resource-State`. Delivery is asynchronous ([`PushDelivery`]: a delay, a drop rate,
//! retries on a non-2xx answer with a doubling backoff); nothing is sent once the channel
//! expired or was stopped. [`RunningEmulator::notifications`] tells what became of each.
//!
//! ## Tokens and authorization
//!
//! The token endpoint verifies the RS256 signature against the service account's public key, then
//! `aud` (the token URI or `https://oauth2.googleapis.com/token`), `iat`/`exp` (at most 3600 s apart,
//! ±300 s skew), `scope` and `sub`, and answers in the OAuth form
//! `{"error": …, "error_description": …}` (reference §2.3):
//!
//! | condition | status | `error` | `error_description` |
//! |---|---|---|---|
//! | `grant_type` not JWT-bearer | 400 | `unsupported_grant_type` | `Invalid grant_type: …` |
//! | no `assertion` | 400 | `invalid_request` | `Missing required parameter: assertion` |
//! | malformed JWT / not RS256 | 400 | `invalid_grant` | `Invalid JWT: …` |
//! | unknown `iss` | 400 | `invalid_grant` | `Invalid JWT: No valid verifier found for issuer.` |
//! | bad signature (wrong key) | 400 | `invalid_grant` | `Invalid JWT Signature.` |
//! | wrong `aud` | 400 | `invalid_grant` | `Invalid JWT: Failed audience check. …` |
//! | expired / too long-lived | 400 | `invalid_grant` | `Invalid JWT: Token must be a short-lived token (60 minutes) …` |
//! | empty `scope` | 400 | `invalid_scope` | `Empty or missing scope not allowed.` |
//! | a scope not delegated, or denied at runtime | 401 | `unauthorized_client` | [`UNAUTHORIZED_CLIENT_DESCRIPTION`] |
//! | `sub` denied at runtime | 401 | `unauthorized_client` | same |
//! | `sub` malformed | 400 | `invalid_grant` | `Not a valid email.` |
//! | `sub` not a live, unsuspended user | 400 | `invalid_grant` | `Invalid email or User ID` |
//!
//! Success: `{"access_token":"ya29.emu-…","expires_in":<lifetime>,"token_type":"Bearer"}`. Tokens
//! are random, remembered with subject, scopes and expiry. API calls then check, in order:
//! `Authorization: Bearer` missing → 401 `required` `Login Required.`; unknown, expired or revoked
//! → 401 `authError` `Invalid Credentials`; no scope of the method's column in reference §7 → 403
//! `insufficientPermissions`; no `sub`, or (by default) a `sub` that is not a super admin → 403
//! `forbidden` `Not Authorized to access this resource/api`; then quota and injected faults.
//!
//! ## Injection ([`Faults`], settable while running)
//!
//! Latency before every request; a transient error rate (seeded: 503 `backendError`, 429
//! `rateLimitExceeded`, 403 `userRateLimitExceeded`); failing pages by route and page index; a
//! per-subject quota over a **sliding 60-second window** (refused requests are not counted;
//! [`RunningEmulator::set_quota`] shortens the window for tests) answered with 403
//! `userRateLimitExceeded`; a bound on requests in flight, past which a front end sheds load
//! with 503 `backendError` ([`Faults::max_in_flight`]); token revocation and runtime denial of
//! scopes and subjects. Writes (`members.insert`/`patch`/`delete`) get all of these too, plus
//! their own: every write to a group failing ([`FailingGroup`]) and the N-th write failing once
//! ([`Faults::failing_writes`]). [`Stats`] counts requests by route, in-flight maximum, tokens
//! issued, injected errors, refusals (quota, load), and the members actually inserted, patched
//! and deleted.
//!
//! Writes behave as Google's (reference §0.15, §4.2): inserting an existing member is 409
//! `duplicate` `Member already exists.`; deleting a non-member is 404 `notFound`
//! `Resource Not Found: memberKey`, and any of them on a missing group is 404 `notFound`
//! `Resource Not Found: groupKey`. `members.patch` sets a member's role (`{"role": …}`) and
//! answers the member; patching a non-member is 404 `memberKey`. All need
//! `admin.directory.group.member` or `admin.directory.group`; `group.member` alone reads members
//! but not `groups.list`/`get`.

#![warn(missing_docs)]

mod auth;
mod consent;
mod error;
mod faults;
mod push;
mod render;
mod rng;
mod server;
mod tenant;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub use auth::{
    DEFAULT_GRANTED_SCOPES, JWT_BEARER_GRANT, OTHER_TEST_PRIVATE_KEY_PEM, SCOPE_PREFIX,
    ServiceAccount, TEST_PRIVATE_KEY_PEM, UNAUTHORIZED_CLIENT_DESCRIPTION, sign_jwt,
};
pub use consent::{ID_TOKEN_KID, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET};
pub use error::Error;
pub use faults::{
    DELETE_GROUP_ROUTE, DELETE_MEMBER_ROUTE, DELETE_USER_ROUTE, FailingGroup, FailingPage, Faults,
    INSERT_GROUP_ROUTE, INSERT_MEMBER_ROUTE, INSERT_ORG_UNIT_ROUTE, INSERT_USER_ROUTE,
    PATCH_GROUP_ROUTE, PATCH_MEMBER_ROUTE, PATCH_USER_ROUTE, Stats, TOKEN_HANG, TokenFault,
    TokenFaults,
};
pub use push::{Notification, Outcome, PushDelivery, WatchChannel};
pub use tenant::{
    EmploymentType, Group, GroupActivity, GroupEvent, MemberType, Membership, NewUser, OrgUnit,
    Role, Tenant, TenantSpec, User, UserPatch,
};

use server::{Shared, lock, read, write};

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The initial tenant.
    pub tenant: Tenant,
    /// Accounts the token endpoint accepts; the first is the one
    /// [`RunningEmulator::service_account_key_json`] returns. Default: [`ServiceAccount::test_default`].
    pub service_accounts: Vec<ServiceAccount>,
    /// `expires_in` of issued tokens (default 3599 s, as Google).
    pub token_lifetime: Duration,
    /// Initial faults (default: none).
    pub faults: Faults,
    /// Refuse API calls (403 `forbidden`) whose token subject is not an active super admin (default true).
    pub require_admin_subject: bool,
    /// How push notifications are delivered (default: at once, no drops, 5 attempts).
    pub push: PushDelivery,
    /// How long a group activity takes to show in the Reports API (default: none).
    pub reports_lag: Duration,
}

impl EmulatorConfig {
    /// A config with a tenant generated from `spec` and the defaults otherwise.
    pub fn new(spec: TenantSpec) -> Self {
        Self::with_tenant(Tenant::generate(&spec))
    }

    /// A config serving `tenant`.
    pub fn with_tenant(tenant: Tenant) -> Self {
        Self {
            tenant,
            service_accounts: vec![ServiceAccount::test_default()],
            token_lifetime: Duration::from_secs(3599),
            faults: Faults::default(),
            require_admin_subject: true,
            push: PushDelivery::default(),
            reports_lag: Duration::ZERO,
        }
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self::new(TenantSpec::default())
    }
}

/// Entry point: [`Emulator::start`].
#[derive(Debug, Clone, Copy)]
pub struct Emulator;

impl Emulator {
    /// Binds `127.0.0.1:0`, starts serving in a tokio task and returns its handle.
    ///
    /// Errors: [`Error::InvalidKey`] for an unparsable account key, [`Error::Io`] if binding fails.
    pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, Error> {
        let first_account = config
            .service_accounts
            .first()
            .map(|a| a.client_email.clone());
        let auth = auth::AuthState::new(&config.service_accounts, config.token_lifetime)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let token_uri = format!("http://{addr}/token");
        let mut tenant = config.tenant;
        // Changes made before the start are the initial state, not events to notify.
        drop(tenant.take_user_events());
        tenant.clear_group_activities();
        let shared = Arc::new(Shared {
            tenant: RwLock::new(server::TenantState::new(tenant)),
            auth: Mutex::new(auth),
            faults: Mutex::new(faults::FaultState::new(config.faults)),
            stats: Mutex::new(Stats::default()),
            in_flight: AtomicU64::new(0),
            token_uri,
            require_admin_subject: config.require_admin_subject,
            watch: Mutex::new(server::watch::WatchState::new(config.push)),
            reports_lag: Mutex::new(server::ReportsLag(config.reports_lag)),
            base_url: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .map_err(|e| Error::Io(std::io::Error::other(e)))?,
            runtime: tokio::runtime::Handle::current(),
        });
        let app = server::app(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "dirsync-google-emulator server stopped with an error");
            }
        });
        Ok(RunningEmulator {
            addr,
            shared,
            first_account,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// A running emulator. Stops when [`shutdown`](Self::shutdown) is awaited or when dropped.
pub struct RunningEmulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    first_account: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningEmulator {
    /// The bound address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` — the connector's `api_base`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/token` — the key file's `token_uri`.
    pub fn token_uri(&self) -> String {
        self.shared.token_uri.clone()
    }

    /// The Google-format key JSON of the first configured service account.
    pub fn service_account_key_json(&self) -> String {
        let auth = lock(&self.shared.auth);
        let first = self
            .first_account
            .as_deref()
            .and_then(|e| auth.account(e))
            .or_else(|| auth.first_account())
            .cloned()
            .unwrap_or_else(ServiceAccount::test_default);
        first.key_json(&self.shared.token_uri)
    }

    /// The key JSON of a configured account by `client_email`.
    pub fn service_account_key_json_for(&self, client_email: &str) -> Result<String, Error> {
        lock(&self.shared.auth)
            .account(client_email)
            .map(|a| a.key_json(&self.shared.token_uri))
            .ok_or_else(|| Error::NotFound(format!("service account {client_email}")))
    }

    /// The email of an active super admin (the subject to impersonate); empty if none.
    pub fn admin_subject(&self) -> String {
        read(&self.shared.tenant)
            .admin_email()
            .unwrap_or_default()
            .to_owned()
    }

    /// A copy of the tenant as it is now (compare fetched snapshots with it).
    pub fn tenant(&self) -> Tenant {
        read(&self.shared.tenant).clone()
    }

    /// Runs `f` on the tenant under the write lock (for mutations without a helper below).
    /// User changes made here notify the push channels (`users.watch`) like changes through the API.
    pub fn with_tenant<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        let (r, events) = {
            let mut t = write(&self.shared.tenant);
            let r = f(&mut t);
            (r, server::watch::drain(&mut t))
        };
        self.shared.publish(events);
        r
    }

    /// Sets how long a group activity takes to show in the Reports API from now on.
    pub fn set_reports_lag(&self, lag: Duration) {
        lock(&self.shared.reports_lag).0 = lag;
    }

    /// Sets how push notifications are delivered from now on (delay, drops, retries, max TTL).
    pub fn set_push_delivery(&self, delivery: PushDelivery) {
        lock(&self.shared.watch).set_delivery(delivery);
    }

    /// The push channels opened with `users.watch`, stopped and expired ones included.
    pub fn watch_channels(&self) -> Vec<WatchChannel> {
        lock(&self.shared.watch).channels()
    }

    /// The notifications finished so far (delivered, dropped, failed or whose channel was gone),
    /// in the order they finished.
    pub fn notifications(&self) -> Vec<Notification> {
        lock(&self.shared.watch).log()
    }

    /// Moves a channel's expiration to `at` (a test's way to expire it without waiting);
    /// [`Error::NotFound`] if no channel has that id.
    pub fn set_channel_expiration(
        &self,
        id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), Error> {
        if lock(&self.shared.watch).set_expiration(id, at) {
            Ok(())
        } else {
            Err(Error::NotFound(format!("channel {id}")))
        }
    }

    /// Adds a user ([`Tenant::add_user`]).
    pub fn add_user(&self, user: NewUser) -> Result<User, Error> {
        self.with_tenant(|t| t.add_user(user))
    }

    /// Deletes a user; it then appears only with `showDeleted=true` ([`Tenant::delete_user`]).
    pub fn remove_user(&self, key: &str) -> Result<(), Error> {
        self.with_tenant(|t| t.delete_user(key))
    }

    /// Suspends a user.
    pub fn suspend_user(&self, key: &str) -> Result<(), Error> {
        self.with_tenant(|t| t.set_suspended(key, true))
    }

    /// Reactivates a suspended user.
    pub fn unsuspend_user(&self, key: &str) -> Result<(), Error> {
        self.with_tenant(|t| t.set_suspended(key, false))
    }

    /// Adds a group ([`Tenant::add_group`]).
    pub fn add_group(&self, email: &str, name: &str) -> Result<Group, Error> {
        self.with_tenant(|t| t.add_group(email, name))
    }

    /// Deletes a group ([`Tenant::remove_group`]).
    pub fn remove_group(&self, key: &str) -> Result<(), Error> {
        self.with_tenant(|t| t.remove_group(key))
    }

    /// Adds a member to a group ([`Tenant::add_member`]).
    pub fn add_member(
        &self,
        group_key: &str,
        member_key: &str,
        role: Role,
    ) -> Result<Membership, Error> {
        self.with_tenant(|t| t.add_member(group_key, member_key, role))
    }

    /// Removes a member from a group ([`Tenant::remove_member`]).
    pub fn remove_member(&self, group_key: &str, member_key: &str) -> Result<(), Error> {
        self.with_tenant(|t| t.remove_member(group_key, member_key))
    }

    /// The current faults.
    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).faults.clone()
    }

    /// Replaces all faults (resets the transient-error RNG to `faults.seed`; keeps quota windows).
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.shared.faults).set(faults);
    }

    /// Sets the latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.shared.faults).faults.latency = latency;
    }

    /// Answers 503 `backendError` to a Directory API request that arrives while `max` are
    /// being served already, as a front end shedding load ([`Faults::max_in_flight`]); `None`
    /// removes the bound.
    pub fn set_max_in_flight(&self, max: Option<u64>) {
        lock(&self.shared.faults).faults.max_in_flight = max;
    }

    /// Sets the transient error rate (`0.0..=1.0`).
    pub fn set_error_rate(&self, rate: f64) {
        lock(&self.shared.faults).faults.error_rate = rate.clamp(0.0, 1.0);
    }

    /// Makes page `page_index` of `route` (e.g. `GET /admin/directory/v1/users`) fail with `status` every time.
    pub fn fail_page(&self, route: &str, page_index: usize, status: u16) {
        lock(&self.shared.faults)
            .faults
            .failing_pages
            .push(FailingPage {
                route: route.to_owned(),
                page_index,
                status,
            });
    }

    /// Removes all failing pages.
    pub fn clear_failing_pages(&self) {
        lock(&self.shared.faults).faults.failing_pages.clear();
    }

    /// Makes every write (`members.insert`, `members.delete`) to `group` (email or id) fail
    /// with `status` ([`FailingGroup`]).
    pub fn fail_group_writes(&self, group: &str, status: u16) {
        lock(&self.shared.faults)
            .faults
            .failing_groups
            .push(FailingGroup {
                group: group.to_owned(),
                status,
            });
    }

    /// Removes all failing groups.
    pub fn clear_failing_groups(&self) {
        lock(&self.shared.faults).faults.failing_groups.clear();
    }

    /// Sets the per-subject quota (requests per sliding minute); `None` removes it.
    pub fn set_quota_per_minute(&self, quota: Option<u32>) {
        self.set_quota(quota, Duration::from_secs(60));
    }

    /// Sets the per-subject quota to `quota` requests per sliding `window` (Google's is a
    /// minute; a test may shorten it to check pacing in seconds); `None` removes it.
    pub fn set_quota(&self, quota: Option<u32>, window: Duration) {
        let mut f = lock(&self.shared.faults);
        f.faults.quota_per_minute = quota;
        f.faults.quota_window = window;
        f.windows.clear();
    }

    /// Fails the next `n` token requests with `kind` (before their assertion is checked).
    pub fn fail_token_requests(&self, n: u64, kind: TokenFault) {
        let mut f = lock(&self.shared.faults);
        f.faults.token.next = n;
        f.faults.token.kind = kind;
    }

    /// Fails each later token request with probability `rate` with `kind` (0 turns it off).
    pub fn set_token_fault_rate(&self, rate: f64, kind: TokenFault) {
        let mut f = lock(&self.shared.faults);
        f.faults.token.rate = rate.clamp(0.0, 1.0);
        f.faults.token.kind = kind;
    }

    /// Refuses future token requests that ask for `scope` (401 `unauthorized_client`).
    pub fn deny_scope(&self, scope: &str) {
        lock(&self.shared.auth)
            .denied_scopes
            .insert(scope.to_owned());
    }

    /// Undoes [`deny_scope`](Self::deny_scope).
    pub fn allow_scope(&self, scope: &str) {
        lock(&self.shared.auth).denied_scopes.remove(scope);
    }

    /// Refuses future token requests impersonating `subject` (401 `unauthorized_client`).
    pub fn deny_subject(&self, subject: &str) {
        lock(&self.shared.auth)
            .denied_subjects
            .insert(subject.to_ascii_lowercase());
    }

    /// Undoes [`deny_subject`](Self::deny_subject).
    pub fn allow_subject(&self, subject: &str) {
        lock(&self.shared.auth)
            .denied_subjects
            .remove(&subject.to_ascii_lowercase());
    }

    /// Revokes every issued token (API calls with them get 401 `authError`); returns how many.
    pub fn revoke_all_tokens(&self) -> usize {
        lock(&self.shared.auth).revoke_all()
    }

    /// Revokes the tokens issued for `subject` and the consents they gave; returns how many.
    pub fn revoke_subject_tokens(&self, subject: &str) -> usize {
        lock(&self.shared.auth).revoke_subject(subject)
    }

    /// Google's OAuth client file (`{"installed": {…}}`) for the emulator's consent endpoints:
    /// its `auth_uri` and `token_uri` point here, its redirect URIs are loopback.
    pub fn oauth_client_json(&self) -> String {
        serde_json::json!({"installed": {
            "client_id": OAUTH_CLIENT_ID,
            "project_id": "emulator",
            "auth_uri": format!("{}/o/oauth2/v2/auth", self.base_url()),
            "token_uri": self.token_uri(),
            "auth_provider_x509_cert_url": format!("{}/oauth2/v1/certs", self.base_url()),
            "client_secret": OAUTH_CLIENT_SECRET,
            "redirect_uris": ["http://localhost"],
        }})
        .to_string()
    }

    /// Consent automatically as `account` from now on (the authorization page redirects at
    /// once, as if that person chose their account and clicked Allow); `None` shows the page.
    pub fn set_auto_consent(&self, account: Option<&str>) {
        lock(&self.shared.auth).consent.auto_consent = account.map(str::to_owned);
    }

    /// Revokes every consent `email` gave (their refresh tokens stop working) and their access
    /// tokens, as Google does when an admin removes a user's grants; returns how many.
    pub fn revoke_consents(&self, email: &str) -> usize {
        lock(&self.shared.auth).revoke_subject(email)
    }

    /// How many tokens `POST /revoke` revoked.
    pub fn revocations(&self) -> u64 {
        lock(&self.shared.auth).consent.revoked
    }

    /// Revokes one token; returns whether it was live.
    pub fn revoke_token(&self, token: &str) -> bool {
        lock(&self.shared.auth).revoke_token(token)
    }

    /// Sets the lifetime (`expires_in`) of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.shared.auth).token_lifetime = lifetime;
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let mut s = lock(&self.shared.stats).clone();
        s.in_flight = self
            .shared
            .in_flight
            .load(std::sync::atomic::Ordering::SeqCst);
        s
    }

    /// Resets the counters (not `in_flight`).
    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = Stats::default();
    }

    /// Stops accepting connections, lets in-flight requests finish (at most 5 s) and stops the server.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The README's example, compiled as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
