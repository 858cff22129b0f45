//! The SCIM 2.0 service provider (RFC 7644) of each inbound SCIM integration, under
//! `/scim/v2/{integration}/`: discovery, `Users` and `Groups`. Every request carries the
//! integration's own bearer token; every write goes through the service's push entry point
//! (the engine's rules and the push window). Answers are `application/scim+json`; refusals are
//! RFC 7644 §3.12 bodies. These routes are described by their own discovery endpoints, not by
//! the OpenAPI document.

mod directory;
mod discovery;
mod projection;
mod resources;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dirsync_core::{AnyIntegration, IntegrationId};
use serde_json::Value;

use crate::AppState;

/// The largest SCIM request body accepted (a 10,000-member group push fits).
pub(crate) const SCIM_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// The SCIM media type.
const SCIM_JSON: &str = "application/scim+json";

/// A SCIM refusal as an answer.
#[derive(Debug)]
pub(crate) struct Refusal(pub(crate) dirsync_scim::Error);

impl From<dirsync_scim::Error> for Refusal {
    fn from(e: dirsync_scim::Error) -> Self {
        Self(e)
    }
}

impl From<dirsync_service::Error> for Refusal {
    fn from(e: dirsync_service::Error) -> Self {
        use dirsync_scim::Error as S;
        Self(match e {
            dirsync_service::Error::Engine(dirsync_engine::Error::Taken { what }) => {
                S::Uniqueness(what)
            }
            dirsync_service::Error::Engine(dirsync_engine::Error::NotActive { .. }) => {
                S::Internal("the integration is not active".to_owned())
            }
            other => {
                tracing::error!(error = %other, "SCIM request failed");
                S::Internal(
                    "the directory could not take the change; nothing was applied".to_owned(),
                )
            }
        })
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, scim_json(&self.0.body())).into_response();
        if let dirsync_scim::Error::Held {
            retry_after_seconds,
            ..
        } = &self.0
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
        }
        if self.0.status() == 401 {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}

/// A JSON body with the SCIM media type.
pub(crate) fn scim_json(body: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON))],
        body.to_string(),
    )
        .into_response()
}

/// The routes, nested by the caller under `/scim/v2/{integration}`.
pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(discovery::config))
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{name}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{urn}", get(discovery::schema))
        .route(
            "/Users",
            get(resources::list_users).post(resources::create_user),
        )
        .route(
            "/Users/.search",
            axum::routing::post(resources::search_users),
        )
        .route(
            "/Users/{id}",
            get(resources::get_user)
                .put(resources::replace_user)
                .patch(resources::patch_user)
                .delete(resources::delete_user),
        )
        .route(
            "/Groups",
            get(resources::list_groups).post(resources::create_group),
        )
        .route(
            "/Groups/.search",
            axum::routing::post(resources::search_groups),
        )
        .route(
            "/Groups/{id}",
            get(resources::get_group)
                .put(resources::replace_group)
                .patch(resources::patch_group)
                .delete(resources::delete_group),
        )
        .route("/.search", axum::routing::post(resources::search_all))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state, authenticate))
}

async fn not_found() -> Refusal {
    Refusal(dirsync_scim::Error::NotFound("the endpoint".to_owned()))
}

/// The integration a request is for, once its token was checked.
#[derive(Debug, Clone)]
pub(crate) struct ScimIntegration {
    pub(crate) integration: AnyIntegration,
    /// The absolute base URL of its SCIM endpoints (for `meta.location`).
    pub(crate) base: String,
}

/// Checks the bearer token against the integration's, and the content type of writes.
async fn authenticate(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
    mut request: Request,
    next: Next,
) -> Result<Response, Refusal> {
    let id = params
        .iter()
        .find(|(k, _)| k == "integration")
        .and_then(|(_, v)| v.parse::<IntegrationId>().ok())
        .ok_or(Refusal(dirsync_scim::Error::Unauthorized))?;
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.get(..7)
                .filter(|p| p.eq_ignore_ascii_case("bearer "))
                .map(|_| v[7..].trim())
        })
        .ok_or(Refusal(dirsync_scim::Error::Unauthorized))?;
    let integration = state
        .service()
        .scim_integration(id, presented)
        .await?
        .ok_or(Refusal(dirsync_scim::Error::Unauthorized))?;
    let base = base_url(request.headers(), request.uri().path(), id);
    request
        .extensions_mut()
        .insert(ScimIntegration { integration, base });
    Ok(next.run(request).await)
}

/// `http(s)://host/…/scim/v2/{integration}`, from the request as the client sent it.
fn base_url(headers: &HeaderMap, path: &str, id: IntegrationId) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    let marker = format!("/scim/v2/{id}");
    let prefix = path.find(&marker).map_or("", |at| &path[..at]);
    format!("{scheme}://{host}{prefix}{marker}")
}

/// A request body as JSON (declared as such), read up to the limit.
pub(crate) async fn json_body(headers: &HeaderMap, body: Body) -> Result<Value, Refusal> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == SCIM_JSON || v == "application/json");
    if !json {
        return Err(Refusal(dirsync_scim::Error::UnsupportedMediaType));
    }
    let bytes = axum::body::to_bytes(body, SCIM_BODY_LIMIT)
        .await
        .map_err(|_| {
            Refusal(dirsync_scim::Error::TooLarge {
                limit: SCIM_BODY_LIMIT,
            })
        })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Refusal(dirsync_scim::Error::InvalidSyntax(format!(
            "the body is not JSON: {e}"
        )))
    })
}
