//! Accounts: what one integration knows of one person.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::{Email, ExternalId, IntegrationId, UserId};

/// A per-vendor attribute value (what secondaries contribute for group and resource assignment).
///
/// Written as the bare JSON value (`true`, `42`, `"text"`, `["a", "b"]`). Read by a visitor
/// that takes the value's own type, not by trying each variant in turn over a buffered copy
/// (what `#[serde(untagged)]` derives): the same JSON reads the same, several times faster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AttributeValueVisitor)
    }
}

/// Reads an [`AttributeValue`] as the untagged derive did: a boolean, an integer that fits
/// `i64`, a string, or a list of strings; anything else (a float, null, an object) is refused.
struct AttributeValueVisitor;

impl<'de> Visitor<'de> for AttributeValueVisitor {
    type Value = AttributeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean, an integer, a string or a list of strings")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<AttributeValue, E> {
        i64::try_from(v)
            .map(AttributeValue::Int)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Text(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AttributeValue, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<String>()? {
            items.push(item);
        }
        Ok(AttributeValue::List(items))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> serde_json::Result<AttributeValue> {
        serde_json::from_str(json)
    }

    #[test]
    fn attribute_values_read_as_the_untagged_derive_read_them() -> serde_json::Result<()> {
        let cases = [
            ("true", AttributeValue::Bool(true)),
            ("-7", AttributeValue::Int(-7)),
            ("9223372036854775807", AttributeValue::Int(i64::MAX)),
            (
                r#""Sales \"EU\"""#,
                AttributeValue::Text("Sales \"EU\"".into()),
            ),
            (
                r#"["a","b"]"#,
                AttributeValue::List(vec!["a".into(), "b".into()]),
            ),
            ("[]", AttributeValue::List(Vec::new())),
        ];
        for (json, want) in cases {
            assert_eq!(read(json)?, want, "{json}");
            assert_eq!(
                read(&serde_json::to_string(&want)?)?,
                want,
                "{json} round trip"
            );
        }
        for bad in [
            "1.5",
            "null",
            "{}",
            "9223372036854775808",
            "[1]",
            r#"["a",null]"#,
        ] {
            assert!(read(bad).is_err(), "{bad} is refused, as before");
        }
        Ok(())
    }

    #[test]
    fn a_stored_account_record_still_reads() -> serde_json::Result<()> {
        // An account record as stored before the hand-written reader (the derive's JSON).
        let stored = r#"{"integration":"0b7a2c1e-4f3d-4e5a-9b8c-1d2e3f405162","external_id":"1001","email":"ada@example.com","link":{"user":"6f1c2d3e-4a5b-4c6d-8e7f-809112233445","by":"provisioned","at":"2026-11-01T09:00:00Z"},"attributes":{"aliases":["ada.l@example.com"],"department":"Maths","isDelegatedAdmin":true,"level":3},"attribute_since":{"department":"2026-11-02T10:00:00.5Z"},"first_seen":"2026-11-01T09:00:00Z","last_seen":"2026-11-30T09:00:00Z","missing_since":null,"missing_runs":0}"#;
        let account: Account = serde_json::from_str(stored)?;
        assert_eq!(
            account.attributes.get("department"),
            Some(&AttributeValue::Text("Maths".into()))
        );
        assert_eq!(
            account.attributes.get("aliases"),
            Some(&AttributeValue::List(vec!["ada.l@example.com".into()]))
        );
        assert_eq!(
            account.attributes.get("isDelegatedAdmin"),
            Some(&AttributeValue::Bool(true))
        );
        assert_eq!(
            account.attributes.get("level"),
            Some(&AttributeValue::Int(3))
        );
        assert_eq!(account.link.map(|l| l.by), Some(LinkedBy::Provisioned));
        let again: Account = serde_json::from_str(&serde_json::to_string(&account)?)?;
        assert_eq!(again, account, "what it writes reads back the same");
        Ok(())
    }
}
