//! Hostile records end to end (issue 8, point 5): a tenant served by the emulator holds
//! invalid emails, control characters, huge strings, an org unit whose path has a control
//! character, a manager who is not an email, and manager cycles. The sync into SQLite
//! succeeds, every bad record is quarantined with its reason in the run record (never
//! dropped silently, never a reason to delete), manager cycles are reported by the planner,
//! everything else is stored, and the next run changes nothing.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use directory_sync::core::{
    DirectorySource, Email, FetchRequest, NoProgress, ObjectKind, ObjectKinds, RunOutcome,
    ScopeFilter, UserStatus,
};
use directory_sync::engine::{Policy, plan_inbound, sync_inbound};
use directory_sync::sqlite::SqliteStore;
use directory_sync::store::Store;
use dirsync_google_emulator::NewUser;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_records_are_quarantined_or_kept_verbatim_and_the_sync_goes_on() {
    let emu = emulator(71, 300).await;
    let huge = "x".repeat(200_000);
    let invalid = [
        "not-an-email".to_owned(),
        "bell\u{7}@example.com".to_owned(),
        "nul\u{0}@example.com".to_owned(),
        format!("{}@example.com", "a".repeat(100_000)),
    ];
    for email in &invalid {
        emu.add_user(NewUser::new(email, "Bad", "Email")).unwrap();
    }
    // Free text is kept verbatim, whatever it holds.
    emu.add_user(NewUser::new(
        "wild.name@example.com",
        "\u{1b}[31mRed\u{7}\u{202e}",
        &huge,
    ))
    .unwrap();
    // An org unit whose path holds a control character, and a user in it.
    emu.with_tenant(|t| t.add_org_unit("/", "Bad\u{1}Unit"))
        .unwrap();
    let mut in_bad_unit = NewUser::new("in.bad.unit@example.com", "In", "Unit");
    in_bad_unit.org_unit_path = "/Bad\u{1}Unit".into();
    emu.add_user(in_bad_unit).unwrap();
    // A manager that is not an email; a two-person cycle and a self-manager.
    let staff: Vec<String> = emu
        .tenant()
        .live_users()
        .filter(|u| !u.is_admin && u.primary_email.ends_with("@example.com"))
        .map(|u| u.primary_email.clone())
        .take(4)
        .collect();
    emu.with_tenant(|t| {
        t.set_manager(&staff[0], Some("nobody at all")).unwrap();
        t.set_manager(&staff[1], Some(&staff[2])).unwrap();
        t.set_manager(&staff[2], Some(&staff[1])).unwrap();
        t.set_manager(&staff[3], Some(&staff[3])).unwrap();
    });

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("hostile.db")).unwrap();
    let id = active_integration(&store, &emu).await;
    let connector = connector(&emu).build().unwrap();
    let policy = Policy::default();
    let ctx = context(&store, &policy, "hostile-test", &NoProgress);
    let run = sync_inbound(&ctx, &connector, id, None).await.unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");

    // Each invalid email, the bad org unit and the user in it are quarantined with a reason.
    let reasons: Vec<(ObjectKind, String, String)> = run
        .quarantined
        .iter()
        .map(|q| (q.kind, q.label.clone(), q.reason.clone()))
        .collect();
    let users_quarantined = reasons
        .iter()
        .filter(|(k, _, r)| *k == ObjectKind::Users && r.starts_with("primaryEmail"))
        .count();
    assert_eq!(users_quarantined, invalid.len(), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|(k, _, r)| *k == ObjectKind::OrgUnits && r.contains("control")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|(k, l, r)| *k == ObjectKind::Users
            && l == "in.bad.unit@example.com"
            && r.starts_with("orgUnitPath")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().all(|(_, l, _)| l.chars().count() <= 201),
        "labels are clipped"
    );
    assert_eq!(run.quarantined.len(), invalid.len() + 2, "{reasons:?}");

    // Everyone else is there, and nobody was suspended or deprovisioned on bad evidence.
    let tenant = emu.tenant();
    let users = store.users().await.unwrap();
    assert_eq!(users.len(), tenant.live_users().count() - invalid.len() - 1);
    assert!(users.iter().all(|u| u.status != UserStatus::Deprovisioned));
    let wild = store
        .user_by_email(&Email::new("wild.name@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wild.profile.name.given, "\u{1b}[31mRed\u{7}\u{202e}");
    assert_eq!(wild.profile.name.family.len(), huge.len());
    let nobody = store
        .user_by_email(&Email::new(&staff[0]).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        nobody.profile.manager.is_none(),
        "a manager that is not an email is dropped"
    );

    // The planner reports both manager cycles; the next run changes nothing.
    let fetched = connector
        .fetch(
            &FetchRequest::new(ObjectKinds::all(), ScopeFilter::everything()),
            &NoProgress,
        )
        .await
        .unwrap();
    let integration = store.integration(id).await.unwrap();
    let view = store.view(id).await.unwrap();
    let plan = plan_inbound(&integration, &fetched.snapshot, &view, &policy, fixed_now()).unwrap();
    assert!(plan.is_empty(), "{plan}");
    let mut cycles: Vec<Vec<String>> = plan
        .report()
        .manager_cycles
        .iter()
        .map(|c| {
            let mut c: Vec<String> = c.iter().map(Email::key).collect();
            c.sort();
            c
        })
        .collect();
    cycles.sort();
    let mut want = vec![
        {
            let mut two = vec![staff[1].clone(), staff[2].clone()];
            two.sort();
            two
        },
        vec![staff[3].clone()],
    ];
    want.sort();
    assert_eq!(cycles, want);
    let again = sync_inbound(&ctx, &connector, id, None).await.unwrap();
    assert_eq!(again.outcome, RunOutcome::NoChange, "{again:?}");
}
