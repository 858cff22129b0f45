//! End to end: the Google connector against the Directory API emulator, all on 127.0.0.1.
//!
//! One test binary for the workspace's cross-crate tests (link time on 2 cores).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::Duration;

use directory_sync::core::{
    DirectionKind, DirectorySource, Email, EmploymentType, FetchRequest, MemberKind, MemberRole,
    NoProgress, ObjectKind, ObjectKinds, ScopeFilter, Snapshot,
};
use directory_sync::google::{GoogleConnector, RetryConfig};
use directory_sync::google::{ServiceAccountKey, required_scopes as google_required_scopes};
use dirsync_google_emulator::{
    Emulator, EmulatorConfig, MemberType, Role, RunningEmulator, Tenant, TenantSpec,
};

async fn emulator(users: usize, groups: usize, memberships: usize) -> RunningEmulator {
    let spec = TenantSpec {
        users,
        groups,
        memberships,
        ..TenantSpec::sized(7, users)
    };
    Emulator::start(EmulatorConfig::new(spec)).await.unwrap()
}

fn connector(emu: &RunningEmulator) -> GoogleConnector {
    GoogleConnector::builder()
        .api_base(emu.base_url())
        .subject(Email::new(emu.admin_subject()).unwrap())
        .key_json(ServiceAccountKey::new(emu.service_account_key_json()))
        .scopes(google_required_scopes(
            DirectionKind::Inbound,
            ObjectKind::ALL,
        ))
        .concurrency(8)
        .requests_per_minute(0)
        .retry(
            RetryConfig::default()
                .with_max_retries(10)
                .with_delays(Duration::from_millis(5), Duration::from_millis(100))
                .with_max_jitter(Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}

fn everything() -> FetchRequest {
    FetchRequest::new(ObjectKinds::all(), ScopeFilter::everything())
}

type UserRow = (
    String,
    String,
    bool,
    String,
    Option<String>,
    Option<String>,
    Option<EmploymentType>,
    bool,
);

/// Users, deleted user ids, groups, memberships and org units, as comparable rows.
type Rows = (
    BTreeSet<UserRow>,
    BTreeSet<String>,
    BTreeSet<(String, String, String)>,
    BTreeSet<(String, MemberKind, String, MemberRole)>,
    BTreeSet<(String, String)>,
);

/// The tenant, as the rows a snapshot of it must hold.
fn expected(t: &Tenant) -> Rows {
    let users = t
        .live_users()
        .map(|u| {
            let employment = match u.employment {
                dirsync_google_emulator::EmploymentType::Employee => EmploymentType::Employee,
                dirsync_google_emulator::EmploymentType::Contractor => EmploymentType::Contractor,
            };
            (
                u.id.clone(),
                u.primary_email.to_ascii_lowercase(),
                u.suspended,
                u.org_unit_path.clone(),
                u.employee_id.clone(),
                u.manager_email.clone().map(|m| m.to_ascii_lowercase()),
                Some(employment),
                u.is_admin,
            )
        })
        .collect();
    let deleted = t
        .users()
        .iter()
        .filter(|u| u.is_deleted())
        .map(|u| u.id.clone())
        .collect();
    let groups = t
        .groups()
        .iter()
        .map(|g| (g.id.clone(), g.email.to_ascii_lowercase(), g.name.clone()))
        .collect();
    let memberships = t
        .groups()
        .iter()
        .flat_map(|g| {
            g.members.iter().map(move |m| {
                let kind = match m.member_type {
                    MemberType::User | MemberType::ExternalUser => MemberKind::User,
                    MemberType::Group => MemberKind::Group,
                    MemberType::Customer => MemberKind::Customer,
                };
                let role = match m.role {
                    Role::Owner => MemberRole::Owner,
                    Role::Manager => MemberRole::Manager,
                    Role::Member => MemberRole::Member,
                };
                (g.id.clone(), kind, m.id.clone(), role)
            })
        })
        .collect();
    let org_units = t
        .org_units()
        .iter()
        .filter(|o| o.path != "/")
        .map(|o| (o.id.clone(), o.path.clone()))
        .collect();
    (users, deleted, groups, memberships, org_units)
}

/// The same rows, read from a snapshot.
fn actual(s: &Snapshot) -> Rows {
    let users = s
        .users()
        .iter()
        .map(|u| {
            (
                u.external_id.to_string(),
                u.primary_email.key(),
                u.suspended,
                u.org_unit
                    .as_ref()
                    .map(|o| o.to_string())
                    .unwrap_or_default(),
                u.employee_id.clone(),
                u.manager_email.as_ref().map(Email::key),
                u.employment_type,
                u.is_admin,
            )
        })
        .collect();
    let deleted = s
        .deleted_users()
        .iter()
        .map(|d| d.external_id.to_string())
        .collect();
    let groups = s
        .groups()
        .iter()
        .map(|g| (g.external_id.to_string(), g.email.key(), g.name.clone()))
        .collect();
    let memberships = s
        .members()
        .iter()
        .map(|m| {
            (
                m.group.to_string(),
                m.member.kind,
                m.member.external_id.to_string(),
                m.role,
            )
        })
        .collect();
    let org_units = s
        .org_units()
        .iter()
        .map(|o| (o.external_id.to_string(), o.path.to_string()))
        .collect();
    (users, deleted, groups, memberships, org_units)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_under_transient_errors_equals_the_tenant_exactly() {
    let emu = emulator(10_000, 1_000, 100_000).await;
    emu.set_error_rate(0.05);
    let fetched = connector(&emu)
        .fetch(&everything(), &NoProgress)
        .await
        .unwrap();
    let tenant = emu.tenant();
    let (want, got) = (expected(&tenant), actual(&fetched.snapshot));
    assert_eq!(got.0.len(), want.0.len(), "users");
    assert_eq!(got.0, want.0, "users");
    assert_eq!(got.1, want.1, "deleted users");
    assert_eq!(got.2, want.2, "groups");
    assert_eq!(got.3.len(), want.3.len(), "memberships");
    assert_eq!(got.3, want.3, "memberships");
    assert_eq!(got.4, want.4, "org units");
    assert!(
        fetched.snapshot.quarantined().is_empty(),
        "{:?}",
        fetched.snapshot.quarantined()
    );
    assert!(
        want.3.len() >= 90_000,
        "the tenant is the size asked for: {}",
        want.3.len()
    );
    let stats = emu.stats();
    assert!(stats.errors_injected > 0, "errors were injected");
    assert!(
        fetched.stats.retries >= stats.errors_injected,
        "every injected error was retried"
    );
    assert!(fetched.stats.total_requests() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_always_fails_fails_the_fetch_and_yields_nothing() {
    let emu = emulator(1_200, 50, 3_000).await;
    emu.fail_page("GET /admin/directory/v1/users", 1, 503);
    let err = connector(&emu)
        .fetch(&everything(), &NoProgress)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            directory_sync::core::Error::Remote {
                status: Some(503),
                ..
            }
        ),
        "{err:?}"
    );
}
