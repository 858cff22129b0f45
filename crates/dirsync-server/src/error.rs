//! The one error type of `dirsync-server`: every refusal as an HTTP status with the JSON body
//! `{"error": {"kind", "message"}}`, with the kinds the command line uses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::openapi::{ErrorBody, ErrorDetail};

/// Why a request was refused or failed. Its message never holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No API token, or one that is not ours (401).
    #[error("a valid API token is needed: send `Authorization: Bearer <token>`")]
    Unauthenticated,

    /// A read-only token asked to change something (403).
    #[error("the API token {token} is read-only")]
    ReadOnly {
        /// The token's name.
        token: String,
    },

    /// The request itself is malformed: a path, query or body that does not parse (400).
    #[error("{0}")]
    BadRequest(String),

    /// A body or query that could not be read, with the status axum gives it (400 syntax, 413
    /// too large, 415 not JSON, 422 wrong fields).
    #[error("{message}")]
    Rejected {
        /// The status.
        status: StatusCode,
        /// What is wrong.
        message: String,
    },

    /// The request conflicts with the state of what it names (409), e.g. cancelling a run that
    /// is over.
    #[error("{0}")]
    Conflict(String),

    /// The request took longer than the server's request timeout and was stopped (503, kind
    /// `timeout`); what it was doing is cancelled as a cancelled run is.
    #[error("the request took longer than {}s and was stopped", after.as_secs_f64())]
    Timeout {
        /// The timeout.
        after: std::time::Duration,
    },

    /// The service refused or failed (the status follows its kind).
    #[error(transparent)]
    Service(#[from] dirsync_service::Error),
}

impl Error {
    /// The stable kind, as in the command line's `--format json` errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::ReadOnly { .. } => "forbidden",
            Self::BadRequest(_) | Self::Rejected { .. } => "invalid",
            Self::Conflict(_) => "wrong_state",
            Self::Timeout { .. } => "timeout",
            Self::Service(e) => e.kind(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        use dirsync_store::Error as Store;
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::ReadOnly { .. } => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Rejected { status, .. } => *status,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Service(e) => match e {
                dirsync_service::Error::Store(
                    Store::AlreadyExists { .. }
                    | Store::Conflict { .. }
                    | Store::StaleIntegration { .. }
                    | Store::PrimaryOwnsData { .. },
                ) => StatusCode::CONFLICT,
                dirsync_service::Error::Store(Store::Unavailable { .. }) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                dirsync_service::Error::Engine(dirsync_engine::Error::TamperedPlan { .. }) => {
                    StatusCode::CONFLICT
                }
                _ => match e.kind() {
                    "not_found" | "unknown_rule" => StatusCode::NOT_FOUND,
                    "busy" => StatusCode::LOCKED,
                    "wrong_state" => StatusCode::CONFLICT,
                    "missing_scopes" | "unauthorized" | "access_checks" | "credential" => {
                        StatusCode::UNPROCESSABLE_ENTITY
                    }
                    "invalid" | "unsupported_system" => StatusCode::BAD_REQUEST,
                    "unsupported_operations" => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                },
            },
        }
    }
}

impl From<dirsync_core::Error> for Error {
    fn from(e: dirsync_core::Error) -> Self {
        Self::Service(dirsync_service::Error::from(e))
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                kind: self.kind(),
                message: self.to_string(),
            },
        };
        (status, Json(body)).into_response()
    }
}
