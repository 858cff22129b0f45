//! Identifier newtypes.
//!
//! Our own identifiers (`IntegrationId`, `UserId`, `GroupId`, `RuleId`, `RunId`) are UUIDs. A
//! remote system's identifiers (`ExternalId`) are opaque, non-empty strings: Google's immutable
//! numeric user id, a group id, an `orgUnitId`.

use std::fmt;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use uuid::Uuid;

use crate::error::{Error, clip};

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $label:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random identifier.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// Wraps an existing UUID (e.g. one read back from storage).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// A deterministic identifier derived from `name` within `namespace`
            /// (UUID v5), so that planning the same input twice yields the same ids.
            pub fn derived(namespace: Uuid, name: &[u8]) -> Self {
                Self(Uuid::new_v5(&namespace, name))
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses the hyphenated UUID form.
            ///
            /// # Errors
            /// [`Error::InvalidValue`] if `value` is not a UUID.
            pub fn parse(value: &str) -> Result<Self, Error> {
                Uuid::parse_str(value).map(Self).map_err(|e| Error::InvalidValue {
                    kind: $label,
                    value: clip(value),
                    reason: e.to_string(),
                })
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::parse(s)
            }
        }
    };
}

uuid_id!(
    /// Identifies an integration (one connection to one remote system, in one direction).
    IntegrationId,
    "integration id"
);
uuid_id!(
    /// Identifies a unified directory user (the person, across integrations).
    UserId,
    "user id"
);
uuid_id!(
    /// Identifies a directory group.
    GroupId,
    "group id"
);
uuid_id!(
    /// Identifies a sync rule of an integration.
    RuleId,
    "rule id"
);
uuid_id!(
    /// Identifies one sync run.
    RunId,
    "run id"
);

/// A remote system's identifier for an object: opaque, non-empty, at most 1,024 bytes, without
/// control characters. For Google users this is the immutable numeric `id`, never the email.
///
/// Held inline (no heap allocation) up to 23 bytes, which covers Google's ids, and shared
/// (a reference-counted string) above: a clone never copies the text. A tenant's snapshot and
/// view hold two ids a membership, so this is most of their memory.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExternalId(SmolStr);

impl ExternalId {
    /// The longest identifier accepted, in bytes.
    pub const MAX_LEN: usize = 1024;

    /// Validates and wraps a remote identifier.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] if it is empty, too long or contains control characters.
    pub fn new(value: impl AsRef<str>) -> Result<Self, Error> {
        let value = value.as_ref();
        let reason = if value.is_empty() {
            Some("must not be empty")
        } else if value.len() > Self::MAX_LEN {
            Some("longer than 1024 bytes")
        } else if value.chars().any(char::is_control) {
            Some("contains control characters")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidValue {
                kind: "external id",
                value: clip(value),
                reason: reason.to_owned(),
            }),
            None => Ok(Self(SmolStr::new(value))),
        }
    }

    /// The identifier as the remote spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExternalId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Self::new(value)
    }
}

impl From<ExternalId> for String {
    fn from(id: ExternalId) -> Self {
        id.0.into()
    }
}

impl Serialize for ExternalId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ExternalId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(crate::text::Validated::new("an external id", |s| {
            Self::new(s)
        }))
    }
}

impl fmt::Debug for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExternalId({:?})", self.0)
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ExternalId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_validated() {
        assert!(ExternalId::new("").is_err());
        assert!(ExternalId::new("a\u{0}b").is_err());
        assert!(ExternalId::new("x".repeat(1025)).is_err());
        assert_eq!(
            ExternalId::new("1234").map(|i| i.to_string()),
            Ok("1234".to_owned())
        );
    }

    #[test]
    fn derived_ids_are_deterministic() {
        let ns = Uuid::new_v4();
        assert_eq!(UserId::derived(ns, b"42"), UserId::derived(ns, b"42"));
        assert_ne!(UserId::derived(ns, b"42"), UserId::derived(ns, b"43"));
    }

    #[test]
    fn uuid_ids_round_trip_through_text_and_json() {
        let id = IntegrationId::random();
        assert_eq!(IntegrationId::parse(&id.to_string()), Ok(id));
        let json = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(serde_json::from_str::<IntegrationId>(&json).ok(), Some(id));
        assert!(IntegrationId::parse("nope").is_err());
    }
}
