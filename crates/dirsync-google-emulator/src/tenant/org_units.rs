//! Org units: [`OrgUnit`] and adding one.

use super::{LOWER_ALNUM, Tenant};
use crate::error::Error;

/// An organizational unit (the root `/` is kept in the tenant but not listed by `type=all`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUnit {
    /// `orgUnitId`, e.g. `id:03ph8a2z1mnq4x7`.
    pub id: String,
    /// `name` (last path segment).
    pub name: String,
    /// `description`.
    pub description: String,
    /// `orgUnitPath`.
    pub path: String,
    /// `parentOrgUnitPath` (`None` for the root).
    pub parent_path: Option<String>,
    /// `parentOrgUnitId` (`None` for the root).
    pub parent_id: Option<String>,
}

impl Tenant {
    /// Adds an org unit below an existing parent path.
    pub fn add_org_unit(&mut self, parent_path: &str, name: &str) -> Result<OrgUnit, Error> {
        let parent = self
            .org_unit(parent_path)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("org unit {parent_path}")))?;
        let path = if parent.path == "/" {
            format!("/{name}")
        } else {
            format!("{}/{name}", parent.path)
        };
        if self.org_unit(&path).is_some() {
            return Err(Error::AlreadyExists(format!("org unit {path}")));
        }
        let ou = OrgUnit {
            id: format!("id:03{}", self.rng.string(LOWER_ALNUM, 10)),
            name: name.to_owned(),
            description: String::new(),
            path,
            parent_path: Some(parent.path),
            parent_id: Some(parent.id),
        };
        self.org_units.push(ou.clone());
        Ok(ou)
    }

    /// Sets an org unit's description; `None` if there is no such org unit.
    pub fn set_org_unit_description(&mut self, path: &str, description: String) -> Option<OrgUnit> {
        let i = self.org_units.iter().position(|o| o.path == path)?;
        let ou = self.org_units.get_mut(i)?;
        ou.description = description;
        Some(ou.clone())
    }
}
