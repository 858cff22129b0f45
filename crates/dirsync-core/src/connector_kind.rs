//! How a connector plugs in: a [`ConnectorKind`] registers one system — its id and name, the
//! settings it takes, the secrets they reference, what an admin must grant, the object kinds it
//! reads and the directions it works in — and connects integrations of that system. Products
//! and the service hold kinds in a registry and never name a system themselves.

use std::collections::BTreeSet;
use std::fmt::{self, Debug};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{
    DirectionKind, DirectorySource, DirectoryTarget, Email, Error, IntegrationId, ObjectKinds,
    PushSource, RemoteOpKinds, RemoteSettings, Scope, System,
};

/// What an admin must grant before an integration can be activated, as data a frontend shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Grant {
    /// OAuth scopes granted to a client (Google: domain-wide delegation of the service
    /// account's client id, acting as `subject`).
    Scopes {
        /// The client the scopes are granted to.
        client_id: Option<String>,
        /// The client's email, to recognise it by.
        client_email: Option<Email>,
        /// Whom the client acts as.
        subject: Option<Email>,
        /// The exact scope strings.
        scopes: BTreeSet<Scope>,
        /// Where in the remote's admin console they are granted, step by step (Google:
        /// `admin.google.com → Security → … → Manage Domain Wide Delegation → Add new`).
        console: Option<String>,
    },
    /// A token the remote system issues, which the admin stores under `secret`.
    Token {
        /// The secret's name in the embedding application's secret store.
        secret: String,
    },
    /// Nothing to grant (e.g. files on this machine).
    Nothing,
}

/// A secret that settings reference by name (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SecretReference {
    /// Where it is found: a secret's name, or a file path.
    pub name: String,
    /// What it is for (`service-account key`).
    pub purpose: String,
}

impl SecretReference {
    /// The secret `name`, used as `purpose`.
    pub fn new(name: impl Into<String>, purpose: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            purpose: purpose.into(),
        }
    }
}

/// What a connector is asked to connect: one integration, its direction, its settings (for a
/// reauthorization: the new ones, not yet stored) and the kinds its rules sync. Made with
/// [`ConnectRequest::new`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ConnectRequest<'a> {
    /// The integration.
    pub integration: IntegrationId,
    /// Its direction.
    pub direction: DirectionKind,
    /// The settings to connect with.
    pub settings: &'a RemoteSettings,
    /// The object kinds its rules sync (what must be granted depends on them).
    pub kinds: &'a ObjectKinds,
}

impl<'a> ConnectRequest<'a> {
    /// A request for `integration` in `direction` with `settings`, syncing `kinds`.
    pub fn new(
        integration: IntegrationId,
        direction: DirectionKind,
        settings: &'a RemoteSettings,
        kinds: &'a ObjectKinds,
    ) -> Self {
        Self {
            integration,
            direction,
            settings,
            kinds,
        }
    }
}

/// One integration's way to its remote: the read side and the write side of one connector
/// (sharing, e.g., one client-side pacer). Made with [`Connection::new`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Connection {
    /// Reads (fetches and access checks).
    pub source: Arc<dyn DirectorySource>,
    /// Writes (outbound integrations).
    pub target: Arc<dyn DirectoryTarget>,
    /// Pushed changes, when the system can push ([`Connection::with_push`]).
    pub push: Option<Arc<dyn PushSource>>,
}

impl Connection {
    /// Reads through `source` and writes through `target`; no push.
    pub fn new(source: Arc<dyn DirectorySource>, target: Arc<dyn DirectoryTarget>) -> Self {
        Self {
            source,
            target,
            push: None,
        }
    }

    /// The same connection, able to push through `push`.
    pub fn with_push(mut self, push: Arc<dyn PushSource>) -> Self {
        self.push = Some(push);
        self
    }
}

/// A secret value resolved from a [`SecretStore`]. Its `Debug` is redacted and it has no
/// `Display`; the connector that asked for it reads it with [`expose_secret`](Self::expose_secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for its one legitimate consumer.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The reason a [`SecretStore`] gives for a name it does not hold, so that callers can tell
/// "not there yet" from "there but unreadable".
pub const NO_SUCH_SECRET: &str = "no such secret";

/// Resolves the secrets that settings reference by name from the embedding application's secret
/// manager (a vault, a cloud secret manager, an encrypted table).
pub trait SecretStore: Send + Sync {
    /// The secret stored under `name`.
    ///
    /// # Errors
    /// [`Error::Credential`] when there is no such secret (its reason: [`NO_SUCH_SECRET`]) or
    /// it cannot be read.
    fn secret(&self, name: &str) -> Result<Secret, Error>;

    /// Stores `secret` under `name`, replacing what was there (e.g. a refresh token an admin's
    /// consent produced). Read-only stores refuse (the default).
    ///
    /// # Errors
    /// [`Error::Credential`] when the secret cannot be written.
    fn put_secret(&self, name: &str, secret: &Secret) -> Result<(), Error> {
        let _ = secret;
        Err(Error::Credential {
            reference: name.to_owned(),
            reason: "this secret store is read-only".to_owned(),
        })
    }

    /// Deletes the secret `name`; `Ok(false)` when there was none. Read-only stores refuse
    /// (the default).
    ///
    /// # Errors
    /// [`Error::Credential`] when the secret cannot be deleted.
    fn remove_secret(&self, name: &str) -> Result<bool, Error> {
        Err(Error::Credential {
            reference: name.to_owned(),
            reason: "this secret store is read-only".to_owned(),
        })
    }
}

/// One remote system, as a connector crate registers it. Object-safe: a registry holds
/// `Arc<dyn ConnectorKind>`.
pub trait ConnectorKind: Send + Sync + Debug {
    /// The system's id (`google_workspace`), as stored in [`RemoteSettings`].
    fn system(&self) -> System;

    /// The system's name for people (`Google Workspace`).
    fn name(&self) -> &str;

    /// The directions integrations of this system may have.
    fn directions(&self) -> Vec<DirectionKind>;

    /// The object kinds integrations with `settings` can read (a whole sync fetches them; a
    /// new inbound integration's default rule syncs them).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when the settings do not parse.
    fn readable_kinds(&self, settings: &RemoteSettings) -> Result<ObjectKinds, Error>;

    /// The remote operations this system's targets can apply (none for a read-only system);
    /// a plan needing another is refused before anything is applied.
    fn remote_operations(&self) -> RemoteOpKinds;

    /// Checks settings before anything is stored (typed parsing and validation; no IO).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] naming what is wrong.
    fn validate_settings(&self, settings: &RemoteSettings) -> Result<(), Error>;

    /// The secrets `settings` reference (none by default).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when the settings do not parse.
    fn secrets(&self, settings: &RemoteSettings) -> Result<Vec<SecretReference>, Error> {
        let _ = settings;
        Ok(Vec::new())
    }

    /// What an admin must grant for `request` (Google: the client id and exact scopes).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for settings that do not parse; [`Error::Credential`] when a key
    /// the grant is made to cannot be read.
    fn grant(&self, request: &ConnectRequest<'_>) -> Result<Grant, Error>;

    /// A connection for `request`. May be cached by integration and settings.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] or [`Error::Credential`] when nothing can be built from the
    /// settings.
    fn connect(&self, request: &ConnectRequest<'_>) -> Result<Connection, Error>;

    /// Drops whatever is kept for `integration` (a cached connection, its tokens): the
    /// integration was removed. Does nothing by default.
    fn forget(&self, integration: IntegrationId) {
        let _ = integration;
    }
}
