//! How the service gets a connector for an integration: the [`Connectors`] seam. The default,
//! `GoogleConnectors`, is in `google.rs` (feature `google`).

use std::collections::BTreeSet;
use std::sync::Arc;

use dirsync_core::{
    DirectionKind, DirectorySource, DirectoryTarget, Email, IntegrationId, RemoteSettings, Scope,
    ServiceAccountKey,
};

use crate::Error;

/// What a connector is built for: one integration's settings, direction and the scopes it must
/// hold.
#[derive(Debug, Clone, Copy)]
pub struct ConnectorRequest<'a> {
    /// The integration.
    pub integration: IntegrationId,
    /// Its direction.
    pub direction: DirectionKind,
    /// The settings to connect with (for a reauthorization: the new ones, not yet stored).
    pub settings: &'a RemoteSettings,
    /// The exact scopes the integration needs; access validation checks each of them.
    pub scopes: &'a BTreeSet<Scope>,
}

/// The public facts of a service account, read from its key without contacting anyone: what
/// the Workspace admin enters for domain-wide delegation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The OAuth client id.
    pub client_id: String,
    /// The service account's email.
    pub client_email: Email,
}

/// Builds connectors from stored settings. The service calls it for every operation that talks
/// to a remote, so an implementation may cache (e.g. by integration id and settings).
///
/// `GoogleConnectors` (feature `google`) is the real one; tests and embedding products can supply their own
/// (e.g. to route every integration to an emulator, or to resolve keys from a vault).
pub trait Connectors: Send + Sync {
    /// The public facts of the key `settings` name.
    ///
    /// # Errors
    /// [`Error::Key`] when the key cannot be read or is not a service-account key.
    fn credentials(&self, settings: &RemoteSettings) -> Result<Credentials, Error>;

    /// A connection to the remote directory of `request.integration`: one connector that
    /// reads it and (for outbound integrations) writes it, sharing one client-side pacer so
    /// reads and writes together stay under the integration's quota.
    ///
    /// # Errors
    /// [`Error::Key`] or `Error::Connector` when no connector can be built from the settings.
    fn connect(&self, request: &ConnectorRequest<'_>) -> Result<Connection, Error>;

    /// Drops whatever is kept for `integration` (a cached connector, its tokens): the
    /// integration was removed. Does nothing by default.
    fn forget(&self, integration: IntegrationId) {
        let _ = integration;
    }
}

/// One integration's way to a remote directory: the read side and the write side of the same
/// connector.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Reads (fetches and access checks).
    pub source: Arc<dyn DirectorySource>,
    /// Writes (outbound integrations).
    pub target: Arc<dyn DirectoryTarget>,
}

/// Resolves [`KeyReference::Named`](dirsync_core::KeyReference::Named) keys from the embedding application's secret manager.
pub trait SecretStore: Send + Sync {
    /// The service-account key JSON stored under `name`.
    ///
    /// # Errors
    /// [`Error::Key`] when there is no such secret or it cannot be read.
    fn service_account_key(&self, name: &str) -> Result<ServiceAccountKey, Error>;
}
