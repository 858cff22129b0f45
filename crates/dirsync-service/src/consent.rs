//! Authorizing a Google integration by an admin's consent: [`Service::start_consent`] gives
//! the URL to open, [`Service::finish_consent`] completes it from Google's redirect, keeps the
//! refresh token in the secret store and records who authorized it, when, with which scopes.

use std::collections::BTreeSet;

use dirsync_core::{
    AccessDenied, AnyIntegration, Authorization, AuthorizationMethod, Email, IntegrationId,
    IntegrationState,
};
use dirsync_google::oauth::{CallbackParams, PendingConsent};
use dirsync_google::{GoogleKind, required_scopes};

use crate::registry::synced_kinds;
use crate::{Error, Service};

/// A consent under way for one integration: the URL for the admin's browser, and what checks
/// Google's answer. Complete it with [`Service::finish_consent`].
#[derive(Debug)]
#[non_exhaustive]
pub struct ConsentStart {
    /// The integration being authorized.
    pub integration: IntegrationId,
    /// The consent URL to open.
    pub url: String,
    pending: PendingConsent,
}

impl ConsentStart {
    /// The `state` Google's redirect carries back.
    pub(crate) fn state(&self) -> &str {
        self.pending.state()
    }
}

impl Service {
    /// Authorizes consent-based Google integrations with `kind` (the registry's Google kind,
    /// holding the secret store the consents are kept in).
    pub fn with_consent(mut self, kind: GoogleKind) -> Self {
        self.consent = Some(kind);
        self
    }

    /// Keeps consents an HTTP server's redirect completes for `expiry` (default
    /// [`DEFAULT_CONSENT_EXPIRY`](crate::DEFAULT_CONSENT_EXPIRY)), each used once.
    pub fn with_consent_expiry(mut self, expiry: std::time::Duration) -> Self {
        self.pending_consents = crate::PendingConsents::new(expiry);
        self
    }

    /// The consents under way that a server keeps between the consent URL it answers and
    /// Google's redirect (see [`PendingConsents`](crate::PendingConsents)).
    pub fn pending_consents(&self) -> &crate::PendingConsents {
        &self.pending_consents
    }

    fn consent_kind(&self) -> Result<&GoogleKind, Error> {
        self.consent.as_ref().ok_or_else(|| Error::Credential {
            reference: "google-oauth".to_owned(),
            reason: "this service does not authorize by consent (Service::with_consent)".to_owned(),
        })
    }

    /// Starts a consent for integration `id` (consent-based, any state): the consent URL asks
    /// for the integration's scopes (and, optionally, reading the customer's domains, for
    /// activation to name them, and the Reports API's audit log, for push to cover groups) and comes back to `redirect_uri`. Complete it with
    /// [`finish_consent`](Self::finish_consent); a server that answers the redirect in another
    /// request keeps it meanwhile in [`pending_consents`](Self::pending_consents).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a service-account integration; [`Error::Credential`] for an
    /// unreadable client file; a store error.
    pub async fn start_consent(
        &self,
        id: IntegrationId,
        redirect_uri: &str,
        login_hint: Option<&Email>,
    ) -> Result<ConsentStart, Error> {
        let kind = self.consent_kind()?;
        let any = self.store.integration(id).await?;
        let flow = kind.consent_flow(any.settings())?;
        let mut scopes = self.required(&any)?;
        for optional in [
            dirsync_google::scopes::DOMAIN_READONLY,
            dirsync_google::scopes::REPORTS_AUDIT_READONLY,
        ] {
            scopes.insert(dirsync_core::Scope::new(optional)?);
        }
        let pending = flow
            .start(redirect_uri, &scopes, login_hint)
            .map_err(dirsync_core::Error::from)?;
        Ok(ConsentStart {
            integration: id,
            url: pending.url.clone(),
            pending,
        })
    }

    fn required(&self, any: &AnyIntegration) -> Result<BTreeSet<dirsync_core::Scope>, Error> {
        let system = self.registry.get(any.settings().system())?;
        let kinds = synced_kinds(
            system.as_ref(),
            any.direction(),
            any.settings(),
            &any.record().rules,
        )?;
        Ok(required_scopes(any.direction(), kinds.iter()))
    }

    /// Completes a consent with the parameters of Google's redirect: verifies it (state, PKCE,
    /// id_token), checks the granted scopes against the required ones (a missing one is named,
    /// as for keys), keeps the refresh token (replacing an earlier consent) and records who
    /// authorized. A staged integration stays staged (activation checks each API); otherwise
    /// this is a reauthorization: access is verified with the new consent and a `Failed`
    /// integration becomes `Active` again. On any failure nothing is stored.
    ///
    /// # Errors
    /// [`Error::Access`] for a refused or tampered consent or a missing scope; a store error.
    pub async fn finish_consent(
        &self,
        start: ConsentStart,
        params: &CallbackParams,
    ) -> Result<AnyIntegration, Error> {
        let kind = self.consent_kind()?;
        let id = start.integration;
        let mut any = self.store.integration(id).await?;
        let flow = kind.consent_flow(any.settings())?;
        let consent = flow
            .finish(start.pending, params)
            .await
            .map_err(dirsync_core::Error::from)?;
        let required = self.required(&any)?;
        let missing: Vec<_> = required.difference(&consent.scopes).cloned().collect();
        if !missing.is_empty() {
            return Err(Error::Access(AccessDenied::MissingScopes {
                scopes: missing,
            }));
        }
        let previous = kind.current_consent(id);
        kind.keep_consent(id, &consent.stored)?;
        dirsync_core::ConnectorKind::forget(kind, id);
        let authorization = if *any.state() == IntegrationState::Staged {
            let a = Authorization {
                method: Some(AuthorizationMethod::OAuth),
                subject: Some(consent.stored.authorized_by.clone()),
                client_id: None,
                client_email: None,
                ownership: None,
                scopes: required,
                checks: Vec::new(),
                verified_at: consent.at,
            };
            any.record_consent(a.clone())?;
            Ok(a)
        } else {
            match self.verify(&any, any.settings()).await {
                Ok(a) => {
                    let settings = any.settings().clone();
                    any.reauthorize(settings, a.clone())?;
                    Ok(a)
                }
                Err(e) => Err(e),
            }
        };
        let authorization = match authorization {
            Ok(a) => a,
            Err(e) => {
                // Nothing changes: the earlier consent (if any) is put back.
                match previous {
                    Some(p) => kind.keep_consent(id, &p)?,
                    None => {
                        kind.forget_consent(id)?;
                    }
                }
                dirsync_core::ConnectorKind::forget(kind, id);
                return Err(e);
            }
        };
        let saved = self.store.save_integration(&any).await?;
        tracing::info!(integration = %id, authorized_by = ?authorization.subject, "integration authorized by consent");
        Ok(saved)
    }

    /// Revokes a consent-based integration's consent at Google and deletes its secret (before
    /// it is removed). A failure to reach Google is logged; the secret is deleted anyway.
    pub(crate) async fn revoke_consent(&self, any: &AnyIntegration) {
        let Some(kind) = &self.consent else {
            return;
        };
        match kind.revoke_consent(any.id(), any.settings()).await {
            Ok(revoked) => {
                if revoked {
                    tracing::info!(integration = %any.id(), "consent revoked");
                }
            }
            Err(e) => {
                tracing::warn!(integration = %any.id(), error = %e, "revoking the consent failed; its secret is deleted anyway");
                let _ = kind.forget_consent(any.id());
            }
        }
    }
}
