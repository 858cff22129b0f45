//! The one error type of this crate, and its conversion into [`dirsync_core::Error`].
//!
//! No variant ever carries an access token, a private key or a signed JWT: messages are built
//! from status codes, Google's `reason` strings, routes and our own words.

use dirsync_core::AccessDenied;

/// Everything that can go wrong while configuring the connector or talking to Google.
///
/// Each variant says what the caller should do. Convert into [`dirsync_core::Error`] with
/// `From` (the [`DirectorySource`](dirsync_core::DirectorySource) impl does this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The builder's settings are wrong (missing subject, plain `http://` to a non-loopback
    /// host, zero concurrency, ...). Fix the configuration; nothing was sent.
    #[error("invalid connector configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },

    /// The service-account key could not be read or parsed. Supply a Google-issued JSON key
    /// (PKCS#8, RSA >= 2048 bit, with `client_email` and `token_uri`).
    #[error("service-account key unusable: {reason}")]
    Key {
        /// What is wrong with it (never the key itself).
        reason: String,
    },

    /// The token endpoint or the API refused our credentials (a bad key, a bad delegated
    /// subject, a disabled client, a subject without admin rights:
    /// [`AccessDenied::Unauthorized`]), or refused these scopes for this client
    /// (`unauthorized_client`, or 403 `insufficientPermissions`:
    /// [`AccessDenied::MissingScopes`]). A configuration error; never retried and never a
    /// reason to deprovision.
    #[error(transparent)]
    Access(#[from] AccessDenied),

    /// An admin's OAuth consent failed or was refused (`access_denied`, a wrong `state`, an
    /// id_token that does not verify, a code the token endpoint refused). Nothing is stored.
    #[error("consent failed: {reason}")]
    Consent {
        /// What went wrong, without any code, token or verifier.
        reason: String,
    },

    /// A token could not be obtained for a reason other than a refusal (timeout, connection,
    /// a 5xx from the token endpoint). Usually transient.
    #[error("token request failed: {message}")]
    Token {
        /// What happened.
        message: String,
        /// Whether a later attempt may succeed.
        transient: bool,
    },

    /// An API call failed after the retries the policy allows (or was not retryable).
    #[error("{route} failed{}{}: {message}",
        status.map(|s| format!(" with status {s}")).unwrap_or_default(),
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Http {
        /// The route, e.g. `GET /admin/directory/v1/users`.
        route: String,
        /// The HTTP status, if a response arrived.
        status: Option<u16>,
        /// Google's error `reason` (or the envelope's `status`), if the body had one.
        reason: Option<String>,
        /// A human message (Google's, or the transport error's), without any secret.
        message: String,
        /// Whether the failure was transient (retries were exhausted) or permanent.
        transient: bool,
    },

    /// A 2xx response body was not the JSON we expect at all (not even leniently).
    #[error("{route}: response body unreadable: {message}")]
    Decode {
        /// The route.
        route: String,
        /// The parser's message.
        message: String,
    },

    /// A response body was larger than the connector reads (`max_response_bytes`): nothing of
    /// it was used. Raise the limit or narrow the request.
    #[error("{route}: response body larger than {limit} bytes")]
    TooLarge {
        /// The route.
        route: String,
        /// The limit in bytes.
        limit: usize,
    },

    /// The connector is shutting down (its request limiter was closed); the call was not sent.
    #[error("the connector is shutting down")]
    Closed,

    /// A lock of the connector was poisoned by a panic in another task: a bug, not a setting.
    /// The run fails; a new connector starts clean.
    #[error("internal error: the {what} was poisoned by a panic in another task")]
    Poisoned {
        /// Which lock.
        what: &'static str,
    },

    /// A domain rule refused the data (a page chain loop, an incomplete snapshot, ...).
    #[error(transparent)]
    Core(#[from] dirsync_core::Error),
}

/// Google `reason`s that mean "the subject or project may not use this API": configuration
/// errors, reported as [`AccessDenied::Unauthorized`].
const CONFIG_REASONS: &[&str] = &[
    "forbidden",
    "accessNotConfigured",
    "domainCannotUseApis",
    "PERMISSION_DENIED",
];

impl Error {
    /// Whether the failure is about the setup (settings, key, credentials, scopes, API access)
    /// rather than one call, so every further call would fail the same way: an apply stops on it.
    pub fn is_configuration(&self) -> bool {
        match self {
            Self::Config { .. } | Self::Key { .. } | Self::Access(_) | Self::Consent { .. } => true,
            Self::Http {
                status: Some(403),
                reason: Some(reason),
                ..
            } => CONFIG_REASONS.contains(&reason.as_str()),
            _ => false,
        }
    }

    /// Whether a later attempt (the next run) may succeed without a configuration change.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Token { transient, .. } | Self::Http { transient, .. } => *transient,
            _ => false,
        }
    }
}

impl From<Error> for dirsync_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Config { reason } => dirsync_core::Error::InvalidValue {
                kind: "google connector configuration",
                value: String::new(),
                reason,
            },
            Error::Key { reason } => AccessDenied::Unauthorized {
                reason: format!("service-account key unusable: {reason}"),
            }
            .into(),
            Error::Access(denied) => denied.into(),
            Error::Consent { reason } => AccessDenied::Unauthorized {
                reason: format!("consent failed: {reason}"),
            }
            .into(),
            Error::Token { message, transient } => dirsync_core::Error::Remote {
                route: "POST token_uri".to_owned(),
                status: None,
                reason: None,
                message,
                transient,
            },
            Error::Http {
                route,
                status,
                reason,
                message,
                transient,
            } => {
                if status == Some(403)
                    && reason
                        .as_deref()
                        .is_some_and(|r| CONFIG_REASONS.contains(&r))
                {
                    AccessDenied::Unauthorized {
                        reason: format!(
                            "{route} answered 403 ({}): {message}",
                            reason.as_deref().unwrap_or_default()
                        ),
                    }
                    .into()
                } else {
                    dirsync_core::Error::Remote {
                        route,
                        status,
                        reason,
                        message,
                        transient,
                    }
                }
            }
            Error::Decode { route, message } => dirsync_core::Error::Remote {
                route,
                status: None,
                reason: Some("decode".to_owned()),
                message,
                transient: true,
            },
            Error::TooLarge { route, limit } => dirsync_core::Error::Remote {
                route,
                status: None,
                reason: Some("tooLarge".to_owned()),
                message: format!("response body larger than {limit} bytes"),
                transient: false,
            },
            e @ Error::Poisoned { .. } => dirsync_core::Error::Remote {
                route: "connector".to_owned(),
                status: None,
                reason: Some("internal".to_owned()),
                message: e.to_string(),
                transient: false,
            },
            Error::Closed => dirsync_core::Error::Remote {
                route: "connector".to_owned(),
                status: None,
                reason: None,
                message: "the connector is shutting down".to_owned(),
                transient: true,
            },
            Error::Core(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, reason: &str, transient: bool) -> Error {
        Error::Http {
            route: "GET /admin/directory/v1/users".into(),
            status: Some(status),
            reason: Some(reason.into()),
            message: "m".into(),
            transient,
        }
    }

    #[test]
    fn http_failures_keep_route_status_and_reason() {
        let core: dirsync_core::Error = http(503, "backendError", true).into();
        assert_eq!(
            core,
            dirsync_core::Error::Remote {
                route: "GET /admin/directory/v1/users".into(),
                status: Some(503),
                reason: Some("backendError".into()),
                message: "m".into(),
                transient: true,
            }
        );
        assert_eq!(
            http(404, "notFound", false).to_string(),
            "GET /admin/directory/v1/users failed with status 404 (notFound): m"
        );
    }

    #[test]
    fn forbidden_is_a_configuration_error_and_scopes_stay_named() -> Result<(), Error> {
        let core: dirsync_core::Error = http(403, "forbidden", false).into();
        assert!(
            matches!(
                core,
                dirsync_core::Error::Access(AccessDenied::Unauthorized { .. })
            ),
            "{core:?}"
        );
        let scope = dirsync_core::Scope::new(crate::scopes::USER_READONLY)?;
        let core: dirsync_core::Error = Error::Access(AccessDenied::MissingScopes {
            scopes: vec![scope.clone()],
        })
        .into();
        assert_eq!(
            core,
            dirsync_core::Error::Access(AccessDenied::MissingScopes {
                scopes: vec![scope]
            })
        );
        let core: dirsync_core::Error =
            Error::Access(AccessDenied::Unauthorized { reason: "x".into() }).into();
        assert!(matches!(
            core,
            dirsync_core::Error::Access(AccessDenied::Unauthorized { .. })
        ));
        Ok(())
    }
}
