//! Who authorized an integration, with which credential, for which grants, and when.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Email;
use crate::error::{Error, clip};

/// An OAuth scope string, exactly as granted in the Workspace admin console
/// (domain-wide delegation matches scopes by exact string).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    /// Validates a scope: non-empty, no whitespace or control characters.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] otherwise.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidValue {
                kind: "scope",
                value: clip(&value),
                reason: "must be non-empty, without whitespace".to_owned(),
            });
        }
        Ok(Self(value))
    }

    /// The scope string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Scope {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Self::new(value)
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> Self {
        scope.0
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.0)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who owns the credential an integration authenticates with (e.g. a service account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyOwnership {
    /// A service account the embedding provider created and manages on the customer's behalf.
    ProviderManaged,
    /// A service account in the customer's own cloud project, with a key they supplied.
    CustomerOwned,
}

impl fmt::Display for KeyOwnership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::ProviderManaged => "provider-managed",
            Self::CustomerOwned => "customer-owned",
        })
    }
}

/// How an integration was authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthorizationMethod {
    /// A service account acting for a delegated subject (domain-wide delegation).
    ServiceAccount,
    /// A person's OAuth consent (authorization code with PKCE; a refresh token kept encrypted).
    #[serde(rename = "oauth")]
    OAuth,
}

impl fmt::Display for AuthorizationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::ServiceAccount => "service_account",
            Self::OAuth => "oauth",
        })
    }
}

/// The record of a verified authorization ("who authorized it and when").
///
/// Written when an integration is activated or reauthorized, after every check of its
/// connector passed ([`AccessReport::into_authorization`](crate::AccessReport::into_authorization)).
/// What is known depends on the system: a Google integration names the delegated admin, the
/// service account and the scopes; a file integration only the checks that passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    /// The person or account the integration acts as (Google: the domain-wide delegation
    /// subject), when there is one.
    #[serde(default)]
    pub subject: Option<Email>,
    /// How it was authorized (`None` in records written before methods were recorded, which
    /// were all service accounts where a client is named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<AuthorizationMethod>,
    /// The OAuth client the grant was made to (Google: the service account's client id), if any.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The client's email (Google: the service account's), if any.
    #[serde(default)]
    pub client_email: Option<Email>,
    /// Who owns the credential, where that is known.
    #[serde(default)]
    pub ownership: Option<KeyOwnership>,
    /// The OAuth scopes verified, one token request each (empty for systems without scopes).
    #[serde(default)]
    pub scopes: BTreeSet<Scope>,
    /// The other checks that passed, by name (e.g. `folder readable`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// When the verification succeeded.
    pub verified_at: DateTime<Utc>,
}
