//! Google's consent flow, as the emulator plays it: authorization requests waiting for a person
//! to choose an account, authorization codes (bound to a PKCE challenge, a redirect URI and a
//! nonce), refresh tokens, and the RS256-signed id_token with its JWKS.
//!
//! The HTTP side is in `server::oauth`; the `authorization_code` and `refresh_token` grants are
//! answered here, and the access tokens they issue go into the same token store as the
//! service-account ones ([`AuthState`]), marked as consent tokens (the Directory API then
//! refuses them unless their person is an admin, as Google does).

use std::collections::HashMap;
use std::time::Instant;

use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::auth::{AuthState, TEST_PRIVATE_KEY_PEM, TokenError, TokenInfo, sign_jwt_with_header};
use crate::error::Error;
use crate::tenant::Tenant;

/// The OAuth client id the emulator's consent endpoints accept
/// ([`RunningEmulator::oauth_client_json`](crate::RunningEmulator::oauth_client_json)).
pub const OAUTH_CLIENT_ID: &str = "123456789012-emulator.apps.googleusercontent.com";

/// The client secret that goes with [`OAUTH_CLIENT_ID`] (TEST-ONLY).
pub const OAUTH_CLIENT_SECRET: &str = "GOCSPX-emulator-test-secret";

/// The `kid` of the key the emulator signs id_tokens with.
pub const ID_TOKEN_KID: &str = "emulator-id-token-key";

/// An authorization request waiting for the person's choice (the auth page's form names it).
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) state: Option<String>,
    pub(crate) challenge: String,
    pub(crate) nonce: Option<String>,
}

/// A consent given: who, for which client and scopes.
#[derive(Debug, Clone)]
struct Granted {
    email: String,
    sub: String,
    client_id: String,
    scopes: Vec<String>,
}

struct Code {
    request: AuthRequest,
    granted: Granted,
}

/// Consent state: pending requests, codes, refresh tokens, the auto-consent account.
#[derive(Default)]
pub(crate) struct ConsentState {
    /// Consent automatically as this account (tests, the quickstart).
    pub(crate) auto_consent: Option<String>,
    requests: HashMap<String, AuthRequest>,
    codes: HashMap<String, Code>,
    refresh: HashMap<String, Granted>,
    /// How many tokens `POST /revoke` revoked.
    pub(crate) revoked: u64,
}

fn random_id(prefix: &str) -> String {
    format!(
        "{prefix}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl ConsentState {
    /// Keeps `request` until the person decides; returns its id for the page's form.
    pub(crate) fn park(&mut self, request: AuthRequest) -> String {
        let id = random_id("req-");
        self.requests.insert(id.clone(), request);
        id
    }

    /// The parked request `id`, taken (a decision is made once).
    pub(crate) fn take(&mut self, id: &str) -> Option<AuthRequest> {
        self.requests.remove(id)
    }

    /// `account` consents to `request`: a one-time code. Scopes denied at run time
    /// (`deny_scope`) are left out of the grant, as a person unticking them would.
    pub(crate) fn consent(
        &mut self,
        request: AuthRequest,
        account: &str,
        tenant: &Tenant,
        denied: &std::collections::HashSet<String>,
    ) -> Result<String, Error> {
        let user = tenant
            .user(account)
            .filter(|u| !u.suspended)
            .ok_or_else(|| Error::NotFound(format!("account {account}")))?;
        let granted = Granted {
            email: user.primary_email.clone(),
            sub: user.id.clone(),
            client_id: request.client_id.clone(),
            scopes: request
                .scopes
                .iter()
                .filter(|s| !denied.contains(*s))
                .cloned()
                .collect(),
        };
        let code = random_id("4/emu-");
        self.codes.insert(code.clone(), Code { request, granted });
        Ok(code)
    }
}

fn client_ok(form: &HashMap<String, String>, client_id: &str) -> Result<(), TokenError> {
    let id = form.get("client_id").map(String::as_str).unwrap_or("");
    let secret = form.get("client_secret").map(String::as_str).unwrap_or("");
    if id != client_id || id != OAUTH_CLIENT_ID || secret != OAUTH_CLIENT_SECRET {
        return Err(TokenError::new(
            401,
            "invalid_client",
            "The OAuth client was not found.",
        ));
    }
    Ok(())
}

impl AuthState {
    fn issue_consent_token(&mut self, granted: &Granted, refresh: &str) -> (String, u64) {
        let token = random_id("ya29.emu-");
        self.tokens.insert(
            token.clone(),
            TokenInfo {
                subject: Some(granted.email.clone()),
                scopes: granted.scopes.clone(),
                expires_at: Instant::now() + self.token_lifetime,
                refresh: Some(refresh.to_owned()),
            },
        );
        (token, self.token_lifetime.as_secs())
    }

    /// The `authorization_code` grant: the code once, its client, redirect URI and PKCE
    /// verifier; answers access and refresh tokens, the granted scopes and an id_token.
    pub(crate) fn exchange_code(
        &mut self,
        form: &HashMap<String, String>,
        issuer: &str,
        now_unix: i64,
    ) -> Result<Value, TokenError> {
        let code = form.get("code").map(String::as_str).unwrap_or("");
        let Some(Code { request, granted }) = self.consent.codes.remove(code) else {
            return Err(TokenError::grant("Malformed auth code."));
        };
        client_ok(form, &request.client_id)?;
        if form.get("redirect_uri") != Some(&request.redirect_uri) {
            return Err(TokenError::grant("Bad Request"));
        }
        let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
        if verifier.is_empty() {
            return Err(TokenError::grant("Missing code verifier."));
        }
        if b64url(&Sha256::digest(verifier.as_bytes())) != request.challenge {
            return Err(TokenError::grant("Invalid code verifier."));
        }
        let refresh = random_id("1//emu-");
        let (access, expires_in) = self.issue_consent_token(&granted, &refresh);
        let id_token = id_token(issuer, &granted, request.nonce.as_deref(), now_unix)
            .map_err(|_| TokenError::new(500, "server_error", "id_token signing failed"))?;
        let answer = json!({
            "access_token": access, "expires_in": expires_in, "token_type": "Bearer",
            "refresh_token": refresh, "scope": granted.scopes.join(" "), "id_token": id_token,
        });
        self.consent.refresh.insert(refresh, granted);
        Ok(answer)
    }

    /// The `refresh_token` grant: a new access token while the grant stands and its person is
    /// an active user.
    pub(crate) fn exchange_refresh(
        &mut self,
        form: &HashMap<String, String>,
        tenant: &Tenant,
    ) -> Result<Value, TokenError> {
        let refresh = form.get("refresh_token").cloned().unwrap_or_default();
        let Some(granted) = self.consent.refresh.get(&refresh).cloned() else {
            return Err(TokenError::grant("Token has been expired or revoked."));
        };
        client_ok(form, &granted.client_id)?;
        if tenant.user(&granted.email).is_none_or(|u| u.suspended) {
            self.consent.refresh.remove(&refresh);
            return Err(TokenError::grant("Token has been expired or revoked."));
        }
        let (access, expires_in) = self.issue_consent_token(&granted, &refresh);
        Ok(json!({
            "access_token": access, "expires_in": expires_in, "token_type": "Bearer",
            "scope": granted.scopes.join(" "),
        }))
    }

    /// `POST /revoke`: a refresh token (with the access tokens issued from it) or an access
    /// token. Whether anything was revoked.
    pub(crate) fn revoke_consent_token(&mut self, token: &str) -> bool {
        let revoked = if self.consent.refresh.remove(token).is_some() {
            self.tokens
                .retain(|_, t| t.refresh.as_deref() != Some(token));
            true
        } else {
            self.tokens.remove(token).is_some()
        };
        if revoked {
            self.consent.revoked += 1;
        }
        revoked
    }

    /// Drops every consent `email` gave (refresh tokens); returns how many.
    pub(crate) fn revoke_consents_of(&mut self, email: &str) -> usize {
        let before = self.consent.refresh.len();
        self.consent
            .refresh
            .retain(|_, g| !g.email.eq_ignore_ascii_case(email));
        before - self.consent.refresh.len()
    }

    /// The person an access token of a consent stands for (`userinfo`).
    pub(crate) fn userinfo(&mut self, token: &str, tenant: &Tenant) -> Option<Value> {
        let info = self.lookup(token)?;
        info.refresh.as_ref()?;
        let user = tenant.user(info.subject.as_deref()?)?;
        Some(json!({
            "sub": user.id, "email": user.primary_email, "email_verified": true,
            "hd": user.primary_email.rsplit('@').next().unwrap_or_default(),
        }))
    }
}

/// The id_token of a consent: RS256 over Google's claims, signed with the emulator's key.
fn id_token(
    issuer: &str,
    granted: &Granted,
    nonce: Option<&str>,
    now: i64,
) -> Result<String, Error> {
    let mut claims = json!({
        "iss": issuer, "aud": granted.client_id, "azp": granted.client_id,
        "sub": granted.sub, "email": granted.email, "email_verified": true,
        "hd": granted.email.rsplit('@').next().unwrap_or_default(),
        "iat": now, "exp": now + 3600,
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = Value::String(nonce.to_owned());
    }
    // Google's id_tokens name their key.
    let header = json!({"alg": "RS256", "kid": ID_TOKEN_KID, "typ": "JWT"});
    sign_jwt_with_header(TEST_PRIVATE_KEY_PEM, &header, &claims)
}

/// The JWKS (`GET /oauth2/v3/certs`) with the key id_tokens are signed with.
pub(crate) fn jwks() -> Result<Value, Error> {
    let der = crate::auth::pem_to_der(TEST_PRIVATE_KEY_PEM)?;
    let key = RsaKeyPair::from_pkcs8(&der).map_err(|e| Error::InvalidKey(e.to_string()))?;
    let (n, e) = rsa_public_numbers(key.public_key().as_ref())
        .ok_or_else(|| Error::InvalidKey("unreadable RSA public key".to_owned()))?;
    Ok(json!({"keys": [{
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": ID_TOKEN_KID,
        "n": b64url(n), "e": b64url(e),
    }]}))
}

/// The modulus and exponent of a DER `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`).
fn rsa_public_numbers(der: &[u8]) -> Option<(&[u8], &[u8])> {
    fn item(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&t, rest) = der.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            let (bytes, rest) = (rest.get(..n)?, rest.get(n..)?);
            (
                bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)),
                rest,
            )
        };
        Some((rest.get(..len)?, rest.get(len..)?))
    }
    let (seq, _) = item(der, 0x30)?;
    let (n, rest) = item(seq, 0x02)?;
    let (e, _) = item(rest, 0x02)?;
    let n = n.strip_prefix(&[0]).unwrap_or(n);
    Some((n, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwks_carries_the_signing_keys_numbers() -> Result<(), Error> {
        let jwks = jwks()?;
        let key = &jwks["keys"][0];
        assert_eq!(key["kid"], ID_TOKEN_KID);
        assert_eq!(key["e"], "AQAB");
        let n = key["n"].as_str().unwrap_or_default();
        // 2048 bits: 256 bytes, 342 base64url characters.
        assert_eq!(n.len(), 342, "{n}");
        Ok(())
    }
}
