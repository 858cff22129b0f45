//! Authentication: where access tokens come from, and the per-scope access check.
//!
//! - [`TokenSource`] is our seam: the connector asks it for a token per scope and tells it to
//!   drop a token the API answered 401 to. [`GcpAuthTokenSource`] is the production source;
//!   [`StaticTokenSource`] is a fake for tests and emulators.
//! - [`exchange`] is the one token path: one JWT-bearer exchange for one scope (signed with
//!   gcp_auth's signer over the key, domain-wide delegation via `sub`, the key's own
//!   `token_uri`), sent and read by us, because gcp_auth throws the token endpoint's status and
//!   body away (reference §0.2). [`classify_token_response`] tells a refusal (`invalid_grant`,
//!   `unauthorized_client`, ...) from weather (5xx, 429, HTML bodies); [`check_scope`] and the
//!   token source both use it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dirsync_core::{AccessDenied, AccessToken, Email, Scope};
use serde::Deserialize;

use crate::error::Error;
use crate::settings::ServiceAccountKey;

/// A source of OAuth access tokens, one per scope.
///
/// Object-safe; the connector holds it as `Arc<dyn TokenSource>`.
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A token valid for `scope` (cached by the implementation).
    ///
    /// # Errors
    /// [`Error::Access`] (`Unauthorized`) when the token endpoint refuses; [`Error::Token`] otherwise.
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

/// The production [`TokenSource`]: a JWT-bearer exchange per scope for the delegated subject,
/// signed with the key through gcp_auth's signer, sent and read by us.
///
/// gcp_auth's own token path throws the endpoint's status and body away (reference §0.2) and
/// retries even refusals five times; this source sees both, so it can tell an authorization
/// problem (`invalid_grant`, `unauthorized_client`, ... — [`Error::Access`] (`Unauthorized`)) from weather
/// (5xx, 429, timeouts, connection errors, non-JSON bodies — a transient [`Error::Token`] that
/// the connector retries within its budget). Scopes are requested one at a time (a missing
/// grant for one API cannot break the others). Tokens are cached per scope until 20 s before
/// they expire; one exchange at a time per scope, so concurrent callers of a cold scope wait
/// for the first instead of each asking, while different scopes are asked at once.
pub struct GcpAuthTokenSource {
    key: KeyInfo,
    subject: Email,
    timeout: Duration,
    http: reqwest::Client,
    account: gcp_auth::CustomServiceAccount,
    cache: std::sync::Mutex<HashMap<Scope, Arc<Slot>>>,
}

/// One scope's cached token and until when it is used; locked across its exchange.
type Slot = tokio::sync::Mutex<Option<(AccessToken, tokio::time::Instant)>>;

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
    /// A token source for `key` acting as `subject`, giving up on one exchange after `timeout`.
    ///
    /// # Errors
    /// [`Error::Key`] when gcp_auth refuses the key; [`Error::Config`] when no HTTP client can
    /// be built.
    pub fn new(key: KeyInfo, subject: Email, timeout: Duration) -> Result<Self, Error> {
        let account = key.service_account(&subject)?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Error::Config {
                reason: format!("HTTP client for the token endpoint: {e}"),
            })?;
        Ok(Self {
            key,
            subject,
            timeout,
            http,
            account,
            cache: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// `scope`'s slot (created empty on first use).
    fn slot(&self, scope: &Scope) -> Arc<Slot> {
        // The map's lock is held only to find the slot, never across an exchange; a panic
        // while it was held cannot have left the map half-changed.
        let mut slots = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(slots.entry(scope.clone()).or_default())
    }

    /// [`check_scope`] through this source: one token request for `scope`, whose token is
    /// kept (the access check's requests then serve the first calls that follow).
    ///
    /// # Errors
    /// As [`check_scope`].
    pub async fn check(&self, scope: &Scope) -> Result<ScopeCheck, Error> {
        let slot = self.slot(scope);
        let mut cached = slot.lock().await;
        let now = tokio::time::Instant::now();
        let answer = exchange(&self.http, &self.account, &self.key, &self.subject, scope).await;
        let (check, issued) = answer.into_check(&self.subject, scope)?;
        *cached = issued
            .map(|(token, expires_in)| (token, now + expires_in.saturating_sub(EXPIRY_MARGIN)));
        Ok(check)
    }
}

/// A token is used until this long before it expires (as gcp_auth).
const EXPIRY_MARGIN: Duration = Duration::from_secs(20);

#[async_trait]
impl TokenSource for GcpAuthTokenSource {
    async fn token(&self, scope: &Scope) -> Result<AccessToken, Error> {
        let slot = self.slot(scope);
        let mut cached = slot.lock().await;
        let now = tokio::time::Instant::now();
        if let Some((token, until)) = cached.as_ref()
            && *until > now
        {
            return Ok(token.clone());
        }
        let answer = exchange(&self.http, &self.account, &self.key, &self.subject, scope).await;
        match answer.into_result(&self.subject, scope) {
            Ok((token, expires_in)) => {
                let until = now + expires_in.saturating_sub(EXPIRY_MARGIN);
                *cached = Some((token.clone(), until));
                Ok(token)
            }
            Err(e) => {
                tracing::warn!(scope = scope.as_str(), subject = %self.subject, error = %e, "token request refused or failed");
                Err(e)
            }
        }
    }

    async fn invalidate(&self, scope: &Scope) {
        *self.slot(scope).lock().await = None;
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
            .ok_or_else(|| {
                Error::Access(AccessDenied::Unauthorized {
                    reason: "the static token source has no token".into(),
                })
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

/// A token endpoint's answer, classified by what it means (see [`classify_token_response`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenAnswer {
    /// A token, valid for `expires_in`.
    Issued {
        /// The token.
        token: AccessToken,
        /// Its lifetime as the endpoint said.
        expires_in: Duration,
    },
    /// `unauthorized_client`: this client may not have this scope for this subject (the
    /// scope, or the whole delegation, is not granted).
    ScopeRefused {
        /// The OAuth `error` and its description.
        reason: String,
    },
    /// Any other OAuth refusal (`invalid_grant`, `invalid_client`, `access_denied`,
    /// `admin_policy_enforced`, `disabled_client`, ...): an authorization problem only an
    /// administrator can fix.
    Refused {
        /// What was refused and why.
        reason: String,
    },
    /// Weather: a 5xx, 429 or 408, `temporarily_unavailable` / `server_error`, a body that is
    /// not an OAuth answer (an HTML error page), a timeout or a connection error. Retrying
    /// later may succeed.
    Unavailable {
        /// What happened.
        reason: String,
    },
}

impl TokenAnswer {
    /// The issued token and its lifetime, or the connector error the answer means.
    /// What the answer says of the scope: a token issued (and kept), or the scope missing
    /// (`unauthorized_client`); any other refusal or weather is the error [`into_result`]
    /// gives.
    ///
    /// [`into_result`]: Self::into_result
    fn into_check(
        self,
        subject: &Email,
        scope: &Scope,
    ) -> Result<(ScopeCheck, Option<(AccessToken, Duration)>), Error> {
        match self {
            Self::ScopeRefused { reason } => Ok((
                ScopeCheck::Missing {
                    description: reason,
                },
                None,
            )),
            other => Ok((
                ScopeCheck::Granted,
                Some(other.into_result(subject, scope)?),
            )),
        }
    }

    fn into_result(self, subject: &Email, scope: &Scope) -> Result<(AccessToken, Duration), Error> {
        Err(match self {
            Self::Issued { token, expires_in } => return Ok((token, expires_in)),
            Self::ScopeRefused { reason } => Error::Access(AccessDenied::Unauthorized {
                reason: format!(
                    "the token endpoint refused scope {} as {subject}: {reason} (validate access to see which scope or setting is wrong)",
                    scope.as_str()
                ),
            }),
            Self::Refused { reason } => Error::Access(AccessDenied::Unauthorized { reason }),
            Self::Unavailable { reason } => Error::Token {
                message: format!("the token endpoint is unavailable: {reason}"),
                transient: true,
            },
        })
    }
}

/// The token endpoint's OAuth error body (reference §2.3).
#[derive(Debug, Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

#[derive(Deserialize)]
struct TokenOk {
    access_token: String,
    expires_in: u64,
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

/// The largest token endpoint answer read (a token answer is well under 4 KiB).
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// One JWT-bearer exchange for `scope` alone, as `subject`: the one token path of the
/// connector (the token source and the access check both use it). Never retries.
pub async fn exchange(
    http: &reqwest::Client,
    sa: &gcp_auth::CustomServiceAccount,
    key: &KeyInfo,
    subject: &Email,
    scope: &Scope,
) -> TokenAnswer {
    let jwt = match assertion(sa, key, subject, scope, chrono::Utc::now().timestamp()) {
        Ok(jwt) => jwt,
        Err(e) => {
            return TokenAnswer::Refused {
                reason: e.to_string(),
            };
        }
    };
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", jwt.as_str()),
    ];
    let unavailable = |what: &str, e: reqwest::Error| TokenAnswer::Unavailable {
        reason: format!(
            "{what}: {}",
            crate::client::transport_message(e.without_url())
        ),
    };
    let mut response = match http.post(&key.token_uri).form(&form).send().await {
        Ok(r) => r,
        Err(e) => return unavailable("no answer", e),
    };
    let status = response.status().as_u16();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_TOKEN_ANSWER {
                    return TokenAnswer::Unavailable {
                        reason: format!(
                            "answered {status} with a body over {MAX_TOKEN_ANSWER} bytes"
                        ),
                    };
                }
            }
            Ok(None) => break,
            Err(e) => return unavailable("answer unreadable", e),
        }
    }
    classify_token_response(status, &body, subject)
}

/// Asks the token endpoint for a token for `scope` alone, as `subject`, and reads its answer.
///
/// # Errors
/// [`Error::Access`] (`Unauthorized`) for `invalid_grant`, `invalid_request`, `disabled_client`,
/// `invalid_client` and other refusals (a bad subject or key — the same for every scope);
/// [`Error::Token`] when the endpoint cannot be reached or answers 5xx.
pub async fn check_scope(
    http: &reqwest::Client,
    sa: &gcp_auth::CustomServiceAccount,
    key: &KeyInfo,
    subject: &Email,
    scope: &Scope,
) -> Result<ScopeCheck, Error> {
    let answer = exchange(http, sa, key, subject, scope).await;
    Ok(answer.into_check(subject, scope)?.0)
}

/// OAuth `error`s that are weather, not a refusal (RFC 6749 §5.2 and §4.1.2.1).
const TRANSIENT_OAUTH_ERRORS: &[&str] = &["temporarily_unavailable", "server_error"];

/// Classifies a token endpoint answer by its status and body (pure; table-tested).
///
/// Weather first: 5xx, 429 and 408 whatever the body, a `temporarily_unavailable` or
/// `server_error`, a 2xx without a token, and any body that is not an OAuth JSON answer (an
/// HTML page from a front end). Then the OAuth `error`: `unauthorized_client` refuses the
/// scope; everything else (`invalid_grant` naming the subject or the key, `invalid_client`,
/// `access_denied`, `admin_policy_enforced`, `disabled_client`, unknown errors) is an
/// authorization problem.
pub fn classify_token_response(status: u16, body: &[u8], subject: &Email) -> TokenAnswer {
    if (200..300).contains(&status) {
        return match serde_json::from_slice::<TokenOk>(body) {
            Ok(ok) if !ok.access_token.is_empty() => TokenAnswer::Issued {
                token: AccessToken::new(ok.access_token),
                expires_in: Duration::from_secs(ok.expires_in),
            },
            _ => TokenAnswer::Unavailable {
                reason: format!("answered {status} without an access token"),
            },
        };
    }
    if status >= 500 || status == 429 || status == 408 {
        return TokenAnswer::Unavailable {
            reason: format!("answered {status}"),
        };
    }
    let Ok(err) = serde_json::from_slice::<OAuthError>(body) else {
        return TokenAnswer::Unavailable {
            reason: format!("answered {status} with a body that is not an OAuth answer"),
        };
    };
    let description = crate::wire::clip(&err.error_description);
    let error = crate::wire::clip(&err.error);
    match err.error.as_str() {
        e if TRANSIENT_OAUTH_ERRORS.contains(&e) => TokenAnswer::Unavailable {
            reason: format!("answered {status}: {error} ({description})"),
        },
        "unauthorized_client" => TokenAnswer::ScopeRefused {
            reason: format!("{error} ({description})"),
        },
        "invalid_grant" | "invalid_request" => {
            let d = err.error_description.to_ascii_lowercase();
            let what = if d.contains("email") || d.contains("user id") || d.contains("sub") {
                format!("the delegated subject {subject} is not usable")
            } else {
                "the service-account key was refused (wrong, revoked or deleted key, or clock skew)"
                    .to_owned()
            };
            TokenAnswer::Refused {
                reason: format!("{what}: {error} ({description})"),
            }
        }
        _ => TokenAnswer::Refused {
            reason: format!("the token endpoint refused the client: {error} ({description})"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::new(crate::scopes::USER_READONLY).unwrap()
    }

    fn admin() -> Email {
        Email::new("admin@example.com").unwrap()
    }

    /// Every class of token answer, as Google means it (reference §2.3): refusals are
    /// authorization problems, weather is retried.
    #[test]
    fn token_endpoint_answers_are_classified_as_google_means_them() {
        let a = admin();
        let c = |status, body: &str| classify_token_response(status, body.as_bytes(), &a);
        let oauth = |e: &str, d: &str| format!(r#"{{"error":"{e}","error_description":"{d}"}}"#);
        #[rustfmt::skip]
        let table: &[(u16, String, &str)] = &[
            (200, r#"{"access_token":"ya29.x","expires_in":3599}"#.into(), "issued"),
            (200, "{}".into(), "weather"),
            (200, r#"{"access_token":"","expires_in":3599}"#.into(), "weather"),
            (401, oauth("unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."), "scope"),
            (400, oauth("invalid_grant", "Invalid email or User ID"), "subject"),
            (400, oauth("invalid_grant", "Invalid JWT: No valid verifier found for issuer"), "key"),
            (401, oauth("invalid_client", "The OAuth client was not found."), "refused"),
            (401, oauth("disabled_client", "The OAuth client was disabled."), "refused"),
            (403, oauth("access_denied", "Requested client not authorized."), "refused"),
            (403, oauth("admin_policy_enforced", "Blocked by the admin's policy"), "refused"),
            (400, oauth("invalid_request", "Invalid impersonation sub field"), "subject"),
            (400, oauth("something_new", ""), "refused"),
            (500, oauth("server_error", ""), "weather"),
            (503, oauth("temporarily_unavailable", "x"), "weather"),
            (503, "Service Unavailable".into(), "weather"),
            (502, "<!DOCTYPE html><html><body>502. That's an error.</body></html>".into(), "weather"),
            (504, String::new(), "weather"),
            (429, oauth("rate_limit_exceeded", ""), "weather"),
            (408, String::new(), "weather"),
            (400, oauth("temporarily_unavailable", ""), "weather"),
            (403, "<html>Forbidden</html>".into(), "weather"),
            (404, String::new(), "weather"),
        ];
        for (status, body, expected) in table {
            let answer = c(*status, body);
            let got = match &answer {
                TokenAnswer::Issued { token, expires_in } => {
                    assert_eq!(token.expose_secret(), "ya29.x");
                    assert_eq!(*expires_in, Duration::from_secs(3599));
                    "issued"
                }
                TokenAnswer::ScopeRefused { .. } => "scope",
                TokenAnswer::Refused { reason } if reason.contains("subject admin@example.com") => {
                    "subject"
                }
                TokenAnswer::Refused { reason } if reason.contains("key was refused") => "key",
                TokenAnswer::Refused { .. } => "refused",
                TokenAnswer::Unavailable { .. } => "weather",
            };
            assert_eq!(got, *expected, "{status} {body}: {answer:?}");
        }
    }

    #[test]
    fn refusals_fail_the_authorization_and_weather_is_transient() {
        let (a, s) = (admin(), scope());
        let e = TokenAnswer::ScopeRefused {
            reason: "unauthorized_client (x)".into(),
        }
        .into_result(&a, &s)
        .unwrap_err();
        assert!(e.is_configuration(), "{e:?}");
        assert!(e.to_string().contains(s.as_str()), "{e}");
        let e = TokenAnswer::Refused { reason: "r".into() }
            .into_result(&a, &s)
            .unwrap_err();
        assert!(e.is_configuration() && !e.is_transient(), "{e:?}");
        let e = TokenAnswer::Unavailable {
            reason: "answered 503".into(),
        }
        .into_result(&a, &s)
        .unwrap_err();
        assert!(e.is_transient() && !e.is_configuration(), "{e:?}");
        assert!(
            e.to_string().contains("token endpoint is unavailable"),
            "{e}"
        );
        let core: dirsync_core::Error = e.into();
        assert!(
            matches!(
                core,
                dirsync_core::Error::Remote {
                    transient: true,
                    ..
                }
            ),
            "{core:?}"
        );
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
