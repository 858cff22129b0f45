//! SCIM integrations: made with a bearer token (shown once, kept as a SHA-256 in the
//! settings), rotated, checked; and the one entry point for pushed changes.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dirsync_core::{
    AnyIntegration, ApiTokenSecret, DirectionKind, IntegrationId, RemoteSettings, Schedule,
};
use dirsync_core::{Secret, SecretStore};
use dirsync_engine::{Push, PushOutcome};
use dirsync_scim::{ScimEndpoint, ScimSettings};
use rand::RngCore as _;

use crate::{CreateIntegration, Created, Error, Service};

/// One async lock per integration, so that its pushes are planned and applied one at a time
/// (concurrent pushes would otherwise replan after each other's writes).
#[derive(Debug, Default)]
pub(crate) struct PushLocks(std::sync::Mutex<HashMap<IntegrationId, Arc<tokio::sync::Mutex<()>>>>);

impl PushLocks {
    fn of(&self, id: IntegrationId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(locks.entry(id).or_default())
    }
}

/// The prefix of every SCIM bearer token.
const PREFIX: &str = "dss_";

/// A SCIM integration just made (active at once: its source pushes), with its token, which
/// is shown this once.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewScimIntegration {
    /// The stored integration (active) and what there is to grant (nothing).
    pub created: Created,
    /// Where its SCIM endpoints are, below the server's root: `/scim/v2/<id>`.
    pub scim_base_path: String,
    /// The bearer token its identity provider presents.
    pub token: ApiTokenSecret,
}

fn new_token() -> ApiTokenSecret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    ApiTokenSecret::new(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

impl Service {
    /// Creates an inbound SCIM integration titled `title` and activates it (there is nothing to
    /// verify: the identity provider will push). The first inbound integration is the primary.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad title; a store error.
    pub async fn create_scim_integration(&self, title: &str) -> Result<NewScimIntegration, Error> {
        let token = new_token();
        let settings = RemoteSettings::from_typed(&ScimSettings::for_token(token.expose_secret()))?;
        let created = self
            .create(CreateIntegration::new(
                title,
                DirectionKind::Inbound,
                settings,
                Schedule::Manual,
            ))
            .await?;
        let mut any = created.integration;
        let authorization = self.verify(&any, &any.settings().clone()).await?;
        any.activate(authorization)?;
        let integration = self.store.save_integration(&any).await?;
        tracing::info!(integration = %integration.id(), "SCIM integration created");
        Ok(NewScimIntegration {
            scim_base_path: format!("/scim/v2/{}", integration.id()),
            created: Created {
                integration,
                instructions: created.instructions,
            },
            token,
        })
    }

    /// Keeps outbound SCIM tokens in `secrets` (the store the registry's SCIM kind reads them
    /// from).
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretStore>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Creates an outbound SCIM integration titled `title` that provisions the application
    /// at `endpoint` (its base URL), presenting `token`: the token is kept in the secret store
    /// (under `scim-token/<random>`, which the settings name), the endpoint is checked with a
    /// read of one user and one group, and the integration is activated. Add outbound rules
    /// (`rule:add --provision users`, `--manage GROUP`), then sync.
    ///
    /// An endpoint that cannot be read leaves the integration staged (activate it later) and
    /// is the error.
    ///
    /// # Errors
    /// [`Error::Credential`] without a secret store ([`with_secrets`](Self::with_secrets)) or
    /// when the token cannot be kept; [`Error::Invalid`] for a bad title or URL;
    /// [`Error::Access`] when the application refuses the token; a connector or store error.
    pub async fn create_scim_outbound(
        &self,
        title: &str,
        endpoint: ScimEndpoint,
        token: &Secret,
    ) -> Result<Created, Error> {
        let secrets = self.secrets.as_ref().ok_or_else(|| Error::Credential {
            reference: endpoint.token_secret.clone(),
            reason: "this service keeps no secrets (Service::with_secrets)".to_owned(),
        })?;
        let settings = RemoteSettings::from_typed(&ScimSettings::outbound(endpoint.clone()))?;
        secrets.put_secret(&endpoint.token_secret, token)?;
        let created = match self
            .create(CreateIntegration::new(
                title,
                DirectionKind::Outbound,
                settings,
                Schedule::Manual,
            ))
            .await
        {
            Ok(created) => created,
            Err(e) => {
                let _ = secrets.remove_secret(&endpoint.token_secret);
                return Err(e);
            }
        };
        let mut any = created.integration;
        let authorization = self.verify(&any, &any.settings().clone()).await?;
        any.activate(authorization)?;
        let integration = self.store.save_integration(&any).await?;
        tracing::info!(integration = %integration.id(), "outbound SCIM integration created");
        Ok(Created {
            integration,
            instructions: created.instructions,
        })
    }

    /// A fresh name for an outbound SCIM token in the secret store: `scim-token/<random>`.
    pub fn new_scim_token_name() -> String {
        let mut bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut bytes);
        format!("scim-token/{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Gives a SCIM integration a new token; the old one is refused from now on.
    ///
    /// # Errors
    /// [`Error::UnsupportedSystem`] for an integration that is not SCIM; a store error.
    pub async fn rotate_scim_token(&self, id: IntegrationId) -> Result<ApiTokenSecret, Error> {
        let mut any = self.store.integration(id).await?;
        if any.settings().system() != &dirsync_scim::SYSTEM {
            return Err(Error::UnsupportedSystem {
                system: format!(
                    "{} (only SCIM integrations have a token)",
                    any.settings().system()
                ),
            });
        }
        let token = new_token();
        let settings = RemoteSettings::from_typed(&ScimSettings::for_token(token.expose_secret()))?;
        let authorization = self.verify(&any, &settings).await?;
        any.reauthorize(settings, authorization)?;
        self.store.save_integration(&any).await?;
        tracing::info!(integration = %id, "SCIM token rotated");
        Ok(token)
    }

    /// The SCIM integration `id` if `presented` is its token (digests compared), else `None`.
    ///
    /// # Errors
    /// A store error other than not found.
    pub async fn scim_integration(
        &self,
        id: IntegrationId,
        presented: &str,
    ) -> Result<Option<AnyIntegration>, Error> {
        let any = match self.store.integration(id).await {
            Ok(any) => any,
            Err(dirsync_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let accepted = any
            .settings()
            .typed::<ScimSettings>()
            .is_ok_and(|s| s.accepts(presented));
        Ok(accepted.then_some(any))
    }

    /// Applies one change an inbound integration's source pushed (a SCIM write; any pushing
    /// source), through the engine's rules and the push window (see
    /// [`dirsync_engine::apply_push`]).
    ///
    /// # Errors
    /// The engine's: not active, a taken email, a store error. Nothing is written then.
    pub async fn apply_push(&self, id: IntegrationId, push: &Push) -> Result<PushOutcome, Error> {
        let lock = self.push_locks.of(id);
        let _one_at_a_time = lock.lock().await;
        let ctx = self.context(&dirsync_core::NoProgress);
        Ok(dirsync_engine::apply_push(&ctx, &self.push_window, id, push).await?)
    }
}

impl Service {
    /// Deletes the bearer token an outbound SCIM integration kept in the secret store (when
    /// it is removed); a failure is logged, the integration is gone anyway.
    pub(crate) fn forget_scim_token(&self, any: &AnyIntegration) {
        if any.settings().system() != &dirsync_scim::SYSTEM {
            return;
        }
        let (Some(secrets), Ok(settings)) = (&self.secrets, any.settings().typed::<ScimSettings>())
        else {
            return;
        };
        if let Some(outbound) = settings.outbound
            && let Err(e) = secrets.remove_secret(&outbound.token_secret)
        {
            tracing::warn!(integration = %any.id(), error = %e, "the SCIM token's secret could not be deleted");
        }
    }
}
