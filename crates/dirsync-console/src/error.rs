//! The one error type of `dirsync-console`: a refusal as a page with a fitting status.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::html;

/// What went wrong serving a console page, or configuring the console.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The console's configuration is wrong (an access pattern, the public URL, the OpenID
    /// Connect client): fix it and start again.
    #[error("console configuration: {0}")]
    Config(String),

    /// The operator may not do this (read-only, or the form's CSRF token is missing or wrong:
    /// reload the page and try again).
    #[error("{0}")]
    Forbidden(String),

    /// The request is malformed: correct the form.
    #[error("{0}")]
    BadRequest(String),

    /// Signing in failed (refused at Google, not allowed, or a stale sign-in): sign in again.
    #[error("signing in failed: {0}")]
    SignIn(String),

    /// The service refused or failed; its message says what to do.
    #[error(transparent)]
    Service(#[from] dirsync_service::Error),
}

impl From<dirsync_core::Error> for Error {
    fn from(e: dirsync_core::Error) -> Self {
        Self::Service(dirsync_service::Error::from(e))
    }
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        use dirsync_store::Error as Store;
        match self {
            Self::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Forbidden(_) | Self::SignIn(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Service(dirsync_service::Error::Store(
                Store::AlreadyExists { .. }
                | Store::Conflict { .. }
                | Store::StaleIntegration { .. }
                | Store::PrimaryOwnsData { .. },
            )) => StatusCode::CONFLICT,
            Self::Service(dirsync_service::Error::Store(Store::Unavailable { .. })) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Service(e) => match e.kind() {
                "not_found" | "unknown_rule" => StatusCode::NOT_FOUND,
                "busy" => StatusCode::LOCKED,
                "wrong_state" => StatusCode::CONFLICT,
                "missing_scopes"
                | "unauthorized"
                | "access_checks"
                | "credential"
                | "unsupported_operations" => StatusCode::UNPROCESSABLE_ENTITY,
                "invalid" | "unsupported_system" => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "console request failed");
        }
        let page = crate::layout::bare(
            "Something went wrong",
            html! {
                p.error role="alert" { (crate::layout::shown(&self.to_string())) }
                p { a href="/console" { "Back to Provisioning" } }
            },
        );
        (status, Html(page.into_string())).into_response()
    }
}
