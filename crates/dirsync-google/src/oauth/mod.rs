//! Consent: an admin authorizes a Google integration through OAuth 2.0 (authorization code
//! with PKCE S256, `state`, `nonce`, `access_type=offline`, `prompt=consent`), instead of a
//! service-account key with domain-wide delegation.
//!
//! - [`OAuthClient`] reads Google's client file (`{"installed": {…}}` or `{"web": {…}}`).
//! - [`ConsentFlow`] builds the consent URL ([`ConsentFlow::start`] → [`PendingConsent`]) and
//!   completes it from Google's redirect ([`ConsentFlow::finish`] → [`Consent`]): the code is
//!   exchanged with the PKCE verifier (`oauth2`), the id_token is verified against the JWKS
//!   (signature, issuer, audience, expiry, nonce; `jsonwebtoken`), and the consenting person's
//!   verified email and `sub` are who authorized.
//! - [`RefreshTokenSource`] is the connector's [`TokenSource`](crate::TokenSource) for such an
//!   integration: access tokens from the refresh token, refreshed as needed; `invalid_grant`
//!   fails the integration naming who authorized it, weather is transient.
//!
//! Tokens, codes and verifiers are secret types: their `Debug` is redacted, and no error or log
//! line carries them.

mod client;
mod consent;
mod refresh;

pub use client::{ClientSecret, OAuthClient, OAuthEndpoints};
pub use consent::{CallbackParams, Consent, ConsentFlow, PendingConsent, StoredConsent};
pub use refresh::{RefreshTokenSource, revoke};

use crate::error::Error;

/// Sends oauth2's requests through our reqwest client (oauth2's own reqwest feature is for
/// another reqwest than the workspace's).
async fn send(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, Transport> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| Transport(crate::client::transport_message(e.without_url())))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| Transport(crate::client::transport_message(e.without_url())))?;
    let mut answer = http::Response::new(body.to_vec());
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// A transport failure talking to Google's OAuth endpoints (never a token: reqwest's message
/// without the URL).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Transport(String);

/// Our reqwest client as oauth2's HTTP client (a named type: a closure's future would not be
/// `Send` for every lifetime).
#[derive(Debug, Clone)]
pub(crate) struct Http(pub(crate) reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for Http {
    type Error = Transport;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<oauth2::HttpResponse, Transport>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// An HTTP client for the OAuth endpoints: no redirects (RFC 6749 §5.2), a timeout.
pub(crate) fn http_client(timeout: std::time::Duration) -> Result<Http, Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map(Http)
        .map_err(|e| Error::Config {
            reason: format!("HTTP client for the OAuth endpoints: {e}"),
        })
}
