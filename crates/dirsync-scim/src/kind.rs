//! [`ScimKind`]: SCIM 2.0 as a [`ConnectorKind`] (system `scim`). An inbound SCIM integration
//! is written to by its identity provider through the server's SCIM routes; its settings keep
//! the SHA-256 of its bearer token, never the token. An outbound one writes to an
//! application's SCIM endpoint ([`crate::outbound`]); its settings keep the endpoint and the
//! name of the secret that holds the application's token, never the token.

use std::sync::Arc;

use async_trait::async_trait;
use dirsync_core::{
    AccessDenied, AccessReport, ConnectRequest, Connection, ConnectorKind, DirectionKind,
    DirectorySource, DirectoryTarget, Error as CoreError, FetchProgress, FetchRequest, Fetched,
    Grant, ObjectKind, ObjectKinds, RemoteApplyReport, RemoteChanges, RemoteOpKinds,
    RemoteSettings, SecretReference, SecretStore, System, TypedSettings,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::outbound::{ClientConfig, ScimClient};

/// The system SCIM integrations are stored under (`scim`).
pub const SYSTEM: System = System::from_static("scim");

/// A SCIM integration's settings: inbound, the hash of the bearer token its identity provider
/// presents; outbound, where the application's endpoint is and which secret holds its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScimSettings {
    /// Inbound: the lower-case hex SHA-256 of the bearer token the identity provider presents
    /// (empty for an outbound integration, which accepts no token).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_sha256: String,
    /// Outbound: the application's endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound: Option<ScimEndpoint>,
}

/// An application's SCIM endpoint: its base URL, the name of the secret holding its bearer
/// token (in the embedding application's [`SecretStore`]) and the request pace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScimEndpoint {
    /// The base URL, e.g. `https://app.example.com/scim/v2` (`/Users` and `/Groups` below it).
    pub base_url: String,
    /// The name of the secret that holds the bearer token.
    pub token_secret: String,
    /// At most this many requests a minute (`0`: unpaced; absent: the default,
    /// [`DEFAULT_REQUESTS_PER_MINUTE`](crate::outbound::DEFAULT_REQUESTS_PER_MINUTE)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
}

impl ScimEndpoint {
    /// The endpoint at `base_url` whose token is the secret `token_secret`, at the default pace.
    pub fn new(base_url: impl Into<String>, token_secret: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            token_secret: token_secret.into(),
            requests_per_minute: None,
        }
    }

    /// At most `n` requests a minute (`0`: unpaced).
    #[must_use]
    pub fn with_requests_per_minute(mut self, n: u32) -> Self {
        self.requests_per_minute = Some(n);
        self
    }
}

impl ScimSettings {
    /// Inbound settings for a token.
    pub fn for_token(token: &str) -> Self {
        Self {
            token_sha256: token_hash(token),
            outbound: None,
        }
    }

    /// Outbound settings: provisioning to `endpoint`.
    pub fn outbound(endpoint: ScimEndpoint) -> Self {
        Self {
            token_sha256: String::new(),
            outbound: Some(endpoint),
        }
    }

    /// Whether `presented` is the token (compared as SHA-256 digests); never for an outbound
    /// integration.
    pub fn accepts(&self, presented: &str) -> bool {
        !self.token_sha256.is_empty() && token_hash(presented) == self.token_sha256
    }
}

/// The lower-case hex SHA-256 of a token.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl TypedSettings for ScimSettings {
    const SYSTEM: System = SYSTEM;

    fn validate(&self) -> Result<(), CoreError> {
        if let Some(endpoint) = &self.outbound {
            return crate::outbound::check_endpoint(endpoint);
        }
        let ok = self.token_sha256.len() == 64
            && self
                .token_sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(())
        } else {
            Err(CoreError::InvalidValue {
                kind: "SCIM token hash",
                value: String::new(),
                reason: "must be 64 lower-case hex digits".to_owned(),
            })
        }
    }
}

/// SCIM 2.0 as a connector kind: inbound (the identity provider pushes; nothing to grant but
/// the token it is given) and outbound (a client of an application's endpoint, whose token is
/// read from the [`SecretStore`] given with [`with_secrets`](Self::with_secrets)).
#[derive(Clone, Default)]
pub struct ScimKind {
    secrets: Option<Arc<dyn SecretStore>>,
    client: ClientConfig,
}

impl std::fmt::Debug for ScimKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimKind")
            .field("secrets", &self.secrets.is_some())
            .field("client", &self.client)
            .finish()
    }
}

impl ScimKind {
    /// The kind, without a secret store (outbound integrations cannot connect until one is
    /// given).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads outbound tokens from `secrets`.
    #[must_use]
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretStore>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Outbound clients use `config` (page size, retries, timeouts).
    #[must_use]
    pub fn with_client(mut self, config: ClientConfig) -> Self {
        self.client = config;
        self
    }
}

impl ConnectorKind for ScimKind {
    fn system(&self) -> System {
        SYSTEM
    }

    fn name(&self) -> &str {
        "SCIM 2.0"
    }

    fn directions(&self) -> Vec<DirectionKind> {
        vec![DirectionKind::Inbound, DirectionKind::Outbound]
    }

    fn readable_kinds(&self, settings: &RemoteSettings) -> Result<ObjectKinds, CoreError> {
        settings.typed::<ScimSettings>()?;
        ObjectKinds::new([
            ObjectKind::Users,
            ObjectKind::Groups,
            ObjectKind::Memberships,
        ])
    }

    fn remote_operations(&self) -> RemoteOpKinds {
        crate::outbound::supported_operations()
    }

    fn validate_settings(&self, settings: &RemoteSettings) -> Result<(), CoreError> {
        settings.typed::<ScimSettings>().map(|_| ())
    }

    fn secrets(&self, settings: &RemoteSettings) -> Result<Vec<SecretReference>, CoreError> {
        let settings = settings.typed::<ScimSettings>()?;
        Ok(settings
            .outbound
            .map(|o| {
                vec![SecretReference::new(
                    o.token_secret,
                    "the bearer token of the application's SCIM endpoint",
                )]
            })
            .unwrap_or_default())
    }

    fn grant(&self, request: &ConnectRequest<'_>) -> Result<Grant, CoreError> {
        let settings = request.settings.typed::<ScimSettings>()?;
        Ok(match settings.outbound {
            Some(o) => Grant::Token {
                secret: o.token_secret,
            },
            None => Grant::Nothing,
        })
    }

    fn connect(&self, request: &ConnectRequest<'_>) -> Result<Connection, CoreError> {
        let settings = request.settings.typed::<ScimSettings>()?;
        let Some(endpoint) = settings.outbound else {
            return Ok(Connection::new(Arc::new(Pushed), Arc::new(Pushed)));
        };
        let secrets = self.secrets.as_ref().ok_or_else(|| CoreError::Credential {
            reference: endpoint.token_secret.clone(),
            reason: "an outbound SCIM integration needs a secret store (ScimKind::with_secrets)"
                .to_owned(),
        })?;
        let token = secrets.secret(&endpoint.token_secret)?;
        let client = ScimClient::new(&endpoint, token, request.integration, self.client.clone())
            .map_err(CoreError::from)?;
        let client = Arc::new(client);
        Ok(Connection::new(client.clone(), client))
    }
}

/// An inbound SCIM integration has nothing to fetch: its source pushes.
#[derive(Debug)]
struct Pushed;

fn pushed() -> CoreError {
    AccessDenied::Unauthorized {
        reason: "a SCIM integration is written to by its identity provider; it has nothing to fetch or write".to_owned(),
    }
    .into()
}

#[async_trait]
impl DirectorySource for Pushed {
    async fn validate_access(&self) -> Result<AccessReport, CoreError> {
        Ok(AccessReport::new(Vec::new()))
    }

    async fn fetch(
        &self,
        _request: &FetchRequest,
        _progress: &dyn FetchProgress,
    ) -> Result<Fetched, CoreError> {
        Err(pushed())
    }

    fn readable_kinds(&self) -> ObjectKinds {
        ObjectKinds::new([
            ObjectKind::Users,
            ObjectKind::Groups,
            ObjectKind::Memberships,
        ])
        .unwrap_or_else(|_| ObjectKinds::only(ObjectKind::Users))
    }
}

#[async_trait]
impl DirectoryTarget for Pushed {
    async fn apply(&self, _changes: &RemoteChanges) -> Result<RemoteApplyReport, CoreError> {
        Err(pushed())
    }

    fn supported_operations(&self) -> RemoteOpKinds {
        RemoteOpKinds::new([])
    }
}
