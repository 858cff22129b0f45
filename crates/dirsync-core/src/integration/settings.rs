//! How an integration reaches its remote system (everything but secrets).

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::authorization::{KeyOwnership, Scope};
use super::markers::DirectionKind;
use crate::{Email, ObjectKind};

/// The remote systems an integration can connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum System {
    /// Google Workspace, through the Admin SDK Directory API.
    GoogleWorkspace,
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::GoogleWorkspace => "Google Workspace",
        })
    }
}

/// Connection settings, per system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "system", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RemoteSettings {
    /// Settings of a Google Workspace integration.
    GoogleWorkspace(GoogleSettings),
}

impl RemoteSettings {
    /// The system these settings connect to.
    pub fn system(&self) -> System {
        match self {
            Self::GoogleWorkspace(_) => System::GoogleWorkspace,
        }
    }
}

/// Where a service-account key is found. The store never holds the private key itself: a key
/// is a file the admin controls, or a name the embedding application resolves from its own
/// secret manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyReference {
    /// A key file on disk.
    File(PathBuf),
    /// A key the embedding application holds under this name.
    Named(String),
}

/// How a Google Workspace integration authenticates and which API it talks to. Made with
/// [`GoogleSettings::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GoogleSettings {
    /// The customer (`my_customer` for the subject's own account).
    pub customer: String,
    /// The Workspace admin the service account acts as.
    pub subject: Email,
    /// Where the service-account key is.
    pub key: KeyReference,
    /// Who owns the service account.
    pub ownership: KeyOwnership,
    /// The Directory API base URL; `None` means `https://admin.googleapis.com`.
    pub api_base: Option<String>,
    /// Client-side pacing: requests per minute for the subject (Google's default quota: 2,400).
    pub quota_per_minute: u32,
}

impl GoogleSettings {
    /// Google's default per-user Directory API quota, requests per minute.
    pub const DEFAULT_QUOTA_PER_MINUTE: u32 = 2_400;

    /// Settings with the defaults: customer `my_customer`, Google's API, 2,400 requests a minute.
    pub fn new(subject: Email, key: KeyReference, ownership: KeyOwnership) -> Self {
        Self {
            customer: "my_customer".to_owned(),
            subject,
            key,
            ownership,
            api_base: None,
            quota_per_minute: Self::DEFAULT_QUOTA_PER_MINUTE,
        }
    }

    /// Another customer than the subject's own (`my_customer`).
    pub fn with_customer(mut self, customer: impl Into<String>) -> Self {
        self.customer = customer.into();
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
}

/// The OAuth scopes of the Admin SDK Directory API that directory-sync uses.
pub mod google_scopes {
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
}

/// The exact scope strings a Google integration needs, for the admin to grant by domain-wide
/// delegation and for the connector's access check:
///
/// - **inbound**: reading users and groups always (`user.readonly`; `group.readonly`, which
///   also covers members), org units (`orgunit.readonly`) when they are synced;
/// - **outbound**: reading the managed groups and their members (`group.readonly`: the
///   connector reads them with `groups.get`/`groups.list`, which `group.member` does not
///   authorize) and managing their members (`group.member`, for `members.insert`/`delete`).
///   The desired state comes from the directory, not from Google's users, so `user.readonly` and
///   `orgunit.readonly` are asked only when `kinds` names users or org units.
pub fn google_required_scopes(
    direction: DirectionKind,
    kinds: impl IntoIterator<Item = ObjectKind>,
) -> BTreeSet<Scope> {
    let kinds: BTreeSet<ObjectKind> = kinds.into_iter().collect();
    let mut names = vec![google_scopes::GROUP_READONLY];
    if direction == DirectionKind::Inbound || kinds.contains(&ObjectKind::Users) {
        names.push(google_scopes::USER_READONLY);
    }
    if kinds.contains(&ObjectKind::OrgUnits) {
        names.push(google_scopes::ORGUNIT_READONLY);
    }
    if direction == DirectionKind::Outbound {
        names.push(google_scopes::GROUP_MEMBER);
    }
    names
        .into_iter()
        .filter_map(|n| Scope::new(n).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(direction: DirectionKind, kinds: &[ObjectKind]) -> Vec<String> {
        google_required_scopes(direction, kinds.iter().copied())
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
            // and writes their members; it needs no users or org units from Google.
            (Outbound, &[Groups, Memberships], &["admin.directory.group.member", "admin.directory.group.readonly"]),
            (Outbound, &[Memberships, Users, OrgUnits], &["admin.directory.group.member", "admin.directory.group.readonly", "admin.directory.orgunit.readonly", "admin.directory.user.readonly"]),
        ];
        for (direction, kinds, want) in table {
            assert_eq!(names(*direction, kinds), *want, "{direction} {kinds:?}");
        }
    }
}
