//! Plans: deterministic, serialisable values with a stable id.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use dirsync_core::{
    DirectoryChanges, Email, ExternalId, IntegrationId, PlanId, QuarantinedRecord, RemoteChanges,
    Version,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ToDirectory {}
    impl Sealed for super::ToRemote {}
}

/// Where a plan's changes go. Implemented by [`ToDirectory`] and [`ToRemote`] only.
pub trait Destination: sealed::Sealed {
    /// The change set type applied there.
    type Changes: Clone + fmt::Debug + PartialEq + Serialize + DeserializeOwned;
}

/// Inbound plans: changes to the store.
#[derive(Debug)]
pub enum ToDirectory {}

/// Outbound plans: changes to the remote system.
#[derive(Debug)]
pub enum ToRemote {}

impl Destination for ToDirectory {
    type Changes = DirectoryChanges;
}

impl Destination for ToRemote {
    type Changes = RemoteChanges;
}

/// What happened to one kind of object, for summaries and run records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OpKind {
    /// Directory users provisioned.
    UsersCreated,
    /// Directory user profiles updated.
    UsersUpdated,
    /// Directory users suspended.
    UsersSuspended,
    /// Directory users reactivated.
    UsersReactivated,
    /// Directory users deprovisioned.
    UsersDeprovisioned,
    /// Deprovisioned users provisioned again (a rehire).
    UsersReprovisioned,
    /// Accounts seen for the first time.
    AccountsAdded,
    /// Accounts changed (email, attributes, link).
    AccountsUpdated,
    /// Accounts newly linked to a directory user by email.
    AccountsLinked,
    /// Accounts marked missing (grace running).
    AccountsMissing,
    /// Accounts back before their grace ended.
    AccountsReturned,
    /// Accounts removed.
    AccountsRemoved,
    /// Groups created.
    GroupsCreated,
    /// Groups updated.
    GroupsUpdated,
    /// Groups removed.
    GroupsRemoved,
    /// Memberships added.
    MembershipsAdded,
    /// Membership roles changed.
    MembershipsUpdated,
    /// Memberships removed.
    MembershipsRemoved,
    /// Org units created.
    OrgUnitsCreated,
    /// Org units updated.
    OrgUnitsUpdated,
    /// Org units removed.
    OrgUnitsRemoved,
    /// Members inserted into managed remote groups (outbound).
    RemoteMembersAdded,
    /// Members removed from managed remote groups (outbound).
    RemoteMembersRemoved,
    /// Roles of members of managed remote groups set back to the rule's (outbound).
    RemoteMemberRolesSet,
    /// Remote accounts created (outbound provisioning).
    RemoteUsersCreated,
    /// Remote accounts updated, or adopted (outbound provisioning).
    RemoteUsersUpdated,
    /// Remote accounts suspended (outbound provisioning).
    RemoteUsersSuspended,
    /// Remote accounts reactivated (outbound provisioning).
    RemoteUsersReactivated,
    /// Remote accounts deleted (outbound provisioning).
    RemoteUsersDeleted,
    /// Remote org units created (outbound provisioning).
    RemoteOrgUnitsCreated,
    /// Remote groups created (outbound provisioning).
    RemoteGroupsCreated,
    /// Remote groups updated, or adopted (outbound provisioning).
    RemoteGroupsUpdated,
    /// Remote groups deleted (outbound provisioning).
    RemoteGroupsDeleted,
}

impl OpKind {
    /// The snake_case name (as in run records).
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Operations per kind.
pub type Counts = BTreeMap<OpKind, u64>;

/// What the planner noticed besides the operations: records it could not use, managers it
/// could not resolve, cycles, users it protected, users in grace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanReport {
    /// Records left out (from the fetch and from planning), with reasons.
    pub quarantined: Vec<QuarantinedRecord>,
    /// Users whose manager's email matches no directory user: (user, manager email).
    pub unresolved_managers: Vec<(Email, Email)>,
    /// Manager cycles, each as the emails around the cycle.
    pub manager_cycles: Vec<Vec<Email>>,
    /// Users the policy protected from a suspension or deprovisioning: (user, reason).
    pub protected: Vec<(Email, String)>,
    /// Users missing from the source whose grace is still running: (user, runs missing).
    pub in_grace: Vec<(Email, u32)>,
    /// Outbound plans: the address of each managed group an operation names, by remote id
    /// (operations name groups by id; people read addresses).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub group_names: BTreeMap<ExternalId, Email>,
    /// Outbound plans: the primary email of each remote account an operation names, by remote
    /// id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub account_names: BTreeMap<ExternalId, Email>,
}

/// One tripped safeguard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trip {
    /// Which safeguard (`users`, `groups`, `memberships`).
    pub safeguard: String,
    /// How many destructive changes of that kind the plan holds.
    pub count: u64,
    /// Out of how many in the store.
    pub total: u64,
}

impl fmt::Display for Trip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to remove: {} of {} ({:.1} %)",
            self.safeguard,
            self.count,
            self.total,
            crate::policy::percent(self.count, self.total)
        )
    }
}

/// A plan: the changes to apply, what they were planned against, and why they may be held.
///
/// Deterministic: planning the same inputs at the same instant gives the same plan and the same
/// [`PlanId`], the SHA-256 of the canonical JSON of its integration, base version and changes.
/// The id is computed when first asked for ([`id`](Self::id), serializing, comparing): a plan
/// applied at once never needs it, and hashing a large plan is a noticeable part of planning.
#[derive(Debug)]
pub struct Plan<D: Destination> {
    id: OnceLock<PlanId>,
    integration: IntegrationId,
    based_on: Version,
    planned_at: DateTime<Utc>,
    changes: D::Changes,
    counts: Counts,
    report: PlanReport,
    trips: Vec<Trip>,
}

impl<D: Destination> Clone for Plan<D> {
    fn clone(&self) -> Self {
        Self {
            id: self.id.clone(),
            integration: self.integration,
            based_on: self.based_on,
            planned_at: self.planned_at,
            changes: self.changes.clone(),
            counts: self.counts.clone(),
            report: self.report.clone(),
            trips: self.trips.clone(),
        }
    }
}

impl<D: Destination> PartialEq for Plan<D> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
            && self.integration == other.integration
            && self.based_on == other.based_on
            && self.planned_at == other.planned_at
            && self.changes == other.changes
            && self.counts == other.counts
            && self.report == other.report
            && self.trips == other.trips
    }
}

/// A plan's serialized form (the field order is the stored JSON's): borrowed to write, owned
/// to read.
#[derive(Serialize, Deserialize)]
struct Stored<I, C, N, R, T> {
    id: I,
    integration: IntegrationId,
    based_on: Version,
    planned_at: DateTime<Utc>,
    changes: C,
    counts: N,
    report: R,
    trips: T,
}

impl<D: Destination> Serialize for Plan<D> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Stored {
            id: self.id(),
            integration: self.integration,
            based_on: self.based_on,
            planned_at: self.planned_at,
            changes: &self.changes,
            counts: &self.counts,
            report: &self.report,
            trips: &self.trips,
        }
        .serialize(serializer)
    }
}

impl<'de, D: Destination> Deserialize<'de> for Plan<D> {
    fn deserialize<De: serde::Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        let stored: Stored<PlanId, D::Changes, Counts, PlanReport, Vec<Trip>> =
            Stored::deserialize(deserializer)?;
        Ok(Self {
            id: OnceLock::from(stored.id),
            integration: stored.integration,
            based_on: stored.based_on,
            planned_at: stored.planned_at,
            changes: stored.changes,
            counts: stored.counts,
            report: stored.report,
            trips: stored.trips,
        })
    }
}

#[derive(Serialize)]
struct Identity<'a, C> {
    integration: IntegrationId,
    based_on: Version,
    changes: &'a C,
}

/// The id of a plan's content: the SHA-256 of its canonical JSON, streamed into the hash so
/// that a large plan is never held as text.
pub(crate) fn plan_id<C: Serialize>(
    integration: IntegrationId,
    based_on: Version,
    changes: &C,
) -> Result<PlanId, serde_json::Error> {
    let mut hasher = Digest(Sha256::new());
    let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, &mut hasher);
    serde_json::to_writer(
        &mut buffered,
        &Identity {
            integration,
            based_on,
            changes,
        },
    )?;
    std::io::Write::flush(&mut buffered).map_err(serde_json::Error::io)?;
    drop(buffered);
    let hex: String = hasher
        .0
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    PlanId::parse(&hex).map_err(serde::ser::Error::custom)
}

/// Feeds what is written into the hash.
struct Digest(Sha256);

impl std::io::Write for Digest {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<D: Destination> Plan<D> {
    /// Assembles a plan (its id is computed when first asked for).
    pub(crate) fn new(
        integration: IntegrationId,
        based_on: Version,
        planned_at: DateTime<Utc>,
        changes: D::Changes,
        counts: Counts,
        report: PlanReport,
        trips: Vec<Trip>,
    ) -> Self {
        Self {
            id: OnceLock::new(),
            integration,
            based_on,
            planned_at,
            changes,
            counts,
            report,
            trips,
        }
    }

    /// The id its content hashes to.
    fn content_id(&self) -> PlanId {
        plan_id(self.integration, self.based_on, &self.changes).unwrap_or_else(|e| {
            // serde_json fails only on a map keyed by something other than a string or a
            // number, which the (sealed) change types never hold; should one ever, the id is
            // still the digest of the whole content, in its Debug form.
            tracing::error!(error = %e, "a plan did not serialize: its id is of its Debug form");
            let content = format!(
                "{:?}{:?}{:?}",
                self.integration, self.based_on, self.changes
            );
            PlanId::digest(content.as_bytes())
        })
    }

    /// Its changes, counts and report, for a planner that reassembles it.
    pub(crate) fn into_parts(self) -> (D::Changes, Counts, PlanReport) {
        (self.changes, self.counts, self.report)
    }

    /// The same plan with these trips (a hold decided outside the planner).
    pub(crate) fn with_trips(mut self, trips: Vec<Trip>) -> Self {
        self.trips = trips;
        self
    }

    /// The plan's id (what an approval names).
    pub fn id(&self) -> &PlanId {
        self.id.get_or_init(|| self.content_id())
    }

    /// The integration.
    pub fn integration(&self) -> IntegrationId {
        self.integration
    }

    /// The store version it was planned against.
    pub fn based_on(&self) -> Version {
        self.based_on
    }

    /// When it was planned.
    pub fn planned_at(&self) -> DateTime<Utc> {
        self.planned_at
    }

    /// The changes.
    pub fn changes(&self) -> &D::Changes {
        &self.changes
    }

    /// Operations per kind.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// What the planner noticed.
    pub fn report(&self) -> &PlanReport {
        &self.report
    }

    /// The safeguards this plan trips; empty when it may be applied without approval.
    pub fn trips(&self) -> &[Trip] {
        &self.trips
    }

    /// Whether a safeguard holds it for approval.
    pub fn is_held(&self) -> bool {
        !self.trips.is_empty()
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.counts.values().all(|&c| c == 0)
    }

    /// Whether its content still hashes to its id (a deserialized plan may have been altered).
    pub fn verify(&self) -> bool {
        match self.id.get() {
            // Computed here from this content: nothing to compare.
            None => true,
            Some(id) => self.content_id() == *id,
        }
    }

    /// The plan as JSON (the dry run, and what a held plan stores).
    ///
    /// # Errors
    /// Serialization failure (not expected for these types).
    pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    /// Counts as `name → n` for a run record.
    pub fn count_names(&self) -> BTreeMap<String, u64> {
        self.counts.iter().map(|(k, v)| (k.name(), *v)).collect()
    }
}

impl<D: Destination> fmt::Display for Plan<D> {
    /// A human summary: one line per kind of change, then what was noticed and what holds it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "plan {} (integration {}, based on {})",
            self.id(),
            self.integration,
            self.based_on
        )?;
        if self.is_empty() {
            writeln!(f, "  no changes")?;
        }
        for (kind, count) in self.counts.iter().filter(|(_, c)| **c > 0) {
            writeln!(f, "  {:<22} {count}", kind.name().replace('_', " "))?;
        }
        let r = &self.report;
        if !r.quarantined.is_empty() {
            writeln!(f, "  quarantined            {}", r.quarantined.len())?;
            for q in r.quarantined.iter().take(10) {
                writeln!(f, "    {} {}: {}", q.kind, q.label, q.reason)?;
            }
        }
        for (user, manager) in r.unresolved_managers.iter().take(10) {
            writeln!(f, "  manager of {user} not found: {manager}")?;
        }
        for cycle in &r.manager_cycles {
            let names: Vec<&str> = cycle.iter().map(Email::as_str).collect();
            writeln!(f, "  manager cycle: {}", names.join(" -> "))?;
        }
        for (user, why) in &r.protected {
            writeln!(f, "  protected {user}: {why}")?;
        }
        if !r.in_grace.is_empty() {
            writeln!(f, "  missing, in grace      {}", r.in_grace.len())?;
        }
        for trip in &self.trips {
            writeln!(f, "  HELD by safeguard: {trip}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use dirsync_core::{ExternalId, MemberKind, MembershipKey};

    use super::*;

    #[test]
    fn the_streamed_id_is_the_digest_of_the_whole_json() {
        // Large enough to cross the write buffer several times.
        let changes: Vec<MembershipKey> = (0..20_000)
            .map(|i| MembershipKey {
                group: ExternalId::new(format!("g{}", i % 7)).unwrap_or_else(|e| panic!("{e}")),
                kind: MemberKind::User,
                member: ExternalId::new(format!("u{i}")).unwrap_or_else(|e| panic!("{e}")),
            })
            .collect();
        let integration = IntegrationId::random();
        let based_on = Version(3);
        let whole = serde_json::to_vec(&Identity {
            integration,
            based_on,
            changes: &changes,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(whole.len() > 3 * 64 * 1024);
        let id = plan_id(integration, based_on, &changes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id, PlanId::digest(&whole));
    }

    #[test]
    fn an_id_computed_when_asked_for_is_written_first_and_read_back() {
        let integration = IntegrationId::random();
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let empty = || -> RemoteChanges {
            serde_json::from_value(serde_json::json!({
                "integration": integration, "base": 4, "ops": []
            }))
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let plan = Plan::<ToRemote>::new(
            integration,
            Version(4),
            at,
            empty(),
            Counts::new(),
            PlanReport::default(),
            Vec::new(),
        );
        let expected = plan_id(integration, Version(4), &empty()).unwrap_or_else(|e| panic!("{e}"));
        let text = serde_json::to_string(&plan).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text.starts_with(&format!("{{\"id\":\"{expected}\",\"integration\"")),
            "{text}"
        );
        let back: Plan<ToRemote> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.id(), &expected);
        assert!(back.verify() && plan.verify());
        assert_eq!(back, plan);
        // A stored id its content does not hash to is caught.
        let other = "0".repeat(64);
        let altered = text.replacen(expected.as_str(), &other, 1);
        let altered: Plan<ToRemote> =
            serde_json::from_str(&altered).unwrap_or_else(|e| panic!("{e}"));
        assert!(!altered.verify());
    }
}
