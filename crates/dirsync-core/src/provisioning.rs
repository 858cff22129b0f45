//! Outbound user provisioning: which directory users an outbound rule provisions as remote
//! accounts and how far it may go ([`UserProvisioning`]), and the marker an account it made
//! or adopted carries ([`ProvisioningMarker`]).
//!
//! The marker is how an account is known to be ours: it is written with the account
//! (Google: an `externalIds` entry of type `custom`, custom type [`MARKER_TYPE`]) by the same
//! request that creates it, so an insert whose answer was lost and whose retry meets "already
//! exists" is recognised by reading the account back, and a stranger with the same email (who
//! carries no marker, or another person's) is never taken for ours.
//!
//! ```
//! use dirsync_core::{
//!     IntegrationId, OrgUnitMapping, OrgUnitPath, ProvisioningMarker, Selector, UserId,
//!     UserProvisioning,
//! };
//!
//! let rule = UserProvisioning::new(Selector::Everyone)
//!     .with_org_unit_map(OrgUnitMapping::new(OrgUnitPath::new("/Staff")?, OrgUnitPath::new("/People")?));
//! let mapped = rule.map_org_unit(Some(&OrgUnitPath::new("/Staff/Sales")?));
//! assert_eq!(mapped.as_ref().map(OrgUnitPath::as_str), Some("/People/Sales"));
//!
//! let marker = ProvisioningMarker::created(IntegrationId::random(), UserId::random());
//! assert_eq!(ProvisioningMarker::parse(&marker.value()), Some(marker));
//! assert_eq!(ProvisioningMarker::parse("a stranger's value"), None);
//! # Ok::<(), dirsync_core::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{IntegrationId, OrgUnitPath, Selector, UserId};

/// The custom type of the external id that carries a [`ProvisioningMarker`] (Google:
/// `externalIds[{type: custom, customType: "dirsync"}]`).
pub const MARKER_TYPE: &str = "dirsync";

/// How an account came to be ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkerOrigin {
    /// This integration created the account: it may delete it (after the retention).
    Created,
    /// The account existed and the rule adopted it: it is kept in step and suspended, never
    /// deleted.
    Adopted,
}

/// The marker on a remote account an outbound integration created or adopted: which
/// integration, the directory user it provisions, and how it came to be ours. Written as
/// `created:<integration id>:<user id>` or `adopted:<integration id>:<user id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProvisioningMarker {
    /// The outbound integration that owns the account.
    pub integration: IntegrationId,
    /// The directory user the account provisions.
    pub user: UserId,
    /// Created or adopted.
    pub origin: MarkerOrigin,
}

impl ProvisioningMarker {
    /// The marker of an account `integration` created for `user`.
    pub fn created(integration: IntegrationId, user: UserId) -> Self {
        Self {
            integration,
            user,
            origin: MarkerOrigin::Created,
        }
    }

    /// The marker of an existing account `integration` adopted for `user`.
    pub fn adopted(integration: IntegrationId, user: UserId) -> Self {
        Self {
            integration,
            user,
            origin: MarkerOrigin::Adopted,
        }
    }

    /// The value written to the remote: `created:<integration>:<user>` or
    /// `adopted:<integration>:<user>`.
    pub fn value(&self) -> String {
        self.to_string()
    }

    /// Reads a marker value; `None` for anything that is not one (a value someone else wrote).
    pub fn parse(value: &str) -> Option<Self> {
        let (origin, rest) = value.split_once(':')?;
        let (integration, user) = rest.split_once(':')?;
        let origin = match origin {
            "created" => MarkerOrigin::Created,
            "adopted" => MarkerOrigin::Adopted,
            _ => return None,
        };
        Some(Self {
            integration: IntegrationId::parse(integration).ok()?,
            user: UserId::parse(user).ok()?,
            origin,
        })
    }
}

impl fmt::Display for ProvisioningMarker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match self.origin {
            MarkerOrigin::Created => "created",
            MarkerOrigin::Adopted => "adopted",
        };
        write!(f, "{origin}:{}:{}", self.integration, self.user)
    }
}

/// One org-unit prefix rule: directory paths at or below `from` land at or below `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgUnitMapping {
    /// The directory's prefix.
    pub from: OrgUnitPath,
    /// The remote's prefix.
    pub to: OrgUnitPath,
}

impl OrgUnitMapping {
    /// Paths under `from` map under `to`.
    pub fn new(from: OrgUnitPath, to: OrgUnitPath) -> Self {
        Self { from, to }
    }
}

/// Which directory users an outbound rule provisions as remote accounts, and how far it may go.
///
/// Active and suspended users the selector picks get an account (suspended ones suspended);
/// a provisioned user who is deprovisioned or no longer selected is suspended, and deleted
/// only after [`delete_after_days`](Self::delete_after_days), only if this integration created
/// the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UserProvisioning {
    /// Who gets an account.
    pub select: Selector,
    /// Org-unit prefix rules (the longest matching `from` wins); a path no rule matches is kept
    /// as it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub org_unit_map: Vec<OrgUnitMapping>,
    /// Create missing org units (parents first); otherwise a user whose org unit is missing in
    /// the remote is quarantined.
    #[serde(default)]
    pub create_org_units: bool,
    /// Adopt an existing account with the same email (marking it ours); otherwise it is
    /// quarantined as a conflict and left untouched.
    #[serde(default)]
    pub adopt_existing: bool,
    /// Delete accounts this integration created this many days after their user was
    /// deprovisioned; `None` (the default) never deletes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after_days: Option<u32>,
    /// Accounts sign in only through single sign-on: their random initial password is not to
    /// be changed at first login (nobody knows it).
    #[serde(default)]
    pub sso_only: bool,
}

impl UserProvisioning {
    /// Provisions the users `select` picks, keeping their org-unit paths, creating no org unit,
    /// adopting nobody, deleting nothing.
    pub fn new(select: Selector) -> Self {
        Self {
            select,
            org_unit_map: Vec::new(),
            create_org_units: false,
            adopt_existing: false,
            delete_after_days: None,
            sso_only: false,
        }
    }

    /// With one more org-unit prefix rule.
    #[must_use]
    pub fn with_org_unit_map(mut self, mapping: OrgUnitMapping) -> Self {
        self.org_unit_map.push(mapping);
        self
    }

    /// Whether missing org units are created.
    #[must_use]
    pub fn creating_org_units(mut self, yes: bool) -> Self {
        self.create_org_units = yes;
        self
    }

    /// Whether an existing account with the same email is adopted.
    #[must_use]
    pub fn adopting_existing(mut self, yes: bool) -> Self {
        self.adopt_existing = yes;
        self
    }

    /// Delete accounts this integration created `days` after their user was deprovisioned.
    #[must_use]
    pub fn deleting_after_days(mut self, days: u32) -> Self {
        self.delete_after_days = Some(days);
        self
    }

    /// Whether accounts sign in only through single sign-on.
    #[must_use]
    pub fn sso_only(mut self, yes: bool) -> Self {
        self.sso_only = yes;
        self
    }

    /// The remote org unit of a directory user in `path` (`None`: the root).
    pub fn map_org_unit(&self, path: Option<&OrgUnitPath>) -> Option<OrgUnitPath> {
        let path = path?;
        let best = self
            .org_unit_map
            .iter()
            .filter(|m| path.is_within(&m.from))
            .max_by_key(|m| m.from.segments().count());
        let Some(m) = best else {
            return Some(path.clone());
        };
        let rest: Vec<&str> = path.segments().skip(m.from.segments().count()).collect();
        if rest.is_empty() {
            return Some(m.to.clone());
        }
        let base = m.to.as_str().trim_end_matches('/');
        OrgUnitPath::new(format!("{base}/{}", rest.join("/"))).ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ou(s: &str) -> OrgUnitPath {
        OrgUnitPath::new(s).unwrap()
    }

    #[test]
    fn the_longest_prefix_maps_and_others_are_kept() {
        let rule = UserProvisioning::new(Selector::Everyone)
            .with_org_unit_map(OrgUnitMapping::new(ou("/A"), ou("/X")))
            .with_org_unit_map(OrgUnitMapping::new(ou("/A/B"), ou("/")));
        let map = |p: &str| rule.map_org_unit(Some(&ou(p))).unwrap().to_string();
        assert_eq!(map("/A"), "/X");
        assert_eq!(map("/A/C/D"), "/X/C/D");
        assert_eq!(map("/A/B/C"), "/C");
        assert_eq!(map("/A/B"), "/");
        assert_eq!(map("/AB"), "/AB");
        assert_eq!(rule.map_org_unit(None), None);
    }

    #[test]
    fn markers_round_trip_and_strangers_are_not_markers() {
        let (i, id) = (IntegrationId::random(), UserId::random());
        for m in [
            ProvisioningMarker::created(i, id),
            ProvisioningMarker::adopted(i, id),
        ] {
            assert_eq!(ProvisioningMarker::parse(&m.value()), Some(m));
        }
        let only_user = format!("created:{id}");
        for bad in [
            "",
            "created:",
            "created:nope",
            "made:1",
            &id.to_string(),
            &only_user,
        ] {
            assert_eq!(ProvisioningMarker::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_rule_reads_with_defaults_and_refuses_unknown_keys() {
        let rule: UserProvisioning = serde_json::from_str(r#"{"select":"everyone"}"#).unwrap();
        assert_eq!(rule, UserProvisioning::new(Selector::Everyone));
        assert!(
            serde_json::from_str::<UserProvisioning>(r#"{"select":"everyone","adopt":true}"#)
                .is_err()
        );
    }
}
