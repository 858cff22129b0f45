//! [`ScimKind`]: SCIM 2.0 as a [`ConnectorKind`] (system `scim`). An inbound SCIM integration
//! is written to by its identity provider through the server's SCIM routes; its settings keep
//! the SHA-256 of its bearer token, never the token.

use std::sync::Arc;

use async_trait::async_trait;
use dirsync_core::{
    AccessDenied, AccessReport, ConnectRequest, Connection, ConnectorKind, DirectionKind,
    DirectorySource, DirectoryTarget, Error as CoreError, FetchProgress, FetchRequest, Fetched,
    Grant, ObjectKind, ObjectKinds, RemoteApplyReport, RemoteChanges, RemoteOpKinds,
    RemoteSettings, System, TypedSettings,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The system SCIM integrations are stored under (`scim`).
pub const SYSTEM: System = System::from_static("scim");

/// An inbound SCIM integration's settings: the hash of its bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScimSettings {
    /// The lower-case hex SHA-256 of the bearer token the identity provider presents.
    pub token_sha256: String,
}

impl ScimSettings {
    /// Settings for a token.
    pub fn for_token(token: &str) -> Self {
        Self {
            token_sha256: token_hash(token),
        }
    }

    /// Whether `presented` is the token (compared as SHA-256 digests).
    pub fn accepts(&self, presented: &str) -> bool {
        token_hash(presented) == self.token_sha256
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

/// SCIM 2.0 as a connector kind: inbound (the identity provider pushes), users and groups,
/// nothing to grant but the token it is given.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScimKind;

impl ScimKind {
    /// The kind.
    pub fn new() -> Self {
        Self
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
        vec![DirectionKind::Inbound]
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
        RemoteOpKinds::new([])
    }

    fn validate_settings(&self, settings: &RemoteSettings) -> Result<(), CoreError> {
        settings.typed::<ScimSettings>().map(|_| ())
    }

    fn grant(&self, request: &ConnectRequest<'_>) -> Result<Grant, CoreError> {
        request.settings.typed::<ScimSettings>()?;
        Ok(Grant::Nothing)
    }

    fn connect(&self, request: &ConnectRequest<'_>) -> Result<Connection, CoreError> {
        request.settings.typed::<ScimSettings>()?;
        Ok(Connection::new(Arc::new(Pushed), Arc::new(Pushed)))
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
