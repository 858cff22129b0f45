//! # dirsync-server
//!
//! The HTTP API of directory-sync: an [axum] [`Router`] over a
//! [`Service`], for `dirsync serve` to run alone or for your product
//! to mount in its own router. JSON in and out, in the shapes of
//! [`dirsync_service::views`] (the same the command line prints with `--format json`);
//! refusals as `{"error": {"kind", "message"}}` with the command line's kinds and fitting
//! statuses (400 invalid, 401 no or unknown token, 403 read-only token, 404 not found, 409
//! wrong state or conflict, 422 what Google must grant or refused, 423 busy: another run holds
//! the integration, 500, 503 store unavailable).
//!
//! Every route under `/api/v1` needs an API token (`Authorization: Bearer dst_…`, made with
//! [`Service::create_api_token`](dirsync_service::Service::create_api_token) or `dirsync
//! api-token:create`); a read-only token may only `GET`. `/healthz`, `/readyz` and Google's
//! redirect `/oauth/google/callback` need none.
//!
//! | route | does |
//! |---|---|
//! | `GET, POST /api/v1/integrations` | list; create (`{system?, title, direction, schedule?, settings}` → 201 with what the admin must grant) |
//! | `GET, PATCH, DELETE /api/v1/integrations/{id}` | show; edit `{title?, schedule?, active?, safeguards?}` (`"safeguards": null` returns to the defaults); remove |
//! | `POST /api/v1/integrations/{id}/{activate,deactivate,reactivate,reauthorize}` | the lifecycle |
//! | `POST /api/v1/integrations/{id}/authorize` | a consent-based Google integration: `{login_hint?}` → `{authorize_url}`, Google's consent page coming back to `{public URL}/oauth/google/callback` ([`AppState::with_public_url`]) |
//! | `GET /oauth/google/callback?code&state` | Google's redirect (no API token: checked by the consent's `state`, single use, 10 minutes, and PKCE): completes the consent as the command line does and answers 303 to `/console/integrations/{id}?authorized=1` (or `?authorization_error=<kind>`, nothing stored) |
//! | `GET, POST /api/v1/integrations/{id}/rules`, `DELETE …/rules/{rule}`, `POST …/rules/{rule}/run` | rules |
//! | `POST /api/v1/integrations/{id}/sync` | 202 `{run_id}` at once; the run goes on as a job (`?dry_run=true`: the plan explained, at once) |
//! | `GET /api/v1/runs/{id}`, `GET …/{id}/events`, `DELETE …/{id}` | the run: `running` until its record exists; its progress as server-sent events; cancel it (nothing half-written, its lease released) |
//! | `GET /api/v1/integrations/{id}/runs[?limit=]` | history |
//! | `GET /api/v1/plans`, `GET, DELETE /api/v1/plans/{id}`, `POST …/{id}/approve` | held plans: list, review, discard, approve |
//! | `GET /api/v1/status` | per integration: state, last success and failure, held plans, next run (as `dirsync status`) |
//! | `GET /api/v1/users[?query=&status=&org_unit=&limit=&page_token=]`, `GET /api/v1/users/{id}` | users, paged; one with its lifecycle history and accounts |
//! | `GET /api/v1/groups[/{email}]`, `GET /api/v1/org-units` (`?integration=`) | groups with members, org units (of the primary by default) |
//! | `GET /metrics` | Prometheus figures (with [`AppState::with_metrics`]; behind a token too) |
//! | `GET /api/v1/openapi.json` | the OpenAPI 3.1 document of all this, generated from the code |
//! | `GET /healthz`, `GET /readyz` | alive; the store answers |
//! | `/scim/v2/{integration}/…` | the SCIM 2.0 service provider of an inbound SCIM integration (`ServiceProviderConfig`, `ResourceTypes`, `Schemas`, `Users`, `Groups`), behind that integration's own bearer token; RFC 7644 error bodies |
//!
//! ```
//! use std::sync::Arc;
//! use dirsync_server::{AppState, router};
//! use dirsync_service::{Registry, Service};
//! use dirsync_store::InMemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = Arc::new(Service::new(Arc::new(InMemoryStore::new()), Registry::builtin()));
//! // Mounted under your own prefix, beside your own routes:
//! let app = axum::Router::new().nest("/directory", router(AppState::new(service)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let _ = listener.local_addr()?;
//! # let _ = app;
//! // axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod auth;
mod consent;
mod directory;
mod error;
mod extract;
mod hooks;
mod integrations;
mod jobs;
mod metrics;
mod openapi;
mod runs;
mod scim;
mod timeout;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use dirsync_service::Service;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::Caller;
pub use consent::CALLBACK_PATH;
pub use error::Error;

/// The largest request body accepted (requests are small JSON documents).
const BODY_LIMIT: usize = 256 * 1024;

/// How long a request may take by default ([`AppState::with_request_timeout`]).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler shares: the service, and the metrics recorder's handle if any.
#[derive(Clone)]
pub struct AppState {
    service: Arc<Service>,
    metrics: Option<PrometheusHandle>,
    jobs: jobs::Jobs,
    request_timeout: Duration,
    /// The URL this router is reached at from browsers, without a trailing `/`.
    public_url: Option<String>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `service`.
    pub fn new(service: Arc<Service>) -> Self {
        Self {
            service,
            metrics: None,
            jobs: jobs::Jobs::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            public_url: None,
        }
    }

    /// The URL browsers and Google reach this router at (`https://sync.example.com`, with the
    /// prefix it is mounted under if any): consents come back to
    /// `{public_url}/oauth/google/callback` ([`CALLBACK_PATH`]), which must be a redirect URI
    /// of the OAuth client. Without it, `POST …/authorize` is refused.
    #[must_use]
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// The URL given to [`with_public_url`](Self::with_public_url).
    ///
    /// # Errors
    /// [`Error::Conflict`] when none was given.
    pub fn public_url(&self) -> Result<&str, Error> {
        self.public_url.as_deref().ok_or_else(|| {
            Error::Conflict(
                "this server does not know its public URL (`dirsync serve --public-url`, AppState::with_public_url), so Google cannot come back to it".to_owned(),
            )
        })
    }

    /// The path part of the public URL (empty at the root), for redirects within this router.
    fn public_path(&self) -> String {
        self.public_url
            .as_deref()
            .and_then(|u| u.parse::<axum::http::Uri>().ok())
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default()
    }

    /// Serves `GET /metrics` (behind an API token) from this Prometheus recorder, which the
    /// caller installed (`PrometheusBuilder::new().install_recorder()`): the library never
    /// installs a global recorder of its own.
    #[must_use]
    pub fn with_metrics(mut self, handle: PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }

    /// Stops a request that takes longer than `timeout` (default [`DEFAULT_REQUEST_TIMEOUT`])
    /// and answers 503 with the kind `timeout`. Not applied to a run's event stream, which
    /// lasts as long as the run, nor to the routes that run a sync before answering
    /// (`activate`'s first run, `rules/{rule}/run`, `plans/{id}/approve`): stopping those
    /// would cancel the run.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The service.
    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }
}

/// The whole API: `/api/v1/…` behind API tokens, `/healthz` and `/readyz` without.
pub fn router(state: AppState) -> Router {
    let (router, doc) = documented(&state).split_for_parts();
    let doc = openapi::Document(Arc::new(doc.to_json().unwrap_or_default()));
    // SCIM bodies may be larger (a whole group's members): read up to their own limit, and
    // refused with a SCIM error beyond it.
    let scim = scim::router(state.clone());
    router
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .nest("/scim/v2/{integration}", scim)
        .layer(axum::Extension(doc))
        // On every answer: no sniffing, no framing, no referrer, nothing cached (answers carry
        // directory data).
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .layer(header_layer(header::CACHE_CONTROL, "no-store"))
        .with_state(state)
}

/// Every route, each with its OpenAPI operation: `routes!` takes only handlers that carry a
/// `#[utoipa::path]`, so a route cannot be served without being documented.
fn documented(state: &AppState) -> OpenApiRouter<AppState> {
    let token = || axum::middleware::from_fn_with_state(state.clone(), auth::require_token);
    let timed = OpenApiRouter::new()
        .routes(routes!(integrations::list, integrations::create))
        .routes(routes!(
            integrations::show,
            integrations::update,
            integrations::remove
        ))
        .routes(routes!(integrations::deactivate))
        .routes(routes!(integrations::reactivate))
        .routes(routes!(integrations::reauthorize))
        .routes(routes!(consent::authorize))
        .routes(routes!(integrations::rules, integrations::add_rule))
        .routes(routes!(integrations::remove_rule))
        .routes(routes!(runs::sync))
        .routes(routes!(runs::runs))
        .routes(routes!(jobs::show, jobs::cancel))
        .routes(routes!(runs::plans))
        .routes(routes!(runs::plan, runs::discard))
        .routes(routes!(runs::status))
        .routes(routes!(directory::users))
        .routes(routes!(directory::user))
        .routes(routes!(directory::groups))
        .routes(routes!(directory::group))
        .routes(routes!(directory::org_units))
        .routes(routes!(openapi::document))
        .layer(axum::middleware::from_fn_with_state(
            state.request_timeout,
            timeout::limit,
        ));
    // Not timed: the event stream lasts as long as the run; the others run a sync.
    let api = OpenApiRouter::new()
        .routes(routes!(jobs::events))
        .routes(routes!(integrations::activate))
        .routes(routes!(integrations::run_rule))
        .routes(routes!(runs::approve))
        .merge(timed)
        .route_layer(token());
    let mut root = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).nest("/api/v1", api);
    if let Some(handle) = &state.metrics {
        root = root.merge(
            OpenApiRouter::new()
                .routes(routes!(metrics::render))
                .layer(axum::Extension(handle.clone()))
                .route_layer(token()),
        );
    }
    // Google's redirect: checked by the consent's state and PKCE, not by an API token.
    root.routes(routes!(consent::callback))
        .routes(routes!(hooks::google))
        .routes(routes!(healthz))
        .routes(routes!(ready))
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Alive.
#[utoipa::path(get, path = "/healthz", tag = "meta", security(()),
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the store answers.
#[utoipa::path(get, path = "/readyz", tag = "meta", security(()),
    responses(
        (status = 200, description = "`ready`", body = String, content_type = "text/plain"),
        (status = 503, description = "The store does not answer", body = String, content_type = "text/plain")
    ))]
async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.service.store().primary().await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "the store does not answer")
        }
    }
}

/// The README's example, compiled as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
