//! [`FileConnector`]: the folder as a [`DirectorySource`].

use std::time::Instant;

use async_trait::async_trait;
use chrono::Utc;
use dirsync_core::{
    AccessCheck, AccessReport, DirectorySource, FetchProgress, FetchRequest, FetchStats, Fetched,
    ObjectKind, ObjectKinds, QuarantinedRecord, SnapshotBuilder,
};

use crate::table::{self, Table};
use crate::{Error, FileSettings, checks, mapping};

/// Reads users, groups, memberships and org units from the files of one folder.
///
/// Reading is blocking file IO; [`fetch`](DirectorySource::fetch) runs it on tokio's blocking
/// pool (in place when no tokio runtime is running), [`read`](FileConnector::read) on the
/// caller's thread.
#[derive(Debug, Clone)]
pub struct FileConnector {
    settings: FileSettings,
}

impl FileConnector {
    /// A connector over the folder of `settings` (already validated by their constructor).
    pub fn new(settings: FileSettings) -> Self {
        Self { settings }
    }

    /// Its settings.
    pub fn settings(&self) -> &FileSettings {
        &self.settings
    }

    /// The access check: the folder can be listed; per kind the settings provide, its file
    /// exists and its header (CSV) or first object (JSON Lines) has the required columns.
    /// Reads only the first line of each file.
    pub fn checks(&self) -> Vec<AccessCheck> {
        checks::run(&self.settings)
    }

    /// Reads a complete snapshot of `request` on the calling thread.
    ///
    /// # Errors
    /// A kind not provided by the settings, a missing, unreadable, non-UTF-8, header-less or
    /// truncated file, a header without the required columns (see [`Error`], converted into
    /// [`dirsync_core::Error`]). Never a smaller snapshot: rows that do not parse are
    /// quarantined instead, with their file and line.
    pub fn read(&self, request: &FetchRequest) -> Result<Fetched, dirsync_core::Error> {
        let started = Instant::now();
        let kinds = &request.kinds;
        let filter = &request.filter;
        if let Some(kind) = kinds.iter().find(|k| !self.settings.kinds().contains(*k)) {
            return Err(Error::NotProvided { kind }.into());
        }
        let wants = |k: ObjectKind| kinds.contains(k);
        let mut stats = FetchStats::default();
        let mut b = SnapshotBuilder::new(kinds.clone(), filter.clone(), Utc::now());
        let mut quarantined: Vec<QuarantinedRecord> = Vec::new();

        if wants(ObjectKind::OrgUnits) {
            let mut units = mapping::org_units(&self.table(ObjectKind::OrgUnits, &mut stats)?);
            units.units.retain(|u| filter.includes_org_unit(&u.path));
            quarantined.append(&mut units.quarantined);
            b.org_units(units.units)?;
        }
        // Users are read for memberships too: members are matched to users by email.
        let mut users = if wants(ObjectKind::Users) || wants(ObjectKind::Memberships) {
            mapping::users(self.table(ObjectKind::Users, &mut stats)?)
        } else {
            mapping::Users::default()
        };
        if wants(ObjectKind::Users) {
            let mut in_scope = Vec::with_capacity(users.users.len());
            for user in std::mem::take(&mut users.users) {
                let placed = match (&filter.org_unit, &user.org_unit) {
                    (None, _) => Some(true),
                    (Some(_), Some(ou)) => Some(filter.includes_org_unit(ou)),
                    (Some(_), None) => None,
                };
                match placed {
                    Some(true) => in_scope.push(user),
                    Some(false) => {}
                    // In an org-unit-scoped rule a user without a path cannot be placed:
                    // quarantined (counted present), never silently dropped.
                    None => quarantined.push(QuarantinedRecord {
                        kind: ObjectKind::Users,
                        label: user.primary_email.to_string(),
                        external_id: Some(user.external_id),
                        reason: "no org_unit_path, and the rule is scoped to an org unit"
                            .to_owned(),
                    }),
                }
            }
            b.users_page(in_scope, None)?;
            let deleted: Vec<_> = std::mem::take(&mut users.deleted)
                .into_iter()
                .filter(|(_, ou)| match (&filter.org_unit, ou) {
                    (None, _) => true,
                    (Some(_), Some(ou)) => filter.includes_org_unit(ou),
                    (Some(_), None) => false,
                })
                .map(|(d, _)| d)
                .collect();
            if !deleted.is_empty() {
                b.deleted_users_page(deleted, None)?;
            }
            quarantined.append(&mut users.quarantined);
        }
        if wants(ObjectKind::Groups) || wants(ObjectKind::Memberships) {
            let mut groups = mapping::groups(&self.table(ObjectKind::Groups, &mut stats)?);
            quarantined.append(&mut groups.quarantined);
            let in_scope: Vec<_> = groups
                .groups
                .iter()
                .filter(|g| filter.includes_group(&g.email))
                .cloned()
                .collect();
            b.groups_page(in_scope.clone(), None)?;
            if wants(ObjectKind::Memberships) {
                let table = self.table(ObjectKind::Memberships, &mut stats)?;
                let mut members =
                    mapping::memberships(&table, &groups.groups, &users.ids_by_email, filter);
                quarantined.append(&mut members.quarantined);
                for group in &in_scope {
                    let list = members
                        .by_group
                        .remove(&group.external_id)
                        .unwrap_or_default();
                    b.members_page(&group.external_id, list, None)?;
                }
            }
        }
        for record in quarantined {
            tracing::warn!(kind = %record.kind, reason = %record.reason, "quarantined");
            b.quarantine(record);
        }
        stats.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        stats.max_in_flight = 1;
        Ok(Fetched::new(b.finish()?, stats))
    }

    /// Reads `kind`'s file, counting it in `stats` (one "request" per file, its bytes).
    fn table(&self, kind: ObjectKind, stats: &mut FetchStats) -> Result<Table, Error> {
        let s = &self.settings;
        let table = table::read(kind, &s.file_path(kind), s.format(), s.columns())?;
        *stats
            .requests
            .entry(format!("read {}", table.file))
            .or_default() += 1;
        stats.bytes += table.bytes;
        Ok(table)
    }
}

/// Runs `f` on tokio's blocking pool, or in place when there is no tokio runtime (another
/// executor is polling).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime.spawn_blocking(f).await.map_err(|e| Error::Task {
            reason: e.to_string(),
        }),
        Err(_) => Ok(f()),
    }
}

#[async_trait]
impl DirectorySource for FileConnector {
    /// Runs [`FileConnector::checks`] and reports them: a failed one says what to do, and the
    /// service refuses to activate until every one passes.
    ///
    /// # Errors
    /// Only when the checks cannot run at all (the blocking task failed).
    async fn validate_access(&self) -> Result<AccessReport, dirsync_core::Error> {
        let this = self.clone();
        let checks = blocking(move || this.checks()).await?;
        Ok(AccessReport::new(checks))
    }

    fn readable_kinds(&self) -> ObjectKinds {
        self.settings.kinds().clone()
    }

    /// Reads the files on tokio's blocking pool (in place outside a tokio runtime; see
    /// [`FileConnector::read`]), then reports one page per kind to `progress`.
    async fn fetch(
        &self,
        request: &FetchRequest,
        progress: &dyn FetchProgress,
    ) -> Result<Fetched, dirsync_core::Error> {
        let (this, owned) = (self.clone(), request.clone());
        let fetched = blocking(move || this.read(&owned)).await??;
        let s = &fetched.snapshot;
        for kind in request.kinds.iter() {
            let items = match kind {
                ObjectKind::Users => s.users().len(),
                ObjectKind::Groups => s.groups().len(),
                ObjectKind::Memberships => s.members().len(),
                _ => s.org_units().len(),
            };
            progress.page(kind, items);
        }
        Ok(fetched)
    }
}
