//! Authentication: where access tokens come from, and the per-scope access check.
//!
//! - [`TokenSource`] is our seam: the connector asks it for a token per scope and tells it to
//!   drop a token the API answered 401 to. [`GcpAuthTokenSource`] adapts
//!   `gcp_auth::CustomServiceAccount` (domain-wide delegation via `with_subject`, the key's own
//!   `token_uri`); [`StaticTokenSource`] is a fake for tests and emulators.
//! - [`check_scope`] does one JWT-bearer exchange for one scope itself, because gcp_auth throws
//!   the token endpoint's JSON error away (reference §1.5) and we need it to tell "scope not
//!   granted" (`unauthorized_client`) from "bad subject or key" (`invalid_grant`, ...).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dirsync_core::{AccessToken, Email, Scope, ServiceAccountKey};
use gcp_auth::TokenProvider as _;
use serde::Deserialize;
use tokio::sync::RwLock;

use crate::error::Error;

/// A source of OAuth access tokens, one per scope.
///
/// Object-safe; the connector holds it as `Arc<dyn TokenSource>`.
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A token valid for `scope` (cached by the implementation).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] when the token endpoint refuses; [`Error::Token`] otherwise.
    async fn token(&self, scope: &Scope) -> Result<AccessToken, Error>;

    /// Forgets the cached token for `scope`: the API refused it (401), the next
    /// [`token`](Self::token) call must fetch a fresh one.
    async fn invalidate(&self, scope: &Scope);
}

/// The parts of a service-account key JSON the connector reads itself (gcp_auth keeps them
/// private). The private key stays inside [`ServiceAccountKey`].
#[derive(Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The service account's email (JWT `iss`).
    pub client_email: Email,
    /// The OAuth client id (shown to the admin for domain-wide delegation).
    pub client_id: String,
    /// The token endpoint (JWT `aud` and POST target).
    pub token_uri: String,
    /// The whole key JSON.
    pub key: ServiceAccountKey,
}

impl fmt::Debug for KeyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyInfo")
            .field("client_email", &self.client_email)
            .field("client_id", &self.client_id)
            .field("token_uri", &self.token_uri)
            .field("key", &self.key)
            .finish()
    }
}

#[derive(Deserialize)]
struct RawKey {
    #[serde(default)]
    client_email: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    token_uri: String,
    #[serde(default)]
    private_key: String,
    #[serde(default, rename = "type")]
    kind: String,
}

impl KeyInfo {
    /// Reads the public parts of a key JSON.
    ///
    /// # Errors
    /// [`Error::Key`] when the JSON is not an object with `client_email`, `token_uri` and a
    /// PEM `private_key`, or its `type` is not `service_account` (the messages never quote the
    /// key).
    pub fn parse(key: ServiceAccountKey) -> Result<Self, Error> {
        let raw: RawKey = serde_json::from_str(key.expose_secret()).map_err(|e| Error::Key {
            // serde_json's message names the position and expected type, never the content.
            reason: format!(
                "not a JSON key file (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
        let missing = |field: &str| Error::Key {
            reason: format!("field {field} is missing or empty"),
        };
        if !raw.kind.is_empty() && raw.kind != "service_account" {
            return Err(Error::Key {
                reason: format!(
                    "type is {:?}, not \"service_account\" (create a key for a service account in the Cloud console)",
                    crate::wire::clip(&raw.kind)
                ),
            });
        }
        if raw.token_uri.is_empty() {
            return Err(missing("token_uri"));
        }
        if !raw.private_key.contains("BEGIN PRIVATE KEY") {
            return Err(Error::Key {
                reason: "private_key is not a PKCS#8 PEM key (Google issues PKCS#8; convert a PKCS#1 key with `openssl pkcs8 -topk8 -nocrypt`)".into(),
            });
        }
        let client_email = Email::new(&raw.client_email).map_err(|_| missing("client_email"))?;
        Ok(Self {
            client_email,
            client_id: raw.client_id,
            token_uri: raw.token_uri,
            key,
        })
    }

    /// A gcp_auth service account for this key acting as `subject`.
    ///
    /// # Errors
    /// [`Error::Key`] when gcp_auth refuses the key (not PKCS#8, shorter than 2048 bits).
    pub fn service_account(
        &self,
        subject: &Email,
    ) -> Result<gcp_auth::CustomServiceAccount, Error> {
        let sa =
            gcp_auth::CustomServiceAccount::from_json(self.key.expose_secret()).map_err(|e| {
                Error::Key {
                    reason: format!(
                        "{} (the private key must be an RSA key of at least 2048 bits in PKCS#8 PEM, as Google issues)",
                        gcp_error_text(&e)
                    ),
                }
            })?;
        Ok(sa.with_subject(subject.as_str().to_owned()))
    }
}

/// gcp_auth's error as text: its static description and the source's kind, never content.
fn gcp_error_text(e: &gcp_auth::Error) -> String {
    match e {
        gcp_auth::Error::Str(s) => (*s).to_owned(),
        gcp_auth::Error::Http(s, _)
        | gcp_auth::Error::Io(s, _)
        | gcp_auth::Error::Json(s, _)
        | gcp_auth::Error::Other(s, _) => (*s).to_owned(),
        gcp_auth::Error::NoAuthMethod(..) => "no authentication method".to_owned(),
    }
}

/// The production [`TokenSource`]: `gcp_auth::CustomServiceAccount` with the delegated subject.
///
/// One provider per subject; scopes are requested one at a time (so a missing grant for one
/// API cannot break the others, and gcp_auth's exact-list cache key is canonical). gcp_auth has
/// no timeout: every call is wrapped in `timeout`. gcp_auth cannot drop a single cached token,
/// so [`invalidate`](TokenSource::invalidate) replaces the provider (and with it the cache).
pub struct GcpAuthTokenSource {
    key: KeyInfo,
    subject: Email,
    timeout: Duration,
    provider: RwLock<Arc<gcp_auth::CustomServiceAccount>>,
}

impl fmt::Debug for GcpAuthTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpAuthTokenSource")
            .field("client_email", &self.key.client_email)
            .field("token_uri", &self.key.token_uri)
            .field("subject", &self.subject)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl GcpAuthTokenSource {
    /// A token source for `key` acting as `subject`, giving up on a token after `timeout`.
    ///
    /// # Errors
    /// [`Error::Key`] when gcp_auth refuses the key.
    pub fn new(key: KeyInfo, subject: Email, timeout: Duration) -> Result<Self, Error> {
        let provider = RwLock::new(Arc::new(key.service_account(&subject)?));
        Ok(Self {
            key,
            subject,
            timeout,
            provider,
        })
    }
}

#[async_trait]
impl TokenSource for GcpAuthTokenSource {
    async fn token(&self, scope: &Scope) -> Result<AccessToken, Error> {
        let provider = Arc::clone(&*self.provider.read().await);
        let scopes = [scope.as_str()];
        match tokio::time::timeout(self.timeout, provider.token(&scopes)).await {
            Err(_) => Err(Error::Token {
                message: format!("no token within {:?}", self.timeout),
                transient: true,
            }),
            Ok(Ok(token)) => Ok(AccessToken::new(token.as_str())),
            // A non-2xx answer of the token endpoint (after gcp_auth's own 5 tries): its body is
            // lost, so say how to find out what is wrong.
            Ok(Err(gcp_auth::Error::Str(s))) => Err(Error::Unauthorized {
                reason: format!(
                    "{s} for scope {} as {} (validate access to see which scope or setting is wrong)",
                    scope.as_str(),
                    self.subject
                ),
            }),
            Ok(Err(e)) => Err(Error::Token {
                message: gcp_error_text(&e),
                transient: true,
            }),
        }
    }

    async fn invalidate(&self, _scope: &Scope) {
        match self.key.service_account(&self.subject) {
            Ok(fresh) => *self.provider.write().await = Arc::new(fresh),
            Err(e) => tracing::warn!(error = %e, "could not rebuild the token provider"),
        }
    }
}

/// A fake [`TokenSource`] for tests and emulators: hands out a fixed sequence of tokens, moving
/// to the next one on each [`invalidate`](TokenSource::invalidate), and counts calls.
pub struct StaticTokenSource {
    tokens: Vec<AccessToken>,
    current: AtomicUsize,
    issued: AtomicUsize,
    invalidated: AtomicUsize,
}

impl fmt::Debug for StaticTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokenSource")
            .field("tokens", &self.tokens.len())
            .field("issued", &self.issued())
            .field("invalidated", &self.invalidated())
            .finish()
    }
}

impl StaticTokenSource {
    /// Hands out `tokens[0]`, then `tokens[1]` after the first invalidation, and so on (the
    /// last one stays). An empty list fails every request.
    pub fn new<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            tokens: tokens.into_iter().map(|t| AccessToken::new(t)).collect(),
            current: AtomicUsize::new(0),
            issued: AtomicUsize::new(0),
            invalidated: AtomicUsize::new(0),
        }
    }

    /// How many tokens were handed out.
    pub fn issued(&self) -> usize {
        self.issued.load(Ordering::Relaxed)
    }

    /// How many times a token was invalidated.
    pub fn invalidated(&self) -> usize {
        self.invalidated.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl TokenSource for StaticTokenSource {
    async fn token(&self, _scope: &Scope) -> Result<AccessToken, Error> {
        let i = self.current.load(Ordering::Relaxed);
        let token = self
            .tokens
            .get(i)
            .or(self.tokens.last())
            .cloned()
            .ok_or_else(|| Error::Unauthorized {
                reason: "the static token source has no token".into(),
            })?;
        self.issued.fetch_add(1, Ordering::Relaxed);
        Ok(token)
    }

    async fn invalidate(&self, _scope: &Scope) {
        self.invalidated.fetch_add(1, Ordering::Relaxed);
        self.current.fetch_add(1, Ordering::Relaxed);
    }
}

/// The outcome of one scope's token request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScopeCheck {
    /// A token was issued (and thrown away).
    Granted,
    /// The token endpoint answered `unauthorized_client`: the scope is not delegated.
    Missing {
        /// The endpoint's description.
        description: String,
    },
}

/// The token endpoint's OAuth error body (reference §2.3).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OAuthError {
    error: String,
    error_description: String,
}

#[derive(Deserialize)]
struct TokenOk {
    access_token: String,
}

/// The JWT-bearer assertion for one scope (claims as reference §1.3), signed RS256.
fn assertion(
    sa: &gcp_auth::CustomServiceAccount,
    key: &KeyInfo,
    subject: &Email,
    scope: &Scope,
    now: i64,
) -> Result<String, Error> {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": key.client_email.as_str(),
        "aud": key.token_uri,
        "exp": now + 3600 - 5,
        "iat": now,
        "sub": subject.as_str(),
        "scope": scope.as_str(),
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{claims}");
    let signature = sa.signer().sign(input.as_bytes()).map_err(|e| Error::Key {
        reason: gcp_error_text(&e),
    })?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// Asks the token endpoint for a token for `scope` alone, as `subject`, and reads its answer.
///
/// # Errors
/// [`Error::Unauthorized`] for `invalid_grant`, `invalid_request`, `disabled_client`,
/// `invalid_client` and other refusals (a bad subject or key — the same for every scope);
/// [`Error::Token`] when the endpoint cannot be reached or answers 5xx.
pub async fn check_scope(
    http: &reqwest::Client,
    sa: &gcp_auth::CustomServiceAccount,
    key: &KeyInfo,
    subject: &Email,
    scope: &Scope,
) -> Result<ScopeCheck, Error> {
    let jwt = assertion(sa, key, subject, scope, chrono::Utc::now().timestamp())?;
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", jwt.as_str()),
    ];
    let response = http
        .post(&key.token_uri)
        .form(&form)
        .send()
        .await
        .map_err(|e| Error::Token {
            message: format!("token endpoint unreachable: {}", e.without_url()),
            transient: true,
        })?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|e| Error::Token {
        message: format!("token endpoint answer unreadable: {}", e.without_url()),
        transient: true,
    })?;
    classify_token_response(status, &body, subject, scope)
}

/// Classifies a token endpoint answer (pure; see [`check_scope`]).
///
/// # Errors
/// As [`check_scope`].
pub fn classify_token_response(
    status: u16,
    body: &[u8],
    subject: &Email,
    scope: &Scope,
) -> Result<ScopeCheck, Error> {
    if (200..300).contains(&status) {
        return match serde_json::from_slice::<TokenOk>(body) {
            Ok(ok) if !ok.access_token.is_empty() => Ok(ScopeCheck::Granted),
            _ => Err(Error::Token {
                message: format!("token endpoint answered {status} without an access_token"),
                transient: true,
            }),
        };
    }
    let err: OAuthError = serde_json::from_slice(body).unwrap_or_default();
    let description = crate::wire::clip(&err.error_description);
    match err.error.as_str() {
        "unauthorized_client" | "access_denied" => Ok(ScopeCheck::Missing { description }),
        "invalid_grant" | "invalid_request" => {
            let d = err.error_description.to_ascii_lowercase();
            let what = if d.contains("email") || d.contains("user id") || d.contains("sub") {
                format!("the delegated subject {subject} is not usable")
            } else {
                "the service-account key was refused (wrong, revoked or deleted key, or clock skew)"
                    .to_owned()
            };
            Err(Error::Unauthorized {
                reason: format!("{what}: {} ({description})", err.error),
            })
        }
        "" if status >= 500 || status == 429 => Err(Error::Token {
            message: format!("token endpoint answered {status}"),
            transient: true,
        }),
        "" => Err(Error::Unauthorized {
            reason: format!(
                "token endpoint answered {status} without an OAuth error for scope {}",
                scope.as_str()
            ),
        }),
        other => Err(Error::Unauthorized {
            reason: format!("token endpoint refused the client: {other} ({description})"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::new(dirsync_core::google_scopes::USER_READONLY).unwrap()
    }

    fn admin() -> Email {
        Email::new("admin@example.com").unwrap()
    }

    #[test]
    fn token_endpoint_errors_are_told_apart() {
        let s = scope();
        let a = admin();
        let c = |status, body: &str| classify_token_response(status, body.as_bytes(), &a, &s);
        assert_eq!(
            c(200, r#"{"access_token":"ya29.x","expires_in":3599}"#).unwrap(),
            ScopeCheck::Granted
        );
        assert!(matches!(
            c(
                401,
                r#"{"error":"unauthorized_client","error_description":"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}"#
            ),
            Ok(ScopeCheck::Missing { .. })
        ));
        match c(
            400,
            r#"{"error":"invalid_grant","error_description":"Invalid email or User ID"}"#,
        ) {
            Err(Error::Unauthorized { reason }) => {
                assert!(reason.contains("subject admin@example.com"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        match c(
            400,
            r#"{"error":"invalid_grant","error_description":"Invalid JWT: No valid verifier found for issuer"}"#,
        ) {
            Err(Error::Unauthorized { reason }) => {
                assert!(reason.contains("key was refused"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c(
                401,
                r#"{"error":"disabled_client","error_description":"The OAuth client was disabled."}"#
            ),
            Err(Error::Unauthorized { .. })
        ));
        assert!(matches!(
            c(503, "oops"),
            Err(Error::Token {
                transient: true,
                ..
            })
        ));
        assert!(matches!(c(403, "<html>"), Err(Error::Unauthorized { .. })));
        assert!(matches!(c(200, "{}"), Err(Error::Token { .. })));
    }

    #[test]
    fn keys_are_checked_without_quoting_them() {
        let bad = ServiceAccountKey::new(
            r#"{"private_key":"-----BEGIN RSA PRIVATE KEY-----SECRETSTUFF","client_email":"a@b.co","token_uri":"https://x"}"#,
        );
        let e = KeyInfo::parse(bad).unwrap_err();
        assert!(!e.to_string().contains("SECRETSTUFF"));
        let e = KeyInfo::parse(ServiceAccountKey::new("{not json SECRETSTUFF")).unwrap_err();
        assert!(matches!(e, Error::Key { .. }));
        assert!(!e.to_string().contains("SECRETSTUFF"));
        let e = KeyInfo::parse(ServiceAccountKey::new(
            r#"{"private_key":"-----BEGIN PRIVATE KEY-----","client_email":"a@b.co"}"#,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("token_uri"));
    }

    #[tokio::test]
    async fn the_static_source_moves_on_after_invalidation() {
        let s = StaticTokenSource::new(["one", "two"]);
        assert_eq!(s.token(&scope()).await.unwrap().expose_secret(), "one");
        s.invalidate(&scope()).await;
        assert_eq!(s.token(&scope()).await.unwrap().expose_secret(), "two");
        s.invalidate(&scope()).await;
        assert_eq!(s.token(&scope()).await.unwrap().expose_secret(), "two");
        assert_eq!((s.issued(), s.invalidated()), (3, 2));
        assert!(!format!("{s:?}").contains("one"));
    }
}
