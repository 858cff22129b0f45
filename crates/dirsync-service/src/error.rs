//! The one error type of `dirsync-service`.

use dirsync_core::{IntegrationId, RuleId, Scope};

/// What went wrong in a service call. Each variant says what the caller can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Workspace admin has not granted these scopes to the service account: grant exactly
    /// these strings (domain-wide delegation) and activate or reauthorize again. The
    /// integration is left as it was.
    #[error(
        "the service account is missing scopes: {}; grant them in the Google Admin console and try again",
        join(scopes)
    )]
    MissingScopes {
        /// The scopes to grant.
        scopes: Vec<Scope>,
    },

    /// The remote refused the credentials or the delegated subject (a configuration error:
    /// fix the key or subject and reauthorize).
    #[error("the remote refused the credentials: {reason}")]
    Unauthorized {
        /// What the remote said, without any secret.
        reason: String,
    },

    /// The service-account key a setting names cannot be used.
    #[error("service-account key {reference}: {reason}")]
    Key {
        /// Which key (a file path or a secret's name; never the key).
        reference: String,
        /// Why.
        reason: String,
    },

    /// The operation needs the integration in another state (e.g. activating one that is
    /// already active).
    #[error("integration {integration} is {state}: {action} needs it {needs}")]
    WrongState {
        /// The integration.
        integration: IntegrationId,
        /// Its state.
        state: String,
        /// What was asked.
        action: &'static str,
        /// The state(s) it needs.
        needs: &'static str,
    },

    /// The integration has no such rule.
    #[error("integration {integration} has no rule {rule}")]
    UnknownRule {
        /// The integration.
        integration: IntegrationId,
        /// The rule asked for.
        rule: RuleId,
    },

    /// These connectors cannot connect to this system.
    #[error("no connector for {system}")]
    UnsupportedSystem {
        /// The system's name.
        system: String,
    },

    /// A value given to the service is invalid (a title, a rule, settings).
    #[error(transparent)]
    Invalid(#[from] dirsync_core::Error),

    /// Building a connector from the integration's settings failed.
    #[cfg(feature = "google")]
    #[error(transparent)]
    Connector(#[from] dirsync_google::Error),

    /// The run could not start or be recorded (see the engine's error). A store error of the
    /// engine (another run's lease, a lost lease, ...) is [`Store`](Self::Store) instead.
    #[error(transparent)]
    Engine(dirsync_engine::Error),

    /// The store failed or refused (e.g. the integration does not exist).
    #[error(transparent)]
    Store(#[from] dirsync_store::Error),
}

impl From<dirsync_engine::Error> for Error {
    fn from(e: dirsync_engine::Error) -> Self {
        match e {
            dirsync_engine::Error::Store(e) => Self::Store(e),
            other => Self::Engine(other),
        }
    }
}

impl Error {
    /// A stable name for the kind of error, for JSON answers (`{"error": {"kind", "message"}}`):
    /// `missing_scopes`, `unauthorized`, `key`, `wrong_state`, `unknown_rule`, `not_found`,
    /// `busy` (another run holds the integration), `store`, `run` or `invalid`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingScopes { .. } => "missing_scopes",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Key { .. } => "key",
            Self::WrongState { .. } => "wrong_state",
            Self::UnknownRule { .. } => "unknown_rule",
            Self::Store(dirsync_store::Error::NotFound { .. })
            | Self::Engine(
                dirsync_engine::Error::NoHeldPlan { .. }
                | dirsync_engine::Error::Store(dirsync_store::Error::NotFound { .. }),
            ) => "not_found",
            Self::Store(dirsync_store::Error::Leased { .. })
            | Self::Engine(dirsync_engine::Error::Store(dirsync_store::Error::Leased { .. })) => {
                "busy"
            }
            Self::Store(_) => "store",
            Self::Engine(_) => "run",
            _ => "invalid",
        }
    }

    /// Sorts a connector-level error: missing scopes and refused credentials become their own
    /// variants, anything else stays an invalid-value or remote error.
    pub(crate) fn from_remote(error: dirsync_core::Error) -> Self {
        match error {
            dirsync_core::Error::MissingScopes { scopes } => Self::MissingScopes { scopes },
            dirsync_core::Error::Unauthorized { reason } => Self::Unauthorized { reason },
            other => Self::Invalid(other),
        }
    }
}

fn join(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(Scope::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
