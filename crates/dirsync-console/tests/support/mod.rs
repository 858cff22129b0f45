//! What the console tests share: the console on 127.0.0.1 over an in-memory store, with an
//! emulated Google tenant to sign in at, and a cookie-keeping client that follows no redirect.

#![allow(dead_code)]

pub(crate) mod webdriver;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dirsync_console::{Access, ConsoleConfig, NewGoogle};
use dirsync_core::{DirectionKind, RemoteSettings, Schedule, System};
use dirsync_google::GoogleKind;
use dirsync_google::oauth::{OAuthClient, OAuthEndpoints};
use dirsync_google_emulator::{Emulator, EmulatorConfig, NewUser, RunningEmulator, TenantSpec};
use dirsync_service::{CreateIntegration, Registry, SealedSecrets, SecretKey, Service};
use dirsync_store::InMemoryStore;
use reqwest::StatusCode;

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;
pub(crate) type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The console under test and the tenant operators sign in at.
pub(crate) struct Console {
    pub(crate) base: String,
    pub(crate) google: RunningEmulator,
    pub(crate) service: Arc<Service>,
    /// The tenant's domain.
    pub(crate) domain: String,
    pub(crate) dir: tempfile::TempDir,
}

/// The key consents are sealed with (32 bytes of 7, base64).
const TEST_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// The tenant's people used as operators.
pub(crate) const READER: &str = "reader";
pub(crate) const STRANGER: &str = "stranger";

impl Console {
    /// The admin and `@…` `READER` are allowed (the latter read-only); `STRANGER` is not.
    pub(crate) async fn start() -> Res<Self> {
        Self::start_sized(8).await
    }

    /// As [`Console::start`], with a tenant of about `users` people.
    pub(crate) async fn start_sized(users: usize) -> Res<Self> {
        let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(5, users))).await?;
        let domain = google.tenant().domain().to_owned();
        for who in [READER, STRANGER] {
            google.add_user(NewUser::new(&format!("{who}@{domain}"), who, "Tester"))?;
        }
        let dir = tempfile::tempdir()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let secrets = Arc::new(SealedSecrets::new(
            dir.path().join("secrets"),
            SecretKey::from_base64(TEST_KEY, "the test key")?,
        ));
        let secrets: Arc<dyn dirsync_core::SecretStore> = secrets;
        let kind = GoogleKind::new().with_secrets(Arc::clone(&secrets));
        let service = Arc::new(
            Service::new(
                Arc::new(InMemoryStore::new()),
                Registry::builtin()
                    .with(dirsync_file::FileKind::new())
                    .with(dirsync_scim::ScimKind::new().with_secrets(Arc::clone(&secrets)))
                    .with(kind.clone()),
            )
            .with_consent(kind)
            .with_secrets(secrets)
            // Push channels to this server's hooks (the emulator delivers to loopback http).
            .with_push(dirsync_service::PushSettings::new(&base)),
        );
        let client = dir.path().join("client.json");
        std::fs::write(&client, google.oauth_client_json())?;
        let key = dir.path().join("managed-key.json");
        std::fs::write(&key, google.service_account_key_json())?;
        let new_google = NewGoogle::new()
            .with_consent(client, Some(google.base_url()))
            .with_managed_key(key)
            .with_api_base(google.base_url());
        let access = Access::default()
            .allow(&google.admin_subject())?
            .allow_read_only(&format!("{READER}@{domain}"))?;
        let config = ConsoleConfig::new(&base, access)?
            .with_google_sign_in(
                OAuthClient::parse(&google.oauth_client_json())?,
                OAuthEndpoints::at(Some(&google.base_url()))?,
            )
            .with_new_google(new_google);
        // Beside the API, as `dirsync serve` mounts it: Google's consent comes back to the
        // API's `/oauth/google/callback`, which sends the browser to the console.
        let api = dirsync_server::AppState::new(Arc::clone(&service)).with_public_url(base.clone());
        let app = dirsync_server::router(api)
            .merge(dirsync_console::router(Arc::clone(&service), config)?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            base,
            google,
            service,
            domain,
            dir,
        })
    }

    pub(crate) fn email(&self, who: &str) -> String {
        format!("{who}@{}", self.domain)
    }

    /// A browser signed in as `email` through the emulated Google.
    pub(crate) async fn signed_in(&self, email: &str) -> Res<Browser> {
        let browser = Browser::new(&self.base)?;
        let (status, _) = browser.sign_in(&self.google, email).await?;
        assert_eq!(status, StatusCode::SEE_OTHER, "signing in as {email}");
        Ok(browser)
    }

    /// A staged inbound Google integration titled `title` (service-account authorization).
    pub(crate) async fn integration(&self, title: &str) -> Res<String> {
        self.integration_towards(title, DirectionKind::Inbound)
            .await
    }

    /// A staged Google integration titled `title` in `direction`.
    pub(crate) async fn integration_towards(
        &self,
        title: &str,
        direction: DirectionKind,
    ) -> Res<String> {
        let key = self.dir.path().join("key.json");
        std::fs::write(&key, self.google.service_account_key_json())?;
        let settings = RemoteSettings::new(
            System::new("google_workspace")?,
            serde_json::json!({
                "system": "google_workspace", "customer": "my_customer",
                "subject": self.google.admin_subject(),
                "key": {"kind": "file", "value": key},
                "ownership": "customer_owned",
                "api_base": self.google.base_url(), "quota_per_minute": 0,
            }),
        )?;
        let created = self
            .service
            .create(CreateIntegration::new(
                title,
                direction,
                settings,
                Schedule::Manual,
            ))
            .await?;
        Ok(created.integration.id().to_string())
    }
}

/// A browser: keeps cookies, follows no redirect.
pub(crate) struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: Mutex<HashMap<String, String>>,
}

/// An answer: status, `Location`, body.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) location: String,
    pub(crate) body: String,
    pub(crate) headers: reqwest::header::HeaderMap,
}

impl Browser {
    pub(crate) fn new(base: &str) -> Res<Self> {
        Ok(Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            cookies: Mutex::new(HashMap::new()),
        })
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn cookie_header(&self) -> String {
        let jar = self
            .cookies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn answer(&self, response: reqwest::Response) -> Res<Answer> {
        let status = response.status();
        let headers = response.headers().clone();
        {
            let mut jar = self
                .cookies
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for set in headers.get_all(reqwest::header::SET_COOKIE) {
                let set = set.to_str()?;
                let pair = set.split(';').next().unwrap_or_default();
                if let Some((k, v)) = pair.split_once('=') {
                    if v.is_empty() || set.contains("Max-Age=0") {
                        jar.remove(k);
                    } else {
                        jar.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
        }
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(Answer {
            status,
            location,
            body: response.text().await?,
            headers,
        })
    }

    pub(crate) async fn get(&self, path: &str) -> Res<Answer> {
        let response = self
            .http
            .get(self.url(path))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await?;
        self.answer(response).await
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> Res<Answer> {
        let response = self
            .http
            .post(self.url(path))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await?;
        self.answer(response).await
    }

    /// Signs in at the emulated Google as `email`: the sign-in's last answer (303 to the
    /// page, or the refusal) and its body.
    pub(crate) async fn sign_in(
        &self,
        google: &RunningEmulator,
        email: &str,
    ) -> Res<(StatusCode, String)> {
        google.set_auto_consent(Some(email));
        let start = self.get("/console/signin/google?next=/console").await?;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
        let at_google = self.get(&start.location).await?;
        assert_eq!(
            at_google.status,
            StatusCode::SEE_OTHER,
            "{}",
            at_google.body
        );
        let back = self.get(&at_google.location).await?;
        Ok((back.status, back.body))
    }

    /// Posts `form` to `path` with the CSRF token of the page at `from`.
    pub(crate) async fn submit(
        &self,
        from: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> Res<Answer> {
        let csrf = self.csrf(from).await?;
        let mut form = form.to_vec();
        form.push(("csrf", &csrf));
        self.post(path, &form).await
    }

    /// The CSRF token of the first form on `path`.
    pub(crate) async fn csrf(&self, path: &str) -> Res<String> {
        let page = self.get(path).await?;
        let marker = r#"name="csrf" value=""#;
        let at = page.body.find(marker).ok_or("no CSRF field on the page")? + marker.len();
        let rest = &page.body[at..];
        Ok(rest[..rest.find('"').ok_or("unterminated")?].to_owned())
    }
}

/// The page at `path` once no run is under way (it no longer reloads itself), polled.
pub(crate) async fn until_done(browser: &Browser, path: &str) -> Res<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page = browser.get(path).await?;
        if !page.body.contains(r#"http-equiv="refresh""#) {
            return Ok(page.body);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("still running after 20 s: {}", page.body).into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
