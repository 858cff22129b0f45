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
/// hold. The service makes these; [`ConnectorRequest::new`] is for tests of a [`Connectors`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
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
/// the Workspace admin enters for domain-wide delegation. Made with [`Credentials::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credentials {
    /// The OAuth client id.
    pub client_id: String,
    /// The service account's email.
    pub client_email: Email,
}

impl<'a> ConnectorRequest<'a> {
    /// A request for `integration` in `direction`, with `settings` and the `scopes` it needs.
    pub fn new(
        integration: IntegrationId,
        direction: DirectionKind,
        settings: &'a RemoteSettings,
        scopes: &'a BTreeSet<Scope>,
    ) -> Self {
        Self {
            integration,
            direction,
            settings,
            scopes,
        }
    }
}

impl Credentials {
    /// The service account `client_email` with the OAuth client id `client_id`.
    pub fn new(client_id: impl Into<String>, client_email: Email) -> Self {
        Self {
            client_id: client_id.into(),
            client_email,
        }
    }
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
/// connector. Made with [`Connection::new`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Connection {
    /// Reads (fetches and access checks).
    pub source: Arc<dyn DirectorySource>,
    /// Writes (outbound integrations).
    pub target: Arc<dyn DirectoryTarget>,
}

impl Connection {
    /// Reads through `source` and writes through `target`.
    pub fn new(source: Arc<dyn DirectorySource>, target: Arc<dyn DirectoryTarget>) -> Self {
        Self { source, target }
    }
}

/// Resolves [`KeyReference::Named`](dirsync_core::KeyReference::Named) keys from the embedding application's secret manager.
pub trait SecretStore: Send + Sync {
    /// The service-account key JSON stored under `name`.
    ///
    /// # Errors
    /// [`Error::Key`] when there is no such secret or it cannot be read.
    fn service_account_key(&self, name: &str) -> Result<ServiceAccountKey, Error>;
}
