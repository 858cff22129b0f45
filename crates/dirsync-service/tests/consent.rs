//! Authorizing a Google integration by an admin's consent, against the emulator, with the test
//! acting as the browser: consent, activation, a revocation at run time, reauthorization by
//! consent, removal (the emulator sees the revoke); tampering and a non-admin's consent.

use std::sync::Arc;

use base64::Engine as _;
use dirsync_core::{
    AccessDenied, AuthorizationMethod, DirectionKind, IntegrationId, IntegrationState, RunOutcome,
    Schedule, SecretStore,
};
use dirsync_google::oauth::CallbackParams;
use dirsync_google::{GoogleKind, GoogleSettings, KeyReference, OAuthSettings};
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec};
use dirsync_service::{CreateGoogle, Error, Registry, SealedSecrets, SecretKey, Service, Silent};
use dirsync_store::InMemoryStore;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Fixture {
    google: RunningEmulator,
    service: Service,
    secrets: Arc<SealedSecrets>,
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(3, 12))).await?;
        let dir = tempfile::tempdir()?;
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let secrets = Arc::new(SealedSecrets::new(
            dir.path().join("secrets"),
            SecretKey::from_base64(&key, "the test key")?,
        ));
        let kind = GoogleKind::new().with_secrets(secrets.clone());
        let service = Service::new(
            Arc::new(InMemoryStore::new()),
            Registry::builtin().with(kind.clone()),
        )
        .with_consent(kind);
        Ok(Self {
            google,
            service,
            secrets,
            dir,
        })
    }

    async fn create(&self) -> Result<IntegrationId, Box<dyn std::error::Error>> {
        let client = self.dir.path().join("client.json");
        std::fs::write(&client, self.google.oauth_client_json())?;
        let settings = GoogleSettings::oauth(
            OAuthSettings::new(KeyReference::File(client)).with_oauth_base(self.google.base_url()),
        )
        .with_api_base(self.google.base_url())
        .with_quota_per_minute(0);
        let created = self
            .service
            .create_google(CreateGoogle::new(
                "Consent",
                DirectionKind::Inbound,
                settings,
                Schedule::Manual,
            ))
            .await?;
        Ok(created.integration.id())
    }

    /// The browser: opens the consent URL and reads where Google sends it back.
    async fn consent(
        &self,
        id: IntegrationId,
        tamper: impl FnOnce(&mut CallbackParams),
    ) -> Result<Result<dirsync_core::AnyIntegration, Error>, Box<dyn std::error::Error>> {
        let start = self
            .service
            .start_consent(id, "http://127.0.0.1:9/callback", None)
            .await?;
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let answer = browser.get(&start.url).send().await?;
        let location = answer
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            location.starts_with("http://127.0.0.1:9/callback?"),
            "{location}"
        );
        let mut params =
            CallbackParams::from_query(location.split_once('?').map_or("", |(_, q)| q));
        tamper(&mut params);
        Ok(self.service.finish_consent(start, &params).await)
    }
}

#[tokio::test]
async fn an_admins_consent_authorizes_and_lives_through_revocation_and_removal() -> TestResult {
    let f = Fixture::new().await?;
    let id = f.create().await?;
    let admin = f.google.admin_subject();
    f.google.set_auto_consent(Some(&admin));

    let any = f.consent(id, |_| {}).await??;
    assert_eq!(*any.state(), IntegrationState::Staged);
    let authorization = any
        .record()
        .authorization
        .clone()
        .ok_or("no authorization")?;
    assert_eq!(authorization.method, Some(AuthorizationMethod::OAuth));
    assert_eq!(
        authorization.subject.as_ref().map(ToString::to_string),
        Some(admin.clone())
    );
    assert_eq!(authorization.scopes.len(), 3);
    // The refresh token is sealed: the file never holds it in clear.
    let sealed = std::fs::read_to_string(f.secrets.path())?;
    assert!(!sealed.contains("1//emu-"), "{sealed}");
    assert!(!format!("{any:?}").contains("1//emu-"));

    let activated = f.service.activate(id, &Silent).await?;
    let run = activated.initial_run.ok_or("no initial run")?;
    assert!(
        matches!(run.outcome, RunOutcome::Succeeded),
        "{:?}",
        run.outcome
    );
    assert_eq!(
        f.service.store().users().await?.len(),
        f.google.tenant().live_users().count()
    );

    // The admin's grant is revoked at run time: the next sync fails the integration, saying
    // who authorized it and that it must be reauthorized.
    assert!(f.google.revoke_consents(&admin) > 0);
    let failed = f.service.sync(id, &Silent).await?;
    assert!(matches!(failed.outcome, RunOutcome::Failed { .. }));
    match f.service.integration(id).await?.state() {
        IntegrationState::Failed { reason } => {
            assert!(reason.contains(&admin), "{reason}");
            assert!(reason.contains("reauthorize"), "{reason}");
        }
        other => panic!("expected failed, got {other}"),
    }
    // Reauthorize = consent again; the integration is active again and syncs.
    let any = f.consent(id, |_| {}).await??;
    assert_eq!(*any.state(), IntegrationState::Active);
    // The history keeps the authorization it replaced.
    let history = &any.record().authorization_history;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].method, Some(AuthorizationMethod::OAuth));
    let run = f.service.sync(id, &Silent).await?;
    assert!(
        !matches!(run.outcome, RunOutcome::Failed { .. }),
        "{:?}",
        run.outcome
    );

    // Remove revokes at Google and deletes the secret (a second integration: the primary
    // cannot be removed while it owns the directory).
    let second = f.create().await?;
    f.consent(second, |_| {}).await??;
    f.service.remove(second).await?;
    assert_eq!(f.google.revocations(), 1);
    assert!(
        f.secrets
            .secret(&OAuthSettings::secret_name(second))
            .is_err()
    );
    assert!(f.secrets.secret(&OAuthSettings::secret_name(id)).is_ok());
    Ok(())
}

#[tokio::test]
async fn a_tampered_state_or_a_cancel_is_refused_and_nothing_is_stored() -> TestResult {
    let f = Fixture::new().await?;
    let id = f.create().await?;
    f.google.set_auto_consent(Some(&f.google.admin_subject()));
    let wrong_state = f
        .consent(id, |p| p.state = Some("forged".to_owned()))
        .await?;
    assert!(
        matches!(&wrong_state, Err(Error::Access(AccessDenied::Unauthorized { reason })) if reason.contains("state")),
        "{wrong_state:?}"
    );
    let denied = f
        .consent(id, |p| {
            p.code = None;
            p.error = Some("access_denied".to_owned());
        })
        .await?;
    assert!(
        matches!(&denied, Err(Error::Access(AccessDenied::Unauthorized { reason })) if reason.contains("access_denied")),
        "{denied:?}"
    );
    // A code replayed or altered is refused by the token endpoint (PKCE binds it).
    let altered = f
        .consent(id, |p| p.code = p.code.as_ref().map(|c| format!("{c}x")))
        .await?;
    assert!(altered.is_err(), "{altered:?}");
    assert!(f.secrets.secret(&OAuthSettings::secret_name(id)).is_err());
    assert!(
        f.service
            .integration(id)
            .await?
            .record()
            .authorization
            .is_none()
    );
    Ok(())
}

#[tokio::test]
async fn a_non_admins_consent_cannot_activate() -> TestResult {
    let f = Fixture::new().await?;
    let id = f.create().await?;
    let someone = f
        .google
        .tenant()
        .live_users()
        .find(|u| !u.is_admin && !u.suspended)
        .map(|u| u.primary_email.clone())
        .ok_or("no non-admin")?;
    f.google.set_auto_consent(Some(&someone));
    f.consent(id, |_| {}).await??;
    let refused = f.service.activate(id, &Silent).await;
    match refused {
        Err(Error::Access(AccessDenied::Unauthorized { reason })) => {
            assert!(reason.contains(&someone), "{reason}");
            assert!(reason.contains("admin must authorize"), "{reason}");
        }
        other => panic!("expected an unauthorized consent, got {other:?}"),
    }
    assert_eq!(
        *f.service.integration(id).await?.state(),
        IntegrationState::Staged
    );
    Ok(())
}

#[tokio::test]
async fn the_admin_is_told_that_an_admin_must_authorize_and_how() -> TestResult {
    let f = Fixture::new().await?;
    let id = f.create().await?;
    let text = f.service.instructions(id).await?.to_string();
    assert!(text.contains("an admin must authorize"), "{text}");
    assert!(
        text.contains(&format!("google-integration:authorize {id}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("/api/v1/integrations/{id}/authorize")),
        "{text}"
    );
    assert!(
        text.contains(dirsync_google::scopes::USER_READONLY),
        "{text}"
    );
    // Activating before anyone consented says the same.
    let refused = f
        .service
        .activate(id, &Silent)
        .await
        .err()
        .ok_or("activated without consent")?;
    assert!(
        refused.to_string().contains("an admin must authorize"),
        "{refused}"
    );
    Ok(())
}

#[tokio::test]
async fn a_kept_consent_is_taken_once_and_not_after_it_expires() -> TestResult {
    let f = Fixture::new().await?;
    let id = f.create().await?;
    let redirect = "http://127.0.0.1:9/callback";
    // The state is URL-safe base64: it reads as is from the URL.
    let state_of = |url: &str| -> Option<String> {
        let (_, query) = url.split_once('?')?;
        query
            .split('&')
            .find_map(|p| p.strip_prefix("state="))
            .map(str::to_owned)
    };
    let pending = f.service.pending_consents();
    let url = pending.keep(f.service.start_consent(id, redirect, None).await?);
    let state = state_of(&url).ok_or("no state")?;
    assert!(!format!("{pending:?}").contains(&state));
    assert!(pending.take(Some("forged")).is_err());
    assert_eq!(pending.take(Some(&state))?.integration, id);
    let again = pending.take(Some(&state)).err().ok_or("taken twice")?;
    assert!(again.to_string().contains("already used"), "{again}");
    assert!(pending.take(None).is_err());

    let expiring = dirsync_service::PendingConsents::new(std::time::Duration::ZERO);
    let url = expiring.keep(f.service.start_consent(id, redirect, None).await?);
    let expired = expiring
        .take(state_of(&url).as_deref())
        .err()
        .ok_or("taken after it expired")?;
    assert!(expired.to_string().contains("expired"), "{expired}");
    Ok(())
}
