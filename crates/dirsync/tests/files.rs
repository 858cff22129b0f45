//! An HR export as the primary, through the command line: `file-integration:create` with a
//! column mapping, `integration:activate`, then a Google integration created after it is a
//! secondary that enriches the directory; `[attributes]` in the config file settles each
//! directory attribute by precedence, and the profile stays the export's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;
use support::setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hr_export_is_the_primary_and_a_later_google_integration_enriches_it() {
    let dir = tempfile::tempdir().unwrap();
    let (google, cli, key) = setup(dir.path()).await;
    let people: Vec<_> = google.tenant().live_users().cloned().collect();

    // The export: its own column names, a department for every other person.
    let export = dir.path().join("hr");
    std::fs::create_dir(&export).unwrap();
    let mut csv = String::from("Employee No,Work Email,First,Last,Dept\n");
    for (i, p) in people.iter().enumerate() {
        let dept = if i % 2 == 0 { "Finance" } else { "" };
        writeln!(
            csv,
            "E{i},{},Hr{},{},{dept}",
            p.primary_email, p.given_name, p.family_name
        )
        .unwrap();
    }
    std::fs::write(export.join("users.csv"), csv).unwrap();

    let created = cli
        .json(
            &[
                "file-integration:create",
                "--title",
                "HR",
                "--path",
                export.to_str().unwrap(),
                "--kinds",
                "users",
                "--map",
                "Employee No=id",
                "--map",
                "Work Email=email",
                "--map",
                "First=given_name",
                "--map",
                "Last=family_name",
                "--schedule",
                "manual",
            ],
            0,
        )
        .await;
    let hr = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["primary"], true, "{created}");
    assert_eq!(created["grant"], "nothing", "{created}");
    let activated = cli.json(&["integration:activate", &hr], 0).await;
    assert_eq!(activated["state_name"], "active", "{activated}");
    assert_eq!(activated["system"], "HR export (files)");
    let users = cli.json(&["users:list"], 0).await;
    assert_eq!(users.as_array().unwrap().len(), people.len());

    // Google, created after the export: a secondary.
    let g = cli.create(&google, &key, &["--schedule", "manual"]).await;
    let activated = cli.json(&["google-integration:activate", &g], 0).await;
    assert_eq!(activated["primary"], false, "{activated}");

    // Directory attributes, first source first; `division` prefers Google's department.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[attributes]\ndepartment = [\"{hr}:Dept\", \"{g}:department\"]\n\
             division = [\"{g}:department\", \"{hr}:Dept\"]\ntitle = [\"{g}:title\"]\n"
        ),
    )
    .unwrap();
    let users = cli
        .json(&["--config", config.to_str().unwrap(), "users:list"], 0)
        .await;
    let by_email: BTreeMap<&str, &Value> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["primary_email"].as_str().unwrap(), u))
        .collect();
    for (i, p) in people.iter().enumerate() {
        let user = by_email[p.primary_email.as_str()];
        assert_eq!(
            user["given_name"],
            format!("Hr{}", p.given_name),
            "the export's profile"
        );
        let department = &user["attributes"]["department"];
        if i % 2 == 0 {
            assert_eq!(department["value"], "Finance", "{user}");
            assert_eq!(department["integration"], hr.as_str());
            assert_eq!(department["source"], "Dept");
        } else {
            assert_eq!(department["value"], p.department.as_str(), "{user}");
            assert_eq!(department["integration"], g.as_str());
        }
        assert!(department["since"].as_str().is_some(), "{user}");
        let division = &user["attributes"]["division"];
        assert_eq!(
            division["value"],
            p.department.as_str(),
            "Google first: {user}"
        );
        assert_eq!(user["attributes"]["title"]["value"], p.title.as_str());
    }

    // Without a mapping the directory shows no attributes.
    let plain = cli.json(&["users:list"], 0).await;
    assert!(plain[0]["attributes"].as_object().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_folder_is_refused_at_activation_and_a_bad_mapping_at_creation() {
    let dir = tempfile::tempdir().unwrap();
    let (_google, cli, _key) = setup(dir.path()).await;
    let missing = dir.path().join("nowhere");
    let created = cli
        .json(
            &[
                "file-integration:create",
                "--title",
                "HR",
                "--path",
                missing.to_str().unwrap(),
            ],
            0,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let refused = cli.run(&["--json", "integration:activate", &id]).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let error = &refused.error()["error"];
    assert_eq!(error["kind"], "access_checks", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("nowhere"),
        "{error}"
    );
    let shown = cli.json(&["integration:show", &id], 0).await;
    assert_eq!(shown["state_name"], "staged");

    // The usual lifecycle: the folder is fixed through a new setting, then it activates.
    let export = dir.path().join("hr");
    std::fs::create_dir(&export).unwrap();
    for (file, header) in [
        ("users.csv", "id,email\nE1,ada@example.com\n"),
        ("groups.csv", "id,email\n"),
        ("memberships.csv", "group,member\n"),
        ("org_units.csv", "path\n"),
    ] {
        std::fs::write(export.join(file), header).unwrap();
    }
    let setting = format!("path={}", export.display());
    cli.json(&["integration:reauthorize", &id, "--setting", &setting], 0)
        .await;
    let activated = cli.json(&["integration:activate", &id], 0).await;
    assert_eq!(activated["state_name"], "active", "{activated}");
    assert_eq!(activated["initial_run"]["counts"]["users_created"], 1);

    let bad = cli
        .run(&[
            "file-integration:create",
            "--title",
            "HR",
            "--path",
            missing.to_str().unwrap(),
            "--map",
            "Mail=e_mail",
        ])
        .await;
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("not a documented field"),
        "{}",
        bad.stderr
    );
    let all = cli.json(&["integration:list"], 0).await;
    assert_eq!(
        all.as_array().unwrap().len(),
        1,
        "nothing stored for the bad mapping"
    );
}
