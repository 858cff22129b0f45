//! A provisioning run killed for real (issue 17, point 4): `dirsync sync` of an outbound
//! integration provisioning users and groups into an emulated tenant that answers in 20 ms is
//! killed with SIGKILL once the tenant has seen some of its `groups.insert`s (its users are
//! written by then, its memberships not all). The rerun — after the dead run's lease expires
//! (1 s, `DIRSYNC_LEASE_SECONDS`) — leaves no duplicate account or group and converges: a
//! group whose insert the killed run sent is recognised as ours (its pending record), not
//! reported as a conflict, and a last run writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dirsync_google_emulator::{Emulator, EmulatorConfig, Faults, NewUser, Tenant};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioning_run_killed_mid_apply_converges_on_the_rerun_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let (a, cli, key) = support::setup(dir.path()).await;
    let primary = cli.create(&a, &key, &[]).await;
    cli.json(&["google-integration:activate", &primary], 0)
        .await;
    // Tenant B: the same domain, its admin only, 20 ms a request.
    let mut tb = Tenant::empty("example.com", "C0b");
    let mut admin = NewUser::new("b-admin@example.com", "B", "Admin");
    admin.is_admin = true;
    tb.add_user(admin).unwrap();
    let b = Emulator::start(EmulatorConfig::with_tenant(tb))
        .await
        .unwrap();
    b.set_faults(Faults {
        latency: Duration::from_millis(20),
        ..Faults::default()
    });
    let b_key = dir.path().join("b.json");
    std::fs::write(&b_key, b.service_account_key_json()).unwrap();
    let out = cli.create(&b, &b_key, &["--direction", "outbound"]).await;
    cli.json(&["google-integration:activate", &out], 0).await;
    let users = [
        "rule:add",
        &out,
        "--name",
        "People",
        "--provision",
        "users",
        "--select",
        "\"everyone\"",
        "--create-org-units",
    ];
    cli.json(&users, 0).await;
    let groups = [
        "rule:add",
        &out,
        "--name",
        "Groups",
        "--provision",
        "groups",
        "--all-groups-of",
        &primary,
    ];
    let rule = cli.json(&groups, 0).await;
    assert_eq!(
        rule["provision_groups"]["source"]["all_of"],
        primary.as_str()
    );

    // The run, killed once B has seen a few groups.insert.
    let mut child = Command::new(&cli.binary)
        .env("DIRSYNC_LEASE_SECONDS", "1")
        .arg("--db")
        .arg(&cli.db)
        .args(["--json", "sync", &out])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while b.stats().groups_inserted < 2 {
        assert!(child.try_wait().unwrap().is_none(), "the run ended first");
        assert!(Instant::now() < deadline, "no groups.insert seen");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
    let (inserted_users, inserted_groups) = (b.stats().users_inserted, b.stats().groups_inserted);
    // The killed run left its groups' records pending (written before the inserts), some of
    // them for groups B now holds: what the rerun must recognise.
    let pending: Vec<String> = {
        let conn = rusqlite::Connection::open(&cli.db).unwrap();
        let mut stmt = conn
            .prepare("SELECT group_key FROM owned_groups WHERE record LIKE '%\"pending\"%'")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(pending.len(), a.tenant().groups().len(), "{pending:?}");
    assert!(pending.iter().any(|g| b.tenant().group(g).is_some()));
    let writes_at_kill = b.stats().write_requests();

    // The rerun (refused as busy until the dead run's lease expires) converges, writing what
    // the killed run left; the next writes nothing.
    let mut rerun = Value::Null;
    for _ in 0..40 {
        let done = cli.run(&["--json", "sync", &out]).await;
        if done.code == 0 {
            rerun = done.json();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        b.stats().write_requests() > writes_at_kill,
        "killed mid-apply"
    );
    assert_eq!(rerun["outcome"], "succeeded", "{rerun}");
    let quarantined = rerun["quarantined"].as_array().cloned().unwrap_or_default();
    assert!(
        quarantined.iter().all(|q| q["kind"] != "groups"),
        "a group the killed run made is not a conflict: {rerun}"
    );
    let last = cli.json(&["sync", &out], 0).await;
    assert_eq!(last["outcome"], "no_change", "{last}");

    // No duplicate: one account per person (by marker), one group per A group, each insert
    // applied once.
    let (a_now, b_now) = (a.tenant(), b.tenant());
    let mut per_marker: BTreeMap<String, usize> = BTreeMap::new();
    for u in b_now.live_users() {
        for (_, v) in &u.custom_ids {
            *per_marker.entry(v.clone()).or_default() += 1;
        }
    }
    assert!(per_marker.values().all(|n| *n == 1), "{per_marker:?}");
    let active = a_now.live_users().filter(|u| !u.suspended).count();
    assert_eq!(per_marker.len(), active, "every active person");
    assert_eq!(b.stats().users_inserted, per_marker.len() as u64);
    assert!(b.stats().users_inserted >= inserted_users);
    assert_eq!(b_now.groups().len(), a_now.groups().len());
    assert_eq!(b.stats().groups_inserted, a_now.groups().len() as u64);
    assert!(b.stats().groups_inserted >= inserted_groups);
    for g in a_now.groups() {
        let copy = b_now.group(&g.email).unwrap();
        assert_eq!(copy.name, g.name);
        let users = |members: &[dirsync_google_emulator::Membership]| {
            members
                .iter()
                .filter(|m| {
                    m.email
                        .as_ref()
                        .is_some_and(|e| b_now.user(e).is_some_and(|u| !u.custom_ids.is_empty()))
                })
                .count()
        };
        assert_eq!(users(&copy.members), users(&g.members), "{}", g.email);
    }
}
