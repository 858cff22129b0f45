#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::TimeZone;
use dirsync_core::{
    EmploymentType, LifecycleEvent, LifecycleKind, OrgUnitMapping, PersonName, Selector,
    UserProfile,
};
use proptest::prelude::*;

use super::*;

fn t(days: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().unwrap() + Duration::days(days)
}

fn ou(s: &str) -> OrgUnitPath {
    OrgUnitPath::new(s).unwrap()
}

fn email(s: &str) -> Email {
    Email::new(s).unwrap()
}

/// A directory user `n` (`u<n>@example.com`) in `org` with `status`.
fn person(n: u32, org: &str, status: UserStatus) -> DirectoryUser {
    let id = UserId::parse(&format!("00000000-0000-0000-0000-{n:012}")).unwrap();
    let mut profile = UserProfile::new(email(&format!("u{n}@example.com")));
    profile.name = PersonName {
        given: format!("G{n}"),
        family: "F".into(),
        display: format!("G{n} F"),
    };
    profile.org_unit = Some(ou(org));
    profile.employee_id = Some(format!("E{n}"));
    profile.employment_type = Some(EmploymentType::Employee);
    let event = |kind, at| LifecycleEvent {
        at,
        kind,
        employment_type: None,
    };
    let mut u =
        DirectoryUser::provisioned(id, profile, event(LifecycleKind::Provisioned, t(0))).unwrap();
    match status {
        UserStatus::Active => {}
        UserStatus::Suspended => u
            .apply_lifecycle(event(LifecycleKind::Suspended, t(1)))
            .unwrap(),
        UserStatus::Deprovisioned => u
            .apply_lifecycle(event(LifecycleKind::Deprovisioned, t(1)))
            .unwrap(),
    }
    u
}

fn unit(path: &str) -> RemoteOrgUnit {
    RemoteOrgUnit {
        external_id: ExternalId::new(format!("ou:{path}")).unwrap(),
        path: ou(path),
        name: ou(path).name().to_owned(),
        description: String::new(),
        parent: None,
    }
}

/// A remote that applies operations as Google would (what the planner's output must converge
/// on).
#[derive(Debug, Clone, Default)]
struct Remote {
    accounts: Vec<RemoteUser>,
    org_units: Vec<RemoteOrgUnit>,
    next: u32,
}

impl Remote {
    fn with_root() -> Self {
        Self {
            org_units: vec![unit("/")],
            ..Self::default()
        }
    }

    fn write(account: &mut RemoteUser, f: &UserFields) {
        account.primary_email = f.primary_email.clone();
        account.name = f.name.clone();
        account.org_unit = Some(f.org_unit.clone().unwrap_or_else(OrgUnitPath::root));
        account.employee_id = f.employee_id.clone();
        account.manager_email = f.manager_email.clone();
        account.employment_type = f.employment_type;
        if f.marker.is_some() {
            account.marker = f.marker;
        }
    }

    fn apply(&mut self, ops: &[RemoteOp]) {
        for op in ops {
            match op {
                RemoteOp::CreateOrgUnit { fields } => {
                    let parent = fields.path.parent().unwrap();
                    assert!(
                        self.org_units.iter().any(|o| o.path == parent),
                        "parent of {} first",
                        fields.path
                    );
                    self.org_units.push(unit(fields.path.as_str()));
                }
                RemoteOp::CreateUser { fields } => {
                    self.next += 1;
                    let mut a = RemoteUser::new(
                        ExternalId::new(format!("new{}", self.next)).unwrap(),
                        fields.primary_email.clone(),
                    );
                    Self::write(&mut a, fields);
                    self.accounts.push(a);
                }
                RemoteOp::UpdateUser { user, fields } => {
                    Self::write(self.get(user), fields);
                }
                RemoteOp::SuspendUser { user } => self.get(user).suspended = true,
                RemoteOp::ReactivateUser { user } => self.get(user).suspended = false,
                RemoteOp::DeleteUser { user } => self.accounts.retain(|a| &a.external_id != user),
                other => panic!("unexpected {other}"),
            }
        }
    }

    fn get(&mut self, id: &ExternalId) -> &mut RemoteUser {
        self.accounts
            .iter_mut()
            .find(|a| &a.external_id == id)
            .unwrap()
    }
}

fn plan(
    rule: &UserProvisioning,
    users: &[DirectoryUser],
    remote: &Remote,
    now: DateTime<Utc>,
) -> ProvisionPart {
    let facts = DirectoryFacts::from_users(users.to_vec());
    plan_users(
        ProvisionState {
            integration: me(),
            rule,
            directory: &facts,
            accounts: &remote.accounts,
            org_units: Some(&remote.org_units),
        },
        &Threshold::new(u64::MAX, 100.0, u64::MAX),
        now,
    )
}

fn me() -> IntegrationId {
    IntegrationId::parse("00000000-0000-0000-0000-00000000beef").unwrap()
}

fn stranger(id: &str, mail: &str) -> RemoteUser {
    RemoteUser::new(ExternalId::new(id).unwrap(), email(mail))
}

#[test]
fn an_empty_remote_gets_org_units_parents_first_then_accounts_and_converges() {
    let users = vec![
        person(1, "/Eng/Platform", UserStatus::Active),
        person(2, "/Eng", UserStatus::Active),
        person(3, "/Sales", UserStatus::Suspended),
        person(4, "/Sales", UserStatus::Deprovisioned),
    ];
    let rule = UserProvisioning::new(Selector::Everyone)
        .creating_org_units(true)
        .sso_only(true);
    let mut remote = Remote::with_root();
    let part = plan(&rule, &users, &remote, t(2));
    let text: Vec<String> = part.ops.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "create org unit /Eng",
            "create org unit /Eng/Platform",
            "create user u1@example.com",
            "create user u2@example.com"
        ]
    );
    let RemoteOp::CreateUser { fields } = &part.ops[2] else {
        panic!()
    };
    assert_eq!(
        fields.marker,
        Some(ProvisioningMarker::created(me(), users[0].id))
    );
    assert!(fields.sso_only);
    assert_eq!(fields.employee_id.as_deref(), Some("E1"));
    remote.apply(&part.ops);
    assert_eq!(plan(&rule, &users, &remote, t(2)), ProvisionPart::default());
}

#[test]
fn accounts_not_ours_are_quarantined_or_adopted_never_touched_otherwise() {
    let users = vec![
        person(1, "/", UserStatus::Active),
        person(2, "/", UserStatus::Active),
    ];
    let mut remote = Remote::with_root();
    remote.accounts.push(stranger("s1", "U1@example.com"));
    let mut marked = stranger("s2", "u2@example.com");
    marked.marker = Some(ProvisioningMarker::created(
        IntegrationId::random(),
        users[1].id,
    ));
    remote.accounts.push(marked);
    let strict = UserProvisioning::new(Selector::Everyone);
    let part = plan(&strict, &users, &remote, t(2));
    assert!(part.ops.is_empty(), "{:?}", part.ops);
    assert_eq!(part.quarantined.len(), 2);
    assert!(part.quarantined[0].reason.contains("not ours"));
    assert!(part.quarantined[1].reason.contains("another integration"));

    let adopting = strict.clone().adopting_existing(true);
    let part = plan(&adopting, &users, &remote, t(2));
    assert_eq!(part.ops.len(), 1);
    let RemoteOp::UpdateUser { user, fields } = &part.ops[0] else {
        panic!()
    };
    assert_eq!(user.as_str(), "s1");
    assert_eq!(
        fields.marker,
        Some(ProvisioningMarker::adopted(me(), users[0].id))
    );
    remote.apply(&part.ops);
    let again = plan(&adopting, &users, &remote, t(2));
    assert!(again.ops.is_empty() && again.quarantined.len() == 1);
}

#[test]
fn renames_moves_suspensions_and_reactivations_reach_our_account_by_its_id() {
    let mut users = vec![person(1, "/A", UserStatus::Active)];
    let rule = UserProvisioning::new(Selector::Everyone)
        .creating_org_units(true)
        .with_org_unit_map(OrgUnitMapping::new(ou("/A"), ou("/Mapped")));
    let mut remote = Remote::with_root();
    remote.apply(&plan(&rule, &users, &remote, t(2)).ops);
    assert_eq!(remote.accounts[0].org_unit, Some(ou("/Mapped")));
    let id = remote.accounts[0].external_id.clone();

    users[0].profile.primary_email = email("renamed@example.com");
    users[0].profile.org_unit = Some(ou("/A/B"));
    let part = plan(&rule, &users, &remote, t(2));
    assert_eq!(part.counts.get(&OpKind::RemoteUsersUpdated), Some(&1));
    assert_eq!(part.counts.get(&OpKind::RemoteOrgUnitsCreated), Some(&1));
    remote.apply(&part.ops);
    assert_eq!(remote.accounts.len(), 1);
    assert_eq!(remote.accounts[0].external_id, id);
    assert_eq!(
        remote.accounts[0].primary_email.as_str(),
        "renamed@example.com"
    );

    users[0] = {
        let mut u = person(1, "/A/B", UserStatus::Suspended);
        u.profile.primary_email = email("renamed@example.com");
        u
    };
    let part = plan(&rule, &users, &remote, t(2));
    assert_eq!(part.ops, [RemoteOp::SuspendUser { user: id.clone() }]);
    remote.apply(&part.ops);
    users[0].status = UserStatus::Active;
    let part = plan(&rule, &users, &remote, t(2));
    assert_eq!(part.ops, [RemoteOp::ReactivateUser { user: id }]);
}

#[test]
fn only_created_accounts_are_deleted_and_only_after_the_retention() {
    let users = vec![
        person(1, "/", UserStatus::Deprovisioned),
        person(2, "/", UserStatus::Deprovisioned),
    ];
    let mut remote = Remote::with_root();
    for (i, marker) in [
        ProvisioningMarker::created(me(), users[0].id),
        ProvisioningMarker::adopted(me(), users[1].id),
    ]
    .into_iter()
    .enumerate()
    {
        let mut a = stranger(&format!("a{i}"), &format!("u{}@example.com", i + 1));
        a.marker = Some(marker);
        a.suspended = true;
        remote.accounts.push(a);
    }
    let rule = UserProvisioning::new(Selector::Everyone).deleting_after_days(30);
    // Deprovisioned at t(1): not yet at t(30), deleted at t(31); the adopted one never.
    assert!(plan(&rule, &users, &remote, t(30)).ops.is_empty());
    let part = plan(&rule, &users, &remote, t(31));
    assert_eq!(
        part.ops,
        [RemoteOp::DeleteUser {
            user: ExternalId::new("a0").unwrap()
        }]
    );
    assert!(
        plan(
            &UserProvisioning::new(Selector::Everyone),
            &users,
            &remote,
            t(400)
        )
        .ops
        .is_empty()
    );
}

#[test]
fn admins_are_protected_and_mass_suspension_trips_the_safeguard() {
    let users: Vec<DirectoryUser> = (1..=10)
        .map(|n| person(n, "/", UserStatus::Active))
        .collect();
    let rule = UserProvisioning::new(Selector::Everyone);
    let mut remote = Remote::with_root();
    remote.apply(&plan(&rule, &users, &remote, t(2)).ops);
    remote.accounts[0].is_admin = true;
    let suspended: Vec<DirectoryUser> = users
        .iter()
        .map(|u| {
            let mut u = u.clone();
            u.status = UserStatus::Suspended;
            u
        })
        .collect();
    let facts = DirectoryFacts::from_users(suspended);
    let part = plan_users(
        ProvisionState {
            integration: me(),
            rule: &rule,
            directory: &facts,
            accounts: &remote.accounts,
            org_units: Some(&remote.org_units),
        },
        &dirsync_core::Safeguards::default().users,
        t(2),
    );
    assert_eq!(part.counts.get(&OpKind::RemoteUsersSuspended), Some(&9));
    assert_eq!(part.protected.len(), 1);
    assert_eq!(part.trips.len(), 1, "{:?}", part.trips);
    assert_eq!((part.trips[0].count, part.trips[0].total), (9, 10));
}

#[test]
fn a_missing_org_unit_quarantines_the_user_unless_the_rule_creates_it() {
    let users = vec![person(1, "/Nowhere", UserStatus::Active)];
    let part = plan(
        &UserProvisioning::new(Selector::Everyone),
        &users,
        &Remote::with_root(),
        t(2),
    );
    assert!(part.ops.is_empty());
    assert!(part.quarantined[0].reason.contains("/Nowhere"));
}

fn status() -> impl Strategy<Value = UserStatus> {
    prop_oneof![
        Just(UserStatus::Active),
        Just(UserStatus::Suspended),
        Just(UserStatus::Deprovisioned)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the directory and the remote: accounts without our marker are touched only by
    /// an adoption the rule allows; applying the plan and planning again gives nothing.
    #[test]
    fn never_touches_what_it_does_not_own_and_converges(
        people in proptest::collection::vec((0usize..3, status()), 1..12),
        strangers in proptest::collection::vec(0usize..12, 0..4),
        adopt in any::<bool>(),
        create_units in any::<bool>(),
    ) {
        let orgs = ["/", "/A", "/A/B"];
        let users: Vec<DirectoryUser> = people
            .iter()
            .enumerate()
            .map(|(i, (o, s))| person(i as u32, orgs[*o], *s))
            .collect();
        // Everyone outside /A/B: users there are provisioned by nobody.
        let rule = UserProvisioning::new(Selector::Not(Box::new(Selector::OrgUnit(ou("/A/B")))))
            .adopting_existing(adopt)
            .creating_org_units(create_units);
        let mut remote = Remote::with_root();
        if !create_units {
            remote.org_units.push(unit("/A"));
        }
        for (i, n) in strangers.iter().enumerate() {
            remote.accounts.push(stranger(&format!("s{i}"), &format!("u{n}@example.com")));
        }
        let theirs: BTreeSet<ExternalId> = remote.accounts.iter().map(|a| a.external_id.clone()).collect();
        let first = plan(&rule, &users, &remote, t(2));
        for op in &first.ops {
            let touched = match op {
                RemoteOp::UpdateUser { user, fields } => {
                    prop_assert!(
                        !theirs.contains(user) || (adopt && matches!(fields.marker, Some(m) if m.origin == MarkerOrigin::Adopted)),
                        "{op}"
                    );
                    None
                }
                RemoteOp::SuspendUser { user } | RemoteOp::DeleteUser { user } => Some(user),
                RemoteOp::ReactivateUser { user } => (!adopt).then_some(user),
                _ => None,
            };
            if let Some(user) = touched {
                prop_assert!(!theirs.contains(user), "{op}");
            }
        }
        remote.apply(&first.ops);
        let again = plan(&rule, &users, &remote, t(2));
        prop_assert!(again.ops.is_empty(), "{:?}", again.ops);
    }
}
