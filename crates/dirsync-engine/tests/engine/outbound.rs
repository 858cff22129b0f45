//! Outbound integrations: managing remote group memberships from the directory, against a fake
//! remote that behaves like Google (an insert of a present member and a delete of an absent one
//! count as already done) and can fail chosen operations.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::Duration;
use dirsync_core::*;
use dirsync_engine::{
    Policy, RunContext, approve_outbound, dry_run_outbound, sync_inbound, sync_outbound,
};
use dirsync_store::Store;

use crate::common::*;

/// Members of each group: group id → email key → (email, role).
type Members = BTreeMap<String, BTreeMap<String, (Email, MemberRole)>>;

/// A remote with groups and their members (by email), reading and writing like Google.
#[derive(Debug, Default)]
struct FakeGoogle {
    groups: Vec<RemoteGroup>,
    members: Mutex<Members>,
    /// Operations on these member emails fail (per-operation failures).
    failing: Mutex<BTreeSet<String>>,
    /// Operations applied, all runs together.
    writes: Mutex<u64>,
}

impl FakeGoogle {
    fn with_groups(names: &[&str]) -> Self {
        let g = Self {
            groups: names.iter().map(|n| group(n)).collect(),
            ..Self::default()
        };
        for n in names {
            g.members
                .lock()
                .unwrap()
                .insert((*n).to_owned(), BTreeMap::new());
        }
        g
    }

    fn add(&self, group: &str, who: &str) {
        let e = email(who);
        self.members
            .lock()
            .unwrap()
            .entry(group.to_owned())
            .or_default()
            .insert(e.key(), (e, MemberRole::Member));
    }

    fn remove(&self, group: &str, who: &str) {
        if let Some(m) = self.members.lock().unwrap().get_mut(group) {
            m.remove(&email(who).key());
        }
    }

    fn members_of(&self, group: &str) -> BTreeSet<String> {
        self.members.lock().unwrap()[group]
            .keys()
            .cloned()
            .collect()
    }

    fn writes(&self) -> u64 {
        *self.writes.lock().unwrap()
    }
}

#[async_trait]
impl DirectorySource for FakeGoogle {
    async fn validate_access(&self) -> Result<AccessReport, Error> {
        Err(Error::Access(dirsync_core::AccessDenied::Unauthorized {
            reason: "not used".into(),
        }))
    }

    async fn fetch(
        &self,
        request: &FetchRequest,
        _progress: &dyn FetchProgress,
    ) -> Result<Fetched, Error> {
        let mut b = SnapshotBuilder::new(request.kinds.clone(), request.filter.clone(), t(0));
        let groups: Vec<RemoteGroup> = self
            .groups
            .iter()
            .filter(|g| request.filter.includes_group(&g.email))
            .cloned()
            .collect();
        b.groups_page(groups.clone(), None)?;
        let members = self.members.lock().unwrap().clone();
        for g in &groups {
            let page = members[g.external_id.as_str()]
                .values()
                .map(|(e, role)| RemoteMember {
                    group: g.external_id.clone(),
                    member: Member {
                        kind: MemberKind::User,
                        external_id: ExternalId::new(format!("id-{}", e.key())).unwrap(),
                        email: Some(e.clone()),
                    },
                    role: *role,
                })
                .collect();
            b.members_page(&g.external_id, page, None)?;
        }
        Ok(Fetched::new(b.finish()?, FetchStats::default()))
    }
}

#[async_trait]
impl DirectoryTarget for FakeGoogle {
    async fn apply(&self, changes: &RemoteChanges) -> Result<RemoteApplyReport, Error> {
        let mut outcomes = Vec::new();
        let failing = self.failing.lock().unwrap().clone();
        let mut members = self.members.lock().unwrap();
        for op in changes.ops() {
            let (group, member) = match op {
                RemoteOp::InsertMember { group, member, .. }
                | RemoteOp::DeleteMember { group, member } => (group, member),
                other => panic!("the fake does not know {other:?}"),
            };
            if failing.contains(&member.key()) {
                outcomes.push(RemoteOpOutcome::Failed {
                    reason: "503 backendError after retries".into(),
                });
                continue;
            }
            *self.writes.lock().unwrap() += 1;
            let list = members.entry(group.as_str().to_owned()).or_default();
            let done = match op {
                RemoteOp::InsertMember { role, .. } => {
                    list.insert(member.key(), (member.clone(), *role)).is_none()
                }
                RemoteOp::DeleteMember { .. } => list.remove(&member.key()).is_some(),
                other => panic!("the fake does not know {other:?}"),
            };
            outcomes.push(if done {
                RemoteOpOutcome::Done
            } else {
                RemoteOpOutcome::AlreadyDone
            });
        }
        Ok(RemoteApplyReport::new(outcomes, FetchStats::default()))
    }
}

/// A target that can only insert members: it declares so, and fails the test if it is ever
/// asked to apply anything.
#[derive(Debug)]
struct InsertOnly;

#[async_trait]
impl DirectoryTarget for InsertOnly {
    async fn apply(&self, changes: &RemoteChanges) -> Result<RemoteApplyReport, Error> {
        panic!("a change set with unsupported operations was applied: {changes:?}");
    }

    fn supported_operations(&self) -> RemoteOpKinds {
        RemoteOpKinds::new([RemoteOpKind::InsertMember])
    }
}

fn ctx<'a>(store: &'a dyn Store, policy: &'a Policy) -> RunContext<'a> {
    RunContext {
        store,
        policy,
        clock: &|| t(1),
        holder: "test".into(),
        lease: Duration::minutes(5),
        progress: &NoProgress,
        run_id: None,
        due_at: None,
    }
}

/// People in org units: `eng*` in /Eng (one of them suspended), `sales*` in /Sales.
fn people() -> Tenant {
    let mut tenant = Tenant::default();
    for (i, name) in ["eng1", "eng2", "eng3", "eng4", "sales1", "sales2"]
        .iter()
        .enumerate()
    {
        let mut u = user(&format!("{i}"), name);
        let ou = if name.starts_with("eng") {
            "/Eng"
        } else {
            "/Sales"
        };
        u.org_unit = Some(OrgUnitPath::new(ou).unwrap());
        u.suspended = *name == "eng4";
        if *name == "sales2" {
            u.attributes.insert(
                "department".into(),
                AttributeValue::Text("Engineering".into()),
            );
            u.employment_type = Some(EmploymentType::Contractor);
        }
        tenant.users.push(u);
    }
    tenant
}

/// A directory synced from `tenant` by the primary, and an active outbound integration with
/// one rule per `(group, assignment)`.
async fn setup(
    store: &dyn Store,
    tenant: &Tenant,
    rules: Vec<GroupAssignment>,
) -> (AnyIntegration, IntegrationId) {
    let primary = active(store, DirectionKind::Inbound).await;
    let policy = Policy::default();
    sync(store, &primary, &tenant.snapshot(), &policy, t(0)).await;
    let mut outbound = active(store, DirectionKind::Outbound).await;
    for (i, a) in rules.into_iter().enumerate() {
        outbound
            .add_rule(SyncRule::assigning(
                format!("rule {i}"),
                a,
                Trigger::Scheduled,
                t(0),
            ))
            .unwrap();
    }
    let outbound = store.save_integration(&outbound).await.unwrap();
    (primary, outbound.id())
}

fn in_ou(group: &str, ou: &str) -> GroupAssignment {
    GroupAssignment::new(
        email(&format!("{group}@example.com")),
        Selector::OrgUnit(OrgUnitPath::new(ou).unwrap()),
    )
}

fn keys(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| format!("{n}@example.com")).collect()
}

#[tokio::test]
async fn a_group_is_filled_from_its_selector_and_the_second_run_writes_nothing() {
    let store = fresh();
    let (_, id) = setup(&store, &people(), vec![in_ou("eng", "/Eng")]).await;
    let google = FakeGoogle::with_groups(&["eng"]);
    google.add("eng", "contractor@partner.com"); // added by hand in Google
    let policy = Policy::default();
    let ctx = ctx(&store, &policy);

    let plan = dry_run_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(plan.changes().ops().len(), 3, "{plan}");
    assert_eq!(google.writes(), 0, "a dry run writes nothing");

    let run = sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert_eq!(run.counts["remote_members_added"], 3);
    // Active /Eng users only (eng4 is suspended); the hand-added member stays.
    let mut expected = keys(&["eng1", "eng2", "eng3"]);
    expected.insert("contractor@partner.com".into());
    assert_eq!(google.members_of("eng"), expected);
    let owned: BTreeSet<String> = store
        .owned_memberships(id)
        .await
        .unwrap()
        .iter()
        .map(|o| o.member.key())
        .collect();
    assert_eq!(owned, keys(&["eng1", "eng2", "eng3"]));

    let writes = google.writes();
    let again = sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(again.outcome, RunOutcome::NoChange);
    assert_eq!(google.writes(), writes);
}

#[tokio::test]
async fn directory_changes_propagate_and_only_owned_members_are_removed() {
    let store = fresh();
    let mut tenant = people();
    let (primary, id) = setup(&store, &tenant, vec![in_ou("eng", "/Eng")]).await;
    let google = FakeGoogle::with_groups(&["eng"]);
    google.add("eng", "eng1@example.com"); // already there before us: not ours
    let policy = Policy::default();
    let ctx = ctx(&store, &policy);
    sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();

    // eng1 and eng2 move to Sales; eng4 comes back from suspension.
    for u in &mut tenant.users {
        if u.primary_email.as_str().starts_with("eng1")
            || u.primary_email.as_str().starts_with("eng2")
        {
            u.org_unit = Some(OrgUnitPath::new("/Sales").unwrap());
        }
        u.suspended = false;
    }
    let source = FakeSource::new(tenant);
    let inbound = sync_inbound(&ctx, &source, primary.id(), None)
        .await
        .unwrap();
    assert_eq!(inbound.outcome, RunOutcome::Succeeded);

    let run = sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    // eng2 (ours) is removed; eng1 (not ours) stays; eng4 joins.
    assert_eq!(google.members_of("eng"), keys(&["eng1", "eng3", "eng4"]));
    assert_eq!(run.counts["remote_members_removed"], 1);
    assert_eq!(run.counts["remote_members_added"], 1);
}

#[tokio::test]
async fn a_fully_managed_group_loses_its_hand_added_members() {
    let store = fresh();
    let mut a = in_ou("eng", "/Eng");
    a.fully_managed = true;
    let (_, id) = setup(&store, &people(), vec![a]).await;
    let google = FakeGoogle::with_groups(&["eng"]);
    google.add("eng", "visitor@example.com");
    let policy = Policy::default();
    let run = sync_outbound(&ctx(&store, &policy), &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_eq!(google.members_of("eng"), keys(&["eng1", "eng2", "eng3"]));
}

#[tokio::test]
async fn a_mass_removal_is_held_until_its_plan_is_approved() {
    let store = fresh();
    let mut tenant = people();
    for i in 0..20 {
        let mut u = user(&format!("x{i}"), &format!("extra{i}"));
        u.org_unit = Some(OrgUnitPath::new("/Eng").unwrap());
        tenant.users.push(u);
    }
    let (primary, id) = setup(&store, &tenant, vec![in_ou("eng", "/Eng")]).await;
    let google = FakeGoogle::with_groups(&["eng"]);
    let policy = Policy::default();
    let ctx = ctx(&store, &policy);
    sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(google.members_of("eng").len(), 23);

    // Everyone leaves /Eng at once.
    for u in &mut tenant.users {
        u.org_unit = Some(OrgUnitPath::new("/Sales").unwrap());
    }
    let mut lenient_users = Policy::default();
    lenient_users.safeguards.users.max_count = u64::MAX;
    lenient_users.safeguards.users.max_percent = 100.0;
    let inbound_ctx = RunContext {
        policy: &lenient_users,
        ..crate::outbound::ctx(&store, &policy)
    };
    sync_inbound(&inbound_ctx, &FakeSource::new(tenant), primary.id(), None)
        .await
        .unwrap();

    let writes = google.writes();
    let held = sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    let RunOutcome::Held { plan } = held.outcome else {
        panic!("expected held, got {:?}", held.outcome);
    };
    assert_eq!(google.writes(), writes, "nothing written while held");
    assert_eq!(google.members_of("eng").len(), 23);
    let approved = approve_outbound(&ctx, &google, &plan).await.unwrap();
    assert_eq!(approved.outcome, RunOutcome::Succeeded);
    assert!(google.members_of("eng").is_empty());
    assert!(store.owned_memberships(id).await.unwrap().is_empty());
    assert!(store.held_plans(id).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_partial_failure_is_recorded_and_the_next_run_finishes_without_duplicates() {
    let store = fresh();
    let (_, id) = setup(&store, &people(), vec![in_ou("eng", "/Eng")]).await;
    let google = FakeGoogle::with_groups(&["eng"]);
    google
        .failing
        .lock()
        .unwrap()
        .insert("eng2@example.com".into());
    let policy = Policy::default();
    let ctx = ctx(&store, &policy);
    let run = sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    match &run.outcome {
        RunOutcome::Failed { reason } => {
            assert!(reason.contains("1 of 3"), "{reason}");
            assert!(reason.contains("eng2@example.com"), "{reason}");
        }
        other => panic!("expected a failed run, got {other:?}"),
    }
    assert_eq!(run.counts["remote_members_added"], 2);
    assert_eq!(store.owned_memberships(id).await.unwrap().len(), 2);

    google.failing.lock().unwrap().clear();
    let writes = google.writes();
    let next = sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(next.outcome, RunOutcome::Succeeded);
    assert_eq!(
        google.writes(),
        writes + 1,
        "only the missing member is written"
    );
    assert_eq!(google.members_of("eng"), keys(&["eng1", "eng2", "eng3"]));
    assert_eq!(store.owned_memberships(id).await.unwrap().len(), 3);
}

#[tokio::test]
async fn members_removed_by_someone_else_are_forgotten_and_readded() {
    let store = fresh();
    let (_, id) = setup(&store, &people(), vec![in_ou("eng", "/Eng")]).await;
    let google = FakeGoogle::with_groups(&["eng"]);
    let policy = Policy::default();
    let ctx = ctx(&store, &policy);
    sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    google.remove("eng", "eng1@example.com");
    let run = sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert!(google.members_of("eng").contains("eng1@example.com"));
    assert_eq!(store.owned_memberships(id).await.unwrap().len(), 3);
}

#[tokio::test]
async fn selectors_combine_groups_attributes_and_types() {
    let store = fresh();
    let mut tenant = people();
    // A directory group "oncall" whose member is the nested group "core", holding eng3.
    tenant.groups = vec![group("oncall"), group("core")];
    tenant.members = vec![
        RemoteMember {
            group: xid("oncall"),
            member: Member {
                kind: MemberKind::Group,
                external_id: xid("core"),
                email: Some(email("core@example.com")),
            },
            role: MemberRole::Member,
        },
        member("core", "2", MemberRole::Member), // eng3 (index 2)
    ];
    let select = Selector::Any(vec![
        Selector::Group(email("oncall@example.com")),
        Selector::All(vec![
            Selector::Attribute {
                name: "department".into(),
                value: "Engineering".into(),
            },
            Selector::EmploymentType(EmploymentType::Contractor),
        ]),
    ]);
    let mut everyone_but_sales = GroupAssignment::new(
        email("staff@example.com"),
        Selector::Not(Box::new(Selector::OrgUnit(
            OrgUnitPath::new("/Sales").unwrap(),
        ))),
    );
    everyone_but_sales.include_inactive = true;
    let (_, id) = setup(
        &store,
        &tenant,
        vec![
            GroupAssignment::new(email("pager@example.com"), select),
            everyone_but_sales,
        ],
    )
    .await;
    let google = FakeGoogle::with_groups(&["pager", "staff"]);
    let policy = Policy::default();
    sync_outbound(&ctx(&store, &policy), &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(google.members_of("pager"), keys(&["eng3", "sales2"]));
    assert_eq!(
        google.members_of("staff"),
        keys(&["eng1", "eng2", "eng3", "eng4"])
    );
}

#[tokio::test]
async fn an_empty_directory_never_removes_and_a_missing_group_is_reported() {
    let store = fresh();
    let mut a = in_ou("eng", "/Eng");
    a.fully_managed = true;
    let lost = in_ou("ghost", "/Eng");
    let (_, id) = setup(&store, &Tenant::default(), vec![a, lost]).await;
    let google = FakeGoogle::with_groups(&["eng"]);
    google.add("eng", "someone@example.com");
    let policy = Policy::default();
    let run = sync_outbound(&ctx(&store, &policy), &google, &google, id, None)
        .await
        .unwrap();
    assert!(
        matches!(&run.outcome, RunOutcome::Failed { reason } if reason.contains("directory is empty")),
        "{run:?}"
    );
    assert_eq!(google.members_of("eng"), keys(&["someone"]));
    assert_eq!(google.writes(), 0);

    // With people in the directory, the missing group is quarantined, not an error.
    let store = fresh();
    let (_, id) = setup(&store, &people(), vec![in_ou("ghost", "/Eng")]).await;
    let run = sync_outbound(&ctx(&store, &policy), &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(run.outcome, RunOutcome::NoChange);
    assert_eq!(run.quarantined.len(), 1);
    assert!(run.quarantined[0].label.contains("ghost"));
}

#[tokio::test]
async fn inbound_integrations_cannot_sync_outbound() {
    let store = fresh();
    let (primary, _) = setup(&store, &people(), vec![]).await;
    let google = FakeGoogle::with_groups(&["eng"]);
    let policy = Policy::default();
    let err = sync_outbound(&ctx(&store, &policy), &google, &google, primary.id(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, dirsync_engine::Error::WrongDirection { .. }),
        "{err:?}"
    );
}

/// A fully managed `eng` group with a hand-added visitor: its plan inserts the three active
/// /Eng users and deletes the visitor.
async fn managed_eng_with_a_visitor(store: &dyn Store) -> (IntegrationId, FakeGoogle) {
    let mut a = in_ou("eng", "/Eng");
    a.fully_managed = true;
    let (_, id) = setup(store, &people(), vec![a]).await;
    let google = FakeGoogle::with_groups(&["eng"]);
    google.add("eng", "visitor@example.com");
    (id, google)
}

#[tokio::test]
async fn a_plan_with_an_operation_the_target_lacks_is_refused_before_anything_is_applied() {
    let store = fresh();
    let (id, google) = managed_eng_with_a_visitor(&store).await;
    let policy = Policy::default();
    let ctx = ctx(&store, &policy);
    let plan = dry_run_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(
        plan.changes().kinds(),
        RemoteOpKinds::membership(),
        "{plan}"
    );

    let run = sync_outbound(&ctx, &google, &InsertOnly, id, None)
        .await
        .unwrap();
    let RunOutcome::Failed { reason } = &run.outcome else {
        panic!("expected a refusal, got {:?}", run.outcome);
    };
    assert!(
        reason.contains("cannot apply delete_member (it supports insert_member)"),
        "{reason}"
    );
    assert_eq!(google.writes(), 0);
    assert_eq!(google.members_of("eng"), keys(&["visitor"]));
    assert!(store.owned_memberships(id).await.unwrap().is_empty());
    assert!(
        store.held_plans(id).await.unwrap().is_empty(),
        "not held either"
    );

    // The same plan through a target that supports it applies.
    let run = sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert_eq!(google.members_of("eng"), keys(&["eng1", "eng2", "eng3"]));
}

#[tokio::test]
async fn approving_a_held_plan_through_a_target_that_lacks_an_operation_is_refused() {
    let store = fresh();
    let (id, google) = managed_eng_with_a_visitor(&store).await;
    let mut strict = Policy::default();
    strict.safeguards.remote_members.max_count = 0;
    let ctx = ctx(&store, &strict);
    let held = sync_outbound(&ctx, &google, &google, id, None)
        .await
        .unwrap();
    let RunOutcome::Held { plan } = held.outcome else {
        panic!("expected held, got {:?}", held.outcome);
    };

    match approve_outbound(&ctx, &InsertOnly, &plan).await {
        Err(dirsync_engine::Error::UnsupportedOperations {
            integration,
            unsupported,
            supported,
        }) => {
            assert_eq!(integration, id);
            assert_eq!(
                unsupported,
                RemoteOpKinds::new([RemoteOpKind::DeleteMember])
            );
            assert_eq!(supported, RemoteOpKinds::new([RemoteOpKind::InsertMember]));
        }
        other => panic!("expected UnsupportedOperations, got {other:?}"),
    }
    assert_eq!(google.writes(), 0);
    assert_eq!(store.held_plans(id).await.unwrap().len(), 1, "still held");

    let approved = approve_outbound(&ctx, &google, &plan).await.unwrap();
    assert_eq!(approved.outcome, RunOutcome::Succeeded);
    assert_eq!(google.members_of("eng"), keys(&["eng1", "eng2", "eng3"]));
}
