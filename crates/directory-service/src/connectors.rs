//! How the service gets a connector for an integration: the [`Connectors`] seam, and
//! [`GoogleConnectors`], the default that builds a [`GoogleConnector`] from the stored settings.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use directory_core::{
    DirectionKind, DirectorySource, DirectoryTarget, Email, GoogleSettings, IntegrationId,
    KeyReference, RemoteSettings, Scope, ServiceAccountKey,
};
use google_connector::{GoogleConnector, GoogleConnectorBuilder, KeyInfo};

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
/// [`GoogleConnectors`] is the real one; tests and embedding products can supply their own
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
    /// [`Error::Key`] or [`Error::Connector`] when no connector can be built from the settings.
    fn connect(&self, request: &ConnectorRequest<'_>) -> Result<Connection, Error>;
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

/// Resolves [`KeyReference::Named`] keys from the embedding application's secret manager.
pub trait SecretStore: Send + Sync {
    /// The service-account key JSON stored under `name`.
    ///
    /// # Errors
    /// [`Error::Key`] when there is no such secret or it cannot be read.
    fn service_account_key(&self, name: &str) -> Result<ServiceAccountKey, Error>;
}

type Customize = dyn Fn(GoogleConnectorBuilder) -> GoogleConnectorBuilder + Send + Sync;

/// The default [`Connectors`]: a [`GoogleConnector`] per integration, from its
/// [`GoogleSettings`](directory_core::GoogleSettings). Named keys come from the [`SecretStore`]
/// given with [`with_secrets`](Self::with_secrets).
///
/// Connectors are kept per integration and reused while its settings, scopes and key stay the
/// same (the key is read again on every use, so a rotated key file takes effect at once): runs
/// of one integration then share gcp_auth's token cache and one client-side pacer, so a process
/// running many syncs stays under the subject's quota across runs, not only within one.
#[derive(Clone, Default)]
pub struct GoogleConnectors {
    secrets: Option<Arc<dyn SecretStore>>,
    customize: Option<Arc<Customize>>,
    cache: Arc<Mutex<HashMap<IntegrationId, Cached>>>,
}

/// A built connector and what it was built from.
struct Cached {
    settings: RemoteSettings,
    scopes: BTreeSet<Scope>,
    key: ServiceAccountKey,
    connector: Arc<GoogleConnector>,
}

impl fmt::Debug for GoogleConnectors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleConnectors")
            .field("secrets", &self.secrets.is_some())
            .field("customized", &self.customize.is_some())
            .finish_non_exhaustive()
    }
}

impl GoogleConnectors {
    /// Connectors with Google's defaults and key files only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resolves named keys from `secrets`.
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretStore>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Adjusts every connector before it is built (concurrency, retries, timeouts, mapping).
    /// The settings' subject, key, customer, API base and pacing are applied first.
    pub fn customize(
        mut self,
        f: impl Fn(GoogleConnectorBuilder) -> GoogleConnectorBuilder + Send + Sync + 'static,
    ) -> Self {
        self.customize = Some(Arc::new(f));
        self
    }

    fn key(&self, reference: &KeyReference) -> Result<ServiceAccountKey, Error> {
        match reference {
            KeyReference::File(path) => std::fs::read_to_string(path)
                .map(ServiceAccountKey::new)
                .map_err(|e| Error::Key {
                    reference: path.display().to_string(),
                    reason: e.to_string(),
                }),
            KeyReference::Named(name) => match &self.secrets {
                Some(secrets) => secrets.service_account_key(name),
                None => Err(Error::Key {
                    reference: name.clone(),
                    reason: "a named key needs a secret store (GoogleConnectors::with_secrets)"
                        .to_owned(),
                }),
            },
        }
    }
}

fn google(settings: &RemoteSettings) -> Result<&GoogleSettings, Error> {
    match settings {
        RemoteSettings::GoogleWorkspace(google) => Ok(google),
        other => Err(Error::UnsupportedSystem {
            system: other.system().to_string(),
        }),
    }
}

fn key_name(reference: &KeyReference) -> String {
    match reference {
        KeyReference::File(path) => path.display().to_string(),
        KeyReference::Named(name) => name.clone(),
    }
}

impl Connectors for GoogleConnectors {
    fn credentials(&self, settings: &RemoteSettings) -> Result<Credentials, Error> {
        let google = google(settings)?;
        let info = KeyInfo::parse(self.key(&google.key)?).map_err(|e| Error::Key {
            reference: key_name(&google.key),
            reason: e.to_string(),
        })?;
        Ok(Credentials {
            client_id: info.client_id,
            client_email: info.client_email,
        })
    }

    fn connect(&self, request: &ConnectorRequest<'_>) -> Result<Connection, Error> {
        let google = google(request.settings)?;
        let key = self.key(&google.key)?;
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let connector = match cache.get(&request.integration) {
            Some(c)
                if c.settings == *request.settings
                    && c.scopes == *request.scopes
                    && c.key.expose_secret() == key.expose_secret() =>
            {
                Arc::clone(&c.connector)
            }
            _ => {
                let mut builder = GoogleConnectorBuilder::from_settings(google)
                    .key_json(key.clone())
                    .scopes(request.scopes.iter().cloned());
                if let Some(customize) = &self.customize {
                    builder = customize(builder);
                }
                let connector = Arc::new(builder.build()?);
                cache.insert(
                    request.integration,
                    Cached {
                        settings: request.settings.clone(),
                        scopes: request.scopes.clone(),
                        key,
                        connector: Arc::clone(&connector),
                    },
                );
                connector
            }
        };
        Ok(Connection {
            source: connector.clone(),
            target: connector,
        })
    }
}
