//! The connector [`Registry`]: the systems a service can connect to, each a
//! [`ConnectorKind`] registered by its connector crate. The service reaches every remote only
//! through it and never names a system.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use dirsync_core::{
    ConnectorKind, DirectionKind, ObjectKind, ObjectKinds, RemoteSettings, SyncRule, System,
};

use crate::Error;

/// The systems a [`Service`](crate::Service) can connect to. Start from
/// [`Registry::builtin`] (the connectors this build has: Google Workspace with the `google`
/// feature, HR exports in files with the `file` feature, SCIM 2.0 always) or [`Registry::new`] (none), and add kinds with
/// [`with`](Self::with): a product's own system plugs in the same way, without a fork.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: BTreeMap<System, Arc<dyn ConnectorKind>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.kinds.keys()).finish()
    }
}

impl Registry {
    /// A registry without any system.
    pub fn new() -> Self {
        Self::default()
    }

    /// The connectors built into this build, with their defaults.
    pub fn builtin() -> Self {
        #[allow(unused_mut)]
        let mut registry = Self::new().with(dirsync_scim::ScimKind::new());
        #[cfg(feature = "google")]
        {
            registry = registry.with(dirsync_google::GoogleKind::new());
        }
        #[cfg(feature = "file")]
        {
            registry = registry.with(dirsync_file::FileKind::new());
        }
        registry
    }

    /// Registers `kind`, replacing a kind registered before for the same system (e.g. a
    /// customized Google kind instead of the default one).
    pub fn with(self, kind: impl ConnectorKind + 'static) -> Self {
        self.with_shared(Arc::new(kind))
    }

    /// Registers a shared `kind`.
    pub fn with_shared(mut self, kind: Arc<dyn ConnectorKind>) -> Self {
        self.kinds.insert(kind.system(), kind);
        self
    }

    /// The kind registered for `system`.
    ///
    /// # Errors
    /// [`Error::UnsupportedSystem`] when none is.
    pub fn get(&self, system: &System) -> Result<&Arc<dyn ConnectorKind>, Error> {
        self.kinds
            .get(system)
            .ok_or_else(|| Error::UnsupportedSystem {
                system: system.to_string(),
            })
    }

    /// Every registered kind, by system id.
    pub fn kinds(&self) -> impl Iterator<Item = &Arc<dyn ConnectorKind>> {
        self.kinds.values()
    }

    /// The name of `system` for people (its id when it is not registered).
    pub fn name(&self, system: &System) -> String {
        self.kinds
            .get(system)
            .map_or_else(|| system.to_string(), |k| k.name().to_owned())
    }
}

/// The kinds an integration of `kind` in `direction` with `settings` and `rules` syncs, and so
/// what it must be granted: inbound reads everything it can read; outbound writes the members
/// of managed groups (when a rule manages a group, or before it has rules), groups and their
/// members (when a rule provisions groups) and users and org units (when a rule provisions
/// users).
pub(crate) fn synced_kinds(
    kind: &dyn ConnectorKind,
    direction: DirectionKind,
    settings: &RemoteSettings,
    rules: &[SyncRule],
) -> Result<ObjectKinds, Error> {
    if direction != DirectionKind::Outbound {
        return Ok(kind.readable_kinds(settings)?);
    }
    let provisions = rules.iter().any(|r| r.provision_users.is_some());
    let groups = rules.iter().any(|r| r.provision_groups.is_some());
    let mut kinds = Vec::new();
    if (!provisions && !groups) || rules.iter().any(|r| r.assignment.is_some()) {
        kinds.push(ObjectKind::Memberships);
    }
    if groups {
        kinds.extend([ObjectKind::Groups, ObjectKind::Memberships]);
    }
    if provisions {
        kinds.extend([ObjectKind::Users, ObjectKind::OrgUnits]);
    }
    kinds.sort_unstable();
    kinds.dedup();
    Ok(ObjectKinds::new(kinds)?)
}
