//! Groups and memberships of any inbound integration: its own, memberships merge-joined by key.

use foldhash::{HashMap, HashSet, HashSetExt};

use dirsync_core::{
    DirectoryOp, ExternalId, Group, GroupId, MemberKind, Membership, ObjectKind, RemoteMember,
};
use std::cmp::Ordering;

use super::Planner;
use crate::plan::OpKind;

impl<'a> Planner<'a> {
    /// Groups and memberships, in three steps: groups written, memberships merge-joined, then
    /// the groups gone from the source removed.
    pub(super) fn groups_and_memberships(&mut self) {
        let kinds = self.snapshot.kinds();
        let with_members = kinds.contains(ObjectKind::Memberships);
        if !kinds.contains(ObjectKind::Groups) && !with_members {
            return;
        }
        let groups = self.upsert_groups();
        if with_members {
            self.memberships(&groups);
        }
        self.remove_groups(&groups.removed);
    }

    /// Writes the groups in scope that differ from the stored ones; returns the stored groups
    /// with the ones kept and the ones gone from the source.
    fn upsert_groups(&mut self) -> GroupsSeen<'a> {
        let filter = self.snapshot.filter();
        let view = self.view;
        let current: HashMap<&ExternalId, &Group> =
            view.groups.iter().map(|g| (&g.external_id, g)).collect();
        let mut kept: HashSet<&ExternalId> = HashSet::new();
        for remote in self
            .snapshot
            .groups()
            .iter()
            .filter(|g| filter.includes_group(&g.email))
        {
            kept.insert(&remote.external_id);
            let existing = current.get(&remote.external_id);
            let desired = Group {
                id: existing.map_or_else(
                    || GroupId::derived(self.id.as_uuid(), remote.external_id.as_str().as_bytes()),
                    |g| g.id,
                ),
                integration: self.id,
                external_id: remote.external_id.clone(),
                email: remote.email.clone(),
                name: remote.name.clone(),
                description: remote.description.clone(),
            };
            match existing {
                Some(c) if **c == desired => {}
                Some(_) => {
                    self.count(OpKind::GroupsUpdated);
                    self.changes.push(DirectoryOp::UpsertGroup(desired));
                }
                None => {
                    self.count(OpKind::GroupsCreated);
                    self.changes.push(DirectoryOp::UpsertGroup(desired));
                }
            }
        }
        let removed: HashSet<&ExternalId> = view
            .groups
            .iter()
            .filter(|g| {
                !kept.contains(&g.external_id)
                    && !self.present.contains(&g.external_id)
                    && filter.includes_group(&g.email)
            })
            .map(|g| &g.external_id)
            .collect();
        GroupsSeen {
            current,
            kept,
            removed,
        }
    }

    /// The memberships of the kept groups, by a merge join of two lists sorted by key (no map,
    /// no key copied). Memberships of a removed group (or of a removed group as member) are
    /// counted for the safeguard but not written: removing the group cascades.
    fn memberships(&mut self, groups: &GroupsSeen<'a>) {
        let GroupsSeen {
            current,
            kept,
            removed,
        } = groups;
        let filter = self.snapshot.filter();
        let view = self.view;
        let in_scope = |group: &ExternalId| {
            kept.contains(group)
                || removed.contains(group)
                || current
                    .get(group)
                    .is_some_and(|g| filter.includes_group(&g.email))
        };
        let wanted: Vec<&'a RemoteMember> = sorted_by_key(
            self.snapshot
                .members()
                .iter()
                .filter(|m| kept.contains(&m.group))
                .collect(),
            remote_key,
        );
        let stored: Vec<&'a Membership> =
            sorted_by_key(view.memberships.iter().collect(), stored_key);
        // A merge join of two lists sorted by key: no map, no key copied.
        let mut upserts: Vec<(OpKind, &'a RemoteMember)> = Vec::new();
        let (mut w, mut s) = (0, 0);
        // The group of the last stored membership looked at, and whether it is in scope.
        let mut scope: Option<(&ExternalId, bool)> = None;
        while w < wanted.len() || s < stored.len() {
            let order = match (wanted.get(w), stored.get(s)) {
                (Some(r), Some(m)) => remote_key(r).cmp(&stored_key(m)),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            match order {
                Ordering::Equal => {
                    let (r, m) = (wanted[w], stored[s]);
                    if m.integration != self.id || m.member != r.member || m.role != r.role {
                        upserts.push((OpKind::MembershipsUpdated, r));
                    }
                    w += 1;
                    s += 1;
                }
                Ordering::Less => {
                    upserts.push((OpKind::MembershipsAdded, wanted[w]));
                    w += 1;
                }
                Ordering::Greater => {
                    let m = stored[s];
                    s += 1;
                    let group_in_scope = match scope {
                        Some((g, yes)) if *g == m.group => yes,
                        _ => {
                            let yes = in_scope(&m.group);
                            scope = Some((&m.group, yes));
                            yes
                        }
                    };
                    if !group_in_scope {
                        continue;
                    }
                    self.memberships_removed += 1;
                    let cascaded = removed.contains(&m.group)
                        || (m.member.kind == dirsync_core::MemberKind::Group
                            && removed.contains(&m.member.external_id));
                    if !cascaded {
                        self.count(OpKind::MembershipsRemoved);
                        self.changes.push(DirectoryOp::RemoveMembership(m.key()));
                    }
                }
            }
        }
        for (kind, r) in upserts {
            self.count(kind);
            self.changes.push(DirectoryOp::UpsertMembership(Membership {
                integration: self.id,
                group: r.group.clone(),
                member: r.member.clone(),
                role: r.role,
            }));
        }
    }

    /// Removes the stored groups gone from the source.
    fn remove_groups(&mut self, removed: &HashSet<&'a ExternalId>) {
        let view = self.view;
        for group in &view.groups {
            if removed.contains(&group.external_id) {
                self.groups_removed += 1;
                self.count(OpKind::GroupsRemoved);
                self.changes.push(DirectoryOp::RemoveGroup {
                    external_id: group.external_id.clone(),
                });
            }
        }
    }
}

/// The stored groups by remote id, and which of them the snapshot keeps or removes.
struct GroupsSeen<'a> {
    current: HashMap<&'a ExternalId, &'a Group>,
    kept: HashSet<&'a ExternalId>,
    removed: HashSet<&'a ExternalId>,
}

/// A membership's identity, borrowed: (group, member kind, member id).
type KeyRef<'k> = (&'k ExternalId, MemberKind, &'k ExternalId);

fn remote_key(m: &RemoteMember) -> KeyRef<'_> {
    (&m.group, m.member.kind, &m.member.external_id)
}

fn stored_key(m: &Membership) -> KeyRef<'_> {
    (&m.group, m.member.kind, &m.member.external_id)
}

/// `items` sorted by `key`: left as they are when they already are (the snapshot and the view
/// promise it, so this is one linear check), sorted otherwise.
fn sorted_by_key<T>(mut items: Vec<&T>, key: fn(&T) -> KeyRef<'_>) -> Vec<&T> {
    if !items.is_sorted_by(|a, b| key(a) <= key(b)) {
        items.sort_by(|a, b| key(a).cmp(&key(b)));
    }
    items
}

#[cfg(test)]
mod tests {
    use dirsync_core::{IntegrationId, Member, MemberRole};

    use super::*;

    pub(super) fn membership(
        integration: IntegrationId,
        group: &str,
        kind: MemberKind,
        member: &str,
    ) -> Membership {
        Membership {
            integration,
            group: ExternalId::new(group).unwrap_or_else(|e| panic!("{e}")),
            member: Member {
                kind,
                external_id: ExternalId::new(member).unwrap_or_else(|e| panic!("{e}")),
                email: None,
            },
            role: MemberRole::Member,
        }
    }

    #[test]
    pub(super) fn the_merge_join_input_is_sorted_by_key_whatever_order_it_came_in() {
        let id = IntegrationId::random();
        let rows = [
            membership(id, "g2", MemberKind::User, "a"),
            membership(id, "g1", MemberKind::Group, "b"),
            membership(id, "g1", MemberKind::User, "c"),
            membership(id, "g1", MemberKind::User, "a"),
        ];
        let keys = |list: &[&Membership]| -> Vec<dirsync_core::MembershipKey> {
            list.iter().map(|m| m.key()).collect()
        };
        let mut expected: Vec<&Membership> = rows.iter().collect();
        expected.sort_by_key(|m| m.key());
        let shuffled = sorted_by_key(rows.iter().collect(), stored_key);
        assert_eq!(keys(&shuffled), keys(&expected));
        // Already sorted: left as it is.
        let again = sorted_by_key(expected.clone(), stored_key);
        assert_eq!(keys(&again), keys(&expected));
    }
}
