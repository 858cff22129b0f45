//! [`GoogleConnectors`], the default [`Connectors`]: builds a [`GoogleConnector`] from an
//! integration's stored settings and keeps it while they stay the same.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use dirsync_core::{
    GoogleSettings, IntegrationId, KeyReference, RemoteSettings, Scope, ServiceAccountKey,
};
use dirsync_google::{GoogleConnector, GoogleConnectorBuilder, KeyInfo};

use crate::{Connection, ConnectorRequest, Connectors, Credentials, Error, SecretStore};

type Customize = dyn Fn(GoogleConnectorBuilder) -> GoogleConnectorBuilder + Send + Sync;

/// The default [`Connectors`]: a [`GoogleConnector`] per integration, from its
/// [`GoogleSettings`](dirsync_core::GoogleSettings). Named keys come from the [`SecretStore`]
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

    /// How many connectors are cached (one per integration that connected and was not
    /// removed since; a changed integration's connector is replaced, not added).
    pub fn cached(&self) -> usize {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
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
            other => Err(Error::Key {
                reference: key_name(other),
                reason: "a kind of key reference this service cannot read".to_owned(),
            }),
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
        other => format!("{other:?}"),
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

    fn forget(&self, integration: IntegrationId) {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&integration);
    }
}
