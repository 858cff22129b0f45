//! The consent flow: the URL an admin opens, and what Google's redirect brings back.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dirsync_core::{Email, Scope};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet, ExtraTokenFields,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, RevocationUrl,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::client::{OAuthClient, OAuthEndpoints};
use crate::error::Error;

/// The id_token Google's token endpoint adds to the code exchange's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdTokenField {
    #[serde(default)]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type GoogleTokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// oauth2's client with the endpoints this flow uses set.
pub(crate) type GoogleOAuth2 = oauth2::Client<
    BasicErrorResponse,
    GoogleTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
>;

/// oauth2's client for `client` and `endpoints`, redirecting to `redirect_uri` when given.
pub(crate) fn oauth2_client(
    client: &OAuthClient,
    endpoints: &OAuthEndpoints,
    redirect_uri: Option<&str>,
) -> Result<GoogleOAuth2, Error> {
    let url = |what: &str, e: oauth2::url::ParseError| Error::Config {
        reason: format!("{what} is not a URL: {e}"),
    };
    let c = oauth2::Client::new(ClientId::new(client.client_id.clone()))
        .set_client_secret(oauth2::ClientSecret::new(
            client.client_secret.expose_secret().to_owned(),
        ))
        .set_auth_type(oauth2::AuthType::RequestBody)
        .set_auth_uri(AuthUrl::new(client.auth_uri.clone()).map_err(|e| url("auth_uri", e))?)
        .set_token_uri(TokenUrl::new(client.token_uri.clone()).map_err(|e| url("token_uri", e))?)
        .set_revocation_url(
            RevocationUrl::new(endpoints.revoke.clone()).map_err(|e| url("revoke", e))?,
        );
    Ok(match redirect_uri {
        Some(r) => {
            c.set_redirect_uri(RedirectUrl::new(r.to_owned()).map_err(|e| url("redirect", e))?)
        }
        None => c,
    })
}

/// A consent under way: the URL to open, and what checks its answer (the `state`, the PKCE
/// verifier and the nonce). Its `Debug` shows the URL's host only.
pub struct PendingConsent {
    /// The consent URL for the admin's browser.
    pub url: String,
    redirect_uri: String,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
    nonce: String,
}

impl fmt::Debug for PendingConsent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingConsent")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl PendingConsent {
    /// The redirect URI the consent comes back to.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The `state` the redirect must carry back (random; it names this consent, e.g. as the
    /// key of a store of consents under way).
    pub fn state(&self) -> &str {
        self.state.secret()
    }
}

/// What Google's redirect carried: `code` and `state`, or `error`.
#[derive(Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct CallbackParams {
    /// The authorization code.
    #[serde(default)]
    pub code: Option<String>,
    /// The `state` sent with the request.
    #[serde(default)]
    pub state: Option<String>,
    /// `access_denied` when the person clicked Cancel.
    #[serde(default)]
    pub error: Option<String>,
}

impl fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl CallbackParams {
    /// The parameters of a redirect's query string.
    pub fn from_query(query: &str) -> Self {
        let mut params = Self::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "code" => params.code = Some(v.into_owned()),
                "state" => params.state = Some(v.into_owned()),
                "error" => params.error = Some(v.into_owned()),
                _ => {}
            }
        }
        params
    }
}

/// What is kept after a consent, as the secret store's value: the refresh token and who
/// authorized. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConsent {
    /// The refresh token.
    refresh_token: String,
    /// Who consented (verified email).
    pub authorized_by: Email,
    /// Their Google account id (`sub`).
    pub sub: String,
}

impl fmt::Debug for StoredConsent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredConsent")
            .field("authorized_by", &self.authorized_by)
            .field("sub", &self.sub)
            .finish_non_exhaustive()
    }
}

impl StoredConsent {
    /// A consent by `authorized_by` (`sub`) that produced `refresh_token`.
    pub fn new(refresh_token: impl Into<String>, authorized_by: Email, sub: String) -> Self {
        Self {
            refresh_token: refresh_token.into(),
            authorized_by,
            sub,
        }
    }

    /// The refresh token, for the token endpoint.
    pub fn refresh_token(&self) -> &str {
        &self.refresh_token
    }

    /// As the secret store keeps it (JSON).
    pub fn to_secret(&self) -> dirsync_core::Secret {
        dirsync_core::Secret::new(serde_json::to_string(self).unwrap_or_default())
    }

    /// From the secret store's value.
    ///
    /// # Errors
    /// [`Error::Key`] when the value is not a stored consent.
    pub fn from_secret(secret: &dirsync_core::Secret) -> Result<Self, Error> {
        serde_json::from_str(secret.expose_secret()).map_err(|_| Error::Key {
            reason: "the stored consent is unreadable (authorize again)".to_owned(),
        })
    }
}

/// A completed consent: who authorized, when, which scopes, and the refresh token to keep.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Consent {
    /// The refresh token and who authorized.
    pub stored: StoredConsent,
    /// The scopes Google says were granted.
    pub scopes: BTreeSet<Scope>,
    /// When the consent was completed.
    pub at: DateTime<Utc>,
}

/// The claims of Google's id_token that are read.
#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    nonce: Option<String>,
}

/// The consent flow for one OAuth client: [`start`](Self::start), then
/// [`finish`](Self::finish) with the redirect's parameters.
#[derive(Debug, Clone)]
pub struct ConsentFlow {
    client: OAuthClient,
    endpoints: OAuthEndpoints,
    http: super::Http,
}

impl ConsentFlow {
    /// A flow for `client` with Google's other endpoints at `endpoints`.
    ///
    /// # Errors
    /// [`Error::Config`] when no HTTP client can be built.
    pub fn new(client: OAuthClient, endpoints: OAuthEndpoints) -> Result<Self, Error> {
        Ok(Self {
            client,
            endpoints,
            http: super::http_client(Duration::from_secs(30))?,
        })
    }

    /// The consent URL for `scopes` (with `openid email`), coming back to `redirect_uri`:
    /// PKCE S256, a random `state` and nonce, `access_type=offline`, `prompt=consent`.
    ///
    /// # Errors
    /// [`Error::Config`] for a redirect URI that is not a URL.
    pub fn start(
        &self,
        redirect_uri: &str,
        scopes: &BTreeSet<Scope>,
        login_hint: Option<&Email>,
    ) -> Result<PendingConsent, Error> {
        let client = oauth2_client(&self.client, &self.endpoints, Some(redirect_uri))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random().secret().clone();
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(oauth2::Scope::new("openid".to_owned()))
            .add_scope(oauth2::Scope::new("email".to_owned()))
            .add_scopes(scopes.iter().map(|s| oauth2::Scope::new(s.to_string())))
            .set_pkce_challenge(challenge)
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent")
            .add_extra_param("nonce", nonce.clone());
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_string());
        }
        let (url, state) = request.url();
        Ok(PendingConsent {
            url: url.to_string(),
            redirect_uri: redirect_uri.to_owned(),
            state,
            verifier,
            nonce,
        })
    }

    /// Completes `pending` with the redirect's `params`: checks `state`, exchanges the code
    /// with the PKCE verifier, verifies the id_token (JWKS signature, issuer, audience, expiry,
    /// nonce, verified email) and reads the granted scopes.
    ///
    /// # Errors
    /// [`Error::Consent`] for `access_denied`, a wrong `state`, a refused code or an id_token
    /// that does not verify; [`Error::Token`] when the endpoints cannot be reached.
    pub async fn finish(
        &self,
        pending: PendingConsent,
        params: &CallbackParams,
    ) -> Result<Consent, Error> {
        let refused = |reason: &str| Error::Consent {
            reason: reason.to_owned(),
        };
        if let Some(error) = &params.error {
            return Err(refused(&match error.as_str() {
                "access_denied" => {
                    "access_denied: the person clicked Cancel (nothing was granted)".to_owned()
                }
                other => format!("Google answered {}", crate::wire::clip(other)),
            }));
        }
        if params.state.as_deref() != Some(pending.state.secret().as_str()) {
            return Err(refused(
                "the state does not match the request (a forged or stale redirect)",
            ));
        }
        let code = params
            .code
            .clone()
            .ok_or_else(|| refused("the redirect carried no code"))?;
        let client = oauth2_client(&self.client, &self.endpoints, Some(&pending.redirect_uri))?;
        let answer = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(e) => Error::Consent {
                    reason: format!(
                        "the token endpoint refused the code: {}{}",
                        e.error(),
                        e.error_description()
                            .map(|d| format!(" ({})", crate::wire::clip(d)))
                            .unwrap_or_default()
                    ),
                },
                RequestTokenError::Request(e) => Error::Token {
                    message: format!("the token endpoint is unavailable: {e}"),
                    transient: true,
                },
                _ => Error::Token {
                    message: "the token endpoint's answer is not an OAuth answer".to_owned(),
                    transient: true,
                },
            })?;
        let refresh = answer.refresh_token().ok_or_else(|| {
            refused("no refresh token was issued (access_type=offline and prompt=consent are sent; is the client a desktop or web client?)")
        })?;
        let id_token = answer
            .extra_fields()
            .id_token
            .as_deref()
            .ok_or_else(|| refused("no id_token was issued (the openid scope is asked)"))?;
        let claims = self.verify_id_token(id_token, &pending.nonce).await?;
        let email = match (claims.email, claims.email_verified) {
            (Some(email), Some(true)) => {
                Email::new(&email).map_err(|_| refused("the id_token's email is not an address"))?
            }
            _ => return Err(refused("the id_token carries no verified email")),
        };
        let scopes = answer
            .scopes()
            .map(|granted| {
                granted
                    .iter()
                    .filter_map(|s| Scope::new(s.to_string()).ok())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Consent {
            stored: StoredConsent::new(refresh.secret().clone(), email, claims.sub),
            scopes,
            at: Utc::now(),
        })
    }

    async fn verify_id_token(&self, token: &str, nonce: &str) -> Result<IdClaims, Error> {
        let invalid = |what: String| Error::Consent {
            reason: format!("the id_token does not verify: {what}"),
        };
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        let jwks: jsonwebtoken::jwk::JwkSet = self
            .http
            .0
            .get(&self.endpoints.jwks)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| Error::Token {
                message: format!(
                    "the JWKS is unavailable: {}",
                    crate::client::transport_message(e.without_url())
                ),
                transient: true,
            })?
            .json()
            .await
            .map_err(|_| invalid("the JWKS is not a key set".to_owned()))?;
        let kid = header.kid.unwrap_or_default();
        let jwk = jwks
            .find(&kid)
            .ok_or_else(|| invalid(format!("no key {kid:?} in the JWKS")))?;
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| invalid(e.to_string()))?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[&self.client.client_id]);
        validation.set_issuer(&self.endpoints.issuers);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .map_err(|e| invalid(e.to_string()))?;
        if data.claims.nonce.as_deref() != Some(nonce) {
            return Err(invalid("the nonce does not match the request".to_owned()));
        }
        Ok(data.claims)
    }
}
