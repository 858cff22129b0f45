//! The Manage page's other sections over plain HTTP: an outbound integration's rule builder
//! (users by a selector, groups listed or of an inbound integration, a managed group) and the
//! safeguards form; a read-only operator sees both without a form.

mod support;

use dirsync_core::{DirectionKind, Email, GroupSource, MemberRole, OrgUnitPath, Selector};
use dirsync_service::Silent;
use reqwest::StatusCode;
use support::{Console, READER, TestResult};

#[tokio::test]
async fn an_outbound_rule_is_built_with_the_form_and_safeguards_are_set() -> TestResult {
    let c = Console::start().await?;
    let inbound = c.integration("Acme").await?;
    c.service.activate(inbound.parse()?, &Silent).await?;
    let outbound = c
        .integration_towards("Acme out", DirectionKind::Outbound)
        .await?;
    let id = outbound.parse()?;
    c.service.activate(id, &Silent).await?;
    let browser = c.signed_in(&c.google.admin_subject()).await?;
    let manage = format!("/console/integrations/{outbound}");
    let page = browser.get(&manage).await?;
    assert!(
        page.body
            .contains(&format!(r#"action="{manage}/outbound-rules""#))
    );
    assert!(page.body.contains("Every group of Acme"), "{}", page.body);
    let rules = format!("{manage}/outbound-rules");

    // Users in an org unit, deleted 30 days after they leave, org units mapped.
    let added = browser
        .submit(
            &manage,
            &rules,
            &[
                ("name", "Engineers"),
                ("purpose", "users"),
                ("select", "org_unit"),
                ("select_value", "/Eng"),
                ("delete_after", "30"),
                ("org_unit_map", "/Eng=/Imported/Eng\n"),
                ("create_org_units", "on"),
                ("trigger", "manual"),
            ],
        )
        .await?;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    // Every group of the inbound integration, fully managed.
    let added = browser
        .submit(
            &manage,
            &rules,
            &[
                ("name", "All groups"),
                ("purpose", "groups"),
                ("groups_of", &inbound),
                ("fully_managed", "on"),
            ],
        )
        .await?;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    // One group's members: a directory group's members, as managers.
    let team = c.email("team");
    let added = browser
        .submit(
            &manage,
            &rules,
            &[
                ("name", "Team"),
                ("purpose", "manage"),
                ("group", &team),
                ("select", "member_of"),
                ("select_value", &c.email("staff")),
                ("role", "manager"),
                ("keep_roles", "on"),
            ],
        )
        .await?;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let made = c.service.rules(id).await?;
    let users = made
        .iter()
        .find(|r| r.name == "Engineers")
        .and_then(|r| r.provision_users.clone())
        .ok_or("no users rule")?;
    assert_eq!(users.select, Selector::OrgUnit(OrgUnitPath::new("/Eng")?));
    assert_eq!(users.delete_after_days, Some(30));
    assert!(users.create_org_units && !users.adopt_existing);
    assert_eq!(users.org_unit_map.len(), 1);
    let groups = made
        .iter()
        .find(|r| r.name == "All groups")
        .and_then(|r| r.provision_groups.clone())
        .ok_or("no groups rule")?;
    assert_eq!(groups.source, GroupSource::AllOf(inbound.parse()?));
    assert!(groups.fully_managed);
    let managed = made
        .iter()
        .find(|r| r.name == "Team")
        .and_then(|r| r.assignment.clone())
        .ok_or("no managed group")?;
    assert_eq!(managed.group, Email::new(&team)?);
    assert_eq!(
        managed.select,
        Selector::Group(Email::new(c.email("staff"))?)
    );
    assert_eq!(managed.role, MemberRole::Manager);
    assert!(managed.keep_roles && !managed.fully_managed);
    let page = browser.get(&manage).await?;
    assert!(page.body.contains("provisions users: "), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("provisions every group of {inbound}"))
    );
    assert!(page.body.contains(&format!("manages {team}")));

    // Refused, naming what is wrong; nothing added.
    for (form, says) in [
        (
            vec![
                ("purpose", "users"),
                ("select", "attribute"),
                ("select_value", "no-equals"),
            ],
            "NAME=VALUE",
        ),
        (vec![("purpose", "groups")], "say which groups"),
        (
            vec![("purpose", "manage"), ("group", "not an email")],
            "email of the group",
        ),
    ] {
        let mut form = form;
        form.push(("name", "Bad"));
        let refused = browser.submit(&manage, &rules, &form).await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert!(refused.body.contains(says), "{}", refused.body);
    }
    assert_eq!(c.service.rules(id).await?.len(), 3);

    // Safeguards: its own thresholds, then the defaults again.
    assert!(page.body.contains("These are the defaults."));
    let saved = browser
        .submit(
            &manage,
            &format!("{manage}/safeguards"),
            &[
                ("use", "these"),
                ("users_count", "5"),
                ("users_percent", "12.5"),
                ("members_count", "3"),
            ],
        )
        .await?;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let own = c
        .service
        .integration(id)
        .await?
        .record()
        .safeguards
        .ok_or("no own safeguards")?;
    assert_eq!((own.users.max_count, own.users.max_percent), (5, 12.5));
    assert_eq!(own.remote_members.max_count, 3);
    let defaults = *c
        .service
        .policy()
        .safeguards_for(c.service.integration(inbound.parse()?).await?.record());
    assert_eq!(
        own.groups, defaults.groups,
        "what the form left out is kept"
    );
    let page = browser.get(&manage).await?;
    assert!(
        page.body
            .contains("This integration has its own thresholds.")
    );
    assert!(
        page.body
            .contains(r#"name="users_count" min="0" value="5""#),
        "{}",
        page.body
    );
    let bad = browser
        .submit(
            &manage,
            &format!("{manage}/safeguards"),
            &[("use", "these"), ("users_percent", "120")],
        )
        .await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let reset = browser
        .submit(
            &manage,
            &format!("{manage}/safeguards"),
            &[("use", "defaults")],
        )
        .await?;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    assert_eq!(c.service.integration(id).await?.record().safeguards, None);

    // A read-only operator sees the thresholds and the rules, without a form.
    let reader = c.signed_in(&c.email(READER)).await?;
    let seen = reader.get(&manage).await?;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.contains("Safeguards") && seen.body.contains("Engineers"));
    assert!(!seen.body.contains("/safeguards\"") && !seen.body.contains("/outbound-rules\""));
    Ok(())
}

#[tokio::test]
async fn push_is_turned_on_and_off_and_its_channel_shown() -> TestResult {
    let c = Console::start().await?;
    let inbound = c.integration("Acme").await?;
    let id = inbound.parse()?;
    c.service.activate(id, &Silent).await?;
    let browser = c.signed_in(&c.google.admin_subject()).await?;
    let manage = format!("/console/integrations/{inbound}");
    let page = browser.get(&manage).await?;
    assert!(
        page.body
            .contains("Off: changes arrive with the scheduled syncs."),
        "{}",
        page.body
    );
    let on = browser
        .submit(&manage, &format!("{manage}/push"), &[("on", "true")])
        .await?;
    assert_eq!(on.status, StatusCode::SEE_OTHER, "{}", on.body);
    assert!(c.service.integration(id).await?.push());
    let channel = c
        .service
        .status()
        .await?
        .integrations
        .iter()
        .find(|s| s.id == id)
        .and_then(|s| s.push.as_ref())
        .and_then(|p| p.channel.clone())
        .ok_or("no channel opened")?;
    let page = browser.get(&manage).await?;
    assert!(
        page.body.contains("On: Google notifies this server"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("<code>{channel}</code>")),
        "{}",
        page.body
    );
    assert!(page.body.contains("Turn push off"));
    let off = browser
        .submit(&manage, &format!("{manage}/push"), &[("on", "false")])
        .await?;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    assert!(!c.service.integration(id).await?.push());
    assert!(browser.get(&manage).await?.body.contains("Turn push on"));
    Ok(())
}

#[tokio::test]
async fn a_failing_integration_is_bannered_everywhere_and_reauthorized() -> TestResult {
    let c = Console::start().await?;
    let inbound = c.integration("Acme").await?;
    let id = inbound.parse()?;
    c.service.activate(id, &Silent).await?;
    let browser = c.signed_in(&c.google.admin_subject()).await?;
    let manage = format!("/console/integrations/{inbound}");
    for path in ["/console", "/console/users", manage.as_str()] {
        assert!(!browser.get(path).await?.body.contains("failing"), "{path}");
    }

    // The admin withdraws a scope: the next run fails, and every page says so.
    let denied = "https://www.googleapis.com/auth/admin.directory.group.readonly";
    c.google.deny_scope(denied);
    // Tokens already issued are revoked too (Google's would stay valid until they expire).
    c.google.revoke_subject_tokens(&c.google.admin_subject());
    let run = c.service.sync(id, &Silent).await?;
    assert!(
        matches!(run.outcome, dirsync_core::RunOutcome::Failed { .. }),
        "{:?}",
        run.outcome
    );
    for path in [
        "/console",
        "/console/users",
        "/console/groups",
        manage.as_str(),
    ] {
        let page = browser.get(path).await?;
        assert!(
            page.body.contains("1 integration(s) failing."),
            "{path}: {}",
            page.body
        );
    }

    // Reauthorize: refused scope by scope while the scope is withheld, then kept.
    let authorize = format!("{manage}/authorize");
    let page = browser.get(&authorize).await?;
    assert!(
        page.body.contains(r#"action="/console/integrations/"#)
            && page.body.contains("/reauthorize\"")
    );
    let refused = browser
        .submit(&authorize, &format!("{manage}/reauthorize"), &[])
        .await?;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains(&format!("✗ missing: <code>{denied}</code>")),
        "{}",
        refused.body
    );
    let relative = browser
        .submit(
            &authorize,
            &format!("{manage}/reauthorize"),
            &[("key", "key.json")],
        )
        .await?;
    assert_eq!(relative.status, StatusCode::BAD_REQUEST);
    c.google.allow_scope(denied);
    let kept = browser
        .submit(
            &authorize,
            &format!("{manage}/reauthorize"),
            &[("subject", &c.google.admin_subject())],
        )
        .await?;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.body);
    let page = browser.get(&kept.location).await?;
    assert!(page.body.contains("Authorized."), "{}", page.body);
    assert!(
        page.body.contains("Earlier authorizations (1)"),
        "{}",
        page.body
    );
    assert_eq!(c.service.integration(id).await?.state().name(), "active");
    let page = browser.get("/console").await?;
    assert!(
        page.body.contains("last run failed"),
        "the badge stays until a run succeeds"
    );
    c.service.sync(id, &Silent).await?;
    assert!(!browser.get("/console").await?.body.contains("failing"));
    Ok(())
}

#[tokio::test]
async fn a_run_started_elsewhere_is_shown_with_what_it_has_read_until_it_ends() -> TestResult {
    let c = Console::start_sized(30).await?;
    let inbound = c.integration("Acme").await?;
    let id = inbound.parse()?;
    c.service.activate(id, &Silent).await?;
    let browser = c.signed_in(&c.google.admin_subject()).await?;
    let manage = format!("/console/integrations/{inbound}");

    // A sync the console did not start (the scheduler's, the API's), slowed down.
    c.google.set_latency(std::time::Duration::from_millis(100));
    let service = std::sync::Arc::clone(&c.service);
    let run = tokio::spawn(async move { service.sync(id, &Silent).await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let page = loop {
        let page = browser.get(&manage).await?;
        if page.body.contains("read so far") {
            break page.body;
        }
        assert!(std::time::Instant::now() < deadline, "{}", page.body);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(
        page.contains("The whole directory</strong> — running since"),
        "{page}"
    );
    assert!(page.contains(r#"<span class="phase">reading "#), "{page}");
    assert!(page.contains(r#"http-equiv="refresh""#));
    let home = browser.get("/console").await?;
    assert!(
        home.body
            .contains(r#"<span class="badge running">running</span>"#)
    );
    c.google.set_latency(std::time::Duration::ZERO);
    run.await??;
    let page = support::until_done(&browser, &manage).await?;
    assert!(!page.contains("Running now"));
    Ok(())
}
