//! A Google Workspace integration's settings ([`GoogleSettings`], stored by the service as
//! [`RemoteSettings`](dirsync_core::RemoteSettings) of the system `google_workspace`), the key they
//! reference, and the exact scopes an admin grants ([`scopes`], [`required_scopes`]).

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use dirsync_core::{
    DirectionKind, Email, Error as CoreError, KeyOwnership, ObjectKind, Scope, System,
    TypedSettings,
};
use serde::{Deserialize, Serialize};

/// The system Google Workspace integrations are stored under (`google_workspace`).
pub const SYSTEM: System = System::from_static("google_workspace");

/// Where a service-account key is found. The store never holds the private key itself: a key
/// is a file the admin controls, or a name the embedding application resolves from its own
/// secret manager ([`SecretStore`](dirsync_core::SecretStore)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyReference {
    /// A key file on disk.
    File(PathBuf),
    /// A key the embedding application holds under this name.
    Named(String),
}

impl fmt::Display for KeyReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Named(name) => f.write_str(name),
        }
    }
}

/// A service-account key file's JSON (it holds the private key). Its `Debug` is redacted, it has
/// no `Display` and no `Serialize`; the signer reads it through [`expose_secret`](Self::expose_secret).
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccountKey(String);

impl ServiceAccountKey {
    /// Wraps a key file's JSON.
    pub fn new(json: impl Into<String>) -> Self {
        Self(json.into())
    }

    /// The key file's JSON, for the signer.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceAccountKey([redacted])")
    }
}

impl From<dirsync_core::Secret> for ServiceAccountKey {
    fn from(secret: dirsync_core::Secret) -> Self {
        Self(secret.expose_secret().to_owned())
    }
}

/// How a Google integration is authorized: a service account with domain-wide delegation, or
/// an admin's OAuth consent. Stored inline in the settings' JSON (`subject`, `key`, `ownership`
/// for a service account, as before consent existed; `oauth` for consent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Credential {
    /// A service-account key acting as a delegated admin.
    ServiceAccount {
        /// The Workspace admin the service account acts as.
        subject: Email,
        /// Where the service-account key is.
        key: KeyReference,
        /// Who owns the service account.
        ownership: KeyOwnership,
    },
    /// A person's consent to an OAuth client; the refresh token is kept in the secret store
    /// under [`OAuthSettings::secret_name`].
    OAuth {
        /// The OAuth client and Google's endpoints.
        oauth: OAuthSettings,
    },
}

/// The OAuth client of a consent-based integration: Google's client file (as the Cloud
/// console downloads it; its `auth_uri` and `token_uri` are used) and where Google's revoke,
/// JWKS and userinfo endpoints are (`None`: Google's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OAuthSettings {
    /// Where the client file is (it holds the client secret, so it is referenced, not stored).
    pub client: KeyReference,
    /// The base of the revoke, JWKS and userinfo endpoints (an emulator's); `None` for Google.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_base: Option<String>,
}

impl OAuthSettings {
    /// A client file, with Google's endpoints.
    pub fn new(client: KeyReference) -> Self {
        Self {
            client,
            oauth_base: None,
        }
    }

    /// Google's revoke, JWKS and userinfo endpoints at `base` (an emulator's).
    pub fn with_oauth_base(mut self, base: impl Into<String>) -> Self {
        self.oauth_base = Some(base.into());
        self
    }

    /// The name under which an integration's consent (its refresh token) is kept in the
    /// secret store.
    pub fn secret_name(integration: dirsync_core::IntegrationId) -> String {
        format!("google-oauth/{integration}")
    }
}

/// How a Google Workspace integration authenticates and which API it talks to. Made with
/// [`GoogleSettings::new`] (a service account) or [`GoogleSettings::oauth`] (consent) and the
/// `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GoogleSettings {
    /// The customer (`my_customer` for the subject's own account).
    pub customer: String,
    /// How it is authorized.
    #[serde(flatten)]
    pub credential: Credential,
    /// The Directory API base URL; `None` means `https://admin.googleapis.com`.
    pub api_base: Option<String>,
    /// Client-side pacing: requests per minute for the subject (Google's default quota: 2,400).
    pub quota_per_minute: u32,
    /// API requests in flight at once; `None` means the connector's default
    /// ([`GoogleConnectorBuilder::DEFAULT_CONCURRENCY`](crate::GoogleConnectorBuilder::DEFAULT_CONCURRENCY)).
    /// Absent from the stored JSON when unset, so settings stored before it read the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// The one domain of the customer's the integration is limited to: users and groups are
    /// listed with `domain=` instead of `customer=` (org units are the customer's, whatever
    /// the domain). `None`: every domain. Absent from the stored JSON when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

impl GoogleSettings {
    /// Google's default per-user Directory API quota, requests per minute.
    pub const DEFAULT_QUOTA_PER_MINUTE: u32 = 2_400;

    /// Settings with the defaults: customer `my_customer`, Google's API, 2,400 requests a minute.
    pub fn new(subject: Email, key: KeyReference, ownership: KeyOwnership) -> Self {
        Self::with_credential(Credential::ServiceAccount {
            subject,
            key,
            ownership,
        })
    }

    /// Consent-based settings with the defaults: an admin authorizes `oauth`'s client.
    pub fn oauth(oauth: OAuthSettings) -> Self {
        Self::with_credential(Credential::OAuth { oauth })
    }

    fn with_credential(credential: Credential) -> Self {
        Self {
            customer: "my_customer".to_owned(),
            credential,
            api_base: None,
            quota_per_minute: Self::DEFAULT_QUOTA_PER_MINUTE,
            concurrency: None,
            domain: None,
        }
    }

    /// The OAuth settings, for a consent-based integration.
    pub fn oauth_settings(&self) -> Option<&OAuthSettings> {
        match &self.credential {
            Credential::OAuth { oauth } => Some(oauth),
            Credential::ServiceAccount { .. } => None,
        }
    }

    /// Another customer than the subject's own (`my_customer`).
    pub fn with_customer(mut self, customer: impl Into<String>) -> Self {
        self.customer = customer.into();
        self
    }

    /// Limited to one of the customer's domains (lower-cased; `None`: every domain).
    pub fn with_domain(mut self, domain: Option<&str>) -> Self {
        self.domain = domain.map(str::to_ascii_lowercase);
        self
    }

    /// Another Directory API base URL (e.g. an emulator's).
    pub fn with_api_base(mut self, api_base: impl Into<String>) -> Self {
        self.api_base = Some(api_base.into());
        self
    }

    /// Client-side pacing in requests per minute; `0` turns pacing off.
    pub fn with_quota_per_minute(mut self, quota_per_minute: u32) -> Self {
        self.quota_per_minute = quota_per_minute;
        self
    }

    /// At most `n` API requests in flight at once (for a tenant whose quota was raised); at
    /// least 1.
    pub fn with_concurrency(mut self, n: u32) -> Self {
        self.concurrency = Some(n);
        self
    }
}

impl TypedSettings for GoogleSettings {
    const SYSTEM: System = SYSTEM;

    fn validate(&self) -> Result<(), CoreError> {
        let invalid = |kind, value: &str, reason: &str| CoreError::InvalidValue {
            kind,
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        if self.customer.trim().is_empty() || self.customer.chars().any(char::is_whitespace) {
            return Err(invalid(
                "customer",
                &self.customer,
                "must be an id without spaces",
            ));
        }
        let key = match &self.credential {
            Credential::ServiceAccount { key, .. } => key,
            Credential::OAuth { oauth } => &oauth.client,
        };
        if let KeyReference::Named(name) = key
            && name.trim().is_empty()
        {
            return Err(invalid("key", name, "a named key needs a name"));
        }
        if let Some(domain) = &self.domain
            && !is_domain_name(domain)
        {
            return Err(invalid(
                "domain",
                domain,
                "must be a domain name such as example.com (lower case)",
            ));
        }
        if self.concurrency == Some(0) {
            return Err(invalid("concurrency", "0", "must be at least 1"));
        }
        let bases = [
            ("api base", self.api_base.as_ref()),
            (
                "oauth base",
                self.oauth_settings().and_then(|o| o.oauth_base.as_ref()),
            ),
        ];
        for (kind, base) in bases {
            if let Some(base) = base {
                match url::Url::parse(base) {
                    Ok(url) if matches!(url.scheme(), "https" | "http") => {}
                    _ => return Err(invalid(kind, base, "must be an http(s) URL")),
                }
            }
        }
        Ok(())
    }
}

/// A lower-case DNS name of two labels or more (`example.com`, `eu.example.co.uk`).
fn is_domain_name(name: &str) -> bool {
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    name.len() <= 253 && name.split('.').count() >= 2 && name.split('.').all(label)
}

/// The OAuth scopes of the Admin SDK Directory API that directory-sync uses.
pub mod scopes {
    /// Read users.
    pub const USER_READONLY: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
    /// Read groups and their members.
    pub const GROUP_READONLY: &str =
        "https://www.googleapis.com/auth/admin.directory.group.readonly";
    /// Manage group members (insert and delete).
    pub const GROUP_MEMBER: &str = "https://www.googleapis.com/auth/admin.directory.group.member";
    /// Read organizational units.
    pub const ORGUNIT_READONLY: &str =
        "https://www.googleapis.com/auth/admin.directory.orgunit.readonly";
    /// Manage users (outbound provisioning: `users.insert`, `users.patch`, `users.delete`).
    pub const USER: &str = "https://www.googleapis.com/auth/admin.directory.user";
    /// Manage organizational units (outbound provisioning: `orgunits.insert`).
    pub const ORGUNIT: &str = "https://www.googleapis.com/auth/admin.directory.orgunit";
    /// Read the customer's domains (`domains.list`): optional, for activation to say which
    /// domains exist and check a chosen one.
    pub const DOMAIN_READONLY: &str =
        "https://www.googleapis.com/auth/admin.directory.domain.readonly";
    /// Manage groups (outbound provisioning: `groups.insert`, `groups.patch`, `groups.delete`).
    pub const GROUP: &str = "https://www.googleapis.com/auth/admin.directory.group";
    /// Read the Reports API's audit activities: optional, for push to cover groups and
    /// memberships by polling their activities (without it, push covers users only).
    pub const REPORTS_AUDIT_READONLY: &str =
        "https://www.googleapis.com/auth/admin.reports.audit.readonly";
}

/// The exact scope strings a Google integration needs, for the admin to grant by domain-wide
/// delegation and for the connector's access check:
///
/// - **inbound**: reading users and groups always (`user.readonly`; `group.readonly`, which
///   also covers members), org units (`orgunit.readonly`) when they are synced;
/// - **outbound**: for managed groups (`kinds` names groups or memberships): reading them and
///   their members (`group.readonly`: the connector reads them with `groups.get`/`groups.list`,
///   which `group.member` does not authorize) and managing their members (`group.member`, for
///   `members.insert`/`delete`/`patch`); for provisioned users (`kinds` names users):
///   `user`, which also authorizes reading them; for org units: `orgunit`, likewise; for
///   provisioned groups (`kinds` names groups): also `group`, for `groups.insert`/`patch`/
///   `delete` (a rule that only manages members names memberships alone).
pub fn required_scopes(
    direction: DirectionKind,
    kinds: impl IntoIterator<Item = ObjectKind>,
) -> BTreeSet<Scope> {
    let kinds: BTreeSet<ObjectKind> = kinds.into_iter().collect();
    let mut names = Vec::new();
    if direction == DirectionKind::Outbound {
        if kinds.contains(&ObjectKind::Groups) || kinds.contains(&ObjectKind::Memberships) {
            names.extend([scopes::GROUP_READONLY, scopes::GROUP_MEMBER]);
        }
        if kinds.contains(&ObjectKind::Groups) {
            names.push(scopes::GROUP);
        }
        if kinds.contains(&ObjectKind::Users) {
            names.push(scopes::USER);
        }
        if kinds.contains(&ObjectKind::OrgUnits) {
            names.push(scopes::ORGUNIT);
        }
    } else {
        names.extend([scopes::GROUP_READONLY, scopes::USER_READONLY]);
        if kinds.contains(&ObjectKind::OrgUnits) {
            names.push(scopes::ORGUNIT_READONLY);
        }
    }
    names
        .into_iter()
        .filter_map(|n| Scope::new(n).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use dirsync_core::RemoteSettings;

    use super::*;

    fn names(direction: DirectionKind, kinds: &[ObjectKind]) -> Vec<String> {
        required_scopes(direction, kinds.iter().copied())
            .into_iter()
            .map(|s| s.as_str().rsplit('/').next().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn each_direction_asks_exactly_what_it_uses() {
        use DirectionKind::{Inbound, Outbound};
        use ObjectKind::{Groups, Memberships, OrgUnits, Users};
        #[rustfmt::skip]
        let table: &[(DirectionKind, &[ObjectKind], &[&str])] = &[
            (Inbound, &ObjectKind::ALL, &["admin.directory.group.readonly", "admin.directory.orgunit.readonly", "admin.directory.user.readonly"]),
            (Inbound, &[Users], &["admin.directory.group.readonly", "admin.directory.user.readonly"]),
            // Outbound reads the managed groups (group.member does not authorize groups.get/list)
            // and writes their members; provisioning users and org units writes (and reads)
            // them with the full scopes, and only then.
            (Outbound, &[Memberships], &["admin.directory.group.member", "admin.directory.group.readonly"]),
            // Provisioning groups writes them with the full scope.
            (Outbound, &[Groups, Memberships], &["admin.directory.group", "admin.directory.group.member", "admin.directory.group.readonly"]),
            (Outbound, &[Memberships, Users, OrgUnits], &["admin.directory.group.member", "admin.directory.group.readonly", "admin.directory.orgunit", "admin.directory.user"]),
            (Outbound, &[Users, OrgUnits], &["admin.directory.orgunit", "admin.directory.user"]),
        ];
        for (direction, kinds, want) in table {
            assert_eq!(names(*direction, kinds), *want, "{direction} {kinds:?}");
        }
    }

    #[test]
    fn settings_are_stored_in_the_same_json_as_before_the_open_model() -> Result<(), CoreError> {
        let settings = GoogleSettings::new(
            Email::new("admin@example.com")?,
            KeyReference::File("key.json".into()),
            KeyOwnership::CustomerOwned,
        );
        // The JSON a store holds, as round 1 wrote it (`RemoteSettings::GoogleWorkspace`).
        let stored = serde_json::json!({
            "system": "google_workspace", "customer": "my_customer",
            "subject": "admin@example.com", "key": {"kind": "file", "value": "key.json"},
            "ownership": "customer_owned", "api_base": null, "quota_per_minute": 2400
        });
        let read: RemoteSettings =
            serde_json::from_value(stored.clone()).map_err(|e| CoreError::InvalidValue {
                kind: "json",
                value: String::new(),
                reason: e.to_string(),
            })?;
        assert_eq!(read.typed::<GoogleSettings>()?, settings);
        let written = RemoteSettings::from_typed(&settings)?;
        assert_eq!(serde_json::to_value(&written).ok(), Some(stored));
        Ok(())
    }

    #[test]
    fn consent_settings_are_stored_with_their_client_not_its_secret() -> Result<(), CoreError> {
        let settings = GoogleSettings::oauth(
            OAuthSettings::new(KeyReference::File("client.json".into()))
                .with_oauth_base("http://127.0.0.1:9"),
        );
        let written = RemoteSettings::from_typed(&settings)?;
        let stored = serde_json::json!({
            "system": "google_workspace", "customer": "my_customer",
            "oauth": {"client": {"kind": "file", "value": "client.json"}, "oauth_base": "http://127.0.0.1:9"},
            "api_base": null, "quota_per_minute": 2400
        });
        assert_eq!(serde_json::to_value(&written).ok(), Some(stored));
        assert_eq!(written.typed::<GoogleSettings>()?, settings);
        Ok(())
    }

    #[test]
    fn keys_do_not_print() {
        let key = ServiceAccountKey::new("-----BEGIN PRIVATE KEY-----abc");
        assert_eq!(format!("{key:?}"), "ServiceAccountKey([redacted])");
    }

    #[test]
    fn bad_settings_are_refused_before_they_are_stored() -> Result<(), CoreError> {
        let ok = GoogleSettings::new(
            Email::new("admin@example.com")?,
            KeyReference::Named("vault/key".into()),
            KeyOwnership::CustomerOwned,
        );
        assert!(RemoteSettings::from_typed(&ok).is_ok());
        let chosen = ok.clone().with_domain(Some("EU.Example.com"));
        assert_eq!(chosen.domain.as_deref(), Some("eu.example.com"));
        assert!(RemoteSettings::from_typed(&chosen).is_ok());
        let mut shouting = ok.clone();
        shouting.domain = Some("Example.com".into());
        for bad in [
            shouting,
            ok.clone().with_domain(Some("localhost")),
            ok.clone().with_domain(Some("exa mple.com")),
            ok.clone().with_domain(Some("-x.example.com")),
            ok.clone().with_domain(Some("example..com")),
            ok.clone().with_customer("my customer"),
            ok.clone().with_api_base("ftp://example.com"),
            ok.clone().with_concurrency(0),
            GoogleSettings::new(
                Email::new("admin@example.com")?,
                KeyReference::Named(" ".into()),
                KeyOwnership::CustomerOwned,
            ),
            GoogleSettings::oauth(
                OAuthSettings::new(KeyReference::File("client.json".into()))
                    .with_oauth_base("ftp://x"),
            ),
        ] {
            assert!(RemoteSettings::from_typed(&bad).is_err(), "{bad:?}");
        }
        Ok(())
    }
}
