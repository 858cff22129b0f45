//! Directory attributes enriched by any integration (Provisionr: "additional integrations are
//! used for enriching Directory Attributes"): a configured [`AttributeMapping`] names, for each
//! directory attribute (department, cost center, title, ...), the integrations' account
//! attributes it comes from, in order of precedence; [`AttributeMapping::merge`] settles each
//! user's attributes from their accounts and keeps where each value came from and since when.
//! The core profile stays the primary's alone: these never change it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::clip;
use crate::{Account, AttributeValue, Error, IntegrationId};

/// One place a directory attribute may come from: an account attribute of one integration.
/// Written `INTEGRATION:ATTRIBUTE` (e.g. `0b7a…:department`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub struct AttributeSource {
    /// The integration whose accounts carry it.
    pub integration: IntegrationId,
    /// The account attribute's name there (as the connector reports it).
    pub attribute: String,
}

impl AttributeSource {
    /// `attribute` of `integration`'s accounts.
    pub fn new(integration: IntegrationId, attribute: impl Into<String>) -> Self {
        Self {
            integration,
            attribute: attribute.into(),
        }
    }
}

impl FromStr for AttributeSource {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidValue {
            kind: "attribute source",
            value: clip(s),
            reason: reason.to_owned(),
        };
        let (integration, attribute) = s
            .split_once(':')
            .ok_or_else(|| invalid("write INTEGRATION:ATTRIBUTE"))?;
        let integration =
            IntegrationId::parse(integration).map_err(|_| invalid("not an integration id"))?;
        if attribute.trim().is_empty() {
            return Err(invalid("name the attribute"));
        }
        Ok(Self::new(integration, attribute))
    }
}

impl TryFrom<String> for AttributeSource {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<AttributeSource> for String {
    fn from(source: AttributeSource) -> Self {
        source.to_string()
    }
}

impl fmt::Display for AttributeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.integration, self.attribute)
    }
}

/// Which account attributes each directory attribute comes from, first source first: where
/// two integrations disagree, the earlier source wins. Serialized as
/// `{"department": ["INTEGRATION:department", "INTEGRATION:dept"]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttributeMapping(BTreeMap<String, Vec<AttributeSource>>);

/// One settled directory attribute of a user: its value and its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DirectoryAttribute {
    /// The value.
    pub value: AttributeValue,
    /// The integration it came from.
    pub integration: IntegrationId,
    /// The account attribute it was read from there.
    pub source: String,
    /// Since when that account has had this value.
    pub since: DateTime<Utc>,
}

/// A user's directory attributes by name.
pub type DirectoryAttributes = BTreeMap<String, DirectoryAttribute>;

impl AttributeMapping {
    /// No directory attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// The directory attribute `name` comes from `sources`, first source first.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for an empty name or no source.
    pub fn with(
        mut self,
        name: impl Into<String>,
        sources: impl IntoIterator<Item = AttributeSource>,
    ) -> Result<Self, Error> {
        let name = name.into();
        let sources: Vec<AttributeSource> = sources.into_iter().collect();
        if name.trim().is_empty() || sources.is_empty() {
            return Err(Error::InvalidValue {
                kind: "directory attribute",
                value: clip(&name),
                reason: "needs a name and at least one source".to_owned(),
            });
        }
        self.0.insert(name, sources);
        Ok(self)
    }

    /// Whether no attribute is mapped.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The mapped attributes and their sources, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &[AttributeSource])> {
        self.0.iter().map(|(k, v)| (k, v.as_slice()))
    }

    /// The integrations any attribute comes from.
    pub fn integrations(&self) -> impl Iterator<Item = IntegrationId> + '_ {
        let mut ids: Vec<IntegrationId> =
            self.0.values().flatten().map(|s| s.integration).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
    }

    /// One user's directory attributes from their `accounts` (any integration's; others are
    /// ignored): each attribute from the first source whose account has it.
    pub fn merge<'a>(
        &self,
        accounts: impl IntoIterator<Item = &'a Account>,
    ) -> DirectoryAttributes {
        let accounts: Vec<&Account> = accounts.into_iter().collect();
        let mut merged = DirectoryAttributes::new();
        for (name, sources) in &self.0 {
            let found = sources.iter().find_map(|source| {
                accounts
                    .iter()
                    .filter(|a| a.integration == source.integration)
                    .find_map(|a| {
                        a.attributes
                            .get(&source.attribute)
                            .map(|value| DirectoryAttribute {
                                value: value.clone(),
                                integration: source.integration,
                                source: source.attribute.clone(),
                                since: a.attribute_since(&source.attribute),
                            })
                    })
            });
            if let Some(attribute) = found {
                merged.insert(name.clone(), attribute);
            }
        }
        merged
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::{Attributes, Email, ExternalId};

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, hour, 0, 0)
            .single()
            .unwrap()
    }

    fn account(integration: IntegrationId, attrs: &[(&str, &str)], since: u32) -> Account {
        let attributes: Attributes = attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), AttributeValue::Text((*v).to_owned())))
            .collect();
        let attribute_since = attrs
            .iter()
            .map(|(k, _)| ((*k).to_owned(), at(since)))
            .collect();
        Account {
            integration,
            external_id: ExternalId::new("x").unwrap(),
            email: Email::new("ada@example.com").unwrap(),
            link: None,
            attributes,
            attribute_since,
            first_seen: at(0),
            last_seen: at(9),
            missing_since: None,
            missing_runs: 0,
        }
    }

    #[test]
    fn the_first_source_with_a_value_wins_and_says_where_and_since_when() {
        let (hr, google) = (IntegrationId::random(), IntegrationId::random());
        let mapping = AttributeMapping::new()
            .with(
                "department",
                [
                    AttributeSource::new(hr, "dept"),
                    AttributeSource::new(google, "department"),
                ],
            )
            .unwrap()
            .with(
                "title",
                [
                    AttributeSource::new(hr, "title"),
                    AttributeSource::new(google, "title"),
                ],
            )
            .unwrap()
            .with("building", [AttributeSource::new(google, "building")])
            .unwrap();
        let accounts = [
            account(google, &[("department", "Sales"), ("title", "Analyst")], 2),
            account(hr, &[("dept", "Finance")], 5),
        ];
        let merged = mapping.merge(&accounts);
        let department = &merged["department"];
        assert_eq!(
            department.value,
            AttributeValue::Text("Finance".into()),
            "HR first"
        );
        assert_eq!(
            (department.integration, department.source.as_str()),
            (hr, "dept")
        );
        assert_eq!(department.since, at(5));
        let title = &merged["title"];
        assert_eq!(title.integration, google, "HR has none: the next source");
        assert!(!merged.contains_key("building"), "no source has it");
        assert_eq!(mapping.integrations().count(), 2);
    }

    #[test]
    fn sources_are_written_integration_colon_attribute() {
        let id = IntegrationId::random();
        let source: AttributeSource = format!("{id}:customSchemas.hr.cost").parse().unwrap();
        assert_eq!(source, AttributeSource::new(id, "customSchemas.hr.cost"));
        assert_eq!(
            source.to_string().parse::<AttributeSource>().unwrap(),
            source
        );
        for bad in ["dept", "nope:dept", &format!("{id}:")] {
            assert!(bad.parse::<AttributeSource>().is_err(), "{bad}");
        }
        let json = serde_json::json!({"department": [format!("{id}:dept")]});
        let mapping: AttributeMapping = serde_json::from_value(json).unwrap();
        assert_eq!(mapping.iter().count(), 1);
    }
}
