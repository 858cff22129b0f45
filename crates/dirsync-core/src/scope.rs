//! Which part of the directory a sync rule covers: [`ScopeFilter`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{Email, OrgUnitPath};

/// Which part of the directory a rule covers. Each restriction that is `None` does not
/// restrict; the [`Default`] (both `None`) is everything.
///
/// Serialized as an object with the restrictions that are set (`{}` is everything); unknown
/// fields are refused, so a misspelt restriction can never silently widen a rule to everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ScopeFilter {
    /// Only that org unit and its subtree (its descendants at any depth); users elsewhere are
    /// out of scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_unit: Option<OrgUnitPath>,
    /// Only these groups (by email) and their memberships. An empty set means no groups at all,
    /// not every group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<BTreeSet<Email>>,
}

impl ScopeFilter {
    /// No restriction: the whole directory.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Restricted to org unit `path` and its subtree.
    pub fn with_org_unit(mut self, path: OrgUnitPath) -> Self {
        self.org_unit = Some(path);
        self
    }

    /// Restricted to these groups (by email) and their memberships; none at all if empty.
    pub fn with_groups(mut self, groups: impl IntoIterator<Item = Email>) -> Self {
        self.groups = Some(groups.into_iter().collect());
        self
    }

    /// Whether nothing is restricted.
    pub fn is_everything(&self) -> bool {
        self.org_unit.is_none() && self.groups.is_none()
    }

    /// Whether an object in org unit `path` is in scope (it is within the filter's org unit).
    pub fn includes_org_unit(&self, path: &OrgUnitPath) -> bool {
        self.org_unit
            .as_ref()
            .is_none_or(|root| path.is_within(root))
    }

    /// Whether the group with address `group` (and its memberships) is in scope.
    pub fn includes_group(&self, group: &Email) -> bool {
        self.groups
            .as_ref()
            .is_none_or(|groups| groups.contains(group))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn scope_filter() {
        let all = ScopeFilter::everything();
        assert!(all.is_everything());
        assert_eq!(all, ScopeFilter::default());
        assert_eq!(serde_json::to_string(&all).unwrap(), "{}");
        let eng = OrgUnitPath::new("/Engineering").unwrap();
        let team = Email::new("team@example.com").unwrap();
        assert!(all.includes_org_unit(&eng));
        assert!(all.includes_group(&team));

        let narrow = ScopeFilter {
            org_unit: Some(eng.clone()),
            groups: Some(BTreeSet::from([team.clone()])),
        };
        assert!(!narrow.is_everything());
        assert!(narrow.includes_org_unit(&OrgUnitPath::new("/Engineering/Platform").unwrap()));
        assert!(!narrow.includes_org_unit(&OrgUnitPath::new("/EngineeringOps").unwrap()));
        assert!(!narrow.includes_org_unit(&OrgUnitPath::root()));
        assert!(narrow.includes_group(&Email::new("TEAM@example.com").unwrap()));
        assert!(!narrow.includes_group(&Email::new("other@example.com").unwrap()));
        let no_groups = ScopeFilter {
            org_unit: None,
            groups: Some(BTreeSet::new()),
        };
        assert!(!no_groups.includes_group(&team));
        assert!(!no_groups.is_everything());

        let json = serde_json::to_string(&narrow).unwrap();
        assert_eq!(
            json,
            r#"{"org_unit":"/Engineering","groups":["team@example.com"]}"#
        );
        assert_eq!(serde_json::from_str::<ScopeFilter>(&json).unwrap(), narrow);
        for bad in [
            r#"{"org_units":"/Engineering"}"#,
            r#"{"org_unit":"Engineering"}"#,
            r#"{"groups":["not an email"]}"#,
        ] {
            assert!(
                serde_json::from_str::<ScopeFilter>(bad).is_err(),
                "accepted {bad}"
            );
        }
    }
}
