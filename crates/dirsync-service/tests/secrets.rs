//! No secret of a consent ever shows: through the whole flow (consent, a forged redirect,
//! activation, syncs, a revoked grant, reauthorization, removal) every log line (captured at
//! trace level), error, `Debug` and JSON the service produces is searched for the client
//! secret, the authorization codes, the refresh tokens and the access tokens the emulator
//! issued. And token-endpoint weather on refresh fails a run, never the integration.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dirsync_core::{DirectionKind, IntegrationId, IntegrationState, RunOutcome, Schedule};
use dirsync_google::oauth::CallbackParams;
use dirsync_google::{GoogleKind, GoogleSettings, KeyReference, OAuthSettings, RetryConfig};
use dirsync_google_emulator::{
    Emulator, EmulatorConfig, OAUTH_CLIENT_SECRET, RunningEmulator, TenantSpec, TokenFault,
};
use dirsync_service::views::IntegrationView;
use dirsync_service::{CreateGoogle, Registry, SealedSecrets, SecretKey, Service, Silent};
use dirsync_store::InMemoryStore;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Where the log lines go: a buffer the test reads.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(
            &self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned()
    }
}

struct Fixture {
    google: RunningEmulator,
    service: Service,
    dir: tempfile::TempDir,
    /// Everything printed or formatted along the way, searched at the end.
    seen: Vec<String>,
    /// The codes the emulator's redirects carried.
    codes: Vec<String>,
}

impl Fixture {
    async fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(3, 12))).await?;
        let dir = tempfile::tempdir()?;
        let key = SecretKey::from_env_or_file(&dir.path().join("secret-key"))?;
        let secrets = Arc::new(SealedSecrets::new(dir.path().join("secrets"), key));
        // Weather is retried briefly: a test of it must not wait for Google's backoff.
        let kind = GoogleKind::new().with_secrets(secrets).customize(|b| {
            b.token_timeout(Duration::from_millis(300))
                .retry(RetryConfig::immediate(3).with_budget(Duration::from_secs(2)))
        });
        let service = Service::new(
            Arc::new(InMemoryStore::new()),
            Registry::builtin().with(kind.clone()),
        )
        .with_consent(kind);
        Ok(Self {
            google,
            service,
            dir,
            seen: Vec::new(),
            codes: Vec::new(),
        })
    }

    async fn create(&mut self) -> Result<IntegrationId, Box<dyn std::error::Error>> {
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
        self.seen
            .push(format!("{created:?} {}", created.instructions));
        Ok(created.integration.id())
    }

    /// A consent through the service's pending store, the test as the browser; `state`
    /// replaces the redirect's when given.
    async fn consent(
        &mut self,
        id: IntegrationId,
        state: Option<&str>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let start = self
            .service
            .start_consent(id, "http://127.0.0.1:9/callback", None)
            .await?;
        self.seen.push(format!("{start:?}"));
        let url = self.service.pending_consents().keep(start);
        self.seen
            .push(format!("{:?}", self.service.pending_consents()));
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let answer = browser.get(&url).send().await?;
        let location = answer
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .ok_or("no redirect")?;
        let mut params = CallbackParams::from_query(location.split_once('?').ok_or("no query")?.1);
        self.codes.push(params.code.clone().ok_or("no code")?);
        self.seen.push(format!("{params:?}"));
        if let Some(state) = state {
            params.state = Some(state.to_owned());
        }
        let outcome = match self
            .service
            .pending_consents()
            .take(params.state.as_deref())
        {
            Ok(start) => self.service.finish_consent(start, &params).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(any) => self.look_at(&any),
            Err(e) => self.seen.push(format!("{e} {e:?}")),
        }
        Ok(())
    }

    fn look_at(&mut self, any: &dirsync_core::AnyIntegration) {
        let view = IntegrationView::new(any, &self.service);
        self.seen.push(format!(
            "{any:?} {}",
            serde_json::to_string(&view).unwrap_or_default()
        ));
    }

    async fn sync(&mut self, id: IntegrationId) -> Result<RunOutcome, Box<dyn std::error::Error>> {
        let run = self.service.sync(id, &Silent).await?;
        self.seen
            .push(format!("{run:?} {}", serde_json::to_string(&run.outcome)?));
        let any = self.service.integration(id).await?;
        self.look_at(&any);
        Ok(run.outcome)
    }
}

fn synced(outcome: &RunOutcome) -> bool {
    matches!(outcome, RunOutcome::Succeeded | RunOutcome::NoChange)
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_of_a_consent_shows_in_logs_errors_debug_or_json() -> TestResult {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,dirsync_service=trace,dirsync_google=trace,dirsync_engine=trace",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The process's subscriber (a thread's own would miss events whose callsites another
    // test's thread registered first): the other tests' lines are searched too.
    tracing::subscriber::set_global_default(subscriber)?;

    let mut f = Fixture::new().await?;
    let admin = f.google.admin_subject();
    f.google.set_auto_consent(Some(&admin));
    let id = f.create().await?;

    f.consent(id, Some("forged")).await?;
    f.consent(id, None).await?;
    let activated = f.service.activate(id, &Silent).await?;
    f.look_at(&activated.integration);
    assert!(synced(&f.sync(id).await?));

    // Revoked at Google: the next sync fails the integration; consent again restores it.
    f.google.revoke_consents(&admin);
    assert!(matches!(f.sync(id).await?, RunOutcome::Failed { .. }));
    match f.service.activate(id, &Silent).await {
        Ok(a) => f.look_at(&a.integration),
        Err(e) => f.seen.push(format!("{e} {e:?}")),
    }
    f.consent(id, None).await?;
    assert!(synced(&f.sync(id).await?));
    let second = f.create().await?;
    f.consent(second, None).await?;
    f.service.remove(second).await?;
    assert_eq!(f.google.revocations(), 1);

    let logs = logs.text();
    assert!(logs.contains("integration authorized by consent"), "{logs}");
    let everything = format!("{logs}\n{}", f.seen.join("\n"));
    assert_eq!(f.codes.len(), 4);
    for code in &f.codes {
        assert!(!everything.contains(code.as_str()), "a code shows");
    }
    // The emulator's refresh tokens, access tokens and codes, whichever were issued.
    for (what, secret) in [
        ("the client secret", OAUTH_CLIENT_SECRET),
        ("a refresh token", "1//emu-"),
        ("an access token", "ya29.emu-"),
        ("a code", "4/emu-"),
    ] {
        assert!(!everything.contains(secret), "{what} shows:\n{everything}");
    }
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn token_endpoint_weather_on_refresh_fails_the_run_not_the_integration() -> TestResult {
    let mut f = Fixture::new().await?;
    f.google.set_auto_consent(Some(&f.google.admin_subject()));
    // Every access token is refreshed at its next use.
    f.google.set_token_lifetime(Duration::from_secs(1));
    let id = f.create().await?;
    f.consent(id, None).await?;
    f.service.activate(id, &Silent).await?;

    for weather in [TokenFault::Status(503), TokenFault::Timeout] {
        f.google.fail_token_requests(1_000, weather);
        let outcome = f.sync(id).await?;
        assert!(
            matches!(&outcome, RunOutcome::Failed { .. }),
            "{weather:?}: {outcome:?}"
        );
        assert_eq!(
            *f.service.integration(id).await?.state(),
            IntegrationState::Active,
            "{weather:?}"
        );
        f.google.fail_token_requests(0, weather);
        let outcome = f.sync(id).await?;
        assert!(synced(&outcome), "after {weather:?}: {outcome:?}");
    }
    Ok(())
}
