//! The `dirsync` binary, run as a program against the emulator: every command, its `--json`
//! output and its exit codes (0 success, 1 failure, 3 held by a safeguard).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use dirsync_google_emulator::{Role, RunningEmulator};
use serde_json::Value;
use support::{Cli, is_rfc3339_or_null, setup};

const ORGUNIT_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.orgunit.readonly";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_with_its_json_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let (google, cli, key) = setup(dir.path()).await;
    every_command(&google, &cli, &key).await;
}

/// The same commands over PostgreSQL (`--db postgres://...`, a fresh schema of the test
/// server: see `dirsync_postgres::testing`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_on_postgres() {
    let Some(url) = dirsync_postgres::testing::fresh_url().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (google, mut cli, key) = setup(dir.path()).await;
    cli.db = url.into();
    every_command(&google, &cli, &key).await;
}

/// `--tenant`: one customer's directory of a PostgreSQL database; a SQLite file has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_sees_only_its_own_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Cli {
        binary: support::dirsync_binary(),
        db: dir.path().join("directory.db"),
    };
    let refused = sqlite.run(&["--tenant", "acme", "integration:list"]).await;
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("needs a PostgreSQL directory"),
        "{}",
        refused.stderr
    );

    let Some(url) = dirsync_postgres::testing::fresh_database_url().await else {
        return;
    };
    let cli = Cli {
        binary: support::dirsync_binary(),
        db: url.into(),
    };
    let export = dir.path().join("hr");
    let created = cli
        .json(
            &[
                "--tenant",
                "acme",
                "file-integration:create",
                "--title",
                "Acme HR",
                "--path",
                export.to_str().unwrap(),
            ],
            0,
        )
        .await;
    assert_eq!(created["primary"], true);
    let count = |list: Value| list.as_array().unwrap().len();
    assert_eq!(
        count(cli.json(&["--tenant", "acme", "integration:list"], 0).await),
        1
    );
    assert_eq!(
        count(cli.json(&["--tenant", "beta", "integration:list"], 0).await),
        0
    );
    assert_eq!(
        count(cli.json(&["integration:list"], 0).await),
        0,
        "the default directory"
    );
    let bad = cli
        .run(&["--tenant", "Not A Name", "integration:list"])
        .await;
    assert_eq!(bad.code, 1, "{}", bad.stderr);
}

async fn every_command(google: &RunningEmulator, cli: &Cli, key: &Path) {
    let base = google.base_url();
    let subject = google.admin_subject();

    // Create: staged, primary, client id and scopes.
    let created = cli
        .json(
            &[
                "google-integration:create",
                "--title",
                "Acme",
                "--key",
                key.to_str().unwrap(),
                "--subject",
                &subject,
                "--api-base",
                &base,
                "--quota-per-minute",
                "0",
                "--schedule",
                "daily",
                "--at",
                "02:00",
            ],
            0,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["state"], "staged");
    assert_eq!(created["primary"], true);
    assert_eq!(created["direction"], "inbound");
    assert!(!created["client_id"].as_str().unwrap().is_empty());
    let scopes = created["scopes"].as_array().unwrap();
    assert_eq!(scopes.len(), 3);
    assert!(scopes.iter().any(|s| s == ORGUNIT_SCOPE));

    // Activation before the grant: exit 1, JSON error naming the scope, still staged.
    google.deny_scope(ORGUNIT_SCOPE);
    let refused = cli
        .run(&["--json", "google-integration:activate", &id])
        .await;
    assert_eq!(refused.code, 1);
    let error = refused.error();
    assert_eq!(error["error"]["kind"], "missing_scopes");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains(ORGUNIT_SCOPE)
    );
    let shown = cli.json(&["integration:show", &id], 0).await;
    assert_eq!(shown["state"]["name"], "staged");
    assert!(shown["authorization"].is_null());

    // Granted: active, authorization recorded, initial sync applied.
    google.allow_scope(ORGUNIT_SCOPE);
    let activated = cli.json(&["google-integration:activate", &id], 0).await;
    assert_eq!(activated["state"]["name"], "active");
    assert_eq!(activated["authorization"]["subject"], subject.as_str());
    assert!(is_rfc3339_or_null(
        &activated["authorization"]["verified_at"]
    ));
    assert_eq!(activated["initial_run"]["outcome"], "succeeded");
    let human = cli.run(&["integration:show", &id]).await;
    assert!(human.stdout.contains("authorized by"), "{}", human.stdout);

    // users:list, groups:list, orgunits:list: the documented shapes.
    let users = cli.json(&["users:list"], 0).await;
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), google.tenant().live_users().count());
    for u in users {
        for field in [
            "id",
            "primary_email",
            "given_name",
            "family_name",
            "display_name",
            "employee_id",
            "employment_type",
            "manager_email",
            "org_unit_path",
            "status",
        ] {
            assert!(u.get(field).is_some(), "{field} missing from {u}");
        }
        assert!(["active", "suspended", "deprovisioned"].contains(&u["status"].as_str().unwrap()));
        for t in ["provisioned_at", "suspended_at", "deprovisioned_at"] {
            assert!(is_rfc3339_or_null(&u[t]), "{t}: {}", u[t]);
        }
    }
    assert!(users.iter().any(|u| u["manager_email"].is_string()));
    let groups = cli.json(&["groups:list"], 0).await;
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), google.tenant().groups().len());
    let member = groups
        .iter()
        .flat_map(|g| g["members"].as_array().unwrap())
        .next()
        .unwrap();
    assert!(member["role"].is_string() && member["type"].is_string());
    assert!(
        groups
            .iter()
            .all(|g| g["email"].is_string() && g["name"].is_string())
    );
    let units = cli.json(&["orgunits:list"], 0).await;
    let units = units.as_array().unwrap();
    assert!(!units.is_empty());
    assert!(
        units
            .iter()
            .all(|o| o["path"].is_string() && o.get("parent_path").is_some())
    );
    let human = cli.run(&["users:list"]).await;
    assert!(
        human.stdout.starts_with("primary_email"),
        "{}",
        human.stdout
    );

    // A change in Google: the dry run names it and writes nothing; sync applies it.
    let tenant = google.tenant();
    let mut people = tenant.live_users().filter(|u| !u.is_admin && !u.suspended);
    let leaver = people.next().unwrap().primary_email.clone();
    let joiner = people.next().unwrap().primary_email.clone();
    let group = tenant
        .groups()
        .iter()
        .find(|g| {
            !g.members
                .iter()
                .any(|m| m.email.as_deref() == Some(joiner.as_str()))
        })
        .unwrap()
        .email
        .clone();
    google.remove_user(&leaver).unwrap();
    google.add_member(&group, &joiner, Role::Member).unwrap();
    let dry = cli.json(&["sync", &id, "--dry-run"], 0).await;
    let changes = dry["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["action"] == "deprovision_user" && c["subject"] == leaver.as_str())
    );
    assert!(
        changes
            .iter()
            .any(|c| c["action"] == "add_member" && c["subject"] == joiner.as_str())
    );
    assert_eq!(dry["held"], false);
    let status_of = |users: &Value, email: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["primary_email"] == email)
            .map(|u| u["status"].as_str().unwrap().to_owned())
    };
    let users = cli.json(&["users:list"], 0).await;
    assert_eq!(status_of(&users, &leaver).as_deref(), Some("active"));
    let synced = cli.json(&["sync", &id], 0).await;
    assert_eq!(synced["outcome"], "succeeded");
    assert!(synced["run_id"].is_string());
    assert!(synced["requests"].as_u64().unwrap() > 0);
    assert_eq!(synced["counts"]["users_deprovisioned"], 1);
    let users = cli.json(&["users:list"], 0).await;
    assert_eq!(status_of(&users, &leaver).as_deref(), Some("deprovisioned"));
    let again = cli.json(&["sync", &id], 0).await;
    assert_eq!(again["outcome"], "no_change");

    // Rules: add a manual one, list, run it, remove it.
    let rule = cli
        .json(
            &[
                "rule:add",
                &id,
                "--name",
                "Users only",
                "--kinds",
                "users",
                "--manual",
            ],
            0,
        )
        .await;
    let rule_id = rule["id"].as_str().unwrap().to_owned();
    assert_eq!(rule["trigger"], "manual");
    let rules = cli.json(&["rule:list", &id], 0).await;
    assert_eq!(rules.as_array().unwrap().len(), 2);
    let ran = cli.json(&["rule:run", &id, &rule_id], 0).await;
    assert_eq!(ran["rule"], rule_id.as_str());
    assert_eq!(ran["outcome"], "no_change");

    // The scheduler runs the scheduled default rule, never the manual one.
    let due = cli
        .json(&["scheduler:run-due", "--now", "2099-01-01T03:00:00Z"], 0)
        .await;
    let runs = due["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{due}");
    assert_ne!(runs[0]["rule"], rule_id.as_str());
    let removed = cli.json(&["rule:remove", &id, &rule_id], 0).await;
    assert_eq!(removed["id"], rule_id.as_str());
    let unknown = cli.run(&["--json", "rule:run", &id, &rule_id]).await;
    assert_eq!(unknown.code, 1);
    assert_eq!(unknown.error()["error"]["kind"], "unknown_rule");

    // A mass removal: exit 3 with the held plan; approving it applies it (exit 0).
    let leaving: Vec<String> = google
        .tenant()
        .live_users()
        .filter(|u| !u.is_admin && !u.suspended)
        .take(12)
        .map(|u| u.primary_email.clone())
        .collect();
    for email in &leaving {
        google.remove_user(email).unwrap();
    }
    let held = cli.json(&["sync", &id], 3).await;
    assert_eq!(held["outcome"], "held");
    let plan = held["held_plan"].as_str().unwrap().to_owned();
    let human = cli.run(&["sync", &id, "--dry-run"]).await;
    assert!(human.stdout.contains("HELD"), "{}", human.stdout);
    let approved = cli.json(&["plan:approve", &plan], 0).await;
    assert_eq!(approved["outcome"], "succeeded");
    let users = cli.json(&["users:list"], 0).await;
    assert_eq!(
        status_of(&users, &leaving[0]).as_deref(),
        Some("deprovisioned")
    );
    let history = cli.json(&["runs", &id], 0).await;
    let outcomes: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"held") && outcomes.contains(&"succeeded"),
        "{outcomes:?}"
    );

    // Lifecycle commands.
    let list = cli.json(&["integration:list"], 0).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let off = cli.json(&["integration:deactivate", &id], 0).await;
    assert_eq!(off["state"]["name"], "inactive");
    let not_active = cli.run(&["--json", "sync", &id]).await;
    assert_eq!(not_active.code, 1);
    let on = cli.json(&["integration:reactivate", &id], 0).await;
    assert_eq!(on["state"]["name"], "active");
    let reauthorized = cli
        .json(
            &[
                "integration:reauthorize",
                &id,
                "--key",
                key.to_str().unwrap(),
                "--ownership",
                "managed",
            ],
            0,
        )
        .await;
    assert_eq!(
        reauthorized["authorization"]["ownership"],
        "provider_managed"
    );
    let refused = cli.run(&["--json", "integration:remove", &id]).await;
    assert_eq!(refused.code, 1, "the primary owns the directory");
    assert!(
        refused.error()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("primary")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_has_help_and_bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli {
        binary: support::dirsync_binary(),
        db: dir.path().join("directory.db"),
    };
    for command in [
        "google-integration:create",
        "google-integration:activate",
        "file-integration:create",
        "integration:activate",
        "integration:list",
        "integration:show",
        "integration:update",
        "integration:deactivate",
        "integration:reactivate",
        "integration:reauthorize",
        "integration:remove",
        "rule:add",
        "rule:list",
        "rule:remove",
        "rule:run",
        "sync",
        "runs",
        "plan:list",
        "plan:show",
        "plan:approve",
        "plan:discard",
        "scheduler:run-due",
        "users:list",
        "groups:list",
        "orgunits:list",
        "status",
        "api-token:create",
        "api-token:list",
        "api-token:revoke",
        "scim-integration:create",
        "integration:rotate-token",
        "serve",
        "console:login",
        "config:show",
        "completions",
        "man",
    ] {
        let help = cli.run(&[command, "--help"]).await;
        assert_eq!(help.code, 0, "{command} --help");
        assert!(help.stdout.contains("Usage"), "{command}: {}", help.stdout);
    }
    let top = cli.run(&["--help"]).await;
    assert!(top.stdout.contains("Exit codes"));

    // A missing key file, a bad id, a bad email: exit 1 and a JSON error on stderr.
    let missing = cli
        .run(&[
            "--json",
            "google-integration:create",
            "--title",
            "x",
            "--key",
            "/nonexistent/key.json",
            "--subject",
            "admin@example.com",
        ])
        .await;
    assert_eq!(missing.code, 1);
    assert!(missing.stdout.is_empty());
    assert!(
        missing.error()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("key")
    );
    let bad_id = cli.run(&["--json", "sync", "not-an-id"]).await;
    assert_eq!(bad_id.code, 1);
    assert!(bad_id.error()["error"]["message"].is_string());
    let unknown = cli
        .run(&["--json", "sync", "5d0c1a7e-2f2b-4a59-9d1e-3c3c8f0c0a11"])
        .await;
    assert_eq!(unknown.code, 1);
    assert_eq!(unknown.error()["error"]["kind"], "not_found");
    let empty = cli.json(&["users:list"], 0).await;
    assert_eq!(empty, Value::Array(vec![]));
    let no_primary = cli.run(&["groups:list"]).await;
    assert_eq!(no_primary.code, 1);
    assert!(
        no_primary.stderr.contains("no primary"),
        "{}",
        no_primary.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbound_integration_manages_a_google_group() {
    let dir = tempfile::tempdir().unwrap();
    let (google, cli, key) = setup(dir.path()).await;
    let base = google.base_url();
    let subject = google.admin_subject();
    let create = |direction: &'static str| {
        vec![
            "google-integration:create".to_owned(),
            "--title".to_owned(),
            direction.to_owned(),
            "--key".to_owned(),
            key.to_str().unwrap().to_owned(),
            "--subject".to_owned(),
            subject.clone(),
            "--api-base".to_owned(),
            base.clone(),
            "--quota-per-minute".to_owned(),
            "0".to_owned(),
            "--direction".to_owned(),
            direction.to_owned(),
        ]
    };
    let args = create("inbound");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let primary = cli.json(&args, 0).await["id"].as_str().unwrap().to_owned();
    cli.json(&["google-integration:activate", &primary], 0)
        .await;
    let args = create("outbound");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let created = cli.json(&args, 0).await;
    assert_eq!(created["primary"], false);
    assert!(created["scopes"].as_array().unwrap().iter().any(|s| {
        s.as_str()
            .unwrap()
            .ends_with("admin.directory.group.member")
    }));
    let id = created["id"].as_str().unwrap().to_owned();
    let activated = cli.json(&["google-integration:activate", &id], 0).await;
    assert_eq!(activated["state"]["name"], "active");

    google
        .add_group("all-people@example.com", "All people")
        .unwrap();
    let no_selector = cli
        .run(&[
            "--json",
            "rule:add",
            &id,
            "--name",
            "x",
            "--manage",
            "all-people@example.com",
        ])
        .await;
    assert_eq!(no_selector.code, 1, "a rule must say who belongs");
    let rule = cli
        .json(
            &[
                "rule:add",
                &id,
                "--name",
                "Everyone active",
                "--manage",
                "all-people@example.com",
                "--select",
                "\"everyone\"",
            ],
            0,
        )
        .await;
    assert_eq!(rule["assignment"]["group"], "all-people@example.com");
    let dry = cli.json(&["sync", &id, "--dry-run"], 0).await;
    let changes = dry["changes"].as_array().unwrap();
    let active = cli
        .json(&["users:list"], 0)
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "active")
        .count();
    assert_eq!(changes.len(), active);
    assert!(changes.iter().all(|c| c["action"] == "add_remote_member"));
    let synced = cli.json(&["sync", &id], 0).await;
    assert_eq!(synced["outcome"], "succeeded", "{synced}");
    assert_eq!(synced["counts"]["remote_members_added"], active as u64);
    assert_eq!(
        google
            .tenant()
            .group("all-people@example.com")
            .unwrap()
            .members
            .len(),
        active
    );
    let again = cli.json(&["sync", &id], 0).await;
    assert_eq!(again["outcome"], "no_change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbound_integration_provisions_users_into_another_tenant() {
    use dirsync_google_emulator::{Emulator, EmulatorConfig, NewUser, Tenant};
    let dir = tempfile::tempdir().unwrap();
    let (google, cli, key) = setup(dir.path()).await;
    let primary = cli.create(&google, &key, &[]).await;
    cli.json(&["google-integration:activate", &primary], 0)
        .await;
    // Tenant B: the same domain, its admin only.
    let mut b = Tenant::empty("example.com", "C0b");
    let mut admin = NewUser::new("b-admin@example.com", "B", "Admin");
    admin.is_admin = true;
    b.add_user(admin).unwrap();
    let b = Emulator::start(EmulatorConfig::with_tenant(b))
        .await
        .unwrap();
    let b_key = dir.path().join("b.json");
    std::fs::write(&b_key, b.service_account_key_json()).unwrap();
    let out = cli.create(&b, &b_key, &["--direction", "outbound"]).await;
    cli.json(&["google-integration:activate", &out], 0).await;
    let rule = cli
        .json(
            &[
                "rule:add",
                &out,
                "--name",
                "People",
                "--provision",
                "users",
                "--select",
                "\"everyone\"",
                "--create-org-units",
                "--sso-only",
                "--delete-after",
                "30",
            ],
            0,
        )
        .await;
    assert_eq!(rule["provision_users"]["delete_after_days"], 30, "{rule}");
    assert_eq!(rule["provision_users"]["sso_only"], true);
    let dry = cli.json(&["sync", &out, "--dry-run"], 0).await;
    let changes = dry["changes"].as_array().unwrap();
    let active = cli
        .json(&["users:list"], 0)
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "active")
        .count();
    let count = |a: &str| changes.iter().filter(|c| c["action"] == a).count();
    assert_eq!(count("create_remote_user"), active, "{dry}");
    assert!(count("create_remote_org_unit") > 0, "{dry}");
    assert_eq!(b.stats().write_requests(), 0);
    let synced = cli.json(&["sync", &out], 0).await;
    assert_eq!(synced["outcome"], "succeeded", "{synced}");
    assert_eq!(b.tenant().live_users().count(), active + 1);
    assert!(
        b.tenant()
            .live_users()
            .filter(|u| !u.is_admin)
            .all(|u| !u.change_password_at_next_login)
    );
    let again = cli.json(&["sync", &out], 0).await;
    assert_eq!(again["outcome"], "no_change");
}
