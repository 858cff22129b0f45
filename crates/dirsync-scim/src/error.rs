//! The one error type of `dirsync-scim`, and its RFC 7644 §3.12 error body.

use serde_json::{Value, json};

/// The `urn` of a SCIM error body.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// What went wrong with a SCIM request. Each variant maps to an HTTP status and, where RFC 7644
/// §3.12 has one, a `scimType` ([`Error::status`], [`Error::scim_type`], [`Error::body`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The filter does not parse (or is too long or too deep); fix the filter.
    #[error("invalid filter at character {at}: {reason}")]
    InvalidFilter {
        /// Where in the filter (in characters) the problem was found.
        at: usize,
        /// What is wrong.
        reason: String,
    },
    /// A PATCH path does not parse or names no attribute of the resource.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path, shortened.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The request body is not a well-formed SCIM message (not JSON, unknown schema, unknown
    /// attribute, wrong type).
    #[error("invalid syntax: {0}")]
    InvalidSyntax(String),
    /// A value is missing or not acceptable.
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// A value that must be unique is taken (`userName`, a group's `displayName`).
    #[error("{0}")]
    Uniqueness(String),
    /// A PATCH path with a value filter matched nothing.
    #[error("no target: {0}")]
    NoTarget(String),
    /// The request names a resource that does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// `If-Match` names another version than the resource's.
    #[error("the resource changed: its version is not the one in If-Match")]
    PreconditionFailed,
    /// The body is larger than accepted.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A request asks for more than is answered at once (operations in a PATCH, …).
    #[error("too many: {0}")]
    TooMany(String),
    /// The content type is not JSON.
    #[error("the content type must be application/scim+json or application/json")]
    UnsupportedMediaType,
    /// The bearer token is missing or not this integration's.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// The users safeguard holds further removals until an admin approves; retry later.
    #[error("{reason}; retry after {retry_after_seconds} s")]
    Held {
        /// Why it is held.
        reason: String,
        /// When to retry, in seconds.
        retry_after_seconds: u64,
    },
    /// Something on our side failed; nothing was applied.
    #[error("internal error: {0}")]
    Internal(String),
    /// Outbound: a call to an application's SCIM endpoint failed (after the retries, when it
    /// was transient). The message never holds the token.
    #[error("SCIM call {route} failed{}: {message}",
        status.map(|s| format!(" with status {s}")).unwrap_or_default())]
    Remote {
        /// The route, e.g. `GET /Users`.
        route: String,
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        /// What the application said (its `detail`, shortened), or why there was no answer.
        message: String,
        /// Whether a later try may succeed (429, 5xx, no answer).
        transient: bool,
    },
    /// Outbound: the application refused the token (401 or 403): replace the token (or grant
    /// it the rights) and run again.
    #[error("the application refused the token on {route} (status {status})")]
    Refused {
        /// The route.
        route: String,
        /// 401 or 403.
        status: u16,
    },
}

impl Error {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidFilter { .. }
            | Self::InvalidPath { .. }
            | Self::InvalidSyntax(_)
            | Self::InvalidValue(_)
            | Self::NoTarget(_)
            | Self::TooMany(_) => 400,
            Self::Unauthorized => 401,
            Self::NotFound(_) => 404,
            Self::Uniqueness(_) => 409,
            Self::PreconditionFailed => 412,
            Self::TooLarge { .. } => 413,
            Self::UnsupportedMediaType => 415,
            Self::Held { .. } => 503,
            Self::Internal(_) => 500,
            Self::Remote { .. } | Self::Refused { .. } => 502,
        }
    }

    /// The `scimType` of RFC 7644 §3.12, when one applies.
    pub fn scim_type(&self) -> Option<&'static str> {
        Some(match self {
            Self::InvalidFilter { .. } => "invalidFilter",
            Self::InvalidPath { .. } => "invalidPath",
            Self::InvalidSyntax(_) => "invalidSyntax",
            Self::InvalidValue(_) => "invalidValue",
            Self::Uniqueness(_) => "uniqueness",
            Self::NoTarget(_) => "noTarget",
            Self::TooMany(_) => "tooMany",
            _ => return None,
        })
    }

    /// The error body: `{"schemas": [Error], "status": "400", "scimType": …, "detail": …}`.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status().to_string(),
            "detail": self.to_string(),
        });
        if let (Some(t), Value::Object(map)) = (self.scim_type(), &mut body) {
            map.insert("scimType".to_owned(), Value::String(t.to_owned()));
        }
        body
    }
}

/// Shortens what a caller sent before it is echoed in an error.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

impl From<Error> for dirsync_core::Error {
    /// A refused token is an access failure (the integration needs a new one); a failed call
    /// a remote failure; anything else an invalid value.
    fn from(e: Error) -> Self {
        match e {
            Error::Refused { route, status } => dirsync_core::AccessDenied::Unauthorized {
                reason: format!("the application refused the token on {route} (status {status})"),
            }
            .into(),
            Error::Remote {
                route,
                status,
                message,
                transient,
            } => Self::Remote {
                route,
                status,
                reason: None,
                message,
                transient,
            },
            other => Self::InvalidValue {
                kind: "SCIM answer",
                value: String::new(),
                reason: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_rfc_7644() {
        let body = Error::Uniqueness("userName taken".into()).body();
        assert_eq!(body["status"], "409");
        assert_eq!(body["scimType"], "uniqueness");
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
        let body = Error::PreconditionFailed.body();
        assert_eq!(body["status"], "412");
        assert!(body.get("scimType").is_none());
    }
}
