//! The one error type of `dirsync-core`.

use crate::integration::{IntegrationState, Transition};

/// Everything that can go wrong in the domain layer: invalid values, illegal state changes,
/// incomplete snapshots, and failures reported by connectors through the connector traits.
///
/// Each variant's documentation says what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value failed validation (an email, an org-unit path, an id, a scope, a time).
    ///
    /// The input is wrong; fix it and try again. Nothing was stored.
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidValue {
        /// What was being parsed, e.g. `"email"`.
        kind: &'static str,
        /// The offending input, truncated to a printable length.
        value: String,
        /// Why it was refused.
        reason: String,
    },

    /// A schedule could not be built (bad day of month, bad time zone name, bad time of day).
    #[error("invalid schedule: {reason}")]
    InvalidSchedule {
        /// Why it was refused.
        reason: String,
    },

    /// The integration's state machine does not allow this transition from its current state.
    ///
    /// Check the state first (`Integration::state`); e.g. a staged integration must be
    /// activated before it can be deactivated.
    #[error("integration in state {from} cannot {transition}")]
    IllegalTransition {
        /// The state the integration was in (unchanged).
        from: IntegrationState,
        /// The transition that was refused.
        transition: Transition,
    },

    /// A user's lifecycle does not allow this change (e.g. suspending a deprovisioned user).
    #[error("user lifecycle: cannot go from {from} by {event}")]
    IllegalLifecycle {
        /// The user's status before the change.
        from: crate::UserStatus,
        /// The lifecycle event that was refused.
        event: crate::LifecycleKind,
    },

    /// A snapshot could not be finished because a page chain was not followed to its end, or a
    /// kind that was asked for was never fetched. No snapshot exists; never treat this as empty.
    #[error("snapshot incomplete: {missing}")]
    IncompleteSnapshot {
        /// Which chain or kind is missing.
        missing: String,
    },

    /// A page chain misbehaved: a page token repeated (a loop) or a page arrived after the last.
    /// The fetch must fail; retrying the whole fetch may succeed.
    #[error("page chain {chain}: {reason}")]
    PageChain {
        /// The chain, e.g. `users` or `members of 03x5`.
        chain: String,
        /// What went wrong.
        reason: String,
    },

    /// The integration may not reach its remote (missing scopes, refused credentials, failed
    /// access checks): see [`AccessDenied`](crate::AccessDenied). A configuration error: never
    /// retried, never a reason to deprovision.
    #[error(transparent)]
    Access(#[from] crate::AccessDenied),

    /// A credential that settings name cannot be used: a key file that cannot be read or is
    /// not a key, a named secret the secret store does not hold. Fix the reference or the secret.
    #[error("credential {reference}: {reason}")]
    Credential {
        /// Which credential (a file path or a secret's name; never the secret).
        reference: String,
        /// Why.
        reason: String,
    },

    /// A remote call failed after the connector's retries. The run fails; nothing is applied.
    #[error("remote call {route} failed{}{}: {message}",
        status.map(|s| format!(" with status {s}")).unwrap_or_default(),
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Remote {
        /// The route, e.g. `GET /admin/directory/v1/users`.
        route: String,
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        /// Google's error `reason`, when the body had one.
        reason: Option<String>,
        /// A human message, without any secret.
        message: String,
        /// Whether the failure was transient (a later run may succeed).
        transient: bool,
    },
}

/// Shortens an input for inclusion in an error message.
pub(crate) fn clip(value: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = value
        .chars()
        .take(MAX)
        .flat_map(char::escape_default)
        .collect();
    if value.chars().count() > MAX {
        out.push('…');
    }
    out
}
