//! Snapshots: the complete state of a remote directory for one rule scope.
//!
//! A [`Snapshot`] can only be made by [`SnapshotBuilder::finish`], and `finish` succeeds only when
//! every page chain that was started has been followed to its last page, every kind the scope
//! asks for has been fetched, and every group's members have been read (or the remote said the
//! group is empty). So a fetch that fails part-way yields an error, never a smaller snapshot —
//! and only a snapshot may ever justify a delete.
//!
//! ```
//! use chrono::Utc;
//! use dirsync_core::*;
//!
//! let kinds = ObjectKinds::new([ObjectKind::Users])?;
//! let mut b = SnapshotBuilder::new(kinds, ScopeFilter::everything(), Utc::now());
//! let ada = RemoteUser::new(ExternalId::new("100")?, Email::new("ada@example.com")?);
//! b.users_page(vec![ada], Some("page-2"))?;
//! // The chain is not finished yet: finishing now is an error, not a partial snapshot.
//! assert!(b.clone().finish().is_err());
//! b.users_page(vec![], None)?;
//! let snapshot = b.finish()?;
//! assert_eq!(snapshot.users().len(), 1);
//! # Ok::<(), dirsync_core::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Attributes, Email, EmploymentType, Error, ExternalId, Member, MemberRole, ObjectKind,
    ObjectKinds, OrgUnitPath, PersonName, ProvisioningMarker, ScopeFilter,
};

/// A user as the remote reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteUser {
    /// The remote's immutable id.
    pub external_id: ExternalId,
    /// Primary email.
    pub primary_email: Email,
    /// Name.
    pub name: PersonName,
    /// Suspended in the remote.
    pub suspended: bool,
    /// Archived in the remote.
    pub archived: bool,
    /// An administrator in the remote.
    pub is_admin: bool,
    /// Organizational unit.
    pub org_unit: Option<OrgUnitPath>,
    /// Employee id.
    pub employee_id: Option<String>,
    /// Manager's email.
    pub manager_email: Option<Email>,
    /// Employee or contractor.
    pub employment_type: Option<EmploymentType>,
    /// Per-vendor attributes.
    pub attributes: Attributes,
    /// When the remote created it.
    pub created_at: Option<DateTime<Utc>>,
    /// The marker an outbound integration wrote when it created or adopted the account
    /// ([`ProvisioningMarker`]), if it carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<ProvisioningMarker>,
}

impl RemoteUser {
    /// A user with only an id and an email, everything else empty or false.
    pub fn new(external_id: ExternalId, primary_email: Email) -> Self {
        Self {
            external_id,
            primary_email,
            name: PersonName::default(),
            suspended: false,
            archived: false,
            is_admin: false,
            org_unit: None,
            employee_id: None,
            manager_email: None,
            employment_type: None,
            attributes: Attributes::new(),
            created_at: None,
            marker: None,
        }
    }
}

/// A user the remote reports as deleted: positive evidence that they are gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedUser {
    /// The remote's immutable id.
    pub external_id: ExternalId,
    /// The email it had, when reported.
    pub primary_email: Option<Email>,
    /// When it was deleted, when reported.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A group as the remote reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteGroup {
    /// The remote's immutable id.
    pub external_id: ExternalId,
    /// Email.
    pub email: Email,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The remote's count of direct members; `Some(0)` means no member listing is needed.
    pub direct_members_count: Option<u64>,
}

/// One membership as the remote reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteMember {
    /// The group's remote id.
    pub group: ExternalId,
    /// The member.
    pub member: Member,
    /// Role.
    pub role: MemberRole,
}

/// An organizational unit as the remote reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteOrgUnit {
    /// The remote's immutable id.
    pub external_id: ExternalId,
    /// Path.
    pub path: OrgUnitPath,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The parent's remote id.
    pub parent: Option<ExternalId>,
}

/// A record that could not be used: kept out of the snapshot, reported, and never a reason to
/// delete the object it would have been (its id, when known, counts as present).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedRecord {
    /// The kind of object.
    pub kind: ObjectKind,
    /// The remote's id, when it could be read.
    pub external_id: Option<ExternalId>,
    /// What identifies it for a human (an email, a raw id), shortened.
    pub label: String,
    /// Why it was quarantined.
    pub reason: String,
}

/// A page chain: one paginated listing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Chain {
    /// Org units (a single, unpaginated response).
    OrgUnits,
    /// Users.
    Users,
    /// Deleted users (the second, `showDeleted` listing).
    DeletedUsers,
    /// Groups.
    Groups,
    /// The members of one group.
    Members(ExternalId),
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OrgUnits => f.write_str("org units"),
            Self::Users => f.write_str("users"),
            Self::DeletedUsers => f.write_str("deleted users"),
            Self::Groups => f.write_str("groups"),
            Self::Members(g) => write!(f, "members of group {g}"),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct ChainState {
    tokens: HashSet<String>,
    pages: u64,
    done: bool,
}

/// Page-chain evidence kept with a snapshot: how many pages each listing had.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completeness {
    /// Pages per listing kind (`users`, `deleted_users`, `groups`, `members`, `org_units`).
    pub pages: BTreeMap<String, u64>,
    /// How many groups' member listings were skipped because the remote counts no members.
    pub empty_groups_skipped: u64,
}

/// Inserts `value` unless `key` is taken; a second value for a key is handed back.
fn insert_first<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, value: V) -> Result<(), V> {
    match map.entry(key) {
        std::collections::btree_map::Entry::Vacant(slot) => {
            slot.insert(value);
            Ok(())
        }
        std::collections::btree_map::Entry::Occupied(_) => Err(value),
    }
}

/// Collects pages of a fetch and seals them into a [`Snapshot`] once every chain is complete.
#[derive(Debug, Clone)]
pub struct SnapshotBuilder {
    kinds: ObjectKinds,
    filter: ScopeFilter,
    fetched_at: DateTime<Utc>,
    chains: BTreeMap<Chain, ChainState>,
    users: BTreeMap<ExternalId, RemoteUser>,
    deleted_users: BTreeMap<ExternalId, DeletedUser>,
    groups: BTreeMap<ExternalId, RemoteGroup>,
    /// Each group's members as they arrived (sorted and rid of duplicates by `finish`): a key
    /// is not copied a member, and a vector holds a tenant's 10M members in a third of what a
    /// B-tree over (group, kind, member) takes.
    members: BTreeMap<ExternalId, Vec<RemoteMember>>,
    org_units: BTreeMap<ExternalId, RemoteOrgUnit>,
    quarantined: Vec<QuarantinedRecord>,
}

impl SnapshotBuilder {
    /// Starts a snapshot of `kinds` within `filter`, as fetched at `fetched_at`.
    pub fn new(kinds: ObjectKinds, filter: ScopeFilter, fetched_at: DateTime<Utc>) -> Self {
        Self {
            kinds,
            filter,
            fetched_at,
            chains: BTreeMap::new(),
            users: BTreeMap::new(),
            deleted_users: BTreeMap::new(),
            groups: BTreeMap::new(),
            members: BTreeMap::new(),
            org_units: BTreeMap::new(),
            quarantined: Vec::new(),
        }
    }

    /// Records one page of `chain` whose `nextPageToken` was `next` (`None` or empty: last page).
    fn page(&mut self, chain: Chain, next: Option<&str>) -> Result<(), Error> {
        let state = self.chains.entry(chain.clone()).or_default();
        if state.done {
            return Err(Error::PageChain {
                chain: chain.to_string(),
                reason: "a page arrived after the last page".to_owned(),
            });
        }
        state.pages += 1;
        match next.filter(|t| !t.is_empty()) {
            None => state.done = true,
            Some(token) => {
                if !state.tokens.insert(token.to_owned()) {
                    return Err(Error::PageChain {
                        chain: chain.to_string(),
                        reason: format!("page token repeated after {} pages (a loop)", state.pages),
                    });
                }
            }
        }
        Ok(())
    }

    fn duplicate(&mut self, kind: ObjectKind, id: &ExternalId, label: String) {
        self.quarantined.push(QuarantinedRecord {
            kind,
            external_id: Some(id.clone()),
            label,
            reason: "the same id appeared twice in one listing; the first was kept".to_owned(),
        });
    }

    /// Adds one page of users.
    ///
    /// # Errors
    /// [`Error::PageChain`] if the chain already ended or a page token repeats.
    pub fn users_page(&mut self, users: Vec<RemoteUser>, next: Option<&str>) -> Result<(), Error> {
        self.page(Chain::Users, next)?;
        for user in users {
            if let Err(dup) = insert_first(&mut self.users, user.external_id.clone(), user) {
                self.duplicate(
                    ObjectKind::Users,
                    &dup.external_id,
                    dup.primary_email.to_string(),
                );
            }
        }
        Ok(())
    }

    /// Adds one page of the deleted-users listing.
    ///
    /// # Errors
    /// [`Error::PageChain`] if the chain already ended or a page token repeats.
    pub fn deleted_users_page(
        &mut self,
        users: Vec<DeletedUser>,
        next: Option<&str>,
    ) -> Result<(), Error> {
        self.page(Chain::DeletedUsers, next)?;
        for user in users {
            self.deleted_users
                .entry(user.external_id.clone())
                .or_insert(user);
        }
        Ok(())
    }

    /// Adds one page of groups.
    ///
    /// # Errors
    /// [`Error::PageChain`] if the chain already ended or a page token repeats.
    pub fn groups_page(
        &mut self,
        groups: Vec<RemoteGroup>,
        next: Option<&str>,
    ) -> Result<(), Error> {
        self.page(Chain::Groups, next)?;
        for group in groups {
            if let Err(dup) = insert_first(&mut self.groups, group.external_id.clone(), group) {
                self.duplicate(ObjectKind::Groups, &dup.external_id, dup.email.to_string());
            }
        }
        Ok(())
    }

    /// Adds one page of one group's members. Every member must belong to `group`.
    ///
    /// # Errors
    /// [`Error::PageChain`] if the chain already ended, a page token repeats, or a member names
    /// another group.
    pub fn members_page(
        &mut self,
        group: &ExternalId,
        members: Vec<RemoteMember>,
        next: Option<&str>,
    ) -> Result<(), Error> {
        let chain = Chain::Members(group.clone());
        if let Some(stray) = members.iter().find(|m| &m.group != group) {
            return Err(Error::PageChain {
                chain: chain.to_string(),
                reason: format!("a member of group {} arrived on this chain", stray.group),
            });
        }
        self.page(chain, next)?;
        if !members.is_empty() {
            self.members
                .entry(group.clone())
                .or_default()
                .extend(members);
        }
        Ok(())
    }

    /// Adds the org-unit listing (unpaginated: one call returns the whole tree).
    ///
    /// # Errors
    /// [`Error::PageChain`] if org units were already added.
    pub fn org_units(&mut self, units: Vec<RemoteOrgUnit>) -> Result<(), Error> {
        self.page(Chain::OrgUnits, None)?;
        for unit in units {
            if let Err(dup) = insert_first(&mut self.org_units, unit.external_id.clone(), unit) {
                self.duplicate(ObjectKind::OrgUnits, &dup.external_id, dup.path.to_string());
            }
        }
        Ok(())
    }

    /// Records a record that could not be mapped.
    pub fn quarantine(&mut self, record: QuarantinedRecord) {
        self.quarantined.push(record);
    }

    /// Seals the snapshot.
    ///
    /// # Errors
    /// [`Error::IncompleteSnapshot`] if a started chain did not reach its last page, a kind in
    /// scope was never fetched, a group (other than one the remote counts as empty) has no
    /// complete member listing, or members were listed for a group that is not in the snapshot.
    pub fn finish(mut self) -> Result<Snapshot, Error> {
        let incomplete = |missing: String| Err(Error::IncompleteSnapshot { missing });
        for (chain, state) in &self.chains {
            if !state.done {
                let pages = state.pages;
                let plural = if pages == 1 { "" } else { "s" };
                return incomplete(format!(
                    "{chain}: stopped after {pages} page{plural}; the next page was never fetched"
                ));
            }
        }
        let done = |c: &Chain| self.chains.get(c).is_some_and(|s| s.done);
        for kind in self.kinds.iter() {
            let chain = match kind {
                ObjectKind::OrgUnits => Chain::OrgUnits,
                ObjectKind::Users => Chain::Users,
                ObjectKind::Groups | ObjectKind::Memberships => Chain::Groups,
            };
            if !done(&chain) {
                return incomplete(format!("{chain} were never fetched"));
            }
        }
        let mut empty_groups_skipped = 0;
        if self.kinds.contains(ObjectKind::Memberships) {
            for group in self.groups.values() {
                if !done(&Chain::Members(group.external_id.clone())) {
                    if group.direct_members_count == Some(0) {
                        empty_groups_skipped += 1;
                    } else {
                        return incomplete(format!(
                            "members of group {} were never fetched",
                            group.email
                        ));
                    }
                }
            }
        }
        for chain in self.chains.keys() {
            if let Chain::Members(g) = chain
                && !self.groups.contains_key(g)
            {
                return incomplete(format!(
                    "members were listed for group {g}, which is not in the group listing"
                ));
            }
        }
        let mut pages: BTreeMap<String, u64> = BTreeMap::new();
        for (chain, state) in &self.chains {
            let key = match chain {
                Chain::OrgUnits => "org_units",
                Chain::Users => "users",
                Chain::DeletedUsers => "deleted_users",
                Chain::Groups => "groups",
                Chain::Members(_) => "members",
            };
            *pages.entry(key.to_owned()).or_default() += state.pages;
        }
        let mut members = Vec::with_capacity(self.members.values().map(Vec::len).sum());
        for (_, mut of_group) in std::mem::take(&mut self.members) {
            // Stable: of two members with one key, the first to arrive is kept.
            of_group.sort_by(|a, b| {
                (a.member.kind, &a.member.external_id).cmp(&(b.member.kind, &b.member.external_id))
            });
            for m in of_group {
                let repeated = members.last().is_some_and(|last: &RemoteMember| {
                    last.group == m.group
                        && last.member.kind == m.member.kind
                        && last.member.external_id == m.member.external_id
                });
                if repeated {
                    let label = format!("{} in {}", m.member.external_id, m.group);
                    self.duplicate(ObjectKind::Memberships, &m.member.external_id, label);
                } else {
                    members.push(m);
                }
            }
        }
        Ok(Snapshot {
            kinds: self.kinds,
            filter: self.filter,
            fetched_at: self.fetched_at,
            users: self.users.into_values().collect(),
            deleted_users: self.deleted_users.into_values().collect(),
            groups: self.groups.into_values().collect(),
            members,
            org_units: self.org_units.into_values().collect(),
            quarantined: self.quarantined,
            completeness: Completeness {
                pages,
                empty_groups_skipped,
            },
        })
    }
}

/// The complete state of a remote directory for one scope. Built only by
/// [`SnapshotBuilder::finish`]; items are sorted by remote id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    kinds: ObjectKinds,
    filter: ScopeFilter,
    fetched_at: DateTime<Utc>,
    users: Vec<RemoteUser>,
    deleted_users: Vec<DeletedUser>,
    groups: Vec<RemoteGroup>,
    members: Vec<RemoteMember>,
    org_units: Vec<RemoteOrgUnit>,
    quarantined: Vec<QuarantinedRecord>,
    completeness: Completeness,
}

impl Snapshot {
    /// The kinds it covers.
    pub fn kinds(&self) -> &ObjectKinds {
        &self.kinds
    }

    /// The scope filter it was fetched with.
    pub fn filter(&self) -> &ScopeFilter {
        &self.filter
    }

    /// When it was fetched.
    pub fn fetched_at(&self) -> DateTime<Utc> {
        self.fetched_at
    }

    /// Users.
    pub fn users(&self) -> &[RemoteUser] {
        &self.users
    }

    /// Users the remote reports as deleted.
    pub fn deleted_users(&self) -> &[DeletedUser] {
        &self.deleted_users
    }

    /// Groups.
    pub fn groups(&self) -> &[RemoteGroup] {
        &self.groups
    }

    /// Memberships.
    pub fn members(&self) -> &[RemoteMember] {
        &self.members
    }

    /// Org units.
    pub fn org_units(&self) -> &[RemoteOrgUnit] {
        &self.org_units
    }

    /// Records that could not be used.
    pub fn quarantined(&self) -> &[QuarantinedRecord] {
        &self.quarantined
    }

    /// The page-chain evidence.
    pub fn completeness(&self) -> &Completeness {
        &self.completeness
    }

    /// Whether it holds no object at all (an empty snapshot where the store has data is refused
    /// by the engine).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.groups.is_empty()
            && self.members.is_empty()
            && self.org_units.is_empty()
    }

    /// Ids of quarantined records, which must be treated as present.
    pub fn quarantined_ids(&self) -> BTreeSet<&ExternalId> {
        self.quarantined
            .iter()
            .filter_map(|q| q.external_id.as_ref())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemberKind;

    fn id(s: &str) -> ExternalId {
        ExternalId::new(s).unwrap()
    }

    fn user(i: &str) -> RemoteUser {
        RemoteUser::new(id(i), Email::new(format!("u{i}@example.com")).unwrap())
    }

    fn group(i: &str, count: Option<u64>) -> RemoteGroup {
        RemoteGroup {
            external_id: id(i),
            email: Email::new(format!("g{i}@example.com")).unwrap(),
            name: i.to_owned(),
            description: String::new(),
            direct_members_count: count,
        }
    }

    fn member(g: &str, u: &str) -> RemoteMember {
        RemoteMember {
            group: id(g),
            member: Member {
                kind: MemberKind::User,
                external_id: id(u),
                email: None,
            },
            role: MemberRole::Member,
        }
    }

    fn builder(kinds: &[ObjectKind]) -> SnapshotBuilder {
        SnapshotBuilder::new(
            ObjectKinds::new(kinds.iter().copied()).unwrap(),
            ScopeFilter::everything(),
            Utc::now(),
        )
    }

    #[test]
    fn a_chain_must_reach_its_last_page() {
        let mut b = builder(&[ObjectKind::Users]);
        b.users_page(vec![user("1")], Some("t1")).unwrap();
        b.users_page(vec![user("2")], Some("t2")).unwrap();
        assert!(matches!(
            b.clone().finish(),
            Err(Error::IncompleteSnapshot { .. })
        ));
        b.users_page(vec![user("3")], Some("")).unwrap();
        let s = b.finish().unwrap();
        assert_eq!(s.users().len(), 3);
        assert_eq!(s.completeness().pages.get("users"), Some(&3));
    }

    #[test]
    fn a_kind_in_scope_must_be_fetched() {
        let b = builder(&[ObjectKind::Users, ObjectKind::OrgUnits]);
        let mut b2 = b.clone();
        b2.users_page(vec![], None).unwrap();
        match b2.finish() {
            Err(Error::IncompleteSnapshot { missing }) => {
                assert!(missing.contains("org units"), "{missing}")
            }
            other => panic!("{other:?}"),
        }
        assert!(b.finish().is_err());
    }

    #[test]
    fn repeated_tokens_and_late_pages_are_errors() {
        let mut b = builder(&[ObjectKind::Users]);
        b.users_page(vec![], Some("a")).unwrap();
        b.users_page(vec![], Some("b")).unwrap();
        assert!(matches!(
            b.users_page(vec![], Some("a")),
            Err(Error::PageChain { .. })
        ));
        let mut b = builder(&[ObjectKind::Users]);
        b.users_page(vec![], None).unwrap();
        assert!(matches!(
            b.users_page(vec![], None),
            Err(Error::PageChain { .. })
        ));
        let mut b = builder(&[ObjectKind::OrgUnits]);
        b.org_units(vec![]).unwrap();
        assert!(b.org_units(vec![]).is_err());
    }

    #[test]
    fn every_group_needs_its_members_unless_counted_empty() {
        let mut b = builder(&[ObjectKind::Groups, ObjectKind::Memberships]);
        b.groups_page(
            vec![
                group("g1", Some(2)),
                group("g2", Some(0)),
                group("g3", None),
            ],
            None,
        )
        .unwrap();
        b.members_page(
            &id("g1"),
            vec![member("g1", "u1"), member("g1", "u2")],
            None,
        )
        .unwrap();
        match b.clone().finish() {
            Err(Error::IncompleteSnapshot { missing }) => {
                assert!(missing.contains("gg3@"), "{missing}")
            }
            other => panic!("{other:?}"),
        }
        b.members_page(&id("g3"), vec![], None).unwrap();
        let s = b.finish().unwrap();
        assert_eq!(s.members().len(), 2);
        assert_eq!(s.completeness().empty_groups_skipped, 1);
    }

    #[test]
    fn groups_without_memberships_kind_need_no_members() {
        let mut b = builder(&[ObjectKind::Groups]);
        b.groups_page(vec![group("g1", Some(5))], None).unwrap();
        assert!(b.finish().is_ok());
    }

    #[test]
    fn members_of_an_unknown_group_or_on_the_wrong_chain_are_refused() {
        let mut b = builder(&[ObjectKind::Groups, ObjectKind::Memberships]);
        assert!(
            b.members_page(&id("g1"), vec![member("g2", "u1")], None)
                .is_err()
        );
        b.members_page(&id("g9"), vec![member("g9", "u1")], None)
            .unwrap();
        b.groups_page(vec![], None).unwrap();
        assert!(matches!(b.finish(), Err(Error::IncompleteSnapshot { .. })));
    }

    #[test]
    fn duplicate_ids_are_quarantined_not_dropped_silently() {
        let mut b = builder(&[ObjectKind::Users]);
        let mut second = user("1");
        second.primary_email = Email::new("other@example.com").unwrap();
        b.users_page(vec![user("1"), second], None).unwrap();
        let s = b.finish().unwrap();
        assert_eq!(s.users().len(), 1);
        assert_eq!(s.users()[0].primary_email.as_str(), "u1@example.com");
        assert_eq!(s.quarantined().len(), 1);
        assert_eq!(s.quarantined()[0].label, "other@example.com");
        assert!(s.quarantined_ids().contains(&id("1")));
    }

    #[test]
    fn members_are_sorted_by_key_and_a_repeated_member_is_quarantined() {
        let mut b = builder(&[ObjectKind::Groups, ObjectKind::Memberships]);
        b.groups_page(vec![group("g2", None), group("g1", None)], None)
            .unwrap();
        let mut owner = member("g1", "u1");
        owner.role = MemberRole::Owner;
        b.members_page(&id("g2"), vec![member("g2", "u9")], None)
            .unwrap();
        b.members_page(&id("g1"), vec![member("g1", "u3"), owner], Some("t"))
            .unwrap();
        b.members_page(&id("g1"), vec![member("g1", "u1")], None)
            .unwrap();
        let s = b.finish().unwrap();
        let keys: Vec<(&str, &str)> = s
            .members()
            .iter()
            .map(|m| (m.group.as_str(), m.member.external_id.as_str()))
            .collect();
        assert_eq!(keys, [("g1", "u1"), ("g1", "u3"), ("g2", "u9")]);
        // The first to arrive is kept; the repeat is quarantined.
        assert_eq!(s.members()[0].role, MemberRole::Owner);
        assert_eq!(s.quarantined().len(), 1);
        assert_eq!(s.quarantined()[0].label, "u1 in g1");
    }

    #[test]
    fn an_unstarted_deleted_users_chain_is_optional_but_a_started_one_must_finish() {
        let mut b = builder(&[ObjectKind::Users]);
        b.users_page(vec![], None).unwrap();
        b.deleted_users_page(vec![], Some("x")).unwrap();
        assert!(b.clone().finish().is_err());
        b.deleted_users_page(
            vec![DeletedUser {
                external_id: id("7"),
                primary_email: None,
                deleted_at: None,
            }],
            None,
        )
        .unwrap();
        assert_eq!(b.finish().unwrap().deleted_users().len(), 1);
    }
}
