//! Access tokens from a consent's refresh token, and revoking a consent.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use dirsync_core::{AccessDenied, AccessToken, Scope};
use oauth2::basic::BasicErrorResponseType;
use oauth2::{RefreshToken, RequestTokenError, TokenResponse};

use super::client::{OAuthClient, OAuthEndpoints};
use super::consent::{StoredConsent, oauth2_client};
use crate::auth::TokenSource;
use crate::error::Error;

/// OAuth `error`s that are weather, not a refusal.
const TRANSIENT: &[&str] = &["temporarily_unavailable", "server_error"];

/// A token is used until this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(20);

struct Cached {
    token: AccessToken,
    until: tokio::time::Instant,
    scopes: BTreeSet<Scope>,
}

/// The [`TokenSource`] of a consent-based integration: one access token for every granted
/// scope, from the refresh token, refreshed 20 s before it expires or when the API refused it.
///
/// `invalid_grant` (consent revoked, the person removed or suspended, the token expired) is
/// [`Error::Access`] naming who authorized and that the integration must be reauthorized — a
/// configuration error that fails the integration; 5xx, 429, timeouts and answers that are not
/// OAuth answers are transient [`Error::Token`]s, retried within the connector's budget.
pub struct RefreshTokenSource {
    client: OAuthClient,
    endpoints: OAuthEndpoints,
    consent: StoredConsent,
    http: super::Http,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

impl fmt::Debug for RefreshTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokenSource")
            .field("client_id", &self.client.client_id)
            .field("authorized_by", &self.consent.authorized_by)
            .finish_non_exhaustive()
    }
}

impl RefreshTokenSource {
    /// Tokens for `consent` from `client`'s token endpoint, giving up on one request after
    /// `timeout`.
    ///
    /// # Errors
    /// [`Error::Config`] when no HTTP client can be built.
    pub fn new(
        client: OAuthClient,
        endpoints: OAuthEndpoints,
        consent: StoredConsent,
        timeout: Duration,
    ) -> Result<Self, Error> {
        Ok(Self {
            client,
            endpoints,
            consent,
            http: super::http_client(timeout)?,
            cache: tokio::sync::Mutex::new(None),
        })
    }

    /// Who authorized.
    pub fn consent(&self) -> &StoredConsent {
        &self.consent
    }

    /// The scopes the token endpoint says the consent grants (refreshing if needed).
    ///
    /// # Errors
    /// As [`TokenSource::token`].
    pub async fn granted_scopes(&self) -> Result<BTreeSet<Scope>, Error> {
        let mut cache = self.cache.lock().await;
        self.fresh(&mut cache).await.map(|c| c.scopes.clone())
    }

    async fn fresh<'a>(&self, cache: &'a mut Option<Cached>) -> Result<&'a Cached, Error> {
        let now = tokio::time::Instant::now();
        if cache.as_ref().is_some_and(|c| c.until <= now) {
            *cache = None;
        }
        if cache.is_some() {
            return cache.as_ref().ok_or(Error::Closed);
        }
        let client = oauth2_client(&self.client, &self.endpoints, None)?;
        let refresh = RefreshToken::new(self.consent.refresh_token().to_owned());
        let answer = client
            .exchange_refresh_token(&refresh)
            .request_async(&self.http)
            .await
            .map_err(|e| self.refresh_error(e))?;
        let expires_in = answer.expires_in().unwrap_or(Duration::from_secs(3600));
        let scopes = answer
            .scopes()
            .map(|s| {
                s.iter()
                    .filter_map(|s| Scope::new(s.to_string()).ok())
                    .collect()
            })
            .unwrap_or_default();
        Ok(cache.insert(Cached {
            token: AccessToken::new(answer.access_token().secret().clone()),
            until: now + expires_in.saturating_sub(EXPIRY_MARGIN),
            scopes,
        }))
    }

    fn refresh_error<RE: std::error::Error + 'static>(
        &self,
        e: RequestTokenError<RE, oauth2::basic::BasicErrorResponse>,
    ) -> Error {
        let who = &self.consent.authorized_by;
        match e {
            RequestTokenError::ServerResponse(r) => {
                let error = r.error().to_string();
                if TRANSIENT.contains(&error.as_str()) {
                    return Error::Token {
                        message: format!("the token endpoint is unavailable: {error}"),
                        transient: true,
                    };
                }
                let description = r
                    .error_description()
                    .map(|d| format!(" ({})", crate::wire::clip(d)))
                    .unwrap_or_default();
                let reason = if *r.error() == BasicErrorResponseType::InvalidGrant {
                    format!(
                        "the consent given by {who} was revoked or has expired (invalid_grant{description}); an admin must reauthorize the integration"
                    )
                } else {
                    format!(
                        "the token endpoint refused the OAuth client authorized by {who}: {}{description}; an admin must reauthorize the integration",
                        crate::wire::clip(&error)
                    )
                };
                Error::Access(AccessDenied::Unauthorized { reason })
            }
            RequestTokenError::Request(e) => Error::Token {
                message: format!("the token endpoint is unavailable: {e}"),
                transient: true,
            },
            _ => Error::Token {
                message: "the token endpoint's answer is not an OAuth answer".to_owned(),
                transient: true,
            },
        }
    }
}

#[async_trait]
impl TokenSource for RefreshTokenSource {
    async fn token(&self, _scope: &Scope) -> Result<AccessToken, Error> {
        let mut cache = self.cache.lock().await;
        match self.fresh(&mut cache).await {
            Ok(c) => Ok(c.token.clone()),
            Err(e) => {
                tracing::warn!(authorized_by = %self.consent.authorized_by, error = %e, "token refresh refused or failed");
                Err(e)
            }
        }
    }

    async fn invalidate(&self, _scope: &Scope) {
        *self.cache.lock().await = None;
    }
}

/// Revokes a consent at Google's revoke endpoint (its refresh token and the access tokens
/// issued from it), as Google documents it: `POST token=…`. A token Google no longer knows
/// (400 `invalid_token`) counts as revoked. Sent by us, not by oauth2, whose revocation
/// request refuses the emulator's plain-http loopback endpoint.
///
/// # Errors
/// [`Error::Token`] when the endpoint cannot be reached or answers otherwise.
pub async fn revoke(endpoints: &OAuthEndpoints, consent: &StoredConsent) -> Result<(), Error> {
    let http = super::http_client(Duration::from_secs(30))?;
    let answer = http
        .0
        .post(&endpoints.revoke)
        .form(&[("token", consent.refresh_token())])
        .send()
        .await
        .map_err(|e| Error::Token {
            message: format!(
                "revoking the consent failed: {}",
                crate::client::transport_message(e.without_url())
            ),
            transient: true,
        })?;
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    if status.is_success() || (status.as_u16() == 400 && body.contains("invalid_token")) {
        Ok(())
    } else {
        Err(Error::Token {
            message: format!("revoking the consent failed: the revoke endpoint answered {status}"),
            transient: status.is_server_error(),
        })
    }
}
