//! Accounts: what one integration knows of one person.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Email, ExternalId, IntegrationId, UserId};

/// A per-vendor attribute value (what secondaries contribute for group and resource assignment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum AttributeValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// Several texts.
    List(Vec<String>),
}

/// Attributes by name, ordered for deterministic output.
pub type Attributes = BTreeMap<String, AttributeValue>;

/// How an account got linked to its directory user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LinkedBy {
    /// The primary integration provisioned the directory user from this account.
    Provisioned,
    /// A secondary integration matched it by exact email to an existing directory user.
    EmailMatch,
}

/// The link from an account to its directory user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLink {
    /// The directory user.
    pub user: UserId,
    /// How the link was made (recorded for audit).
    pub by: LinkedBy,
    /// When.
    pub at: DateTime<Utc>,
}

/// One integration's account of a person, keyed by the remote's immutable id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The integration that sees this account.
    pub integration: IntegrationId,
    /// The remote's immutable id (never the email).
    pub external_id: ExternalId,
    /// The email the remote reports.
    pub email: Email,
    /// The directory user it is linked to; `None` when no directory user matched.
    pub link: Option<AccountLink>,
    /// Per-vendor attributes.
    pub attributes: Attributes,
    /// Since when each attribute has had its current value (absent: since `first_seen`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attribute_since: BTreeMap<String, DateTime<Utc>>,
    /// First time a complete snapshot contained it.
    pub first_seen: DateTime<Utc>,
    /// Last time a complete snapshot contained it.
    pub last_seen: DateTime<Utc>,
    /// Since when it is missing from the source (grace before deprovisioning).
    pub missing_since: Option<DateTime<Utc>>,
    /// For how many consecutive complete runs it has been missing.
    pub missing_runs: u32,
}

impl Account {
    /// Since when the attribute `name` has had its current value: when a sync last saw it
    /// change, or since the account was first seen.
    pub fn attribute_since(&self, name: &str) -> DateTime<Utc> {
        self.attribute_since
            .get(name)
            .copied()
            .unwrap_or(self.first_seen)
    }

    /// The times for `attributes` as they become the account's: an unchanged value keeps its
    /// time, a new or changed one is since `now`.
    pub fn attribute_times(
        &self,
        attributes: &Attributes,
        now: DateTime<Utc>,
    ) -> BTreeMap<String, DateTime<Utc>> {
        attributes
            .iter()
            .map(|(name, value)| {
                let since = match self.attributes.get(name) {
                    Some(old) if old == value => self.attribute_since(name),
                    _ => now,
                };
                (name.clone(), since)
            })
            .collect()
    }
}
