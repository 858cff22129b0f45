//! [`GoogleKind`]: the Google Workspace system as a [`ConnectorKind`], for a connector registry.
//! It builds a [`GoogleConnector`] from an integration's stored [`GoogleSettings`] and keeps it
//! while they stay the same.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use dirsync_core::{
    ConnectRequest, Connection, ConnectorKind, DirectionKind, Error as CoreError, Grant,
    IntegrationId, ObjectKinds, RemoteSettings, Scope, SecretReference, SecretStore, System,
};

use crate::settings::{GoogleSettings, KeyReference, SYSTEM, ServiceAccountKey, required_scopes};
use crate::{GoogleConnector, GoogleConnectorBuilder, KeyInfo};

type Customize = dyn Fn(GoogleConnectorBuilder) -> GoogleConnectorBuilder + Send + Sync;

/// Google Workspace as a connector kind: a [`GoogleConnector`] per integration, from its
/// [`GoogleSettings`]. Named keys come from the [`SecretStore`] given with
/// [`with_secrets`](Self::with_secrets).
///
/// Connectors are kept per integration and reused while its settings, scopes and key stay the
/// same (the key is read again on every use, so a rotated key file takes effect at once): runs
/// of one integration then share gcp_auth's token cache and one client-side pacer, so a process
/// running many syncs stays under the subject's quota across runs, not only within one.
#[derive(Clone, Default)]
pub struct GoogleKind {
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

impl fmt::Debug for GoogleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleKind")
            .field("secrets", &self.secrets.is_some())
            .field("customized", &self.customize.is_some())
            .finish_non_exhaustive()
    }
}

impl GoogleKind {
    /// The kind with Google's defaults and key files only.
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

    /// How many connectors are cached (one per integration that connected and was not
    /// removed since; a changed integration's connector is replaced, not added).
    pub fn cached(&self) -> usize {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn key(&self, reference: &KeyReference) -> Result<ServiceAccountKey, CoreError> {
        let unusable = |reason: String| CoreError::Credential {
            reference: reference.to_string(),
            reason,
        };
        match reference {
            KeyReference::File(path) => std::fs::read_to_string(path)
                .map(ServiceAccountKey::new)
                .map_err(|e| unusable(e.to_string())),
            KeyReference::Named(name) => match &self.secrets {
                Some(secrets) => secrets.secret(name).map(ServiceAccountKey::from),
                None => Err(unusable(
                    "a named key needs a secret store (GoogleKind::with_secrets)".to_owned(),
                )),
            },
        }
    }

    fn key_info(&self, settings: &GoogleSettings) -> Result<KeyInfo, CoreError> {
        KeyInfo::parse(self.key(&settings.key)?).map_err(|e| CoreError::Credential {
            reference: settings.key.to_string(),
            reason: e.to_string(),
        })
    }
}

impl ConnectorKind for GoogleKind {
    fn system(&self) -> System {
        SYSTEM
    }

    fn name(&self) -> &str {
        "Google Workspace"
    }

    fn directions(&self) -> Vec<DirectionKind> {
        vec![DirectionKind::Inbound, DirectionKind::Outbound]
    }

    fn readable_kinds(&self) -> ObjectKinds {
        ObjectKinds::all()
    }

    fn validate_settings(&self, settings: &RemoteSettings) -> Result<(), CoreError> {
        settings.typed::<GoogleSettings>().map(|_| ())
    }

    fn secrets(&self, settings: &RemoteSettings) -> Result<Vec<SecretReference>, CoreError> {
        let google = settings.typed::<GoogleSettings>()?;
        Ok(vec![SecretReference::new(
            google.key.to_string(),
            "service-account key",
        )])
    }

    fn grant(&self, request: &ConnectRequest<'_>) -> Result<Grant, CoreError> {
        let google = request.settings.typed::<GoogleSettings>()?;
        let info = self.key_info(&google)?;
        Ok(Grant::Scopes {
            client_id: Some(info.client_id),
            client_email: Some(info.client_email),
            subject: Some(google.subject),
            scopes: required_scopes(request.direction, request.kinds.iter()),
            console: Some(
                "admin.google.com → Security → Access and data control → API controls →\n     \
                 Manage Domain Wide Delegation → Add new"
                    .to_owned(),
            ),
        })
    }

    fn connect(&self, request: &ConnectRequest<'_>) -> Result<Connection, CoreError> {
        let google = request.settings.typed::<GoogleSettings>()?;
        let key = self.key(&google.key)?;
        let scopes = required_scopes(request.direction, request.kinds.iter());
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let connector = match cache.get(&request.integration) {
            Some(c)
                if c.settings == *request.settings
                    && c.scopes == scopes
                    && c.key.expose_secret() == key.expose_secret() =>
            {
                Arc::clone(&c.connector)
            }
            _ => {
                let mut builder = GoogleConnectorBuilder::from_settings(&google)
                    .key_json(key.clone())
                    .scopes(scopes.iter().cloned());
                if let Some(customize) = &self.customize {
                    builder = customize(builder);
                }
                let connector = Arc::new(builder.build().map_err(CoreError::from)?);
                cache.insert(
                    request.integration,
                    Cached {
                        settings: request.settings.clone(),
                        scopes,
                        key,
                        connector: Arc::clone(&connector),
                    },
                );
                connector
            }
        };
        Ok(Connection::new(connector.clone(), connector))
    }

    fn forget(&self, integration: IntegrationId) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&integration);
    }
}
