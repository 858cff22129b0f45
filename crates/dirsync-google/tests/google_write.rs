//! The write side (`DirectoryTarget`) and the outbound read, against the Directory API emulator
//! (and `mockito` for the exact wire format), all on 127.0.0.1.

// Test helpers may unwrap, as `clippy.toml` allows in `#[test]` functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dirsync_core::{
    AnyIntegration, DirectionKind, DirectorySource, DirectoryTarget, Email, ExternalId,
    FetchRequest, Integration, KeyOwnership, MemberRole, NewIntegration, NoProgress, ObjectKind,
    ObjectKinds, Outbound, RemoteChanges, RemoteOp, RemoteOpKind, RemoteOpKinds, RemoteOpOutcome,
    RemoteSettings, RoleKind, Schedule, Scope, ScopeFilter, Secondary, Version,
};
use dirsync_google::{
    GcpAuthTokenSource, GoogleConnector, GoogleConnectorBuilder, KeyInfo, RetryConfig,
    StaticTokenSource, TokenSource,
};
use dirsync_google::{
    GoogleSettings, KeyReference, ServiceAccountKey, required_scopes as google_required_scopes,
    scopes as google_scopes,
};
use dirsync_google_emulator::{
    DELETE_MEMBER_ROUTE, Emulator, EmulatorConfig, Faults, INSERT_MEMBER_ROUTE, MemberType, Role,
    RunningEmulator, TenantSpec,
};
use mockito::{Matcher, Server};
use serde_json::json;

const INSERT: &str = "POST /admin/directory/v1/groups/{groupKey}/members";
const DELETE: &str = "DELETE /admin/directory/v1/groups/{groupKey}/members/{memberKey}";
const PATCH: &str = "PATCH /admin/directory/v1/groups/{groupKey}/members/{memberKey}";

async fn emulator(seed: u64, groups: usize) -> RunningEmulator {
    let spec = TenantSpec {
        users: 120,
        groups,
        memberships: groups * 6,
        empty_group_ratio: 0.0,
        nested_group_ratio: 0.0,
        ..TenantSpec::small(seed)
    };
    Emulator::start(EmulatorConfig::new(spec)).await.unwrap()
}

fn quick_retries(max_retries: u32) -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(max_retries)
        .with_delays(Duration::from_millis(2), Duration::from_millis(20))
        .with_max_jitter(Duration::from_millis(2))
}

fn outbound_scopes() -> BTreeSet<Scope> {
    // Managing members of existing groups (provisioning groups would add `group`).
    google_required_scopes(DirectionKind::Outbound, [ObjectKind::Memberships])
}

fn builder(emu: &RunningEmulator, retry: RetryConfig) -> GoogleConnectorBuilder {
    GoogleConnector::builder()
        .api_base(emu.base_url())
        .subject(Email::new(emu.admin_subject()).unwrap())
        .key_json(ServiceAccountKey::new(emu.service_account_key_json()))
        .scopes(outbound_scopes())
        .concurrency(4)
        .requests_per_minute(0)
        .retry(retry)
}

fn connector(emu: &RunningEmulator, retry: RetryConfig) -> GoogleConnector {
    builder(emu, retry).build().unwrap()
}

fn outbound() -> Integration<Outbound, Secondary> {
    let settings = RemoteSettings::from_typed(&GoogleSettings::new(
        Email::new("admin@example.com").unwrap(),
        KeyReference::Named("key".into()),
        KeyOwnership::CustomerOwned,
    ))
    .unwrap();
    let new = NewIntegration::new(
        "Google groups",
        DirectionKind::Outbound,
        settings,
        Schedule::Manual,
        Utc::now(),
    )
    .unwrap();
    AnyIntegration::from_record(new.into_record(RoleKind::Secondary))
        .unwrap()
        .into_outbound()
        .unwrap()
}

fn changes(ops: &[RemoteOp]) -> RemoteChanges {
    let mut c = RemoteChanges::new(&outbound(), Version::ZERO);
    for op in ops {
        c.push(op.clone());
    }
    c
}

fn insert(group: &str, member: &str, role: MemberRole) -> RemoteOp {
    RemoteOp::InsertMember {
        group: ExternalId::new(group).unwrap(),
        member: Email::new(member).unwrap(),
        role,
    }
}

fn set_role(group: &str, member: &str, role: MemberRole) -> RemoteOp {
    RemoteOp::SetMemberRole {
        group: ExternalId::new(group).unwrap(),
        member: Email::new(member).unwrap(),
        role,
    }
}

fn delete(group: &str, member: &str) -> RemoteOp {
    RemoteOp::DeleteMember {
        group: ExternalId::new(group).unwrap(),
        member: Email::new(member).unwrap(),
    }
}

/// A group's direct members as (email, role), from the emulator's tenant.
fn members_of(emu: &RunningEmulator, group: &str) -> BTreeSet<(String, &'static str)> {
    let t = emu.tenant();
    let g = t.group(group).unwrap();
    let ids: HashSet<&str> = g.members.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids.len(),
        g.members.len(),
        "a member appears twice in {group}"
    );
    g.members
        .iter()
        .map(|m| (m.email.clone().unwrap_or_default(), m.role.as_str()))
        .collect()
}

/// Small groups with user members: (id, email, one user member's email). (The generated
/// tenant's `all-staff` group holds everyone.)
fn groups_with_users(emu: &RunningEmulator, n: usize) -> Vec<(String, String, String)> {
    emu.tenant()
        .groups()
        .iter()
        .filter(|g| g.members.len() < 20)
        .filter_map(|g| {
            let user = g
                .members
                .iter()
                .find(|m| m.member_type == MemberType::User)?;
            Some((g.id.clone(), g.email.clone(), user.email.clone()?))
        })
        .take(n)
        .collect()
}

/// Live users that are members of none of `groups`.
fn outsiders(emu: &RunningEmulator, groups: &[&str], n: usize) -> Vec<String> {
    let t = emu.tenant();
    let member_ids: HashSet<String> = groups
        .iter()
        .flat_map(|g| t.group(g).unwrap().members.iter().map(|m| m.id.clone()))
        .collect();
    let out: Vec<String> = t
        .live_users()
        .filter(|u| !member_ids.contains(&u.id))
        .map(|u| u.primary_email.clone())
        .take(n)
        .collect();
    assert_eq!(out.len(), n, "not enough outsiders");
    out
}

fn is_failed(o: &RemoteOpOutcome) -> bool {
    matches!(o, RemoteOpOutcome::Failed { .. })
}

#[tokio::test]
async fn inserts_and_deletes_reach_the_tenant_and_reapplying_writes_nothing() {
    let emu = emulator(31, 8).await;
    let [(group, _, leaving)] = groups_with_users(&emu, 1).try_into().unwrap();
    let joining = outsiders(&emu, &[&group], 2);
    let before = members_of(&emu, &group);
    let ops = [
        insert(&group, &joining[0], MemberRole::Member),
        insert(&group, &joining[1], MemberRole::Manager),
        delete(&group, &leaving),
    ];
    let target: Arc<dyn DirectoryTarget> = Arc::new(connector(&emu, quick_retries(3)));
    let report = target.apply(&changes(&ops)).await.unwrap();
    assert_eq!(report.outcomes, vec![RemoteOpOutcome::Done; 3]);
    assert_eq!(report.stats.requests[INSERT], 2);
    assert_eq!(report.stats.requests[DELETE], 1);
    assert_eq!(report.stats.retries, 0);
    let mut want = before.clone();
    want.retain(|(email, _)| email != &leaving);
    want.insert((joining[0].clone(), Role::Member.as_str()));
    want.insert((joining[1].clone(), Role::Manager.as_str()));
    assert_eq!(members_of(&emu, &group), want);
    let stats = emu.stats();
    assert_eq!((stats.members_inserted, stats.members_deleted), (2, 1));

    // Again: Google answers 409 duplicate and 404 memberKey; nothing changes.
    let again = target.apply(&changes(&ops)).await.unwrap();
    assert_eq!(again.outcomes, vec![RemoteOpOutcome::AlreadyDone; 3]);
    assert_eq!(members_of(&emu, &group), want);
    let stats = emu.stats();
    assert_eq!((stats.members_inserted, stats.members_deleted), (2, 1));
    assert_eq!(stats.requests(INSERT_MEMBER_ROUTE), 4);
    assert_eq!(stats.requests(DELETE_MEMBER_ROUTE), 2);

    // Nothing to do: no request at all.
    let before = emu.stats().requests_total;
    let empty = target.apply(&changes(&[])).await.unwrap();
    assert!(empty.outcomes.is_empty());
    assert_eq!(emu.stats().requests_total, before);
}

#[tokio::test]
async fn a_role_is_set_with_members_patch_and_patching_a_non_member_fails() {
    let emu = emulator(32, 8).await;
    let [(group, _, present)] = groups_with_users(&emu, 1).try_into().unwrap();
    let [stranger] = outsiders(&emu, &[&group], 1).try_into().unwrap();
    let target: Arc<dyn DirectoryTarget> = Arc::new(connector(&emu, quick_retries(3)));
    assert_eq!(
        target.supported_operations(),
        RemoteOpKinds::new([
            RemoteOpKind::InsertMember,
            RemoteOpKind::DeleteMember,
            RemoteOpKind::SetMemberRole,
            RemoteOpKind::CreateUser,
            RemoteOpKind::UpdateUser,
            RemoteOpKind::SuspendUser,
            RemoteOpKind::ReactivateUser,
            RemoteOpKind::DeleteUser,
            RemoteOpKind::CreateGroup,
            RemoteOpKind::UpdateGroup,
            RemoteOpKind::DeleteGroup,
            RemoteOpKind::CreateOrgUnit,
        ])
    );
    let ops = [
        set_role(&group, &present, MemberRole::Owner),
        set_role(&group, &stranger, MemberRole::Manager),
        // Joins, then is promoted: the two run in this order.
        insert(&group, &stranger, MemberRole::Member),
    ];
    let report = target.apply(&changes(&ops)).await.unwrap();
    assert_eq!(report.outcomes[0], RemoteOpOutcome::Done);
    assert!(is_failed(&report.outcomes[1]), "{:?}", report.outcomes[1]);
    // After a failed operation on a (group, member), the later ones on it are not attempted.
    assert!(is_failed(&report.outcomes[2]), "{:?}", report.outcomes[2]);
    assert_eq!(report.stats.requests[PATCH], 2);
    let members = members_of(&emu, &group);
    assert!(
        members.contains(&(present.clone(), Role::Owner.as_str())),
        "{members:?}"
    );
    assert!(!members.iter().any(|(email, _)| email == &stranger));

    let report = target
        .apply(&changes(&[
            insert(&group, &stranger, MemberRole::Member),
            set_role(&group, &stranger, MemberRole::Manager),
        ]))
        .await
        .unwrap();
    assert_eq!(report.outcomes, vec![RemoteOpOutcome::Done; 2]);
    assert!(members_of(&emu, &group).contains(&(stranger, Role::Manager.as_str())));
    assert_eq!(emu.stats().members_patched, 2);
}

#[tokio::test]
async fn a_failing_group_fails_its_operations_the_others_are_done_and_a_rerun_converges() {
    let emu = emulator(32, 8).await;
    let [(g1, _, _), (g2, g2_email, _)] = groups_with_users(&emu, 2).try_into().unwrap();
    let [a, b, c]: [String; 3] = outsiders(&emu, &[&g1, &g2], 3).try_into().unwrap();
    let g2_before = members_of(&emu, &g2);
    let ops = [
        insert(&g1, &a, MemberRole::Member),
        insert(&g2, &a, MemberRole::Member),
        delete(&g2, &b),
        insert(&g1, &b, MemberRole::Owner),
        insert(&g2, &c, MemberRole::Member),
        delete(&g2, &c),
        insert("0nosuchgroup1", &a, MemberRole::Member),
    ];
    emu.fail_group_writes(&g2_email, 503);
    let target = connector(&emu, quick_retries(2));
    let report = target.apply(&changes(&ops)).await.unwrap();
    let o = &report.outcomes;
    assert_eq!(o.len(), ops.len());
    assert_eq!(o[0], RemoteOpOutcome::Done);
    assert_eq!(o[3], RemoteOpOutcome::Done);
    for i in [1, 2, 4, 5, 6] {
        assert!(is_failed(&o[i]), "op {i}: {:?}", o[i]);
    }
    let reason = |i: usize| match &o[i] {
        RemoteOpOutcome::Failed { reason } => reason.clone(),
        _ => String::new(),
    };
    assert!(reason(1).contains("503"), "{}", reason(1));
    assert!(reason(5).contains("not attempted"), "{}", reason(5));
    assert!(reason(6).contains("groupKey"), "{}", reason(6));
    // Exhausted retries on the failing group: 2 retries for each of its 3 attempted ops.
    assert_eq!(report.stats.retries, 6);
    assert_eq!(members_of(&emu, &g2), g2_before);
    assert!(members_of(&emu, &g1).contains(&(b.clone(), Role::Owner.as_str())));

    // The next run finishes the job and duplicates nothing.
    emu.clear_failing_groups();
    let rerun = target.apply(&changes(&ops)).await.unwrap();
    use RemoteOpOutcome::{AlreadyDone, Done};
    let o = &rerun.outcomes;
    assert_eq!(
        &o[..6],
        &[AlreadyDone, Done, AlreadyDone, AlreadyDone, Done, Done]
    );
    assert!(is_failed(&o[6]));
    let mut want = g2_before;
    want.insert((a.clone(), Role::Member.as_str()));
    assert_eq!(members_of(&emu, &g2), want);
    let stats = emu.stats();
    assert_eq!((stats.members_inserted, stats.members_deleted), (4, 1));
}

#[tokio::test]
async fn without_the_group_member_scope_the_apply_fails_naming_it_and_writes_nothing() {
    let emu = emulator(33, 4).await;
    let [(group, _, leaving)] = groups_with_users(&emu, 1).try_into().unwrap();
    let joining = outsiders(&emu, &[&group], 1);
    let ops = [
        insert(&group, &joining[0], MemberRole::Member),
        delete(&group, &leaving),
    ];
    let before = members_of(&emu, &group);
    // Not delegated: the token endpoint refuses the scope before any write.
    emu.deny_scope(google_scopes::GROUP_MEMBER);
    let target = connector(&emu, quick_retries(2));
    match target.apply(&changes(&ops)).await {
        Err(dirsync_core::Error::Access(dirsync_core::AccessDenied::Unauthorized { reason })) => {
            assert!(reason.contains(google_scopes::GROUP_MEMBER), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(emu.stats().write_requests(), 0);
    // validate_access names it too (and proves the granted read scope).
    let report = target.validate_access().await.unwrap();
    assert_eq!(
        report.missing(),
        BTreeSet::from([Scope::new(google_scopes::GROUP_MEMBER).unwrap()])
    );
    assert_eq!(
        report.granted(),
        BTreeSet::from([Scope::new(google_scopes::GROUP_READONLY).unwrap()])
    );
    emu.allow_scope(google_scopes::GROUP_MEMBER);

    // A token without the scope (an application's own token broker): the API answers 403
    // insufficientPermissions, the apply stops with the scope named, nothing is written.
    let key = KeyInfo::parse(ServiceAccountKey::new(emu.service_account_key_json())).unwrap();
    let subject = Email::new(emu.admin_subject()).unwrap();
    let read_only = GcpAuthTokenSource::new(key, subject, Duration::from_secs(10))
        .unwrap()
        .token(&Scope::new(google_scopes::GROUP_READONLY).unwrap())
        .await
        .unwrap();
    let target = builder(&emu, quick_retries(2))
        .token_source(Arc::new(StaticTokenSource::new(
            [read_only.expose_secret()],
        )))
        .build()
        .unwrap();
    match target.apply(&changes(&ops)).await {
        Err(dirsync_core::Error::Access(dirsync_core::AccessDenied::MissingScopes { scopes })) => {
            assert_eq!(
                scopes,
                vec![Scope::new(google_scopes::GROUP_MEMBER).unwrap()]
            )
        }
        other => panic!("{other:?}"),
    }
    let stats = emu.stats();
    assert_eq!((stats.members_inserted, stats.members_deleted), (0, 0));
    assert_eq!(members_of(&emu, &group), before);
}

#[tokio::test]
async fn transient_errors_on_a_fifth_of_the_writes_still_converge_without_duplicates() {
    let emu = emulator(34, 10).await;
    let groups = groups_with_users(&emu, 5);
    assert_eq!(groups.len(), 5);
    let ids: Vec<&str> = groups.iter().map(|(id, _, _)| id.as_str()).collect();
    let joining = outsiders(&emu, &ids, 8);
    let mut ops = Vec::new();
    let mut want = Vec::new();
    for (id, _, leaving) in &groups {
        let mut members = members_of(&emu, id);
        for user in &joining {
            ops.push(insert(id, user, MemberRole::Member));
            members.insert((user.clone(), Role::Member.as_str()));
        }
        ops.push(delete(id, leaving));
        members.retain(|(email, _)| email != leaving);
        want.push(members);
    }
    emu.set_faults(Faults {
        error_rate: 0.2,
        seed: 11,
        ..Faults::default()
    });
    let target = connector(&emu, quick_retries(12));
    let report = target.apply(&changes(&ops)).await.unwrap();
    assert_eq!(report.outcomes, vec![RemoteOpOutcome::Done; ops.len()]);
    assert!(report.stats.retries > 0, "{:?}", report.stats);
    assert_eq!(
        report.stats.total_requests(),
        ops.len() as u64 + report.stats.retries
    );
    let stats = emu.stats();
    assert!(stats.errors_injected > 0);
    assert_eq!(stats.members_inserted, 40);
    assert_eq!(stats.members_deleted, 5);
    for ((id, _, _), want) in groups.iter().zip(&want) {
        assert_eq!(&members_of(&emu, id), want);
    }
    // Re-applied under the same faults: everything already done, nothing written.
    let again = target.apply(&changes(&ops)).await.unwrap();
    assert_eq!(
        again.outcomes,
        vec![RemoteOpOutcome::AlreadyDone; ops.len()]
    );
    let stats = emu.stats();
    assert_eq!((stats.members_inserted, stats.members_deleted), (40, 5));
}

#[tokio::test]
async fn the_nth_write_failing_once_is_retried() {
    let emu = emulator(35, 4).await;
    let [(group, _, _)] = groups_with_users(&emu, 1).try_into().unwrap();
    let joining = outsiders(&emu, &[&group], 3);
    emu.set_faults(Faults {
        failing_writes: vec![1],
        ..Faults::default()
    });
    let ops: Vec<RemoteOp> = joining
        .iter()
        .map(|u| insert(&group, u, MemberRole::Member))
        .collect();
    let report = connector(&emu, quick_retries(2))
        .apply(&changes(&ops))
        .await
        .unwrap();
    assert_eq!(report.outcomes, vec![RemoteOpOutcome::Done; 3]);
    assert_eq!(report.stats.retries, 1);
    assert_eq!(emu.stats().errors_injected, 1);
    assert_eq!(emu.stats().members_inserted, 3);
}

#[tokio::test]
async fn the_wire_format_is_exact() {
    let mut server = Server::new_async().await;
    let inserted = server
        .mock("POST", "/admin/directory/v1/groups/03x8tuzt3hqdv5t/members")
        .match_query(Matcher::Missing)
        .match_header("authorization", "Bearer ya29.t")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(
            json!({"email": "ada+ops@example.com", "role": "MANAGER"}),
        ))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(r#"{"kind":"admin#directory#member","id":"1","email":"ada+ops@example.com","role":"MANAGER","type":"USER","status":"ACTIVE"}"#)
        .expect(1)
        .create_async()
        .await;
    let deleted = server
        .mock(
            "DELETE",
            "/admin/directory/v1/groups/03x8tuzt3hqdv5t/members/grace.o%27neil%2Bold%40example.com",
        )
        .match_query(Matcher::Missing)
        .match_header("authorization", "Bearer ya29.t")
        .match_body("")
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let target = mock_target(&server, "ya29.t");
    let ops = [
        insert(
            "03x8tuzt3hqdv5t",
            "ada+ops@example.com",
            MemberRole::Manager,
        ),
        delete("03x8tuzt3hqdv5t", "grace.o'neil+old@example.com"),
    ];
    let report = target.apply(&changes(&ops)).await.unwrap();
    assert_eq!(report.outcomes, vec![RemoteOpOutcome::Done; 2]);
    inserted.assert_async().await;
    deleted.assert_async().await;
}

#[tokio::test]
async fn the_patch_wire_format_is_exact() {
    let mut server = Server::new_async().await;
    let patched = server
        .mock(
            "PATCH",
            "/admin/directory/v1/groups/03x8tuzt3hqdv5t/members/ada%2Bops%40example.com",
        )
        .match_query(Matcher::Missing)
        .match_header("authorization", "Bearer ya29.t")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({"role": "OWNER"})))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(r#"{"kind":"admin#directory#member","id":"1","email":"ada+ops@example.com","role":"OWNER","type":"USER","status":"ACTIVE"}"#)
        .expect(1)
        .create_async()
        .await;
    let target = mock_target(&server, "ya29.t");
    let op = set_role("03x8tuzt3hqdv5t", "ada+ops@example.com", MemberRole::Owner);
    let report = target.apply(&changes(&[op])).await.unwrap();
    assert_eq!(report.outcomes, vec![RemoteOpOutcome::Done]);
    patched.assert_async().await;
}

/// A connector for a mockito server, with a static token and two quick retries.
fn mock_target(server: &mockito::ServerGuard, token: &str) -> GoogleConnector {
    GoogleConnector::builder()
        .api_base(server.url())
        .subject(Email::new("admin@example.com").unwrap())
        .token_source(Arc::new(StaticTokenSource::new([token])))
        .requests_per_minute(0)
        .retry(RetryConfig::immediate(2))
        .build()
        .unwrap()
}

fn api_error(status: u16, reason: &str, message: &str) -> String {
    json!({"error": {"code": status, "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}]}})
    .to_string()
}

/// A one-shot answer of Google's error envelope to `method path` (for inserts: of `email`).
async fn answer(
    server: &mut mockito::ServerGuard,
    method: &str,
    path: &str,
    email: Option<&str>,
    (status, reason, message): (u16, &str, &str),
) -> mockito::Mock {
    let body = match email {
        Some(e) => Matcher::PartialJson(json!({ "email": e })),
        None => Matcher::Any,
    };
    server
        .mock(method, path)
        .match_query(Matcher::Any)
        .match_body(body)
        .with_status(usize::from(status))
        .with_body(api_error(status, reason, message))
        .expect(1)
        .create_async()
        .await
}

#[tokio::test]
async fn answers_map_to_outcomes_and_a_retried_insert_that_finds_itself_is_done() {
    let mut server = Server::new_async().await;
    let s = &mut server;
    let path = "/admin/directory/v1/groups/g1/members";
    let duplicate = (409, "duplicate", "Member already exists.");
    let mocks = [
        // The first attempt times out at the gateway (it may have been applied), the retry
        // finds the member: our own first attempt wrote it.
        answer(
            s,
            "POST",
            path,
            Some("a@example.com"),
            (504, "gatewayTimeout", "Gateway Timeout"),
        )
        .await,
        answer(s, "POST", path, Some("a@example.com"), duplicate).await,
        // Refused for rate (not applied), then 409: someone else added it.
        answer(
            s,
            "POST",
            path,
            Some("b@example.com"),
            (429, "rateLimitExceeded", "Rate Limit Exceeded"),
        )
        .await,
        answer(s, "POST", path, Some("b@example.com"), duplicate).await,
        // The group is gone: that operation fails.
        answer(
            s,
            "DELETE",
            "/admin/directory/v1/groups/gone/members/c%40example.com",
            None,
            (404, "notFound", "Resource Not Found: groupKey"),
        )
        .await,
        // A read of the group tells a missing group from a missing member (the message is
        // never read: these two say nothing of which key was not found).
        answer(
            s,
            "GET",
            "/admin/directory/v1/groups/gone",
            None,
            (404, "notFound", "Not Found"),
        )
        .await,
        // A member already gone from a group that exists: done.
        answer(
            s,
            "DELETE",
            "/admin/directory/v1/groups/g1/members/e%40example.com",
            None,
            (404, "notFound", "Not Found"),
        )
        .await,
        s.mock("GET", "/admin/directory/v1/groups/g1")
            .match_query(Matcher::Any)
            .with_body(r#"{"id":"g1"}"#)
            .expect(1)
            .create_async()
            .await,
    ];
    let target = mock_target(&server, "t");
    let report = target
        .apply(&changes(&[
            insert("g1", "a@example.com", MemberRole::Member),
            insert("g1", "b@example.com", MemberRole::Member),
            delete("gone", "c@example.com"),
            delete("g1", "e@example.com"),
        ]))
        .await
        .unwrap();
    assert_eq!(report.outcomes[0], RemoteOpOutcome::Done);
    assert_eq!(report.outcomes[1], RemoteOpOutcome::AlreadyDone);
    assert!(is_failed(&report.outcomes[2]), "{:?}", report.outcomes[2]);
    assert_eq!(report.outcomes[3], RemoteOpOutcome::AlreadyDone);
    assert_eq!(report.stats.retries, 2);
    for m in mocks {
        m.assert_async().await;
    }

    // 403 forbidden (the subject may not manage groups) stops the whole apply.
    let forbidden = answer(
        &mut server,
        "DELETE",
        "/admin/directory/v1/groups/g2/members/d%40example.com",
        None,
        (
            403,
            "forbidden",
            "Not Authorized to access this resource/api",
        ),
    )
    .await;
    match target
        .apply(&changes(&[delete("g2", "d@example.com")]))
        .await
    {
        Err(dirsync_core::Error::Access(dirsync_core::AccessDenied::Unauthorized { reason })) => {
            assert!(reason.contains("forbidden"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    forbidden.assert_async().await;
}

#[tokio::test]
async fn an_outbound_fetch_reads_only_the_allowed_groups_and_their_members() {
    let emu = emulator(36, 40).await;
    let allowed = groups_with_users(&emu, 2);
    let mut emails: BTreeSet<Email> = allowed
        .iter()
        .map(|(_, email, _)| Email::new(email.as_str()).unwrap())
        .collect();
    emails.insert(Email::new("no-such-group@example.com").unwrap());
    let request = FetchRequest::new(
        ObjectKinds::new([ObjectKind::Groups, ObjectKind::Memberships]).unwrap(),
        ScopeFilter::everything().with_groups(emails),
    );
    let source = connector(&emu, quick_retries(2));
    emu.reset_stats();
    let fetched = source.fetch(&request, &NoProgress).await.unwrap();
    let s = fetched.snapshot;
    let got: BTreeSet<&str> = s.groups().iter().map(|g| g.external_id.as_str()).collect();
    let want: BTreeSet<&str> = allowed.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(got, want);
    let t = emu.tenant();
    let want_members: usize = allowed
        .iter()
        .map(|(id, _, _)| t.group(id).unwrap().members.len())
        .sum();
    assert_eq!(s.members().len(), want_members);
    // One groups.get per allowed address (the missing one is a 404), one member page per
    // allowed group, and no listing of the tenant's 40 groups.
    let stats = emu.stats();
    assert_eq!(stats.requests("GET /admin/directory/v1/groups"), 0);
    assert_eq!(
        stats.requests("GET /admin/directory/v1/groups/{group_key}"),
        3
    );
    assert_eq!(
        stats.requests("GET /admin/directory/v1/groups/{group_key}/members"),
        2
    );
    assert_eq!(fetched.stats.total_requests(), 5);

    // Its access check asks for exactly the outbound scopes and proves both.
    let report = source.validate_access().await.unwrap();
    assert_eq!(report.granted(), outbound_scopes());
    assert!(report.missing().is_empty());
}
