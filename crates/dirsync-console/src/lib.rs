//! # dirsync-console
//!
//! The web console of directory-sync: server-rendered pages over a
//! [`Service`], served under `/console` beside the JSON API (`dirsync
//! serve` merges both), or merged into your own [axum] router. It is a thin view: every change
//! goes through the service, as the API's do.
//!
//! - **Pages**, rendered with [maud] (every value escaped; control characters shown as
//!   U+FFFD), one small style sheet and one small script embedded in the binary; every form
//!   works without the script, which only sets the operator's time zone (times are shown in
//!   it, named, UTC otherwise) and adds copy buttons.
//! - **Sign-in** with OpenID Connect at Google ([`ConsoleConfig::with_google_sign_in`]; the
//!   emulator in tests), for the emails and domains an [`Access`] allows, full or read-only;
//!   or with a one-time bootstrap link ([`bootstrap_url`], made by `dirsync console:login`).
//! - **Sessions** kept in memory, named by a random id in an `HttpOnly`, `SameSite=Lax` cookie
//!   (`Secure` when the public URL is https); every form that changes something carries the
//!   session's CSRF token and is refused (403) without it; a read-only operator's changes are
//!   refused (403). Every answer carries a strict Content-Security-Policy.
//!
//! | route | page |
//! |---|---|
//! | `GET /console` | Provisioning: every integration, its state, schedule, last and next run, badges |
//! | `GET /console/integrations/new[?system=S]`, `POST /console/integrations[/file,/scim]` | Add integration: Google (see [`NewGoogle`]), an HR export, SCIM 2.0 (an inbound one's token shown once) |
//! | `GET /console/integrations/{id}/authorize`, `POST …/consent`, `…/activate`, `…/reauthorize` | Authorize: consent (to `/oauth/google/callback`) or delegation instructions; Activate with the per-scope check; Reauthorize with a new key, admin or settings |
//! | `GET /console/integrations/{id}`, `POST …/settings`, `…/remove`, `…/rules`, `…/outbound-rules`, `…/rules/{rule}/{run,remove}`, `…/safeguards`, `…/push` | Manage: facts, authorization and its history, settings, rules (outbound ones from a builder), Run now (in the background: the page shows the run under way and reloads itself until it ends), runs, held plans, safeguards, push, remove |
//! | `POST /console/plans/{plan}/{approve,discard}` | a held plan |
//! | `GET /console/users[/{id}]`, `/console/groups`, `/console/org-units` | the directory |
//! | `GET /console/signin`, `/console/signin/google`, `/console/signin/callback`, `POST /console/signout` | sign-in and out |
//! | `GET, POST /console/bootstrap` | the one-time link |
//!
//! ```
//! use std::sync::Arc;
//! use dirsync_console::{Access, ConsoleConfig};
//! use dirsync_service::{Registry, Service};
//! use dirsync_store::InMemoryStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = Arc::new(Service::new(Arc::new(InMemoryStore::new()), Registry::builtin()));
//! let access = Access::default().allow("@example.com")?.allow_read_only("auditor@example.net")?;
//! let config = ConsoleConfig::new("https://directory.example.com", access)?;
//! let app: axum::Router = dirsync_console::router(service, config)?;
//! # let _ = app;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod access;
mod error;
mod guard;
mod layout;
mod pages;
mod schedule_form;
mod session;
mod signin;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::get;
use dirsync_google::oauth::{ConsentFlow, OAuthClient, OAuthEndpoints};
use dirsync_service::Service;
use tower_http::set_header::SetResponseHeaderLayer;

pub use access::{Access, Role};
pub use error::Error;

/// How the console is reached and who may sign in.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    public_url: String,
    access: Access,
    google: Option<(OAuthClient, OAuthEndpoints)>,
    new_google: NewGoogle,
}

/// How the Google integrations added in the console connect: by an admin's consent with an
/// OAuth client, and/or by a provider-managed service account's domain-wide delegation.
/// Without either, the Add page says to configure one.
#[derive(Debug, Clone, Default)]
pub struct NewGoogle {
    consent_client: Option<PathBuf>,
    oauth_base: Option<String>,
    managed_key: Option<PathBuf>,
    api_base: Option<String>,
}

impl NewGoogle {
    /// Nothing configured.
    pub fn new() -> Self {
        Self::default()
    }

    /// Offers "Authorize with Google": consent with this OAuth client file (a web client
    /// whose redirect URIs include `{public_url}/oauth/google/callback`), at Google or at
    /// `oauth_base` (an emulator).
    #[must_use]
    pub fn with_consent(mut self, client: PathBuf, oauth_base: Option<String>) -> Self {
        self.consent_client = Some(client);
        self.oauth_base = oauth_base;
        self
    }

    /// Offers a service account: this provider-managed key, which the admin grants
    /// domain-wide delegation to (the console shows its client id and the scopes).
    #[must_use]
    pub fn with_managed_key(mut self, key: PathBuf) -> Self {
        self.managed_key = Some(key);
        self
    }

    /// The Directory API at `base` instead of Google's (an emulator).
    #[must_use]
    pub fn with_api_base(mut self, base: String) -> Self {
        self.api_base = Some(base);
        self
    }
}

impl ConsoleConfig {
    /// A console reached at `public_url` (scheme, host and port, as browsers see it: the
    /// sign-in's redirect URI is `{public_url}/console/signin/callback`; cookies are `Secure`
    /// when it is https), letting in whom `access` allows.
    ///
    /// # Errors
    /// [`Error::Config`] for a URL that is not http(s), or that has a path.
    pub fn new(public_url: &str, access: Access) -> Result<Self, Error> {
        let url = url::Url::parse(public_url)
            .map_err(|e| Error::Config(format!("public URL {public_url:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(Error::Config(format!(
                "public URL {public_url:?} must be http(s)://host[:port]"
            )));
        }
        if url.path() != "/" || url.query().is_some() {
            return Err(Error::Config(format!(
                "public URL {public_url:?} must have no path: the console is at /console"
            )));
        }
        Ok(Self {
            public_url: url.as_str().trim_end_matches('/').to_owned(),
            access,
            google: None,
            new_google: NewGoogle::default(),
        })
    }

    /// How Google integrations added in the console connect.
    #[must_use]
    pub fn with_new_google(mut self, new_google: NewGoogle) -> Self {
        self.new_google = new_google;
        self
    }

    /// Operators sign in with `client` (Google's client file, a web client whose redirect
    /// URIs include `{public_url}/console/signin/callback`) at Google, or at `endpoints`
    /// (an emulator's).
    #[must_use]
    pub fn with_google_sign_in(mut self, client: OAuthClient, endpoints: OAuthEndpoints) -> Self {
        self.google = Some((client, endpoints));
        self
    }
}

/// The one-time sign-in link for `token` (from
/// [`Service::create_console_bootstrap`](dirsync_service::Service::create_console_bootstrap))
/// on a console reached at `public_url`.
pub fn bootstrap_url(public_url: &str, token: &str) -> String {
    format!(
        "{}/console/bootstrap?token={token}",
        public_url.trim_end_matches('/')
    )
}

/// What every console handler shares.
#[derive(Clone)]
pub(crate) struct Console {
    service: Arc<Service>,
    config: Arc<ConsoleConfig>,
    flow: Option<(ConsentFlow, OAuthEndpoints)>,
    sessions: Arc<session::Sessions<signin::SignIn>>,
}

impl Console {
    fn secure(&self) -> bool {
        self.config.public_url.starts_with("https://")
    }
}

/// The console's routes, all under `/console`, to merge beside the API.
///
/// # Errors
/// [`Error::Config`] when the sign-in's HTTP client cannot be built.
pub fn router(service: Arc<Service>, config: ConsoleConfig) -> Result<Router, Error> {
    let flow = match &config.google {
        Some((client, endpoints)) => Some((
            ConsentFlow::new(client.clone(), endpoints.clone())
                .map_err(|e| Error::Config(format!("Google sign-in: {e}")))?,
            endpoints.clone(),
        )),
        None => None,
    };
    let csp = HeaderValue::from_str(&layout::csp(&config))
        .map_err(|_| Error::Config("the OAuth client's auth_uri is not a URL".to_owned()))?;
    let console = Console {
        service,
        config: Arc::new(config),
        flow,
        sessions: Arc::default(),
    };
    let signed_in = pages::routes().route_layer(axum::middleware::from_fn_with_state(
        console.clone(),
        guard::require_session,
    ));
    let open = Router::new()
        .route("/console/signin", get(signin::page))
        .route("/console/signin/google", get(signin::google))
        .route("/console/signin/callback", get(signin::callback))
        .route(
            "/console/bootstrap",
            get(signin::bootstrap_page).post(signin::bootstrap),
        )
        .route("/console/assets/console.css", get(layout::css))
        .route("/console/assets/console.js", get(layout::js));
    Ok(Router::new()
        .merge(signed_in)
        .merge(open)
        .with_state(console)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .layer(header_layer(header::CACHE_CONTROL, "no-store")))
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
