//! [`GoogleKind`]: the Google Workspace system as a [`ConnectorKind`], for a connector registry.
//! It builds a [`GoogleConnector`] from an integration's stored [`GoogleSettings`] and keeps it
//! while they stay the same.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use dirsync_core::{
    ConnectRequest, Connection, ConnectorKind, DirectionKind, Error as CoreError, Grant,
    IntegrationId, ObjectKinds, RemoteOpKinds, RemoteSettings, Scope, SecretReference, SecretStore,
    System,
};

use crate::oauth::{ConsentFlow, OAuthClient, OAuthEndpoints, RefreshTokenSource, StoredConsent};
use crate::settings::{
    Credential, GoogleSettings, KeyReference, OAuthSettings, SYSTEM, ServiceAccountKey,
    required_scopes,
};
use crate::{GoogleConnector, GoogleConnectorBuilder, KeyInfo};

use dirsync_core::NO_SUCH_SECRET;

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
    /// The credential material: the key, or the client file and the stored consent.
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

    fn key_info(&self, key: &KeyReference) -> Result<KeyInfo, CoreError> {
        KeyInfo::parse(self.key(key)?).map_err(|e| CoreError::Credential {
            reference: key.to_string(),
            reason: e.to_string(),
        })
    }

    fn oauth_client(&self, oauth: &OAuthSettings) -> Result<OAuthClient, CoreError> {
        let file = self.key(&oauth.client)?;
        OAuthClient::parse(file.expose_secret()).map_err(|e| CoreError::Credential {
            reference: oauth.client.to_string(),
            reason: e.to_string(),
        })
    }

    fn secret_store(&self) -> Result<&Arc<dyn SecretStore>, CoreError> {
        self.secrets.as_ref().ok_or_else(|| CoreError::Credential {
            reference: "google-oauth".to_owned(),
            reason: "consent needs a secret store (GoogleKind::with_secrets)".to_owned(),
        })
    }

    /// The consent flow of a consent-based integration's settings (its OAuth client and
    /// Google's endpoints).
    ///
    /// # Errors
    /// [`CoreError::InvalidValue`] for settings that do not parse or are not consent-based;
    /// [`CoreError::Credential`] for an unreadable client file.
    pub fn consent_flow(&self, settings: &RemoteSettings) -> Result<ConsentFlow, CoreError> {
        let oauth = oauth_settings(settings)?;
        let endpoints = OAuthEndpoints::at(oauth.oauth_base.as_deref())?;
        Ok(ConsentFlow::new(self.oauth_client(&oauth)?, endpoints)?)
    }

    /// Keeps `consent` as `integration`'s (encrypted by the secret store), replacing an
    /// earlier one.
    ///
    /// # Errors
    /// [`CoreError::Credential`] when there is no secret store or it cannot write.
    pub fn keep_consent(
        &self,
        integration: IntegrationId,
        consent: &StoredConsent,
    ) -> Result<(), CoreError> {
        self.secret_store()?.put_secret(
            &OAuthSettings::secret_name(integration),
            &consent.to_secret(),
        )
    }

    /// `integration`'s kept consent, if it has one that opens.
    pub fn current_consent(&self, integration: IntegrationId) -> Option<StoredConsent> {
        let secret = self
            .secret_store()
            .ok()?
            .secret(&OAuthSettings::secret_name(integration))
            .ok()?;
        StoredConsent::from_secret(&secret).ok()
    }

    /// Deletes `integration`'s kept consent without revoking it; whether there was one.
    ///
    /// # Errors
    /// [`CoreError::Credential`] when there is no secret store or it cannot write.
    pub fn forget_consent(&self, integration: IntegrationId) -> Result<bool, CoreError> {
        self.secret_store()?
            .remove_secret(&OAuthSettings::secret_name(integration))
    }

    /// Revokes `integration`'s consent at Google's revoke endpoint and deletes its secret;
    /// `Ok(false)` when it had none. Service-account integrations have nothing to revoke.
    ///
    /// # Errors
    /// [`CoreError::Credential`] for an unreadable client file or secret; a remote error when
    /// the revoke endpoint fails (the secret is kept, to try again).
    pub async fn revoke_consent(
        &self,
        integration: IntegrationId,
        settings: &RemoteSettings,
    ) -> Result<bool, CoreError> {
        let google = settings.typed::<GoogleSettings>()?;
        let Some(oauth) = google.oauth_settings() else {
            return Ok(false);
        };
        let store = self.secret_store()?;
        let name = OAuthSettings::secret_name(integration);
        let Ok(secret) = store.secret(&name) else {
            return Ok(false);
        };
        let consent = StoredConsent::from_secret(&secret)?;
        let endpoints = OAuthEndpoints::at(oauth.oauth_base.as_deref())?;
        crate::oauth::revoke(&endpoints, &consent).await?;
        store.remove_secret(&name)
    }
}

fn oauth_settings(settings: &RemoteSettings) -> Result<OAuthSettings, CoreError> {
    settings
        .typed::<GoogleSettings>()?
        .oauth_settings()
        .cloned()
        .ok_or_else(|| CoreError::InvalidValue {
            kind: "google credential",
            value: "service_account".to_owned(),
            reason: "only a consent-based integration (--oauth-client) is authorized by consent"
                .to_owned(),
        })
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

    fn readable_kinds(&self, _settings: &RemoteSettings) -> Result<ObjectKinds, CoreError> {
        Ok(ObjectKinds::all())
    }

    fn remote_operations(&self) -> RemoteOpKinds {
        crate::write::supported_operations()
    }

    fn validate_settings(&self, settings: &RemoteSettings) -> Result<(), CoreError> {
        settings.typed::<GoogleSettings>().map(|_| ())
    }

    fn secrets(&self, settings: &RemoteSettings) -> Result<Vec<SecretReference>, CoreError> {
        let google = settings.typed::<GoogleSettings>()?;
        Ok(match &google.credential {
            Credential::ServiceAccount { key, .. } => {
                vec![SecretReference::new(key.to_string(), "service-account key")]
            }
            Credential::OAuth { oauth } => vec![SecretReference::new(
                oauth.client.to_string(),
                "OAuth client file",
            )],
        })
    }

    fn grant(&self, request: &ConnectRequest<'_>) -> Result<Grant, CoreError> {
        let google = request.settings.typed::<GoogleSettings>()?;
        let scopes = required_scopes(request.direction, request.kinds.iter());
        match &google.credential {
            Credential::ServiceAccount { subject, key, .. } => {
                let info = self.key_info(key)?;
                Ok(Grant::Scopes {
                    client_id: Some(info.client_id),
                    client_email: Some(info.client_email),
                    subject: Some(subject.clone()),
                    scopes,
                    console: Some(
                        "admin.google.com → Security → Access and data control → API controls →\n     \
                         Manage Domain Wide Delegation → Add new"
                            .to_owned(),
                    ),
                })
            }
            Credential::OAuth { oauth } => Ok(Grant::Scopes {
                client_id: Some(self.oauth_client(oauth)?.client_id),
                client_email: None,
                subject: None,
                scopes,
                console: Some(format!(
                    "an admin must authorize: a Workspace admin opens Google's consent page, chooses their\n     \
                     account and clicks Allow (dirsync google-integration:authorize {0}, or the server's\n     \
                     POST /api/v1/integrations/{0}/authorize and the URL it answers)",
                    request.integration
                )),
            }),
        }
    }

    fn connect(&self, request: &ConnectRequest<'_>) -> Result<Connection, CoreError> {
        let google = request.settings.typed::<GoogleSettings>()?;
        let (key, consent) = match &google.credential {
            Credential::ServiceAccount { key, .. } => (self.key(key)?, None),
            Credential::OAuth { oauth } => {
                let client = self.oauth_client(oauth)?;
                let name = OAuthSettings::secret_name(request.integration);
                let secret = self.secret_store()?.secret(&name).map_err(|e| match e {
                    CoreError::Credential { reason, .. } if reason == NO_SUCH_SECRET => {
                        CoreError::Credential {
                            reference: name.clone(),
                            reason: "no consent yet: an admin must authorize the integration (google-integration:authorize)".to_owned(),
                        }
                    }
                    other => other,
                })?;
                let stored = StoredConsent::from_secret(&secret)?;
                let material = ServiceAccountKey::new(format!(
                    "{}\n{}",
                    self.key(&oauth.client)?.expose_secret(),
                    secret.expose_secret()
                ));
                let endpoints = OAuthEndpoints::at(oauth.oauth_base.as_deref())?;
                (material, Some((client, endpoints, stored)))
            }
        };
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
                let mut builder =
                    GoogleConnectorBuilder::from_settings(&google).scopes(scopes.iter().cloned());
                builder = match consent {
                    None => builder.key_json(key.clone()),
                    Some((client, endpoints, stored)) => {
                        builder.consent(Arc::new(RefreshTokenSource::new(
                            client,
                            endpoints,
                            stored,
                            std::time::Duration::from_secs(30),
                        )?))
                    }
                };
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
        Ok(Connection::new(connector.clone(), connector.clone()).with_push(connector))
    }

    fn forget(&self, integration: IntegrationId) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&integration);
    }
}
