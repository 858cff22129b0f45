#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{TimeZone, Utc};
use dirsync_core::{GroupSource, IntegrationId, Member};
use proptest::prelude::*;

use super::*;

fn email(s: &str) -> Email {
    Email::new(s).unwrap()
}

fn xid(s: &str) -> ExternalId {
    ExternalId::new(s).unwrap()
}

fn loose() -> Threshold {
    Threshold::new(u64::MAX, 100.0, u64::MAX)
}

/// A remote the planner's operations are applied to: groups by email key (id `id:<email>`),
/// members by group id.
#[derive(Debug, Clone, Default)]
struct Remote {
    groups: Vec<RemoteGroup>,
    members: Vec<RemoteMember>,
    owned: Vec<OwnedGroup>,
    /// A remote whose groups keep no member roles nor descriptions (SCIM).
    roleless: bool,
}

impl Remote {
    fn group(&mut self, email_: &str, name: &str) -> ExternalId {
        let id = xid(&format!("id:{email_}"));
        self.groups.push(RemoteGroup {
            external_id: id.clone(),
            email: email(email_),
            name: name.to_owned(),
            description: String::new(),
            direct_members_count: None,
        });
        id
    }

    fn member(&mut self, group: &ExternalId, who: &str, kind: MemberKind, role: MemberRole) {
        self.members.push(RemoteMember {
            group: group.clone(),
            member: Member {
                kind,
                external_id: xid(&format!("m:{who}")),
                email: Some(email(who)),
            },
            role,
        });
    }

    fn own(&mut self, group: &str, origin: GroupOrigin) {
        self.owned.push(OwnedGroup {
            integration: IntegrationId::random(),
            email: email(group),
            origin,
            recorded_at: Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().unwrap(),
        });
    }

    /// The remote id a group key of an operation names (its id, or its email).
    fn resolve(&self, key: &ExternalId) -> Option<ExternalId> {
        self.groups
            .iter()
            .find(|g| g.external_id == *key || g.email.key() == key.as_str().to_ascii_lowercase())
            .map(|g| g.external_id.clone())
    }

    /// Applies the operations as a remote would, recording ownership as the engine does.
    fn apply(&mut self, ops: &[RemoteOp]) {
        for op in ops {
            match op {
                RemoteOp::CreateGroup { fields } => {
                    let id = self.group(fields.email.as_str(), &fields.name);
                    if let Some(g) = self.groups.iter_mut().find(|g| g.external_id == id) {
                        g.description = fields.description.clone();
                    }
                    self.owned.retain(|o| o.email.key() != fields.email.key());
                    self.own(fields.email.as_str(), GroupOrigin::Created);
                }
                RemoteOp::UpdateGroup { group, fields } => {
                    let g = self
                        .groups
                        .iter_mut()
                        .find(|g| g.external_id == *group)
                        .unwrap();
                    g.name = fields.name.clone();
                    g.description = fields.description.clone();
                    if !self
                        .owned
                        .iter()
                        .any(|o| o.email.key() == fields.email.key())
                    {
                        self.own(fields.email.as_str(), GroupOrigin::Adopted);
                    }
                }
                RemoteOp::DeleteGroup { group } => {
                    let gone = self
                        .groups
                        .iter()
                        .find(|g| g.external_id == *group)
                        .unwrap();
                    let key = gone.email.key();
                    self.owned.retain(|o| o.email.key() != key);
                    self.groups.retain(|g| g.external_id != *group);
                    self.members.retain(|m| m.group != *group);
                }
                RemoteOp::InsertMember {
                    group,
                    member,
                    role,
                } => {
                    let id = self.resolve(group).expect("insert into a known group");
                    let kind = if member.as_str().starts_with('g') {
                        MemberKind::Group
                    } else {
                        MemberKind::User
                    };
                    self.member(&id, member.as_str(), kind, *role);
                }
                RemoteOp::SetMemberRole {
                    group,
                    member,
                    role,
                } => {
                    let id = self.resolve(group).unwrap();
                    for m in &mut self.members {
                        if m.group == id && m.member.email.as_ref() == Some(member) {
                            m.role = *role;
                        }
                    }
                }
                RemoteOp::DeleteMember { group, member } => {
                    let id = self.resolve(group).unwrap();
                    self.members
                        .retain(|m| !(m.group == id && m.member.email.as_ref() == Some(member)));
                }
                other => panic!("not a group operation: {other}"),
            }
        }
    }

    fn plan(
        &self,
        rule: &GroupProvisioning,
        desired: &[DesiredGroup],
        accounts: Option<&BTreeSet<String>>,
    ) -> ProvisionPart {
        plan_groups(
            GroupState {
                rule,
                desired,
                groups: &self.groups,
                members: &self.members,
                owned: &self.owned,
                accounts,
                traits: if self.roleless {
                    GroupTraits::NAMES_AND_MEMBERS
                } else {
                    GroupTraits::FULL
                },
            },
            GroupSafeguards {
                groups: &loose(),
                members: &loose(),
            },
        )
    }
}

fn wanted(group: &str, members: &[(&str, MemberRole)]) -> DesiredGroup {
    DesiredGroup::new(
        GroupFields::new(email(group), group.to_uppercase(), "from the directory"),
        members
            .iter()
            .map(|(who, role)| {
                let kind = if who.starts_with('g') {
                    MemberKind::Group
                } else {
                    MemberKind::User
                };
                DesiredMember::new(email(who), kind, *role)
            })
            .collect(),
    )
}

fn all() -> GroupProvisioning {
    GroupProvisioning::new(GroupSource::AllOf(IntegrationId::random()))
}

#[test]
fn groups_are_created_before_their_members_which_name_them_by_email() {
    let desired = [
        wanted(
            "ga@example.com",
            &[
                ("ada@example.com", MemberRole::Owner),
                ("gb@example.com", MemberRole::Member),
            ],
        ),
        wanted("gb@example.com", &[("bob@example.com", MemberRole::Member)]),
    ];
    let accounts: BTreeSet<String> = ["ada@example.com".to_owned()].into();
    let part = Remote::default().plan(&all(), &desired, Some(&accounts));
    let text: Vec<String> = part.ops.iter().map(ToString::to_string).collect();
    // bob has no account in the remote (nor gets one): not inserted.
    assert_eq!(
        text,
        [
            "create group ga@example.com",
            "create group gb@example.com",
            "insert ada@example.com into ga@example.com",
            "insert gb@example.com into ga@example.com",
        ]
    );
    assert_eq!(part.counts[&OpKind::RemoteGroupsCreated], 2);
}

#[test]
fn a_strangers_group_is_a_conflict_unless_the_rule_is_fully_managed() {
    let mut remote = Remote::default();
    let id = remote.group("ga@example.com", "Hand made");
    remote.member(&id, "eve@example.com", MemberKind::User, MemberRole::Member);
    let desired = [wanted(
        "ga@example.com",
        &[("ada@example.com", MemberRole::Member)],
    )];
    let part = remote.plan(&all(), &desired, None);
    assert!(part.ops.is_empty(), "{:?}", part.ops);
    assert_eq!(part.quarantined.len(), 1);
    assert_eq!(part.quarantined[0].kind, ObjectKind::Groups);
    let part = remote.plan(&all().fully_managing(true), &desired, None);
    let text: Vec<String> = part.ops.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "update group id:ga@example.com (ga@example.com)",
            "insert ada@example.com into id:ga@example.com",
            "remove eve@example.com from id:ga@example.com",
        ]
    );
}

#[test]
fn a_pending_insert_that_landed_is_ours_and_roles_are_set_back() {
    let mut remote = Remote::default();
    let id = remote.group("ga@example.com", "GA@EXAMPLE.COM");
    remote.own("ga@example.com", GroupOrigin::Pending);
    remote.member(&id, "ada@example.com", MemberKind::User, MemberRole::Member);
    if let Some(g) = remote.groups.first_mut() {
        g.description = "from the directory".into();
    }
    let desired = [wanted(
        "ga@example.com",
        &[("ada@example.com", MemberRole::Manager)],
    )];
    let part = remote.plan(&all(), &desired, None);
    assert_eq!(
        part.ops,
        [RemoteOp::SetMemberRole {
            group: id,
            member: email("ada@example.com"),
            role: MemberRole::Manager,
        }]
    );
    assert!(part.quarantined.is_empty());
    // A remote without member roles nor descriptions (SCIM) has nothing to set.
    remote.roleless = true;
    assert_eq!(remote.plan(&all(), &desired, None).ops, []);
}

#[test]
fn only_groups_we_created_are_deleted_and_deletions_and_removals_pass_safeguards() {
    let mut remote = Remote::default();
    remote.group("made@example.com", "M");
    remote.own("made@example.com", GroupOrigin::Created);
    remote.group("adopted@example.com", "A");
    remote.own("adopted@example.com", GroupOrigin::Adopted);
    remote.group("hand@example.com", "H");
    let kept = remote.group("gk@example.com", "GK@EXAMPLE.COM");
    remote.own("gk@example.com", GroupOrigin::Created);
    for who in ["a@example.com", "b@example.com", "c@example.com"] {
        remote.member(&kept, who, MemberKind::User, MemberRole::Member);
    }
    if let Some(g) = remote.groups.last_mut() {
        g.description = "from the directory".into();
    }
    let desired = [wanted("gk@example.com", &[])];
    let part = remote.plan(&all(), &desired, None);
    let deleted: Vec<&RemoteOp> = part
        .ops
        .iter()
        .filter(|op| matches!(op, RemoteOp::DeleteGroup { .. }))
        .collect();
    assert_eq!(
        deleted,
        [&RemoteOp::DeleteGroup {
            group: xid("id:made@example.com")
        }]
    );
    assert_eq!(part.counts[&OpKind::RemoteMembersRemoved], 3);
    assert!(matches!(
        part.ops.last(),
        Some(RemoteOp::DeleteGroup { .. })
    ));
    let strict = Threshold::new(0, 0.0, 0);
    let held = plan_groups(
        GroupState {
            rule: &all(),
            desired: &desired,
            groups: &remote.groups,
            members: &remote.members,
            owned: &remote.owned,
            accounts: None,
            traits: GroupTraits::FULL,
        },
        GroupSafeguards {
            groups: &strict,
            members: &strict,
        },
    );
    let trips: Vec<&str> = held.trips.iter().map(|t| t.safeguard.as_str()).collect();
    assert_eq!(
        trips,
        ["members of gk@example.com", "remote groups deleted"]
    );
}

/// A directory of up to 5 groups (`g0..g4`) with members among 4 users and the other groups.
fn directory() -> impl Strategy<Value = Vec<DesiredGroup>> {
    proptest::collection::btree_map(
        0usize..5,
        proptest::collection::vec((0usize..9, 0usize..3), 0..6),
        0..5,
    )
    .prop_map(|groups| {
        let role = |r: usize| [MemberRole::Member, MemberRole::Manager, MemberRole::Owner][r];
        groups
            .into_iter()
            .map(|(g, members)| {
                let mut seen = BTreeSet::new();
                let members: Vec<(String, MemberRole)> = members
                    .into_iter()
                    .map(|(m, r)| {
                        let who = if m < 4 {
                            format!("u{m}@example.com")
                        } else {
                            format!("g{}@example.com", m - 4)
                        };
                        (who, role(r))
                    })
                    .filter(|(who, _)| seen.insert(who.clone()))
                    .collect();
                let refs: Vec<(&str, MemberRole)> =
                    members.iter().map(|(w, r)| (w.as_str(), *r)).collect();
                wanted(&format!("g{g}@example.com"), &refs)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the directory and the remote: no operation names a group that is not ours
    /// (a stranger's, with or without a wanted email), and applying the plan then planning
    /// again plans nothing (convergent in one run).
    #[test]
    fn the_planner_touches_only_its_groups_and_converges(
        first in directory(),
        then in directory(),
        strangers in proptest::collection::btree_set(0usize..7, 0..4),
    ) {
        let mut remote = Remote::default();
        let mut foreign = BTreeSet::new();
        for s in &strangers {
            let id = remote.group(&format!("g{s}@example.com"), "hand made");
            remote.member(&id, "eve@example.com", MemberKind::User, MemberRole::Owner);
            foreign.insert(id.to_string());
            foreign.insert(format!("g{s}@example.com"));
        }
        let rule = all();
        for desired in [&first, &then] {
            let part = remote.plan(&rule, desired, None);
            for op in &part.ops {
                let named = match op {
                    RemoteOp::CreateGroup { fields } => fields.email.to_string(),
                    RemoteOp::UpdateGroup { group, .. }
                    | RemoteOp::DeleteGroup { group }
                    | RemoteOp::InsertMember { group, .. }
                    | RemoteOp::SetMemberRole { group, .. }
                    | RemoteOp::DeleteMember { group, .. } => group.to_string(),
                    other => panic!("{other}"),
                };
                prop_assert!(!foreign.contains(&named), "{op} touches a stranger's group");
            }
            remote.apply(&part.ops);
            let again = remote.plan(&rule, desired, None);
            prop_assert!(again.ops.is_empty(), "not converged: {:?}", again.ops);
        }
    }
}
