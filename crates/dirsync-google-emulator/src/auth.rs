//! Service accounts, RS256 JWT verification and the OAuth token store.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::error::Error;
use crate::tenant::Tenant;

/// The grant type gcp_auth (and every Google client) sends for service-account JWTs.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Prefix of every OAuth scope string.
pub const SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/";

/// TEST-ONLY RSA-2048 PKCS#8 private key of the default service account (public, grants nothing).
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("../testdata/test-service-account-key.pem");

/// A second TEST-ONLY RSA-2048 PKCS#8 private key (e.g. "the wrong key" in tests).
pub const OTHER_TEST_PRIVATE_KEY_PEM: &str = include_str!("../testdata/other-test-key.pem");

/// The scopes delegated by default (exact strings, as entered in the Admin console).
pub const DEFAULT_GRANTED_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/admin.directory.user",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
    "https://www.googleapis.com/auth/admin.directory.orgunit",
    "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
    "https://www.googleapis.com/auth/admin.directory.customer",
    "https://www.googleapis.com/auth/admin.directory.customer.readonly",
    "https://www.googleapis.com/auth/admin.directory.domain.readonly",
    "https://www.googleapis.com/auth/admin.reports.audit.readonly",
    "https://www.googleapis.com/auth/cloud-platform",
];

/// Google's wording for a scope (or client) that is not delegated.
pub const UNAUTHORIZED_CLIENT_DESCRIPTION: &str = "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.";

/// A service account the token endpoint accepts (domain-wide delegation configured for it).
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    /// `client_email`: the JWT `iss`.
    pub client_email: String,
    /// `client_id` (numeric string): what the admin enters in the Admin console.
    pub client_id: String,
    /// `private_key_id`.
    pub private_key_id: String,
    /// `project_id`.
    pub project_id: String,
    /// PKCS#8 PEM private key (RSA ≥ 2048 bit); the emulator verifies with its public half.
    pub private_key_pem: String,
    /// Delegated scopes (exact strings); a token request for any other scope gets `unauthorized_client`.
    pub granted_scopes: Vec<String>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("client_id", &self.client_id)
            .field("private_key_pem", &"[redacted]")
            .field("granted_scopes", &self.granted_scopes)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// The default account, using the TEST-ONLY key [`TEST_PRIVATE_KEY_PEM`].
    pub fn test_default() -> Self {
        Self::new(
            "directory-sync-test@emulator-project.iam.gserviceaccount.com",
            "109876543210987654321",
            TEST_PRIVATE_KEY_PEM,
        )
    }

    /// An account with all [`DEFAULT_GRANTED_SCOPES`] delegated.
    pub fn new(client_email: &str, client_id: &str, private_key_pem: &str) -> Self {
        Self {
            client_email: client_email.to_owned(),
            client_id: client_id.to_owned(),
            private_key_id: format!("{:x}", sha2_prefix(client_email)),
            project_id: "emulator-project".to_owned(),
            private_key_pem: private_key_pem.to_owned(),
            granted_scopes: DEFAULT_GRANTED_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }

    /// Replaces the delegated scopes.
    pub fn with_granted_scopes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        scopes: I,
    ) -> Self {
        self.granted_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// A complete Google-format key JSON pointing at `token_uri`.
    pub fn key_json(&self, token_uri: &str) -> String {
        json!({
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": self.private_key_pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": format!(
                "https://www.googleapis.com/robot/v1/metadata/x509/{}",
                self.client_email.replace('@', "%40")
            ),
            "universe_domain": "googleapis.com",
        })
        .to_string()
    }
}

fn sha2_prefix(s: &str) -> u128 {
    use sha2::Digest as _;
    let d = Sha256::digest(s.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_be_bytes(b)
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

/// The DER bytes of a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
pub(crate) fn pem_to_der(pem: &str) -> Result<Vec<u8>, Error> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")
        .and_then(|rest| rest.strip_suffix("-----END PRIVATE KEY-----"))
        .ok_or_else(|| Error::InvalidKey("not a PKCS#8 PEM private key".to_owned()))?;
    let base64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(base64)
        .map_err(|e| Error::InvalidKey(format!("PEM body is not base64: {e}")))
}

fn parse_private_key(pem: &str) -> Result<RsaKeyPair, Error> {
    let key =
        RsaKeyPair::from_pkcs8(&pem_to_der(pem)?).map_err(|e| Error::InvalidKey(e.to_string()))?;
    if key.public_modulus_len() * 8 < 2048 {
        return Err(Error::InvalidKey(
            "RSA key shorter than 2048 bits".to_owned(),
        ));
    }
    Ok(key)
}

/// Signs `claims` as an RS256 JWT (`{"alg":"RS256","typ":"JWT"}`) with a PKCS#8 PEM key — what
/// gcp_auth sends, for tests that need JWTs gcp_auth would not make (expired, wrong audience, …).
pub fn sign_jwt(private_key_pem: &str, claims: &Value) -> Result<String, Error> {
    sign_jwt_with_header(
        private_key_pem,
        &json!({"alg": "RS256", "typ": "JWT"}),
        claims,
    )
}

/// [`sign_jwt`] with another header (e.g. a `kid`).
pub(crate) fn sign_jwt_with_header(
    private_key_pem: &str,
    header: &Value,
    claims: &Value,
) -> Result<String, Error> {
    let key = parse_private_key(private_key_pem)?;
    let header = b64url(serde_json::to_string(header)?.as_bytes());
    let body = b64url(serde_json::to_string(claims)?.as_bytes());
    let input = format!("{header}.{body}");
    let mut sig = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| Error::InvalidKey("RS256 signing failed".to_owned()))?;
    Ok(format!("{input}.{}", b64url(&sig)))
}

/// A refused token request: HTTP status, OAuth `error` and `error_description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenError {
    pub(crate) status: u16,
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

impl TokenError {
    pub(crate) fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }
    pub(crate) fn grant(description: impl Into<String>) -> Self {
        Self {
            status: 400,
            error: "invalid_grant",
            description: description.into(),
        }
    }
    fn unauthorized() -> Self {
        Self {
            status: 401,
            error: "unauthorized_client",
            description: UNAUTHORIZED_CLIENT_DESCRIPTION.to_owned(),
        }
    }
    pub(crate) fn body(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}

/// What an access token stands for.
#[derive(Debug, Clone)]
pub(crate) struct TokenInfo {
    pub(crate) subject: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: Instant,
    /// The refresh token a consent token was issued from (`None` for service accounts).
    pub(crate) refresh: Option<String>,
}

struct Verifiers {
    account: ServiceAccount,
    /// The account's public key, DER `RSAPublicKey` (PKCS#1).
    public_key: Vec<u8>,
}

/// Token-endpoint state: accounts, issued tokens, runtime denials.
pub(crate) struct AuthState {
    accounts: HashMap<String, Verifiers>,
    pub(crate) tokens: HashMap<String, TokenInfo>,
    pub(crate) consent: crate::consent::ConsentState,
    pub(crate) denied_scopes: HashSet<String>,
    pub(crate) denied_subjects: HashSet<String>,
    pub(crate) token_lifetime: Duration,
}

/// Tolerated clock skew on `iat`/`exp`.
const SKEW_SECS: i64 = 300;

impl AuthState {
    pub(crate) fn new(
        accounts: &[ServiceAccount],
        token_lifetime: Duration,
    ) -> Result<Self, Error> {
        let mut map = HashMap::new();
        for a in accounts {
            let key = parse_private_key(&a.private_key_pem)?;
            map.insert(
                a.client_email.clone(),
                Verifiers {
                    account: a.clone(),
                    public_key: key.public_key().as_ref().to_vec(),
                },
            );
        }
        Ok(Self {
            accounts: map,
            tokens: HashMap::new(),
            consent: crate::consent::ConsentState::default(),
            denied_scopes: HashSet::new(),
            denied_subjects: HashSet::new(),
            token_lifetime,
        })
    }

    pub(crate) fn account(&self, client_email: &str) -> Option<&ServiceAccount> {
        self.accounts.get(client_email).map(|v| &v.account)
    }

    pub(crate) fn first_account(&self) -> Option<&ServiceAccount> {
        let mut v: Vec<&ServiceAccount> = self.accounts.values().map(|v| &v.account).collect();
        v.sort_by(|a, b| a.client_email.cmp(&b.client_email));
        v.first().copied()
    }

    /// Verifies a token request and issues a token (`(access_token, expires_in)`).
    pub(crate) fn exchange(
        &mut self,
        form: &HashMap<String, String>,
        token_uri: &str,
        tenant: &Tenant,
        now_unix: i64,
    ) -> Result<(String, u64), TokenError> {
        let grant = form.get("grant_type").map(String::as_str).unwrap_or("");
        if grant != JWT_BEARER_GRANT {
            return Err(TokenError {
                status: 400,
                error: "unsupported_grant_type",
                description: format!("Invalid grant_type: {grant}"),
            });
        }
        let Some(assertion) = form.get("assertion").filter(|a| !a.is_empty()) else {
            return Err(TokenError {
                status: 400,
                error: "invalid_request",
                description: "Missing required parameter: assertion".to_owned(),
            });
        };
        let parts: Vec<&str> = assertion.split('.').collect();
        let [h, c, s] = parts.as_slice() else {
            return Err(TokenError::grant("Invalid JWT: Token must be a valid JWT."));
        };
        let header: Value = b64url_decode(h)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| TokenError::grant("Invalid JWT: Token must be a valid JWT."))?;
        let claims: Value = b64url_decode(c)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| TokenError::grant("Invalid JWT: Token must be a valid JWT."))?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(TokenError::grant(
                "Invalid JWT: Unsupported signing algorithm.",
            ));
        }
        let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
        let Some(verifier) = self.accounts.get(iss) else {
            return Err(TokenError::grant(
                "Invalid JWT: No valid verifier found for issuer.",
            ));
        };
        let sig = b64url_decode(s).ok_or_else(|| TokenError::grant("Invalid JWT Signature."))?;
        let signed = format!("{h}.{c}");
        let public_key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &verifier.public_key);
        if public_key.verify(signed.as_bytes(), &sig).is_err() {
            return Err(TokenError::grant("Invalid JWT Signature."));
        }
        let aud = claims.get("aud").and_then(Value::as_str).unwrap_or("");
        if aud != token_uri && aud != "https://oauth2.googleapis.com/token" {
            return Err(TokenError::grant(format!(
                "Invalid JWT: Failed audience check. The right audience is {token_uri}"
            )));
        }
        let iat = claims.get("iat").and_then(Value::as_i64);
        let exp = claims.get("exp").and_then(Value::as_i64);
        let timely = match (iat, exp) {
            (Some(iat), Some(exp)) => {
                exp > iat
                    && exp - iat <= 3600
                    && iat <= now_unix + SKEW_SECS
                    && exp >= now_unix - SKEW_SECS
            }
            _ => false,
        };
        if !timely {
            return Err(TokenError::grant(
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
            ));
        }
        let scopes: Vec<String> = claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if scopes.is_empty() {
            return Err(TokenError {
                status: 400,
                error: "invalid_scope",
                description: "Empty or missing scope not allowed.".to_owned(),
            });
        }
        let account = &verifier.account;
        if scopes
            .iter()
            .any(|s| !account.granted_scopes.contains(s) || self.denied_scopes.contains(s))
        {
            return Err(TokenError::unauthorized());
        }
        let subject = match claims.get("sub") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.to_ascii_lowercase()),
            Some(_) => return Err(TokenError::grant("Not a valid email.")),
        };
        if let Some(sub) = &subject {
            if self.denied_subjects.contains(sub) {
                return Err(TokenError::unauthorized());
            }
            let valid_email = sub
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
            if !valid_email {
                return Err(TokenError::grant("Not a valid email."));
            }
            match tenant.user(sub) {
                Some(u) if !u.suspended => {}
                _ => return Err(TokenError::grant("Invalid email or User ID")),
            }
        }
        let token = format!(
            "ya29.emu-{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.tokens.insert(
            token.clone(),
            TokenInfo {
                subject,
                scopes,
                expires_at: Instant::now() + self.token_lifetime,
                refresh: None,
            },
        );
        Ok((token, self.token_lifetime.as_secs()))
    }

    /// A live (issued, not revoked, not expired) token.
    pub(crate) fn lookup(&mut self, token: &str) -> Option<TokenInfo> {
        let info = self.tokens.get(token)?;
        if info.expires_at <= Instant::now() {
            self.tokens.remove(token);
            return None;
        }
        Some(info.clone())
    }

    pub(crate) fn revoke_all(&mut self) -> usize {
        let n = self.tokens.len();
        self.tokens.clear();
        n
    }

    pub(crate) fn revoke_subject(&mut self, subject: &str) -> usize {
        let subject = subject.to_ascii_lowercase();
        let before = self.tokens.len();
        self.tokens
            .retain(|_, t| t.subject.as_deref() != Some(subject.as_str()));
        before - self.tokens.len() + self.revoke_consents_of(&subject)
    }

    pub(crate) fn revoke_token(&mut self, token: &str) -> bool {
        self.tokens.remove(token).is_some()
    }
}
