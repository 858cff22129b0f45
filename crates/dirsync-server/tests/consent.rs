//! Authorizing by consent through the server, with the test as the admin's browser against the
//! emulator's consent page (auto-consent): `POST …/authorize` answers the consent URL, Google's
//! redirect to `/oauth/google/callback` completes it and sends the browser to the console; a
//! tampered state is refused and stores nothing; a callback works once.

use std::sync::Arc;

use dirsync_core::{AuthorizationMethod, DirectionKind, IntegrationId, Schedule, SecretStore};
use dirsync_google::{GoogleKind, GoogleSettings, KeyReference, OAuthSettings};
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec};
use dirsync_server::{AppState, router};
use dirsync_service::{CreateGoogle, Registry, SealedSecrets, SecretKey, Service};
use dirsync_store::InMemoryStore;
use reqwest::StatusCode;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Served {
    google: RunningEmulator,
    service: Arc<Service>,
    secrets: Arc<SealedSecrets>,
    base: String,
    token: String,
    id: IntegrationId,
    _dir: tempfile::TempDir,
}

impl Served {
    /// The server (its public URL: where it listens) over a consent-based integration.
    async fn start() -> Result<Self, Box<dyn std::error::Error>> {
        let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(3, 12))).await?;
        let dir = tempfile::tempdir()?;
        let key = SecretKey::from_env_or_file(&dir.path().join("secret-key"))?;
        let secrets = Arc::new(SealedSecrets::new(dir.path().join("secrets"), key));
        let kind = GoogleKind::new().with_secrets(secrets.clone());
        let service = Arc::new(
            Service::new(
                Arc::new(InMemoryStore::new()),
                Registry::builtin().with(kind.clone()),
            )
            .with_consent(kind),
        );
        let client = dir.path().join("client.json");
        std::fs::write(&client, google.oauth_client_json())?;
        let settings = GoogleSettings::oauth(
            OAuthSettings::new(KeyReference::File(client)).with_oauth_base(google.base_url()),
        )
        .with_api_base(google.base_url())
        .with_quota_per_minute(0);
        let id = service
            .create_google(CreateGoogle::new(
                "Consent",
                DirectionKind::Inbound,
                settings,
                Schedule::Manual,
            ))
            .await?
            .integration
            .id();
        let token = service.create_api_token("admin", false).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = router(AppState::new(Arc::clone(&service)).with_public_url(format!("{base}/")));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            google,
            service,
            secrets,
            base,
            token: token.secret.expose_secret().to_owned(),
            id,
            _dir: dir,
        })
    }

    /// `POST …/authorize`: the consent URL.
    async fn authorize(&self, body: Option<Value>) -> Result<String, Box<dyn std::error::Error>> {
        let mut request = reqwest::Client::new()
            .post(format!(
                "{}/api/v1/integrations/{}/authorize",
                self.base, self.id
            ))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await?;
        assert_eq!(answer.status(), StatusCode::OK);
        let json: Value = answer.json().await?;
        Ok(json["authorize_url"]
            .as_str()
            .ok_or("no authorize_url")?
            .to_owned())
    }

    /// The browser, not following redirects: where Google's consent page sends it.
    async fn google_redirect(&self, url: &str) -> Result<String, Box<dyn std::error::Error>> {
        let answer = no_redirects()?.get(url).send().await?;
        Ok(location(&answer).ok_or("Google did not redirect")?)
    }

    fn stored(&self) -> bool {
        self.secrets
            .secret(&OAuthSettings::secret_name(self.id))
            .is_ok()
    }
}

fn no_redirects() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

fn location(answer: &reqwest::Response) -> Option<String> {
    answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_following_redirects_authorizes_through_the_server() -> TestResult {
    let s = Served::start().await?;
    let admin = s.google.admin_subject();
    s.google.set_auto_consent(Some(&admin));
    let url = s.authorize(Some(json!({"login_hint": admin}))).await?;
    assert!(url.contains("login_hint="), "{url}");
    let callback = format!("{}/oauth/google/callback", s.base);
    assert!(
        url.contains(&format!(
            "redirect_uri={}",
            url::form_urlencoded::byte_serialize(callback.as_bytes()).collect::<String>()
        )),
        "{url}"
    );

    // The browser follows every redirect: Google → the callback → the console's page.
    let landed = reqwest::Client::new().get(&url).send().await?;
    assert_eq!(
        landed.url().as_str(),
        format!("{}/console/integrations/{}?authorized=1", s.base, s.id)
    );
    let any = s.service.integration(s.id).await?;
    let authorization = any.record().authorization.clone().ok_or("not authorized")?;
    assert_eq!(authorization.method, Some(AuthorizationMethod::OAuth));
    assert_eq!(
        authorization.subject.map(|e| e.to_string()),
        Some(admin.clone())
    );
    assert!(s.stored());
    assert!(s.service.pending_consents().is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_state_is_refused_and_a_callback_works_once() -> TestResult {
    let s = Served::start().await?;
    s.google.set_auto_consent(Some(&s.google.admin_subject()));
    let url = s.authorize(None).await?;
    let redirect = s.google_redirect(&url).await?;
    let params: Vec<(String, String)> = url::Url::parse(&redirect)?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let code = &params.iter().find(|(k, _)| k == "code").ok_or("no code")?.1;
    let callback = format!("{}/oauth/google/callback", s.base);

    // The code with another state: refused, nothing stored.
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", code)
        .append_pair("state", "forged")
        .finish();
    let forged = no_redirects()?
        .get(format!("{callback}?{query}"))
        .send()
        .await?;
    assert_eq!(forged.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = forged.json().await?;
    assert_eq!(body["error"]["kind"], "unauthorized", "{body}");
    assert!(!body.to_string().contains(code.as_str()), "{body}");
    assert!(!s.stored());
    assert!(
        s.service
            .integration(s.id)
            .await?
            .record()
            .authorization
            .is_none()
    );

    // The real redirect completes it, once; played again it is refused.
    let first = no_redirects()?.get(&redirect).send().await?;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&first).as_deref(),
        Some(format!("/console/integrations/{}?authorized=1", s.id).as_str())
    );
    assert!(s.stored());
    let again = no_redirects()?.get(&redirect).send().await?;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    Ok(())
}

/// The emulator's consent page: the form's hidden request id.
fn request_id(page: &str) -> Option<String> {
    let at = page.find("name=\"request\" value=\"")? + "name=\"request\" value=\"".len();
    Some(page[at..].split('"').next()?.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consent_page_allow_for_a_chosen_account_or_cancel() -> TestResult {
    let s = Served::start().await?;
    let admin = s.google.admin_subject();
    let decision = format!("{}/o/oauth2/v2/auth/decision", s.google.base_url());
    let browser = reqwest::Client::new();

    // Cancel: Google sends `error=access_denied` back; the console is told, nothing stored.
    let page = browser
        .get(s.authorize(None).await?)
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains(&admin), "the chooser lists the admin: {page}");
    assert!(page.contains("admin.directory.user.readonly"), "{page}");
    let request = request_id(&page).ok_or("no form")?;
    let to_google = no_redirects()?
        .post(&decision)
        .form(&[("request", request.as_str()), ("decision", "cancel")])
        .send()
        .await?;
    let back = location(&to_google).ok_or("Google did not redirect")?;
    assert!(back.contains("error=access_denied"), "{back}");
    let landed = browser.get(&back).send().await?;
    assert_eq!(
        landed.url().as_str(),
        format!(
            "{}/console/integrations/{}?authorization_error=access_denied",
            s.base, s.id
        )
    );
    assert!(!s.stored());

    // Allow as the chosen account: a code comes back, and the browser lands on the console.
    let page = browser
        .get(s.authorize(None).await?)
        .send()
        .await?
        .text()
        .await?;
    let request = request_id(&page).ok_or("no form")?;
    let to_google = no_redirects()?
        .post(&decision)
        .form(&[
            ("request", request.as_str()),
            ("account", admin.as_str()),
            ("decision", "allow"),
        ])
        .send()
        .await?;
    let back = location(&to_google).ok_or("Google did not redirect")?;
    assert!(back.contains("code="), "{back}");
    let landed = browser.get(&back).send().await?;
    assert_eq!(
        landed.url().as_str(),
        format!("{}/console/integrations/{}?authorized=1", s.base, s.id)
    );
    let any = s.service.integration(s.id).await?;
    let by = any
        .record()
        .authorization
        .as_ref()
        .and_then(|a| a.subject.clone());
    assert_eq!(by.map(|e| e.to_string()), Some(admin));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_needs_a_token_and_a_public_url() -> TestResult {
    let s = Served::start().await?;
    let path = format!("/api/v1/integrations/{}/authorize", s.id);
    let anonymous = reqwest::Client::new()
        .post(format!("{}{path}", s.base))
        .send()
        .await?;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // A router that was not told its public URL cannot send Google back to itself.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = router(AppState::new(Arc::clone(&s.service)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let refused = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(&s.token)
        .send()
        .await?;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await?;
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("public URL")),
        "{body}"
    );
    Ok(())
}
