//! Org units of any inbound integration: its own, mirrored in scope.

use foldhash::{HashMap, HashSet, HashSetExt};

use dirsync_core::{DirectoryOp, ExternalId, ObjectKind, OrgUnit};

use super::Planner;
use crate::plan::OpKind;

impl<'a> Planner<'a> {
    pub(super) fn org_units(&mut self) {
        if !self.snapshot.kinds().contains(ObjectKind::OrgUnits) {
            return;
        }
        let filter = self.snapshot.filter();
        let current: HashMap<&ExternalId, &OrgUnit> = self
            .view
            .org_units
            .iter()
            .map(|o| (&o.external_id, o))
            .collect();
        let mut seen: HashSet<&ExternalId> = HashSet::new();
        for remote in self
            .snapshot
            .org_units()
            .iter()
            .filter(|o| filter.includes_org_unit(&o.path))
        {
            seen.insert(&remote.external_id);
            let desired = OrgUnit {
                integration: self.id,
                external_id: remote.external_id.clone(),
                path: remote.path.clone(),
                name: remote.name.clone(),
                description: remote.description.clone(),
                parent: remote.parent.clone(),
            };
            match current.get(&remote.external_id) {
                Some(c) if **c == desired => {}
                Some(_) => {
                    self.count(OpKind::OrgUnitsUpdated);
                    self.changes.push(DirectoryOp::UpsertOrgUnit(desired));
                }
                None => {
                    self.count(OpKind::OrgUnitsCreated);
                    self.changes.push(DirectoryOp::UpsertOrgUnit(desired));
                }
            }
        }
        let view = self.view;
        for unit in &view.org_units {
            if !seen.contains(&unit.external_id)
                && !self.present.contains(&unit.external_id)
                && filter.includes_org_unit(&unit.path)
            {
                self.count(OpKind::OrgUnitsRemoved);
                self.changes.push(DirectoryOp::RemoveOrgUnit {
                    external_id: unit.external_id.clone(),
                });
            }
        }
    }
}
