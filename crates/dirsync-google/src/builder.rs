//! The connector's builder: every setting with a default, checked once in
//! [`GoogleConnectorBuilder::build`].

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dirsync_core::{DirectionKind, Email, KeyOwnership, ObjectKind, Scope};
use url::{Host, Url};

use crate::GoogleConnector;
use crate::auth::{GcpAuthTokenSource, KeyInfo, TokenSource};
use crate::client::Client;
use crate::config::{MappingConfig, RetryConfig};
use crate::error::Error;
use crate::pacer::Pacer;
use crate::settings::{
    Credential, GoogleSettings, KeyReference, ServiceAccountKey,
    required_scopes as google_required_scopes,
};

/// The default cap on one response body: 32 MiB, far above a page of 500 users with custom
/// schemas (a few MB).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Google's Directory API.
pub const DEFAULT_API_BASE: &str = "https://admin.googleapis.com";

/// Where the key comes from.
#[derive(Clone)]
enum KeySource {
    Json(ServiceAccountKey),
    File(PathBuf),
}

/// Builds a [`GoogleConnector`]. Start with [`GoogleConnector::builder`] or
/// [`GoogleConnectorBuilder::from_settings`].
///
/// Defaults: API `https://admin.googleapis.com`, customer `my_customer`, customer-owned key,
/// [`DEFAULT_CONCURRENCY`](Self::DEFAULT_CONCURRENCY) concurrent requests,
/// [`RetryConfig::default`], 2,400 requests a minute, 10 s connect timeout, 60 s request
/// timeout, 30 s token timeout, the inbound read scopes (users, groups, org units),
/// [`MappingConfig::default`].
#[derive(Clone)]
pub struct GoogleConnectorBuilder {
    api_base: String,
    customer: String,
    domain: Option<String>,
    subject: Option<Email>,
    key: Option<KeySource>,
    ownership: KeyOwnership,
    concurrency: usize,
    retry: RetryConfig,
    requests_per_minute: u32,
    connect_timeout: Duration,
    request_timeout: Duration,
    token_timeout: Duration,
    max_response_bytes: usize,
    scopes: BTreeSet<Scope>,
    mapping: MappingConfig,
    token_source: Option<Arc<dyn TokenSource>>,
    consent: Option<Arc<crate::oauth::RefreshTokenSource>>,
}

impl fmt::Debug for GoogleConnectorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match &self.key {
            None => "none".to_owned(),
            Some(KeySource::Json(k)) => format!("{k:?}"),
            Some(KeySource::File(p)) => format!("file {}", p.display()),
        };
        f.debug_struct("GoogleConnectorBuilder")
            .field("api_base", &self.api_base)
            .field("customer", &self.customer)
            .field("domain", &self.domain)
            .field("subject", &self.subject)
            .field("key", &key)
            .field("ownership", &self.ownership)
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("token_source", &self.token_source)
            .finish_non_exhaustive()
    }
}

impl Default for GoogleConnectorBuilder {
    fn default() -> Self {
        Self {
            api_base: DEFAULT_API_BASE.to_owned(),
            customer: "my_customer".to_owned(),
            domain: None,
            subject: None,
            key: None,
            ownership: KeyOwnership::CustomerOwned,
            concurrency: Self::DEFAULT_CONCURRENCY,
            retry: RetryConfig::default(),
            requests_per_minute: GoogleSettings::DEFAULT_QUOTA_PER_MINUTE,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            token_timeout: Duration::from_secs(30),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            scopes: google_required_scopes(DirectionKind::Inbound, ObjectKind::ALL),
            mapping: MappingConfig::default(),
            token_source: None,
            consent: None,
        }
    }
}

/// Accepts `https://` anywhere and `http://` only on loopback (tests, emulators).
pub(crate) fn check_endpoint(what: &str, value: &str) -> Result<Url, Error> {
    let url = Url::parse(value).map_err(|e| Error::Config {
        reason: format!("{what} {value:?} is not a URL: {e}"),
    })?;
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(Error::Config {
            reason: format!(
                "{what} {value:?} uses plain http:// to a non-loopback host; use https://"
            ),
        }),
        other => Err(Error::Config {
            reason: format!("{what} {value:?} has unsupported scheme {other}"),
        }),
    }
}

impl GoogleConnectorBuilder {
    /// API requests in flight at once unless set otherwise: the best measured on an unpaced
    /// read at 20 ms a request (`BENCHMARKS.md` §2: 8 → 4.3×, 16 → 2.5×, 32 → 2.0×, 64 → 2.0×
    /// the critical path). Under Google's default quota the pacer spaces request starts
    /// whatever the bound, so a larger bound costs nothing there.
    pub const DEFAULT_CONCURRENCY: usize = 32;

    /// A builder with the defaults (no subject, no key yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder from an integration's stored settings: customer, subject, API base, quota,
    /// concurrency and key ownership; a [`KeyReference::File`] key is read at
    /// [`build`](Self::build). A [`KeyReference::Named`] key is the application's to resolve:
    /// pass it with [`key_json`](Self::key_json).
    pub fn from_settings(settings: &GoogleSettings) -> Self {
        let mut b = Self::new();
        if let Some(n) = settings.concurrency {
            b = b.concurrency(usize::try_from(n).unwrap_or(usize::MAX));
        }
        b = b
            .customer(settings.customer.clone())
            .domain(settings.domain.clone())
            .requests_per_minute(settings.quota_per_minute);
        if let Some(base) = &settings.api_base {
            b = b.api_base(base.clone());
        }
        if let Credential::ServiceAccount {
            subject,
            key,
            ownership,
        } = &settings.credential
        {
            b = b.subject(subject.clone()).ownership(*ownership);
            if let KeyReference::File(path) = key {
                b = b.key_file(path.clone());
            }
        }
        b
    }

    /// The API base URL (default `https://admin.googleapis.com`); `http://` only for loopback.
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into();
        self
    }

    /// The customer (default `my_customer`: the subject's own account).
    pub fn customer(mut self, customer: impl Into<String>) -> Self {
        self.customer = customer.into();
        self
    }

    /// Limits users and groups to one of the customer's domains (`domain=` on their listings
    /// instead of `customer=`); `None` (the default): every domain.
    pub fn domain(mut self, domain: Option<String>) -> Self {
        self.domain = domain.map(|d| d.to_ascii_lowercase());
        self
    }

    /// The Workspace admin the service account acts as (domain-wide delegation). Required.
    pub fn subject(mut self, subject: Email) -> Self {
        self.subject = Some(subject);
        self
    }

    /// The service-account key JSON, inline.
    pub fn key_json(mut self, key: ServiceAccountKey) -> Self {
        self.key = Some(KeySource::Json(key));
        self
    }

    /// The service-account key JSON, read from this file at [`build`](Self::build).
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key = Some(KeySource::File(path.into()));
        self
    }

    /// Who owns the service account (recorded with the authorization; default customer-owned).
    pub fn ownership(mut self, ownership: KeyOwnership) -> Self {
        self.ownership = ownership;
        self
    }

    /// At most this many API requests in flight at once (default
    /// [`DEFAULT_CONCURRENCY`](Self::DEFAULT_CONCURRENCY); at least 1). It is the ceiling of an
    /// adaptive bound: fewer are sent while Google answers 429, 503 or a rate-limit 403 (half as
    /// many at each round of them), and more again, one a round, while it answers without.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Client-side pacing for the subject, requests a minute (default 2,400, Google's default
    /// per-user quota); `0` disables pacing.
    pub fn requests_per_minute(mut self, n: u32) -> Self {
        self.requests_per_minute = n;
        self
    }

    /// TCP/TLS connect timeout (default 10 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Whole-request timeout, per attempt (default 60 s). A timeout is retried.
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// How long to wait for an access token (default 30 s; gcp_auth has no timeout of its own).
    pub fn token_timeout(mut self, t: Duration) -> Self {
        self.token_timeout = t;
        self
    }

    /// The largest response body the connector reads (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]); a larger one fails the call with
    /// [`Error::TooLarge`] instead of growing memory without bound.
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = n;
        self
    }

    /// The scopes [`validate_access`](dirsync_core::DirectorySource::validate_access) checks
    /// (default: user, group and org-unit read-only). Use
    /// [`required_scopes`](crate::required_scopes) for other directions or kinds.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = Scope>) -> Self {
        self.scopes = scopes.into_iter().collect();
        self
    }

    /// How records are mapped.
    pub fn mapping(mut self, mapping: MappingConfig) -> Self {
        self.mapping = mapping;
        self
    }

    /// Uses this token source instead of gcp_auth (tests, emulators, an application's own
    /// token broker). A key is then optional; without one `validate_access` fails.
    pub fn token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.token_source = Some(source);
        self
    }

    /// Authorizes by an admin's consent: tokens come from `source` (its refresh token), the
    /// subject is who consented, and `validate_access` checks the scopes the consent grants.
    pub fn consent(mut self, source: Arc<crate::oauth::RefreshTokenSource>) -> Self {
        self.subject = Some(source.consent().authorized_by.clone());
        self.token_source = Some(source.clone());
        self.consent = Some(source);
        self
    }

    /// Checks the settings and builds the connector. No network I/O.
    ///
    /// # Errors
    /// [`Error::Config`] for a missing subject, a refused endpoint (`http://` to a non-loopback
    /// host for `api_base` or the key's `token_uri`), zero concurrency, or neither key nor token
    /// source; [`Error::Key`] for an unreadable or unusable key.
    pub fn build(self) -> Result<GoogleConnector, Error> {
        let subject = self.subject.ok_or_else(|| Error::Config {
            reason: "no delegated subject (the Workspace admin to act as)".into(),
        })?;
        let api_base = check_endpoint("api_base", &self.api_base)?;
        if self.concurrency == 0 {
            return Err(Error::Config {
                reason: "concurrency must be at least 1".into(),
            });
        }
        if self.customer.is_empty() {
            return Err(Error::Config {
                reason: "customer must not be empty (use my_customer)".into(),
            });
        }
        let key = match self.key {
            None => None,
            Some(KeySource::Json(k)) => Some(k),
            Some(KeySource::File(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| Error::Key {
                    reason: format!("cannot read {}: {}", path.display(), e.kind()),
                })?;
                Some(ServiceAccountKey::new(text))
            }
        };
        let key = key.map(KeyInfo::parse).transpose()?;
        if let Some(k) = &key {
            check_endpoint("the key's token_uri", &k.token_uri)?;
        }
        // A source of the key's own is also the access check's: its token requests are kept.
        let (tokens, key_tokens): (Arc<dyn TokenSource>, _) = match (self.token_source, &key) {
            (Some(t), _) => (t, None),
            (None, Some(k)) => {
                let own = Arc::new(GcpAuthTokenSource::new(
                    k.clone(),
                    subject.clone(),
                    self.token_timeout,
                )?);
                (Arc::clone(&own) as Arc<dyn TokenSource>, Some(own))
            }
            (None, None) => {
                return Err(Error::Config {
                    reason: "no service-account key (key_json or key_file) and no token source"
                        .into(),
                });
            }
        };
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .gzip(true)
            .user_agent(concat!(
                "dirsync-google/",
                env!("CARGO_PKG_VERSION"),
                " (gzip)"
            ))
            .build()
            .map_err(|e| Error::Config {
                reason: format!("HTTP client: {e}"),
            })?;
        let client = Client::new(
            http,
            tokens,
            self.token_timeout,
            Pacer::per_minute(self.requests_per_minute),
            self.retry,
            self.concurrency,
            self.max_response_bytes,
        );
        Ok(GoogleConnector {
            client,
            api_base,
            customer: self.customer,
            domain: self.domain,
            subject,
            key,
            key_tokens,
            consent: self.consent,
            ownership: self.ownership,
            scopes: self.scopes,
            mapping: self.mapping,
            concurrency: self.concurrency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::StaticTokenSource;

    fn base() -> GoogleConnectorBuilder {
        GoogleConnector::builder()
            .subject(Email::new("admin@example.com").unwrap())
            .token_source(Arc::new(StaticTokenSource::new(["t"])))
    }

    #[test]
    fn plain_http_is_refused_unless_loopback() {
        for ok in [
            "https://admin.googleapis.com",
            "http://127.0.0.1:1234",
            "http://[::1]:80/x",
            "http://localhost:8080",
            "http://127.8.9.10",
        ] {
            assert!(check_endpoint("api_base", ok).is_ok(), "{ok}");
            assert!(base().api_base(ok).build().is_ok(), "{ok}");
        }
        for bad in [
            "http://admin.googleapis.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            match base().api_base(bad).build() {
                Err(Error::Config { reason }) => assert!(reason.contains("api_base"), "{reason}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_keys_token_uri_is_checked_too() {
        let key = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/test-key.json"
        ))
        .unwrap();
        let mut json: serde_json::Value = serde_json::from_str(&key).unwrap();
        json["token_uri"] = "http://oauth2.example.com/token".into();
        let b = GoogleConnector::builder()
            .subject(Email::new("admin@example.com").unwrap())
            .key_json(ServiceAccountKey::new(json.to_string()));
        match b.build() {
            Err(Error::Config { reason }) => assert!(reason.contains("token_uri"), "{reason}"),
            other => panic!("{other:?}"),
        }
        json["token_uri"] = "http://127.0.0.1:1/token".into();
        let c = GoogleConnector::builder()
            .subject(Email::new("admin@example.com").unwrap())
            .key_json(ServiceAccountKey::new(json.to_string()))
            .build()
            .unwrap();
        assert_eq!(
            c.client_email().map(Email::as_str),
            Some("sync@test-project.iam.gserviceaccount.com")
        );
    }

    #[test]
    fn missing_pieces_are_configuration_errors() {
        assert!(matches!(
            GoogleConnector::builder().build(),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            GoogleConnector::builder()
                .subject(Email::new("a@b.co").unwrap())
                .build(),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            base().concurrency(0).build(),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            GoogleConnector::builder()
                .subject(Email::new("a@b.co").unwrap())
                .key_file("/nonexistent/key.json")
                .build(),
            Err(Error::Key { .. })
        ));
    }

    #[test]
    fn settings_carry_over() {
        let mut s = GoogleSettings::new(
            Email::new("admin@example.com").unwrap(),
            KeyReference::Named("k".into()),
            KeyOwnership::ProviderManaged,
        );
        s.api_base = Some("http://127.0.0.1:9".into());
        s.customer = "C123".into();
        let c = GoogleConnectorBuilder::from_settings(&s)
            .token_source(Arc::new(StaticTokenSource::new(["t"])))
            .build()
            .unwrap();
        assert_eq!(c.customer(), "C123");
        assert_eq!(c.ownership(), KeyOwnership::ProviderManaged);
        assert_eq!(c.api_base().as_str(), "http://127.0.0.1:9/");
    }
}
