//! The one error type of `dirsync-service`.

use dirsync_core::{IntegrationId, RuleId};

/// What went wrong in a service call. Each variant says what the caller can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The integration may not reach its remote: scopes not granted (named exactly, to grant
    /// and try again), credentials refused, or other access checks failed. The integration is
    /// left as it was.
    #[error(transparent)]
    Access(dirsync_core::AccessDenied),

    /// A credential the settings name cannot be used (a key file that cannot be read or is not
    /// a key, a named secret the secret store does not hold).
    #[error("credential {reference}: {reason}")]
    Credential {
        /// Which credential (a file path or a secret's name; never the secret).
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

    /// No connector is registered for this system (see [`Registry`](crate::Registry)).
    #[error("no connector is registered for the system {system}")]
    UnsupportedSystem {
        /// The system's name.
        system: String,
    },

    /// A value given to the service is invalid (a title, a rule, settings), or a connector
    /// could not be built from the settings.
    #[error(transparent)]
    Invalid(dirsync_core::Error),

    /// The run could not start or be recorded (see the engine's error). A store error of the
    /// engine (another run's lease, a lost lease, ...) is [`Store`](Self::Store) instead.
    #[error(transparent)]
    Engine(dirsync_engine::Error),

    /// The store failed or refused (e.g. the integration does not exist).
    #[error(transparent)]
    Store(#[from] dirsync_store::Error),
}

impl From<dirsync_core::Error> for Error {
    /// Access failures and unusable credentials keep their own variants; anything else is
    /// [`Error::Invalid`].
    fn from(e: dirsync_core::Error) -> Self {
        match e {
            dirsync_core::Error::Access(denied) => Self::Access(denied),
            dirsync_core::Error::Credential { reference, reason } => {
                Self::Credential { reference, reason }
            }
            other => Self::Invalid(other),
        }
    }
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
    /// `missing_scopes`, `unauthorized`, `access_checks`, `credential`, `wrong_state`,
    /// `unknown_rule`, `unsupported_system`, `not_found`, `busy` (another run holds the
    /// integration), `store`, `run` or `invalid`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Access(denied) => denied.kind(),
            Self::Credential { .. } => "credential",
            Self::UnsupportedSystem { .. } => "unsupported_system",
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
}
