//! Authorizing a Google integration by an admin's consent through the server:
//! `POST /api/v1/integrations/{id}/authorize` answers the consent URL, and Google's redirect to
//! `GET /oauth/google/callback` completes it (checked by its `state` and PKCE, not by an API
//! token) and sends the browser on to the console's page of the integration.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dirsync_core::Email;
use dirsync_service::CallbackParams;
use serde::{Deserialize, Serialize};

use crate::integrations::id;
use crate::openapi::Refusals;
use crate::{AppState, Error};

/// The path Google's redirect comes back to, under the server's public URL.
pub const CALLBACK_PATH: &str = "/oauth/google/callback";

/// `POST /integrations/{id}/authorize`: optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthorizeBody {
    /// The account Google proposes first.
    login_hint: Option<String>,
}

/// Where to send the admin's browser.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AuthorizeView {
    /// Google's consent page for this integration's scopes, coming back to
    /// `{public URL}/oauth/google/callback`.
    authorize_url: String,
}

#[utoipa::path(
    post,
    path = "/integrations/{id}/authorize",
    tag = "integrations",
    params(("id" = String, Path, description = "The integration's id (authorized by consent)")),
    request_body(content = Option<AuthorizeBody>, description = "Optional: `{\"login_hint\": EMAIL}`"),
    responses((status = 200, description = "The consent URL to open; the consent waits 10 minutes for Google's redirect, once", body = AuthorizeView), Refusals)
)]
pub(crate) async fn authorize(
    State(state): State<AppState>,
    Path(integration): Path<String>,
    body: Bytes,
) -> Result<axum::Json<AuthorizeView>, Error> {
    let body: AuthorizeBody = if body.iter().all(u8::is_ascii_whitespace) {
        AuthorizeBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::Rejected {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: format!("the body is not {{\"login_hint\"}}: {e}"),
        })?
    };
    let hint = body.login_hint.as_deref().map(Email::new).transpose()?;
    let redirect = format!("{}{CALLBACK_PATH}", state.public_url()?);
    let service = &state.service;
    let start = service
        .start_consent(id(&integration)?, &redirect, hint.as_ref())
        .await?;
    Ok(axum::Json(AuthorizeView {
        authorize_url: service.pending_consents().keep(start),
    }))
}

#[utoipa::path(
    get,
    path = "/oauth/google/callback",
    tag = "integrations",
    security(()),
    params(
        ("code" = Option<String>, Query, description = "The authorization code"),
        ("state" = Option<String>, Query, description = "The state of the consent URL"),
        ("error" = Option<String>, Query, description = "`access_denied` when the admin clicked Cancel"),
    ),
    responses(
        (status = 303, description = "Done: to `/console/integrations/{id}?authorized=1`, or `?authorization_error=<kind>` (`access_denied`, `missing_scopes`, `unauthorized`, ...) when the consent is refused; nothing is stored then"),
        Refusals
    )
)]
pub(crate) async fn callback(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, Error> {
    let params = CallbackParams::from_query(query.as_deref().unwrap_or_default());
    let service = &state.service;
    // Refused here (no integration to go back to): a forged, replayed or expired state.
    let start = service.pending_consents().take(params.state.as_deref())?;
    let integration = start.integration;
    let outcome = match service.finish_consent(start, &params).await {
        Ok(_) => "authorized=1".to_owned(),
        Err(e) => {
            tracing::warn!(%integration, error = %e, "a consent was refused");
            let kind = match params.error.as_deref() {
                Some(google) if google.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => {
                    google.chars().take(40).collect()
                }
                _ => e.kind().to_owned(),
            };
            format!("authorization_error={kind}")
        }
    };
    let to = format!(
        "{}/console/integrations/{integration}?{outcome}",
        state.public_path()
    );
    let location = HeaderValue::try_from(to).map_err(|_| {
        Error::BadRequest("the public URL does not make a redirect location".to_owned())
    })?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}
