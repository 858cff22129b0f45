//! Builders of test data shared by the conformance suite and by backends' own tests: valid,
//! fully populated values with fixed instants, so that round-trip comparisons are exact.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use dirsync_core::{
    Account, AccountLink, AnyIntegration, AttributeValue, DirectionKind, DirectoryOp, Email,
    EmploymentType, ExternalId, FetchStats, Group, GroupId, HeldPlan, Inbound, Integration,
    IntegrationId, LifecycleEvent, LifecycleKind, LinkedBy, Manager, Member, MemberKind,
    MemberRole, Membership, NewIntegration, ObjectKind, OrgUnit, OrgUnitPath, PersonName, PlanId,
    Primary, QuarantinedRecord, RemoteSettings, RunId, RunOutcome, Schedule, SyncRun, System,
    UserId, UserProfile,
};

use crate::Store;

/// A fixed instant: 2026-03-01 00:00 UTC plus `hour` hours.
pub fn t(hour: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().unwrap() + Duration::hours(hour)
}

/// An email (panics if invalid).
pub fn email(s: &str) -> Email {
    Email::new(s).unwrap()
}

/// A remote id (panics if invalid).
pub fn xid(s: &str) -> ExternalId {
    ExternalId::new(s).unwrap()
}

/// A valid email derived from any remote id (the hex of its bytes).
pub fn mail_for(ext: &str) -> Email {
    let hex: String = ext.bytes().map(|b| format!("{b:02x}")).collect();
    email(&format!("x{hex}@example.com"))
}

/// The system the suite's integrations connect to: a store keeps any system's settings.
pub const SYSTEM: System = System::from_static("conformance");

/// Settings of the suite's system (a store keeps them as they are).
pub fn settings() -> RemoteSettings {
    RemoteSettings::new(
        SYSTEM,
        serde_json::json!({"subject": "admin@example.com", "key": {"kind": "file", "value": "key.json"}}),
    )
    .unwrap()
}

/// A request to create an integration, created at `at`.
pub fn new_integration(title: &str, direction: DirectionKind, at: DateTime<Utc>) -> NewIntegration {
    NewIntegration::new(title, direction, settings(), Schedule::Manual, at).unwrap()
}

/// Creates an integration at `t(0)`.
pub async fn create(store: &dyn Store, title: &str, direction: DirectionKind) -> AnyIntegration {
    store
        .create_integration(new_integration(title, direction, t(0)))
        .await
        .unwrap()
}

/// Creates the first inbound integration and returns it as the primary.
pub async fn primary(store: &dyn Store) -> Integration<Inbound, Primary> {
    let created = create(store, "primary", DirectionKind::Inbound).await;
    created
        .into_primary()
        .expect("the first inbound integration is the primary")
}

/// Creates another inbound integration and returns it as a secondary.
pub async fn secondary(store: &dyn Store) -> Integration<Inbound> {
    create(store, "secondary", DirectionKind::Inbound)
        .await
        .into_secondary_inbound()
        .expect("a later inbound integration is a secondary")
}

/// A profile with every field set.
pub fn profile(address: &str) -> UserProfile {
    UserProfile {
        primary_email: email(address),
        name: PersonName {
            given: "Ada".into(),
            family: "Lovelace".into(),
            display: "Ada Lovelace".into(),
        },
        manager: Some(Manager::Unresolved(email("boss@example.com"))),
        employee_id: Some(format!("E-{address}")),
        employment_type: Some(EmploymentType::Employee),
        org_unit: Some(OrgUnitPath::new("/Engineering").unwrap()),
        is_admin: false,
    }
}

/// The primary provisions user `id` with [`profile`]`(address)` at `t(1)`.
pub fn create_user(p: &Integration<Inbound, Primary>, id: UserId, address: &str) -> DirectoryOp {
    DirectoryOp::Profile(p.profile_authority().create_user(
        id,
        profile(address),
        t(1),
        Some(EmploymentType::Employee),
    ))
}

/// The primary records a lifecycle transition of `user` at `at`.
pub fn lifecycle(
    p: &Integration<Inbound, Primary>,
    user: UserId,
    kind: LifecycleKind,
    at: DateTime<Utc>,
) -> DirectoryOp {
    DirectoryOp::Profile(p.profile_authority().lifecycle(
        user,
        LifecycleEvent {
            at,
            kind,
            employment_type: None,
        },
    ))
}

/// An account with attributes of every kind, optionally linked.
pub fn account(
    integration: IntegrationId,
    ext: &str,
    address: &str,
    link: Option<(UserId, LinkedBy)>,
) -> Account {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "department".to_owned(),
        AttributeValue::Text("Engineering".into()),
    );
    attributes.insert("fte".to_owned(), AttributeValue::Int(100));
    attributes.insert("contractor".to_owned(), AttributeValue::Bool(false));
    attributes.insert(
        "badges".to_owned(),
        AttributeValue::List(vec!["a".into(), "b".into()]),
    );
    Account {
        integration,
        external_id: xid(ext),
        email: email(address),
        link: link.map(|(user, by)| AccountLink { user, by, at: t(1) }),
        attributes,
        first_seen: t(1),
        last_seen: t(2),
        missing_since: None,
        missing_runs: 0,
    }
}

/// A group whose email is derived from its remote id.
pub fn group(integration: IntegrationId, ext: &str) -> Group {
    Group {
        id: GroupId::derived(integration.as_uuid(), ext.as_bytes()),
        integration,
        external_id: xid(ext),
        email: mail_for(ext),
        name: format!("Group {ext}"),
        description: "a group".into(),
    }
}

/// A membership of `member` (of `kind`) in `group`.
pub fn membership(
    integration: IntegrationId,
    group: &str,
    member: &str,
    kind: MemberKind,
    role: MemberRole,
) -> Membership {
    Membership {
        integration,
        group: xid(group),
        member: Member {
            kind,
            external_id: xid(member),
            email: (kind != MemberKind::Customer).then(|| mail_for(member)),
        },
        role,
    }
}

/// An org unit at `path`, under `parent` (a remote id).
pub fn org_unit(
    integration: IntegrationId,
    ext: &str,
    path: &str,
    parent: Option<&str>,
) -> OrgUnit {
    let path = OrgUnitPath::new(path).unwrap();
    OrgUnit {
        integration,
        external_id: xid(ext),
        name: path.name().to_owned(),
        path,
        description: String::new(),
        parent: parent.map(xid),
    }
}

/// A run record with every field set (only its id is random); its outcome cycles with the start hour (succeeded, no
/// change, failed, held) so that a series of runs covers them all.
pub fn run(integration: IntegrationId, started_at: DateTime<Utc>) -> SyncRun {
    let mut requests = BTreeMap::new();
    requests.insert("GET /admin/directory/v1/users".to_owned(), 3);
    requests.insert("GET /admin/directory/v1/groups".to_owned(), 1);
    let outcome = match started_at.timestamp().div_euclid(3600).rem_euclid(4) {
        0 => RunOutcome::Succeeded,
        1 => RunOutcome::NoChange,
        2 => RunOutcome::Failed {
            reason: "token revoked".into(),
        },
        _ => RunOutcome::Held {
            plan: PlanId::digest(b"held"),
        },
    };
    let mut fetch = FetchStats::default();
    fetch.requests = requests;
    fetch.retries = 2;
    fetch.bytes = 123_456;
    fetch.elapsed_ms = 789;
    fetch.max_in_flight = 4;
    SyncRun {
        id: RunId::random(),
        integration,
        rule: Some(dirsync_core::RuleId::derived(
            integration.as_uuid(),
            b"nightly",
        )),
        started_at,
        finished_at: started_at + Duration::seconds(42),
        outcome,
        counts: BTreeMap::from([
            ("users_created".to_owned(), 12),
            ("memberships_removed".to_owned(), 3),
        ]),
        quarantined: vec![QuarantinedRecord {
            kind: ObjectKind::Users,
            external_id: Some(xid("999")),
            label: "bad@example.com".into(),
            reason: "duplicate email".into(),
        }],
        fetch: Some(fetch),
    }
}

/// A held plan whose id is the digest of `content`.
pub fn held_plan(integration: IntegrationId, content: &[u8], held_at: DateTime<Utc>) -> HeldPlan {
    HeldPlan {
        id: PlanId::digest(content),
        integration,
        held_at,
        reason: "users to deprovision: 40 > 10".into(),
        plan: serde_json::json!({ "ops": [{ "op": "deprovision", "user": "ada@example.com" }] }),
    }
}

/// An integration's record with some field changed, turned back into a typed value — how the
/// suite forges what the typed API forbids, to test that the store refuses it.
pub fn forged(
    integration: &AnyIntegration,
    change: impl FnOnce(&mut dirsync_core::IntegrationRecord),
) -> AnyIntegration {
    let mut record = integration.record().clone();
    change(&mut record);
    AnyIntegration::from_record(record).unwrap()
}
