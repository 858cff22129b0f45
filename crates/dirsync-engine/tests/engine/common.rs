//! Fixtures: stores, integrations, snapshots and a fake source.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use dirsync_core::*;
use dirsync_engine::{Grace, Plan, Policy, Safeguards, Threshold, ToDirectory, plan_inbound};
use dirsync_store::{InMemoryStore, Store};

pub(crate) fn t(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().unwrap() + Duration::hours(hours)
}

pub(crate) fn email(s: &str) -> Email {
    Email::new(s).unwrap()
}

pub(crate) fn xid(s: &str) -> ExternalId {
    ExternalId::new(s).unwrap()
}

/// A remote user `id` with email `<name>@example.com`.
pub(crate) fn user(id: &str, name: &str) -> RemoteUser {
    let mut u = RemoteUser::new(xid(id), email(&format!("{name}@example.com")));
    u.name = PersonName {
        given: name.into(),
        family: "Test".into(),
        display: format!("{name} Test"),
    };
    u.org_unit = Some(OrgUnitPath::new("/Staff").unwrap());
    u.employment_type = Some(EmploymentType::Employee);
    u
}

pub(crate) fn group(id: &str) -> RemoteGroup {
    RemoteGroup {
        external_id: xid(id),
        email: email(&format!("{id}@example.com")),
        name: id.into(),
        description: String::new(),
        direct_members_count: None,
    }
}

pub(crate) fn member(group: &str, user: &str, role: MemberRole) -> RemoteMember {
    RemoteMember {
        group: xid(group),
        member: Member {
            kind: MemberKind::User,
            external_id: xid(user),
            email: None,
        },
        role,
    }
}

/// A remote tenant, turned into complete snapshots.
#[derive(Clone, Default, Debug)]
pub(crate) struct Tenant {
    pub(crate) users: Vec<RemoteUser>,
    pub(crate) deleted: Vec<DeletedUser>,
    pub(crate) groups: Vec<RemoteGroup>,
    pub(crate) members: Vec<RemoteMember>,
    pub(crate) org_units: Vec<RemoteOrgUnit>,
}

impl Tenant {
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.snapshot_of(ObjectKinds::all(), ScopeFilter::everything())
    }

    pub(crate) fn snapshot_of(&self, kinds: ObjectKinds, filter: ScopeFilter) -> Snapshot {
        let mut b = SnapshotBuilder::new(kinds.clone(), filter, t(0));
        if kinds.contains(ObjectKind::OrgUnits) {
            b.org_units(self.org_units.clone()).unwrap();
        }
        if kinds.contains(ObjectKind::Users) {
            b.users_page(self.users.clone(), None).unwrap();
            b.deleted_users_page(self.deleted.clone(), None).unwrap();
        }
        if kinds.contains(ObjectKind::Groups) || kinds.contains(ObjectKind::Memberships) {
            b.groups_page(self.groups.clone(), None).unwrap();
        }
        if kinds.contains(ObjectKind::Memberships) {
            for g in &self.groups {
                let members = self
                    .members
                    .iter()
                    .filter(|m| m.group == g.external_id)
                    .cloned()
                    .collect();
                b.members_page(&g.external_id, members, None).unwrap();
            }
        }
        b.finish().unwrap()
    }
}

pub(crate) fn settings() -> RemoteSettings {
    RemoteSettings::new(
        System::from_static("fake"),
        serde_json::json!({"subject": "admin@example.com"}),
    )
    .unwrap()
}

fn authorization() -> Authorization {
    Authorization {
        method: None,
        subject: Some(email("admin@example.com")),
        client_id: Some("1".into()),
        client_email: Some(email("sa@project.iam.gserviceaccount.com")),
        ownership: Some(KeyOwnership::CustomerOwned),
        scopes: [Scope::new("https://example.com/auth/directory.readonly").unwrap()].into(),
        checks: Vec::new(),
        verified_at: t(0),
    }
}

/// An active integration created in `store` (the first inbound one is the primary).
pub(crate) async fn active(store: &dyn Store, direction: DirectionKind) -> AnyIntegration {
    let new = NewIntegration::new("it", direction, settings(), Schedule::Manual, t(0)).unwrap();
    let mut any = store.create_integration(new).await.unwrap();
    match &mut any {
        AnyIntegration::Primary(i) => i.activate(authorization()).unwrap(),
        AnyIntegration::Inbound(i) => i.activate(authorization()).unwrap(),
        AnyIntegration::Outbound(i) => i.activate(authorization()).unwrap(),
    }
    store.save_integration(&any).await.unwrap()
}

/// A policy without safeguards or grace, for tests that are about something else.
pub(crate) fn lenient() -> Policy {
    let off = Threshold::new(u64::MAX, 100.0, u64::MAX);
    Policy::default()
        .with_safeguards(
            Safeguards::default()
                .with_users(off)
                .with_groups(off)
                .with_memberships(off)
                .with_remote_members(off),
        )
        .with_grace(Grace::new(0, 0))
}

/// Plans `integration` against `snapshot` at `now`.
pub(crate) async fn plan(
    store: &dyn Store,
    integration: &AnyIntegration,
    snapshot: &Snapshot,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Plan<ToDirectory> {
    let view = store.view(integration.id()).await.unwrap();
    plan_inbound(integration, snapshot, &view, policy, now).unwrap()
}

/// Plans and applies (the plan must not be held).
pub(crate) async fn sync(
    store: &dyn Store,
    integration: &AnyIntegration,
    snapshot: &Snapshot,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Plan<ToDirectory> {
    let p = plan(store, integration, snapshot, policy, now).await;
    assert!(!p.is_held(), "unexpectedly held: {p}");
    store.apply(p.changes()).await.unwrap();
    p
}

pub(crate) fn count(plan: &Plan<ToDirectory>, kind: dirsync_engine::OpKind) -> u64 {
    plan.counts().get(&kind).copied().unwrap_or(0)
}

pub(crate) async fn user_by(store: &dyn Store, name: &str) -> DirectoryUser {
    store
        .user_by_email(&email(&format!("{name}@example.com")))
        .await
        .unwrap()
        .unwrap()
}

pub(crate) fn fresh() -> InMemoryStore {
    InMemoryStore::new()
}

/// A source serving a tenant (or failing).
#[derive(Debug)]
pub(crate) struct FakeSource {
    pub(crate) tenant: Mutex<Tenant>,
    pub(crate) fail: Mutex<Option<dirsync_core::Error>>,
}

impl FakeSource {
    pub(crate) fn new(tenant: Tenant) -> Self {
        Self {
            tenant: Mutex::new(tenant),
            fail: Mutex::new(None),
        }
    }
}

#[async_trait]
impl DirectorySource for FakeSource {
    async fn validate_access(&self) -> Result<AccessReport, dirsync_core::Error> {
        Err(dirsync_core::Error::Access(
            dirsync_core::AccessDenied::Unauthorized {
                reason: "the fake source does not validate access".into(),
            },
        ))
    }

    async fn fetch(
        &self,
        request: &FetchRequest,
        _progress: &dyn FetchProgress,
    ) -> Result<Fetched, dirsync_core::Error> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        let tenant = self.tenant.lock().unwrap().clone();
        Ok(Fetched::new(
            tenant.snapshot_of(request.kinds.clone(), request.filter.clone()),
            FetchStats::default(),
        ))
    }
}
