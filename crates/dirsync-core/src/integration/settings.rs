//! How an integration reaches its remote system (everything but secrets), in a shape every
//! connector can use: a [`System`] id and that system's own settings, which the connector that
//! registers the system types and validates ([`TypedSettings`]).

use std::borrow::Cow;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, clip};

/// The id of a remote system, as a connector registers it and stores keep it: lowercase ASCII
/// letters, digits and `_`, starting with a letter, at most 64 characters (e.g.
/// `google_workspace`, `file`, `scim`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct System(Cow<'static, str>);

/// Whether `id` is a well-formed system id (usable in `const` contexts).
const fn well_formed(id: &str) -> bool {
    let bytes = id.as_bytes();
    if bytes.is_empty() || bytes.len() > 64 || !bytes[0].is_ascii_lowercase() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return false;
        }
        i += 1;
    }
    true
}

impl System {
    /// A system id known at compile time, for connector crates:
    /// `const GOOGLE: System = System::from_static("google_workspace");` fails to compile for an
    /// ill-formed id.
    ///
    /// # Panics
    /// For an ill-formed id, which in a `const` item is a compile error; use [`System::new`]
    /// for ids that are not constants.
    pub const fn from_static(id: &'static str) -> Self {
        assert!(well_formed(id), "an ill-formed system id");
        Self(Cow::Borrowed(id))
    }

    /// Validates a system id.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for an empty, overlong or ill-formed id.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        if !well_formed(&id) {
            return Err(Error::InvalidValue {
                kind: "system",
                value: clip(&id),
                reason: "must be 1 to 64 lowercase letters, digits or `_`, starting with a letter"
                    .to_owned(),
            });
        }
        Ok(Self(Cow::Owned(id)))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for System {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Self::new(value)
    }
}

impl From<System> for String {
    fn from(system: System) -> Self {
        system.0.into_owned()
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// One system's settings, typed by the connector that registers the system. Stores keep them
/// as [`RemoteSettings`]; the connector reads them back with [`RemoteSettings::typed`].
pub trait TypedSettings: Serialize + DeserializeOwned {
    /// The system these settings are for (e.g. `System::from_static("google_workspace")`).
    const SYSTEM: System;

    /// Checks the settings before anything is stored (a path that cannot be one, a quota of
    /// zero where one is needed, ...). Does no IO.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] naming what is wrong.
    fn validate(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// How an integration reaches its remote system: the system's id and its own settings as
/// JSON fields. Stored and printed as one object, `{"system": "google_workspace", …}`.
///
/// Made from a connector's typed settings with [`RemoteSettings::from_typed`] (which
/// validates them), or from JSON with [`RemoteSettings::new`] (checked by the connector's
/// registry before anything is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSettings {
    system: System,
    fields: Map<String, Value>,
}

impl RemoteSettings {
    /// Settings for `system` from a JSON object (without the `system` field).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when `fields` is not an object or names another system.
    pub fn new(system: System, fields: Value) -> Result<Self, Error> {
        let Value::Object(mut fields) = fields else {
            return Err(Error::InvalidValue {
                kind: "settings",
                value: clip(&fields.to_string()),
                reason: "must be a JSON object".to_owned(),
            });
        };
        match fields.remove("system") {
            Some(Value::String(named)) if named != system.as_str() => {
                return Err(Error::InvalidValue {
                    kind: "settings",
                    value: clip(&named),
                    reason: format!("name another system than {system}"),
                });
            }
            _ => {}
        }
        Ok(Self { system, fields })
    }

    /// Settings from a connector's typed settings, validated.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when [`TypedSettings::validate`] refuses them or they do not
    /// serialize to a JSON object.
    pub fn from_typed<T: TypedSettings>(settings: &T) -> Result<Self, Error> {
        settings.validate()?;
        let fields = serde_json::to_value(settings).map_err(|e| Error::InvalidValue {
            kind: "settings",
            value: T::SYSTEM.to_string(),
            reason: e.to_string(),
        })?;
        Self::new(T::SYSTEM, fields)
    }

    /// The connector's typed form of these settings, validated.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when they are for another system, do not parse as `T`, or
    /// [`TypedSettings::validate`] refuses them.
    pub fn typed<T: TypedSettings>(&self) -> Result<T, Error> {
        if self.system != T::SYSTEM {
            return Err(Error::InvalidValue {
                kind: "settings",
                value: self.system.to_string(),
                reason: format!("are not {} settings", T::SYSTEM),
            });
        }
        let typed: T = serde_json::from_value(Value::Object(self.fields.clone())).map_err(|e| {
            Error::InvalidValue {
                kind: "settings",
                value: self.system.to_string(),
                reason: e.to_string(),
            }
        })?;
        typed.validate()?;
        Ok(typed)
    }

    /// The system these settings connect to.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// The system's own fields (everything but `system`).
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }
}

impl Serialize for RemoteSettings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut all = Map::with_capacity(self.fields.len() + 1);
        all.insert(
            "system".to_owned(),
            Value::String(self.system.0.to_string()),
        );
        all.extend(self.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        all.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RemoteSettings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut fields = Map::deserialize(deserializer)?;
        let system = match fields.remove("system") {
            Some(Value::String(id)) => System::new(id).map_err(serde::de::Error::custom)?,
            _ => return Err(serde::de::Error::missing_field("system")),
        };
        Ok(Self { system, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Toy {
        folder: String,
    }

    impl TypedSettings for Toy {
        const SYSTEM: System = System::from_static("toy");
        fn validate(&self) -> Result<(), Error> {
            if self.folder.is_empty() {
                return Err(Error::InvalidValue {
                    kind: "folder",
                    value: String::new(),
                    reason: "must not be empty".to_owned(),
                });
            }
            Ok(())
        }
    }

    #[test]
    fn system_ids_are_checked() {
        for good in ["google_workspace", "file", "scim2"] {
            assert!(System::new(good).is_ok(), "{good}");
        }
        const FILE: System = System::from_static("file");
        assert_eq!(FILE, System::new("file").unwrap_or(FILE));
        for bad in ["", "Google", "2fa", "a-b", "a b", &"x".repeat(65)] {
            assert!(System::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_are_one_flat_object_and_round_trip() -> Result<(), Error> {
        let settings = RemoteSettings::from_typed(&Toy {
            folder: "/srv/hr".into(),
        })?;
        let json = serde_json::to_value(&settings).map_err(|e| Error::InvalidValue {
            kind: "json",
            value: String::new(),
            reason: e.to_string(),
        })?;
        assert_eq!(
            json,
            serde_json::json!({"system": "toy", "folder": "/srv/hr"})
        );
        let back: RemoteSettings =
            serde_json::from_value(json).map_err(|e| Error::InvalidValue {
                kind: "json",
                value: String::new(),
                reason: e.to_string(),
            })?;
        assert_eq!(back, settings);
        assert_eq!(back.typed::<Toy>()?.folder, "/srv/hr");
        Ok(())
    }

    #[test]
    fn typed_settings_are_validated_both_ways() -> Result<(), Error> {
        assert!(
            RemoteSettings::from_typed(&Toy {
                folder: String::new()
            })
            .is_err()
        );
        let stored = RemoteSettings::new(System::new("toy")?, serde_json::json!({"folder": ""}))?;
        assert!(
            stored.typed::<Toy>().is_err(),
            "validated when read back too"
        );
        let other = RemoteSettings::new(System::new("other")?, serde_json::json!({}))?;
        assert!(other.typed::<Toy>().is_err(), "another system's settings");
        assert!(RemoteSettings::new(System::new("toy")?, serde_json::json!([1])).is_err());
        assert!(
            RemoteSettings::new(System::new("toy")?, serde_json::json!({"system": "x"})).is_err()
        );
        Ok(())
    }
}
