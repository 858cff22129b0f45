//! Google's OAuth client file and endpoints.

use std::fmt;

use serde::Deserialize;

use crate::builder::check_endpoint;
use crate::error::Error;

/// An OAuth client secret. Its `Debug` is redacted; it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// The secret, for the token endpoint.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// An OAuth client, as the Cloud console's client file describes it (`{"installed": {…}}` for
/// a desktop app, `{"web": {…}}` for a web app).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthClient {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: ClientSecret,
    /// The authorization endpoint (Google: `https://accounts.google.com/o/oauth2/auth`).
    pub auth_uri: String,
    /// The token endpoint (Google: `https://oauth2.googleapis.com/token`).
    pub token_uri: String,
    /// The redirect URIs registered for it.
    pub redirect_uris: Vec<String>,
}

#[derive(Deserialize)]
struct ClientFile {
    installed: Option<RawClient>,
    web: Option<RawClient>,
}

#[derive(Deserialize)]
struct RawClient {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    auth_uri: String,
    #[serde(default)]
    token_uri: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
}

impl OAuthClient {
    /// Reads a client file's JSON.
    ///
    /// # Errors
    /// [`Error::Key`] naming what is missing (never quoting the secret); [`Error::Config`] for
    /// an endpoint that is not https (or http on loopback).
    pub fn parse(json: &str) -> Result<Self, Error> {
        let file: ClientFile = serde_json::from_str(json).map_err(|e| Error::Key {
            reason: format!(
                "not an OAuth client file (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
        let raw = file.installed.or(file.web).ok_or_else(|| Error::Key {
            reason: "an OAuth client file has an \"installed\" or a \"web\" object (download it from the Cloud console's Credentials page)".to_owned(),
        })?;
        for (name, value) in [
            ("client_id", &raw.client_id),
            ("client_secret", &raw.client_secret),
            ("auth_uri", &raw.auth_uri),
            ("token_uri", &raw.token_uri),
        ] {
            if value.trim().is_empty() {
                return Err(Error::Key {
                    reason: format!("the OAuth client file's {name} is missing or empty"),
                });
            }
        }
        check_endpoint("the client file's auth_uri", &raw.auth_uri)?;
        check_endpoint("the client file's token_uri", &raw.token_uri)?;
        Ok(Self {
            client_id: raw.client_id,
            client_secret: ClientSecret(raw.client_secret),
            auth_uri: raw.auth_uri,
            token_uri: raw.token_uri,
            redirect_uris: raw.redirect_uris,
        })
    }
}

/// Google's other OAuth endpoints: revoke, JWKS, userinfo, and the id_token issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthEndpoints {
    /// Where tokens are revoked.
    pub revoke: String,
    /// The keys id_tokens are signed with.
    pub jwks: String,
    /// Who a token stands for.
    pub userinfo: String,
    /// The id_token issuers accepted.
    pub issuers: Vec<String>,
}

impl Default for OAuthEndpoints {
    fn default() -> Self {
        Self {
            revoke: "https://oauth2.googleapis.com/revoke".to_owned(),
            jwks: "https://www.googleapis.com/oauth2/v3/certs".to_owned(),
            userinfo: "https://openidconnect.googleapis.com/v1/userinfo".to_owned(),
            issuers: vec![
                "https://accounts.google.com".to_owned(),
                "accounts.google.com".to_owned(),
            ],
        }
    }
}

impl OAuthEndpoints {
    /// Google's endpoints, or those at `base` (an emulator: `{base}/revoke`,
    /// `{base}/oauth2/v3/certs`, `{base}/oauth2/v3/userinfo`, issuer `{base}`).
    ///
    /// # Errors
    /// [`Error::Config`] for a base that is not https (or http on loopback).
    pub fn at(base: Option<&str>) -> Result<Self, Error> {
        let Some(base) = base else {
            return Ok(Self::default());
        };
        check_endpoint("oauth base", base)?;
        let base = base.trim_end_matches('/');
        Ok(Self {
            revoke: format!("{base}/revoke"),
            jwks: format!("{base}/oauth2/v3/certs"),
            userinfo: format!("{base}/oauth2/v3/userinfo"),
            issuers: vec![base.to_owned()],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_files_are_read_without_quoting_their_secret() {
        let ok = r#"{"installed":{"client_id":"id.apps.googleusercontent.com","client_secret":"GOCSPX-SECRET","auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token","redirect_uris":["http://localhost"]}}"#;
        let client = OAuthClient::parse(ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(client.client_id, "id.apps.googleusercontent.com");
        assert!(!format!("{client:?}").contains("GOCSPX"));
        let web = ok.replace("installed", "web");
        assert!(OAuthClient::parse(&web).is_ok());
        for bad in [
            ok.replace("installed", "other"),
            ok.replace(r#""client_secret":"GOCSPX-SECRET","#, ""),
            ok.replace("https://oauth2", "http://oauth2"),
            "GOCSPX-SECRET{".to_owned(),
        ] {
            let e = OAuthClient::parse(&bad).map(|_| ()).unwrap_err();
            assert!(!e.to_string().contains("GOCSPX"), "{e}");
        }
    }
}
