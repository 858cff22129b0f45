//! The command line as admins use it: settings from flags, the environment, a config file and
//! the platform's directories; logs; table, JSON and CSV with `--fields`; list filters;
//! completions and the man page; editing an integration (title, schedule, activation,
//! safeguards); and reviewing, discarding and approving held plans.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{Outcome, setup};

/// Runs the binary with exactly `env` as its DIRSYNC_*/XDG/HOME/RUST_LOG environment (the
/// caller's are removed, so the test does not depend on who runs it).
fn run_env(args: &[&str], env: &[(&str, &Path)]) -> Outcome {
    let mut command = Command::new(support::dirsync_binary());
    for var in [
        "DIRSYNC_DB",
        "DIRSYNC_CONFIG",
        "DIRSYNC_FORMAT",
        "RUST_LOG",
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
    ] {
        command.env_remove(var);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.args(args).output().unwrap();
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn settings_come_from_flags_then_environment_then_config_then_the_data_directory() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let config_home = home.path().join("config");
    let base: [(&str, &Path); 3] = [
        ("HOME", home.path()),
        ("XDG_DATA_HOME", &data),
        ("XDG_CONFIG_HOME", &config_home),
    ];

    // Nothing set: the directory file goes to the data directory, never the working directory.
    let shown = run_env(&["--json", "config:show"], &base);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let shown = shown.json();
    let default_db = data.join("dirsync").join("directory-sync.db");
    assert_eq!(shown["db"], default_db.display().to_string());
    assert_eq!(shown["db_source"], "default");
    assert_eq!(shown["config"], Value::Null);
    let listed = run_env(&["--json", "users:list"], &base);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(listed.json(), Value::Array(vec![]));
    assert!(
        default_db.is_file(),
        "the directory file was created where shown"
    );

    // A config file in the config directory: its db (relative to the file) and format.
    let config_dir = config_home.join("dirsync");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.toml"),
        "db = \"from-config.db\"\nformat = \"csv\"\nlog = \"error\"\n",
    )
    .unwrap();
    let shown = run_env(&["--format", "json", "config:show"], &base).json();
    assert_eq!(
        shown["db"],
        config_dir.join("from-config.db").display().to_string()
    );
    assert_eq!(shown["db_source"], "config file");
    assert_eq!(shown["format"], "json", "the flag wins over the file");
    assert_eq!(shown["log"], "error");
    let csv = run_env(&["plan:list"], &base);
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    assert_eq!(
        csv.stdout.trim(),
        "plan_id,integration,held_at,reason",
        "the file's format: CSV"
    );

    // The environment wins over the file, the command line over the environment.
    let env_db = home.path().join("env.db");
    let flag_db = home.path().join("flag.db");
    let mut with_env = base.to_vec();
    with_env.push(("DIRSYNC_DB", &env_db));
    let shown = run_env(&["--json", "config:show"], &with_env).json();
    assert_eq!(shown["db"], env_db.display().to_string());
    assert_eq!(shown["db_source"], "command line or environment");
    let shown = run_env(
        &["--json", "--db", flag_db.to_str().unwrap(), "config:show"],
        &with_env,
    )
    .json();
    assert_eq!(shown["db"], flag_db.display().to_string());
    let format_json = Path::new("json");
    let mut json_env = base.to_vec();
    json_env.push(("DIRSYNC_FORMAT", format_json));
    let listed = run_env(&["users:list"], &json_env);
    assert_eq!(listed.json(), Value::Array(vec![]), "DIRSYNC_FORMAT=json");

    // A config file named explicitly must exist and be valid; errors say which and why.
    let missing = home.path().join("missing.toml");
    let refused = run_env(
        &[
            "--json",
            "--config",
            missing.to_str().unwrap(),
            "users:list",
        ],
        &base,
    );
    assert_eq!(refused.code, 1);
    assert!(
        refused.error()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing.toml")
    );
    let bad = home.path().join("bad.toml");
    std::fs::write(&bad, "database = \"x.db\"\n").unwrap();
    let refused = run_env(
        &["--json", "--config", bad.to_str().unwrap(), "users:list"],
        &base,
    );
    assert_eq!(refused.code, 1);
    let message = refused.error()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("database") && message.contains("bad.toml"),
        "{message}"
    );
    let mut env_config = base.to_vec();
    env_config.push(("DIRSYNC_CONFIG", &bad));
    assert_eq!(
        run_env(&["users:list"], &env_config).code,
        1,
        "DIRSYNC_CONFIG is read"
    );
}

#[test]
fn completions_and_the_man_page() {
    let none: [(&str, &Path); 0] = [];
    let bash = run_env(&["completions", "bash"], &none);
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    assert!(bash.stdout.contains("complete") && bash.stdout.contains("plan:discard"));
    let zsh = run_env(&["completions", "zsh"], &none);
    assert!(zsh.stdout.starts_with("#compdef dirsync"), "{}", zsh.stdout);
    let fish = run_env(&["completions", "fish"], &none);
    assert!(fish.stdout.contains("complete -c dirsync"));
    let man = run_env(&["man"], &none);
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.contains(".TH dirsync"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    assert!(man.stdout.contains("DIRSYNC_DB"));
    let bad = run_env(&["completions", "cmd.exe"], &none);
    assert_eq!(bad.code, 2, "clap refuses an unknown shell");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formats_fields_filters_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (google, cli, key) = setup(dir.path()).await;
    let id = cli.create(&google, &key, &[]).await;
    // -v shows the connector's info lines on stderr; by default a table command shows none.
    let activated = cli.run(&["-v", "google-integration:activate", &id]).await;
    assert_eq!(activated.code, 0, "{}", activated.stderr);
    assert!(activated.stderr.contains("INFO"), "{}", activated.stderr);
    let quiet = cli.run(&["sync", &id]).await;
    assert_eq!(quiet.code, 0);
    assert!(!quiet.stderr.contains("INFO"), "{}", quiet.stderr);
    let json_logs = cli.run(&["-v", "--log-format", "json", "sync", &id]).await;
    assert_eq!(json_logs.code, 0);
    let lines: Vec<&str> = json_logs.stderr.lines().collect();
    assert!(!lines.is_empty());
    let mut in_run = 0;
    for line in lines {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(
            event["level"].is_string() && event["fields"].is_object(),
            "{line}"
        );
        // Lines logged during the run carry its span: the integration and the run's id.
        if event["span"]["name"] == "run" {
            assert_eq!(event["span"]["integration"], id.as_str(), "{line}");
            assert!(event["span"]["run"].is_string(), "{line}");
            in_run += 1;
        }
    }
    assert!(in_run > 0, "no log line inside the run's span");

    let users = cli.json(&["users:list"], 0).await;
    let users = users.as_array().unwrap();
    let suspended = google.tenant().live_users().filter(|u| u.suspended).count();

    // CSV with chosen fields: a header and one line per user.
    let csv = cli
        .run(&[
            "--format",
            "csv",
            "--fields",
            "primary_email,status",
            "users:list",
        ])
        .await;
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(lines[0], "primary_email,status");
    assert_eq!(lines.len(), users.len() + 1);
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.contains('@') && l.split(',').count() == 2)
    );

    // JSON with chosen fields keeps only them; a table shows them as columns.
    let picked = cli
        .json(
            &["--fields", "primary_email,org_unit_path", "users:list"],
            0,
        )
        .await;
    for u in picked.as_array().unwrap() {
        let keys: Vec<&String> = u.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["org_unit_path", "primary_email"]);
    }
    let table = cli
        .run(&["--fields", "status,primary_email", "users:list"])
        .await;
    assert!(table.stdout.starts_with("status"), "{}", table.stdout);

    // An unknown field is refused with the fields there are.
    let unknown = cli.run(&["--json", "--fields", "mail", "users:list"]).await;
    assert_eq!(unknown.code, 1);
    let message = unknown.error()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("primary_email"), "{message}");

    // Filters: status, org unit subtree, and text.
    let only = cli.json(&["users:list", "--status", "suspended"], 0).await;
    assert_eq!(only.as_array().unwrap().len(), suspended);
    assert!(
        only.as_array()
            .unwrap()
            .iter()
            .all(|u| u["status"] == "suspended")
    );
    let engineering = cli
        .json(&["users:list", "--org-unit", "/Engineering"], 0)
        .await;
    let engineering = engineering.as_array().unwrap();
    assert!(!engineering.is_empty() && engineering.len() < users.len());
    assert!(engineering.iter().all(|u| {
        u["org_unit_path"]
            .as_str()
            .unwrap()
            .starts_with("/Engineering")
    }));
    let someone = users[0]["family_name"].as_str().unwrap().to_uppercase();
    let found = cli.json(&["users:list", "--query", &someone], 0).await;
    let found = found.as_array().unwrap();
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|u| { u.to_string().to_uppercase().contains(&someone) })
    );
    let groups = cli.run(&["--format", "csv", "groups:list"]).await;
    assert!(
        groups.stdout.starts_with("email,name,member_count\n"),
        "{}",
        groups.stdout
    );
    let none = cli
        .json(&["groups:list", "--query", "no-such-group-anywhere"], 0)
        .await;
    assert_eq!(none, Value::Array(vec![]));
    let listed = cli.run(&["--format", "csv", "integration:list"]).await;
    assert!(listed.stdout.contains(&id), "{}", listed.stdout);
    let nomatch = cli
        .json(&["integration:list", "--query", "no-such-integration"], 0)
        .await;
    assert_eq!(nomatch, Value::Array(vec![]));
    let units = cli
        .json(&["orgunits:list", "--query", "engineering"], 0)
        .await;
    let units = units.as_array().unwrap();
    assert!(!units.is_empty());
    assert!(units.iter().all(|o| {
        o["path"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("engineering")
    }));

    // -q: only errors on stderr, even with -v's information available.
    let quiet = cli.run(&["-q", "sync", &id]).await;
    assert_eq!(quiet.code, 0);
    assert_eq!(quiet.stderr, "", "nothing but errors");
    let failing = cli
        .run(&["-q", "sync", "5d0c1a7e-2f2b-4a59-9d1e-3c3c8f0c0a11"])
        .await;
    assert_eq!(failing.code, 1);
    assert!(failing.stderr.starts_with("error:"), "{}", failing.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_settings_and_review_held_plans() {
    let dir = tempfile::tempdir().unwrap();
    let (google, cli, key) = setup(dir.path()).await;
    let id = cli.create(&google, &key, &["--every", "15m"]).await;
    let shown = cli.json(&["integration:show", &id], 0).await;
    assert_eq!(shown["schedule"]["kind"], "every");
    assert_eq!(shown["schedule"]["minutes"], 15);
    assert_eq!(shown["schedule_text"], "every 15 minutes");
    cli.json(&["google-integration:activate", &id], 0).await;
    let due = cli
        .json(&["scheduler:run-due", "--now", "2099-01-01T00:00:00Z"], 0)
        .await;
    assert_eq!(due["runs"].as_array().unwrap().len(), 1, "{due}");

    // Settings: title, schedule (parts kept from the current one), activation.
    let renamed = cli
        .json(&["integration:update", &id, "--title", "Acme (prod)"], 0)
        .await;
    assert_eq!(renamed["title"], "Acme (prod)");
    assert_eq!(renamed["schedule_text"], "every 15 minutes", "untouched");
    let misplaced = cli
        .run(&["--json", "integration:update", &id, "--at", "03:00"])
        .await;
    assert_eq!(misplaced.code, 1, "an every-schedule has no time of day");
    let daily = cli
        .json(
            &[
                "integration:update",
                &id,
                "--schedule",
                "daily",
                "--at",
                "03:30",
                "--timezone",
                "Europe/Berlin",
            ],
            0,
        )
        .await;
    assert_eq!(daily["schedule_text"], "daily at 03:30 Europe/Berlin");
    let moved = cli
        .json(&["integration:update", &id, "--at", "04:00"], 0)
        .await;
    assert_eq!(moved["schedule_text"], "daily at 04:00 Europe/Berlin");
    let weekly = cli
        .json(
            &[
                "integration:update",
                &id,
                "--schedule",
                "weekly",
                "--day",
                "fri",
            ],
            0,
        )
        .await;
    assert_eq!(
        weekly["schedule_text"],
        "weekly on Friday at 04:00 Europe/Berlin"
    );
    let monthly = cli
        .json(
            &[
                "integration:update",
                &id,
                "--schedule",
                "monthly",
                "--day",
                "15",
            ],
            0,
        )
        .await;
    assert_eq!(
        monthly["schedule_text"],
        "monthly on day 15 at 04:00 Europe/Berlin"
    );
    let manual = cli
        .json(&["integration:update", &id, "--schedule", "manual"], 0)
        .await;
    assert_eq!(manual["schedule"]["kind"], "manual");
    let hourly = cli
        .json(&["integration:update", &id, "--every", "2h"], 0)
        .await;
    assert_eq!(hourly["schedule"]["minutes"], 120);
    let off = cli
        .json(&["integration:update", &id, "--active", "false"], 0)
        .await;
    assert_eq!(off["state"]["name"], "inactive");
    let on = cli
        .json(&["integration:update", &id, "--active", "true"], 0)
        .await;
    assert_eq!(on["state"]["name"], "active");
    let nothing = cli.run(&["--json", "integration:update", &id]).await;
    assert_eq!(nothing.code, 1);
    assert!(
        nothing.error()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing to change")
    );
    let kinds = cli
        .json(
            &[
                "integration:update",
                &id,
                "--max-group-removals",
                "5",
                "--max-membership-removals-percent",
                "7.5",
                "--max-member-removals",
                "9",
                "--max-member-removals-percent",
                "1",
            ],
            0,
        )
        .await;
    assert_eq!(kinds["safeguards"]["groups"]["max_count"], 5);
    assert_eq!(kinds["safeguards"]["memberships"]["max_percent"], 7.5);
    assert_eq!(kinds["safeguards"]["remote_members"]["max_count"], 9);
    assert_eq!(kinds["safeguards"]["remote_members"]["max_percent"], 1.0);
    assert_eq!(
        kinds["safeguards"]["users"]["max_count"], 50,
        "users untouched"
    );
    let both = cli
        .run(&[
            "--json",
            "integration:update",
            &id,
            "--default-safeguards",
            "--max-user-removals",
            "1",
        ])
        .await;
    assert_eq!(both.code, 2, "clap refuses the contradiction");
    cli.json(&["integration:update", &id, "--default-safeguards"], 0)
        .await;
    let bad_percent = cli
        .run(&[
            "--json",
            "integration:update",
            &id,
            "--max-user-removals-percent",
            "150",
        ])
        .await;
    assert_eq!(bad_percent.code, 1);

    // Safeguards of its own: two leavers are now a mass removal.
    assert_eq!(on["own_safeguards"], false);
    assert_eq!(on["safeguards"]["users"]["max_count"], 50);
    let strict = cli
        .json(&["integration:update", &id, "--max-user-removals", "1"], 0)
        .await;
    assert_eq!(strict["own_safeguards"], true);
    assert_eq!(strict["safeguards"]["users"]["max_count"], 1);
    assert_eq!(
        strict["safeguards"]["groups"], on["safeguards"]["groups"],
        "the other kinds keep their thresholds"
    );
    let leavers: Vec<String> = google
        .tenant()
        .live_users()
        .filter(|u| !u.is_admin && !u.suspended)
        .take(2)
        .map(|u| u.primary_email.clone())
        .collect();
    for email in &leavers {
        google.remove_user(email).unwrap();
    }
    let held = cli.json(&["sync", &id], 3).await;
    let plan = held["held_plan"].as_str().unwrap().to_owned();

    // Review without fetching: list (every format), show, then discard.
    let requests = google.stats().requests_total;
    let plans = cli.json(&["plan:list"], 0).await;
    assert_eq!(plans.as_array().unwrap().len(), 1);
    assert_eq!(plans[0]["plan_id"], plan.as_str());
    assert_eq!(plans[0]["integration"], id.as_str());
    let csv = cli
        .run(&["--format", "csv", "plan:list", "--integration", &id])
        .await;
    assert!(
        csv.stdout
            .starts_with("plan_id,integration,held_at,reason\n"),
        "{}",
        csv.stdout
    );
    let detail = cli.json(&["plan:show", &plan], 0).await;
    assert_eq!(detail["plan_id"], plan.as_str());
    assert_eq!(detail["held"], true);
    assert!(
        detail["reason"].as_str().unwrap().contains("users"),
        "{detail}"
    );
    for email in &leavers {
        assert!(
            detail["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| { c["action"] == "deprovision_user" && c["subject"] == email.as_str() }),
            "{detail}"
        );
    }
    let human = cli.run(&["plan:show", &plan]).await;
    assert!(human.stdout.contains("HELD") && human.stdout.contains("plan:approve"));
    assert_eq!(
        google.stats().requests_total,
        requests,
        "reviewing fetches nothing"
    );
    let discarded = cli.json(&["plan:discard", &plan], 0).await;
    assert_eq!(discarded["discarded"], true);
    assert_eq!(cli.json(&["plan:list"], 0).await, Value::Array(vec![]));
    let gone = cli.run(&["--json", "plan:show", &plan]).await;
    assert_eq!(gone.code, 1);
    assert_eq!(gone.error()["error"]["kind"], "not_found");
    let gone = cli.run(&["--json", "plan:discard", &plan]).await;
    assert_eq!(gone.error()["error"]["kind"], "not_found");
    let users = cli
        .json(&["users:list", "--status", "deprovisioned"], 0)
        .await;
    assert_eq!(
        users,
        Value::Array(vec![]),
        "a discarded plan changed nothing"
    );

    // Held again on the next sync; back on the default thresholds it applies.
    let again = cli.json(&["sync", &id], 3).await;
    assert!(again["held_plan"].is_string(), "{again}");
    let default = cli
        .json(&["integration:update", &id, "--default-safeguards"], 0)
        .await;
    assert_eq!(default["own_safeguards"], false);
    let applied = cli.json(&["sync", &id], 0).await;
    assert_eq!(applied["counts"]["users_deprovisioned"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_shown_once_and_revocable() {
    let dir = tempfile::tempdir().unwrap();
    let cli = support::Cli {
        binary: support::dirsync_binary(),
        db: dir.path().join("directory.db"),
    };
    let made = cli
        .json(&["api-token:create", "--name", "ci", "--read-only"], 0)
        .await;
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("dst_"), "{made}");
    assert_eq!(made["read_only"], true);
    let human = cli.run(&["api-token:create", "--name", "deploy"]).await;
    assert!(human.stdout.contains("dst_") && human.stdout.contains("shown this once"));
    let listed = cli.json(&["api-token:list"], 0).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains(&token[4..]),
        "the list never shows a token"
    );
    let twin = cli
        .run(&["--json", "api-token:create", "--name", "ci"])
        .await;
    assert_eq!(twin.code, 1);
    let bad = cli
        .run(&["--json", "api-token:create", "--name", "has space"])
        .await;
    assert_eq!(bad.error()["error"]["kind"], "invalid");
    let revoked = cli.json(&["api-token:revoke", "ci"], 0).await;
    assert_eq!(revoked["revoked"], true);
    let again = cli.run(&["--json", "api-token:revoke", "ci"]).await;
    assert_eq!(again.error()["error"]["kind"], "not_found");
    // Neither the database nor its write-ahead log holds the token.
    let mut bytes = std::fs::read(dir.path().join("directory.db")).unwrap();
    bytes.extend(std::fs::read(dir.path().join("directory.db-wal")).unwrap_or_default());
    assert!(bytes.len() > 4096);
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("deploy"), "the names are there");
    assert!(!text.contains(&token[4..]), "the tokens are not");
}
