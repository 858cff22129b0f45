//! The console's pages over plain HTTP, as an operator walks them: add a Google integration,
//! authorize it (a service account's delegation, with the per-scope check; or a consent),
//! activate, run a rule now, approve a held plan, change the settings, deactivate, remove.

mod support;

use dirsync_core::{Safeguards, Threshold, Trigger};
use dirsync_google::oauth::CallbackParams;
use dirsync_service::IntegrationUpdate;
use reqwest::StatusCode;
use support::{Browser, Console, Res, TestResult};

/// Adds a Google integration through the Add page; its id.
async fn add(c: &Console, browser: &Browser, title: &str, method: &str) -> Res<String> {
    let page = browser.get("/console/integrations/new").await?;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("cannot be changed later"),
        "{}",
        page.body
    );
    let admin = c.google.admin_subject();
    let added = browser
        .submit(
            "/console/integrations/new",
            "/console/integrations",
            &[
                ("system", "google_workspace"),
                ("title", title),
                ("direction", "inbound"),
                ("interval", "monday"),
                ("at", "03:00"),
                ("zone", "Europe/Paris"),
                ("method", method),
                ("subject", &admin),
            ],
        )
        .await?;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let id = added
        .location
        .strip_prefix("/console/integrations/")
        .and_then(|rest| rest.strip_suffix("/authorize"))
        .ok_or("not sent to authorize")?
        .to_owned();
    Ok(id)
}

#[tokio::test]
async fn a_service_account_integration_is_added_checked_scope_by_scope_and_activated() -> TestResult
{
    let c = Console::start().await?;
    let browser = c.signed_in(&c.google.admin_subject()).await?;
    let id = add(&c, &browser, "Acme", "service_account").await?;
    let authorize = format!("/console/integrations/{id}/authorize");
    let page = browser.get(&authorize).await?;
    assert_eq!(page.status, StatusCode::OK);
    let scopes = c.service.instructions(id.parse()?).await?.scopes_csv();
    assert!(
        page.body.contains(&format!(r#"data-copy="{scopes}""#)),
        "{}",
        page.body
    );
    assert!(page.body.contains("Client id") && page.body.contains("Activate"));

    // One scope not granted: not activated, each scope's check shown.
    let denied = "https://www.googleapis.com/auth/admin.directory.group.readonly";
    c.google.deny_scope(denied);
    let refused = browser
        .submit(
            &authorize,
            &format!("/console/integrations/{id}/activate"),
            &[],
        )
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
    assert!(refused.body.contains("✓ granted: "));
    c.google.allow_scope(denied);

    let activated = browser
        .submit(
            &authorize,
            &format!("/console/integrations/{id}/activate"),
            &[],
        )
        .await?;
    assert_eq!(
        activated.status,
        StatusCode::SEE_OTHER,
        "{}",
        activated.body
    );
    let manage = browser.get(&activated.location).await?;
    assert_eq!(manage.status, StatusCode::OK);
    assert!(
        manage.body.contains("Activated; first sync: succeeded"),
        "{}",
        manage.body
    );
    assert!(manage.body.contains(&c.google.admin_subject()));
    assert!(
        manage
            .body
            .contains("weekly on Monday at 03:00 Europe/Paris")
    );
    assert!(
        manage.body.contains("users created"),
        "the run's counts: {}",
        manage.body
    );
    let home = browser.get("/console").await?;
    assert!(home.body.contains("Acme") && home.body.contains("badge active"));
    Ok(())
}

#[tokio::test]
async fn authorize_with_google_goes_to_the_consent_and_the_manage_page_shows_who() -> TestResult {
    let c = Console::start().await?;
    let browser = c.signed_in(&c.google.admin_subject()).await?;
    let id = add(&c, &browser, "By consent", "consent").await?;
    let authorize = format!("/console/integrations/{id}/authorize");
    let page = browser.get(&authorize).await?;
    assert!(page.body.contains("Authorize with Google"), "{}", page.body);
    assert!(
        !page.body.contains(">Activate<"),
        "not before it is authorized"
    );
    let csp = page
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains(&format!("form-action 'self' {}", c.google.base_url())),
        "{csp}"
    );
    let to_google = browser
        .submit(
            &authorize,
            &format!("/console/integrations/{id}/consent"),
            &[],
        )
        .await?;
    assert_eq!(
        to_google.status,
        StatusCode::SEE_OTHER,
        "{}",
        to_google.body
    );
    assert!(
        to_google.location.starts_with(&c.google.base_url()),
        "{}",
        to_google.location
    );
    let callback = format!("{}/oauth/google/callback", c.base);
    let redirect: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("redirect_uri", &callback)
        .finish();
    assert!(
        to_google.location.contains(&redirect),
        "{}",
        to_google.location
    );

    // The OAuth callback beside the API completes consents (not the console): as it would.
    let admin = c.google.admin_subject();
    c.google.set_auto_consent(Some(&admin));
    let start = c
        .service
        .start_consent(id.parse()?, "http://127.0.0.1:9/callback", None)
        .await?;
    let at_google = Browser::new(&c.base)?.get(&start.url).await?;
    let query = at_google
        .location
        .split_once('?')
        .map_or("", |(_, q)| q)
        .to_owned();
    c.service
        .finish_consent(start, &CallbackParams::from_query(&query))
        .await?;
    let manage = browser
        .get(&format!("/console/integrations/{id}?authorized=1"))
        .await?;
    assert!(
        manage.body.contains("Authorized.") && manage.body.contains(&admin),
        "{}",
        manage.body
    );
    let failed = browser
        .get(&format!(
            "/console/integrations/{id}?authorization_error=%3Cb%3Eaccess_denied"
        ))
        .await?;
    assert!(
        failed
            .body
            .contains("Authorization failed: &lt;b&gt;access_denied")
    );
    let page = browser.get(&authorize).await?;
    assert!(page.body.contains(">Activate<") && page.body.contains("Authorize again with Google"));
    Ok(())
}

#[tokio::test]
async fn an_operator_runs_a_rule_approves_a_held_plan_edits_and_removes() -> TestResult {
    let c = Console::start().await?;
    let browser = c.signed_in(&c.google.admin_subject()).await?;
    let id = add(&c, &browser, "Acme", "service_account").await?;
    let manage = format!("/console/integrations/{id}");
    let activated = browser
        .submit(
            &format!("{manage}/authorize"),
            &format!("{manage}/activate"),
            &[],
        )
        .await?;
    assert_eq!(
        activated.status,
        StatusCode::SEE_OTHER,
        "{}",
        activated.body
    );
    let integration = id.parse()?;
    let added = browser
        .submit(
            &manage,
            &format!("{manage}/rules"),
            &[
                ("name", "Everyone <by hand>"),
                ("trigger", "manual"),
                ("kind_users", "on"),
                ("kind_groups", "on"),
            ],
        )
        .await?;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = browser.get(&added.location).await?;
    assert!(page.body.contains("Rule added.") && page.body.contains("Everyone &lt;by hand&gt;"));
    let rule = c
        .service
        .rules(integration)
        .await?
        .into_iter()
        .find(|r| r.name == "Everyone <by hand>")
        .ok_or("the rule was not added")?;
    assert_eq!(rule.trigger, Trigger::Manual);
    let none = browser
        .submit(&manage, &format!("{manage}/rules"), &[("name", "Nothing")])
        .await?;
    assert_eq!(
        none.status,
        StatusCode::BAD_REQUEST,
        "a rule syncs something"
    );
    // Any removal is held.
    c.service
        .update(
            integration,
            IntegrationUpdate::new().safeguards(Some(
                Safeguards::default().with_users(Threshold::new(0, 0.0, 0)),
            )),
        )
        .await?;
    let leaver = c
        .google
        .tenant()
        .live_users()
        .find(|u| !u.is_admin)
        .map(|u| u.primary_email.clone())
        .ok_or("nobody")?;
    c.google.remove_user(&leaver)?;

    // Run now: the run goes on in the background; the page shows it running (and reloads
    // itself) until its outcome is recorded. Slow answers keep it running while we look.
    c.google.set_latency(std::time::Duration::from_millis(150));
    let ran = browser
        .submit(&manage, &format!("{manage}/rules/{}/run", rule.id), &[])
        .await?;
    assert_eq!(ran.status, StatusCode::SEE_OTHER, "{}", ran.body);
    assert!(ran.location.contains("?run="), "{}", ran.location);
    let page = browser.get(&ran.location).await?;
    assert!(page.body.contains("Running now"), "{}", page.body);
    assert!(
        page.body
            .contains("Everyone &lt;by hand&gt;</strong> — running since"),
        "{}",
        page.body
    );
    // It reloads its own path and query (a fragment would make the reload a jump in the page).
    let reload = format!(
        r#"<meta http-equiv="refresh" content="2; url={}">"#,
        ran.location.split('#').next().unwrap_or_default()
    );
    assert!(page.body.contains(&reload), "{}", page.body);
    c.google.set_latency(std::time::Duration::ZERO);
    let page = support::until_done(&browser, &ran.location).await?;
    assert!(!page.contains("Running now"));
    assert!(page.contains("Run finished: held for approval"), "{page}");
    assert!(page.contains("plan(s) held for approval"), "the banner");
    let plan = c
        .service
        .held_plans(integration)
        .await?
        .pop()
        .ok_or("no held plan")?;
    let approved = browser
        .submit(
            &manage,
            &format!("/console/plans/{}/approve", plan.id.as_str()),
            &[("integration", &id)],
        )
        .await?;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let page = browser.get(&approved.location).await?;
    assert!(
        page.body.contains("Plan approved; run succeeded"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("plan(s) held for approval"));
    assert!(c.service.held_plans(integration).await?.is_empty());

    // Settings: title, interval, deactivated.
    let saved = browser
        .submit(
            &manage,
            &format!("{manage}/settings"),
            &[
                ("title", "Acme EU"),
                ("interval", "daily"),
                ("at", "04:15"),
                ("zone", "UTC"),
            ],
        )
        .await?;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let any = c.service.integration(integration).await?;
    assert_eq!(any.record().title, "Acme EU");
    assert_eq!(any.record().schedule.to_string(), "daily at 04:15 UTC");
    assert_eq!(any.state().name(), "inactive");

    // Remove: only with the title typed; the service's refusal is shown as it says it.
    let wrong = browser
        .submit(&manage, &format!("{manage}/remove"), &[("confirm", "Acme")])
        .await?;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body.contains("does not match"), "{}", wrong.body);
    let primary = browser
        .submit(
            &manage,
            &format!("{manage}/remove"),
            &[("confirm", "Acme EU")],
        )
        .await?;
    assert_eq!(primary.status, StatusCode::CONFLICT);
    assert!(
        primary.body.contains("still owns directory data"),
        "{}",
        primary.body
    );
    let spare = add(&c, &browser, "Spare", "service_account").await?;
    let spare_page = format!("/console/integrations/{spare}");
    let removed = browser
        .submit(
            &spare_page,
            &format!("{spare_page}/remove"),
            &[("confirm", "Spare")],
        )
        .await?;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let home = browser.get(&removed.location).await?;
    assert!(
        home.body.contains("Removed <strong>Spare</strong>"),
        "{}",
        home.body
    );
    assert_eq!(c.service.integrations().await?.len(), 1);
    assert_eq!(
        browser.get(&spare_page).await?.status,
        StatusCode::NOT_FOUND
    );
    Ok(())
}
