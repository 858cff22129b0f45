//! The one error type of `dirsync-store` (and of every backend's `Store` implementation).

use dirsync_core::{IntegrationId, Version};

/// A boxed error from a backend's driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong in a store. Variants say what happened, not which library failed; each
/// says what the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object does not exist. Check the id.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked up, e.g. `"integration"`.
        kind: &'static str,
        /// Its id.
        id: String,
    },

    /// An object with this id already exists (e.g. the same `NewIntegration` created twice).
    /// Nothing was written; use the existing object.
    #[error("{kind} {id} already exists")]
    AlreadyExists {
        /// What was created, e.g. `"integration"`.
        kind: &'static str,
        /// Its id.
        id: String,
    },

    /// Someone else changed the data first: re-read, re-plan, and try again.
    #[error(
        "conflict on integration {integration}: planned against {expected}, store is at {actual}"
    )]
    Conflict {
        /// The integration.
        integration: IntegrationId,
        /// The version the change was based on.
        expected: Version,
        /// The version in the store.
        actual: Version,
    },

    /// The integration was saved by someone else since it was read (stale revision): re-read it.
    #[error(
        "integration {integration} was changed concurrently (revision {expected} is stale, store has {actual})"
    )]
    StaleIntegration {
        /// The integration.
        integration: IntegrationId,
        /// The revision the caller had.
        expected: u64,
        /// The revision in the store.
        actual: u64,
    },

    /// The primary integration still owns directory data and cannot be removed. It is the
    /// source of truth for every profile; this is refused by design.
    #[error(
        "integration {integration} is the primary and still owns directory data; it cannot be removed"
    )]
    PrimaryOwnsData {
        /// The primary.
        integration: IntegrationId,
    },

    /// A field that never changes after creation was changed (direction, role, system, created_at).
    #[error("integration {integration}: {field} is fixed at creation and cannot change")]
    Immutable {
        /// The integration.
        integration: IntegrationId,
        /// Which field.
        field: &'static str,
    },

    /// Directory changes were sent for an outbound integration, which writes to its remote,
    /// never to the directory.
    #[error("integration {integration} is outbound: it cannot write the directory")]
    NotInbound {
        /// The integration.
        integration: IntegrationId,
    },

    /// Ownership records were written for an integration that is not outbound: only outbound
    /// integrations create memberships in a remote.
    #[error("integration {integration} is inbound: it owns no remote memberships")]
    NotOutbound {
        /// The integration.
        integration: IntegrationId,
    },

    /// Profile or lifecycle changes came from an integration that is not the primary.
    #[error("integration {integration} is not the primary: it cannot write profiles or lifecycles")]
    NotPrimary {
        /// The integration that tried.
        integration: IntegrationId,
    },

    /// One operation of a change set is invalid (e.g. a duplicate email, an unknown user, an
    /// illegal lifecycle transition). Nothing of the change set was written.
    #[error("change {index} is invalid: {reason}")]
    InvalidChange {
        /// Position of the operation in the change set.
        index: usize,
        /// Why.
        reason: String,
    },

    /// Another holder has the integration's lease (a sync is running). Wait, or give up.
    #[error("integration {integration} is leased by {holder} until {until}")]
    Leased {
        /// The integration.
        integration: IntegrationId,
        /// Who holds it.
        holder: String,
        /// Until when.
        until: chrono::DateTime<chrono::Utc>,
    },

    /// A fenced write's run no longer holds the integration's lease (it expired and another
    /// run took it, or it was released): nothing was written. The run must stop.
    #[error("integration {integration}: the lease of {holder} was lost; nothing was written")]
    LeaseLost {
        /// The integration.
        integration: IntegrationId,
        /// The holder whose lease it was.
        holder: String,
    },

    /// The database was written by a newer version of directory-sync. Upgrade, or use another file.
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// The schema version found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },

    /// Stored data could not be read back (a row that fails validation). The data is kept
    /// untouched; report it.
    #[error("{backend}: stored data is corrupt: {detail}")]
    Corrupt {
        /// The backend.
        backend: &'static str,
        /// What failed.
        detail: String,
    },

    /// The backend is unavailable or failed (IO, driver, injected fault). Nothing was written;
    /// retrying later may succeed.
    #[error("{backend} store unavailable: {source}")]
    Unavailable {
        /// The backend.
        backend: &'static str,
        /// The cause.
        #[source]
        source: BoxError,
    },

    /// A domain value was refused.
    #[error(transparent)]
    Domain(#[from] dirsync_core::Error),
}

impl Error {
    /// Shorthand for [`Error::NotFound`] of an integration.
    pub fn integration_not_found(id: IntegrationId) -> Self {
        Self::NotFound {
            kind: "integration",
            id: id.to_string(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
