//! What a sync rule can sync: the [`ObjectKind`]s of a directory and non-empty sets of them
//! ([`ObjectKinds`]), in sync order.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::error::clip;

/// A kind of directory object a rule syncs.
///
/// Ordered in sync order ([`ObjectKind::ALL`]): org units first (users live in them), then
/// users, then groups, then memberships (which need both users and groups).
///
/// Spelled `org_units`, `users`, `groups`, `memberships` in text and JSON; `org-units` is
/// accepted too when parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ObjectKind {
    /// Organizational units.
    #[serde(alias = "org-units")]
    OrgUnits,
    /// Users.
    Users,
    /// Groups.
    Groups,
    /// Group memberships.
    Memberships,
}

impl ObjectKind {
    /// Every kind, in sync order.
    pub const ALL: [Self; 4] = [Self::OrgUnits, Self::Users, Self::Groups, Self::Memberships];

    /// The canonical spelling: `org_units`, `users`, `groups` or `memberships`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrgUnits => "org_units",
            Self::Users => "users",
            Self::Groups => "groups",
            Self::Memberships => "memberships",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ObjectKind {
    type Err = Error;

    /// Parses the canonical spelling, or `org-units`. Case-sensitive.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "org_units" | "org-units" => Ok(Self::OrgUnits),
            "users" => Ok(Self::Users),
            "groups" => Ok(Self::Groups),
            "memberships" => Ok(Self::Memberships),
            _ => Err(Error::InvalidValue {
                kind: "object kind",
                value: clip(s),
                reason: "expected one of org_units, users, groups, memberships".to_owned(),
            }),
        }
    }
}

/// A non-empty set of [`ObjectKind`]s, iterated in sync order.
///
/// Serialized as a list in sync order (`["users","groups"]`); deserializing refuses an empty
/// list and ignores duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<ObjectKind>", into = "Vec<ObjectKind>")]
pub struct ObjectKinds(BTreeSet<ObjectKind>);

impl ObjectKinds {
    /// The kinds in `kinds` (duplicates ignored).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] if `kinds` is empty: a rule must sync something.
    pub fn new(kinds: impl IntoIterator<Item = ObjectKind>) -> Result<Self, Error> {
        let set: BTreeSet<ObjectKind> = kinds.into_iter().collect();
        if set.is_empty() {
            return Err(Error::InvalidValue {
                kind: "object kinds",
                value: "[]".to_owned(),
                reason: "a rule must sync at least one kind of object".to_owned(),
            });
        }
        Ok(Self(set))
    }

    /// Every kind.
    pub fn all() -> Self {
        Self(ObjectKind::ALL.into_iter().collect())
    }

    /// Just `kind`.
    pub fn only(kind: ObjectKind) -> Self {
        Self(BTreeSet::from([kind]))
    }

    /// Whether `kind` is in the set.
    pub fn contains(&self, kind: ObjectKind) -> bool {
        self.0.contains(&kind)
    }

    /// The kinds, in sync order.
    pub fn iter(&self) -> impl Iterator<Item = ObjectKind> + '_ {
        self.0.iter().copied()
    }
}

impl Default for ObjectKinds {
    /// Every kind.
    fn default() -> Self {
        Self::all()
    }
}

impl From<ObjectKind> for ObjectKinds {
    fn from(kind: ObjectKind) -> Self {
        Self::only(kind)
    }
}

impl TryFrom<Vec<ObjectKind>> for ObjectKinds {
    type Error = Error;
    fn try_from(kinds: Vec<ObjectKind>) -> Result<Self, Error> {
        Self::new(kinds)
    }
}

impl From<ObjectKinds> for Vec<ObjectKind> {
    fn from(kinds: ObjectKinds) -> Self {
        kinds.0.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a ObjectKinds {
    type Item = ObjectKind;
    type IntoIter = std::iter::Copied<std::collections::btree_set::Iter<'a, ObjectKind>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().copied()
    }
}

impl fmt::Display for ObjectKinds {
    /// `users, groups`, in sync order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, kind) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(kind.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn object_kind_text_forms() {
        for kind in ObjectKind::ALL {
            assert_eq!(kind.to_string().parse::<ObjectKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<ObjectKind>(&json).unwrap(), kind);
        }
        assert_eq!("org-units".parse::<ObjectKind>(), Ok(ObjectKind::OrgUnits));
        assert_eq!(
            serde_json::from_str::<ObjectKind>("\"org-units\"").unwrap(),
            ObjectKind::OrgUnits
        );
        for bad in ["", "Users", "user", "org units", "orgunits"] {
            assert!(
                matches!(
                    bad.parse::<ObjectKind>(),
                    Err(Error::InvalidValue {
                        kind: "object kind",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        assert!(serde_json::from_str::<ObjectKind>("\"OrgUnits\"").is_err());
        let mut sorted = ObjectKind::ALL;
        sorted.sort();
        assert_eq!(sorted, ObjectKind::ALL);
    }

    #[test]
    fn object_kinds_are_a_non_empty_set_in_sync_order() {
        assert!(ObjectKinds::new([]).is_err());
        let kinds = ObjectKinds::new([
            ObjectKind::Memberships,
            ObjectKind::Users,
            ObjectKind::OrgUnits,
            ObjectKind::Users,
        ])
        .unwrap();
        assert_eq!(
            kinds.iter().collect::<Vec<_>>(),
            [
                ObjectKind::OrgUnits,
                ObjectKind::Users,
                ObjectKind::Memberships
            ]
        );
        assert!(kinds.contains(ObjectKind::Users));
        assert!(!kinds.contains(ObjectKind::Groups));
        assert_eq!(
            ObjectKinds::all().iter().collect::<Vec<_>>(),
            ObjectKind::ALL
        );
        assert_eq!(ObjectKinds::default(), ObjectKinds::all());
        assert_eq!(
            ObjectKinds::from(ObjectKind::Groups),
            ObjectKinds::only(ObjectKind::Groups)
        );
        assert_eq!(kinds.to_string(), "org_units, users, memberships");
        assert_eq!((&kinds).into_iter().count(), 3);
    }

    #[test]
    fn object_kinds_serde() {
        let kinds = ObjectKinds::new([ObjectKind::Groups, ObjectKind::Users]).unwrap();
        let json = serde_json::to_string(&kinds).unwrap();
        assert_eq!(json, r#"["users","groups"]"#);
        assert_eq!(serde_json::from_str::<ObjectKinds>(&json).unwrap(), kinds);
        assert_eq!(
            serde_json::from_str::<ObjectKinds>(r#"["groups","users","groups"]"#).unwrap(),
            kinds
        );
        for bad in ["[]", r#"["nope"]"#, r#""users""#, "null", "{}"] {
            assert!(
                serde_json::from_str::<ObjectKinds>(bad).is_err(),
                "accepted {bad}"
            );
        }
    }
}
