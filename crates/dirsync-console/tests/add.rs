//! Adding the registry's other systems in the console: an HR export (a folder, activated on
//! the Authorize page), an inbound SCIM integration (its base URL and token shown once, and
//! the token works), an outbound SCIM integration (to a SCIM endpoint, its token kept sealed
//! and never shown).

mod support;

use dirsync_core::DirectionKind;
use reqwest::StatusCode;
use support::{Console, TestResult};

#[tokio::test]
async fn an_hr_export_is_added_with_its_fields_and_activated() -> TestResult {
    let c = Console::start().await?;
    let browser = c.signed_in(&c.google.admin_subject()).await?;
    let page = browser.get("/console/integrations/new").await?;
    for system in ["Google Workspace", "HR export (files)", "SCIM 2.0"] {
        assert!(page.body.contains(system), "{system}: {}", page.body);
    }
    let page = browser.get("/console/integrations/new?system=file").await?;
    assert!(
        page.body.contains(r#"action="/console/integrations/file""#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"<option value="file" selected>"#));

    let export = tempfile::tempdir()?;
    std::fs::write(
        export.path().join("users.csv"),
        "id,Work Email\n1,ada@hr.example.com\n2,alan@hr.example.com\n",
    )?;
    let folder = export.path().to_string_lossy().into_owned();
    let relative = browser
        .submit(
            "/console/integrations/new?system=file",
            "/console/integrations/file",
            &[
                ("title", "HR"),
                ("path", "hr"),
                ("kind_users", "on"),
                ("interval", "manual"),
            ],
        )
        .await?;
    assert_eq!(relative.status, StatusCode::BAD_REQUEST);
    assert!(relative.body.contains("absolute path"), "{}", relative.body);
    let added = browser
        .submit(
            "/console/integrations/new?system=file",
            "/console/integrations/file",
            &[
                ("title", "HR"),
                ("path", &folder),
                ("format", "csv"),
                ("kind_users", "on"),
                ("map", "Work Email=email\n"),
                ("interval", "daily"),
                ("at", "05:00"),
                ("zone", "Europe/Berlin"),
            ],
        )
        .await?;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let authorize = added.location.clone();
    let id = authorize
        .strip_prefix("/console/integrations/")
        .and_then(|r| r.strip_suffix("/authorize"))
        .ok_or("not sent to authorize")?
        .to_owned();
    let any = c.service.integration(id.parse()?).await?;
    assert_eq!(any.settings().system().as_str(), "file");
    assert_eq!(
        any.record().schedule.to_string(),
        "daily at 05:00 Europe/Berlin"
    );
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
    let page = browser.get(&activated.location).await?;
    assert!(
        page.body.contains("Activated; first sync: succeeded"),
        "{}",
        page.body
    );
    let emails: Vec<String> = c
        .service
        .store()
        .users()
        .await?
        .iter()
        .map(|u| u.profile.primary_email.to_string())
        .collect();
    assert!(
        emails.contains(&"ada@hr.example.com".to_owned()),
        "{emails:?}"
    );
    Ok(())
}

#[tokio::test]
async fn scim_inbound_shows_its_token_once_and_outbound_keeps_its_token_sealed() -> TestResult {
    let c = Console::start().await?;
    let browser = c.signed_in(&c.google.admin_subject()).await?;
    let page = browser.get("/console/integrations/new?system=scim").await?;
    assert!(page.body.contains(r#"action="/console/integrations/scim""#));
    assert!(page.body.contains(r#"type="password" id="token""#));

    let made = browser
        .submit(
            "/console/integrations/new?system=scim",
            "/console/integrations/scim",
            &[("title", "Okta <prod>"), ("direction", "inbound")],
        )
        .await?;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(made.body.contains("The token is shown this once."));
    assert!(made.body.contains("Okta &lt;prod&gt;"));
    let inbound = c
        .service
        .integrations()
        .await?
        .into_iter()
        .find(|a| a.record().title == "Okta <prod>")
        .ok_or("not created")?;
    let url = format!("{}/scim/v2/{}", c.base, inbound.id());
    assert!(
        made.body
            .contains(&format!(r#"<code id="scim-url">{url}</code>"#)),
        "{}",
        made.body
    );
    let marker = r#"<code id="scim-token">"#;
    let at = made.body.find(marker).ok_or("no token")? + marker.len();
    let token = made.body[at..]
        .split('<')
        .next()
        .ok_or("no token")?
        .to_owned();
    assert!(token.len() > 30, "{token}");
    assert_eq!(
        made.headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    // The token works at the base URL, and is never shown again.
    let http = reqwest::Client::new();
    let listed = http
        .get(format!("{url}/Users"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(listed.status(), StatusCode::OK);
    let manage = browser
        .get(&format!("/console/integrations/{}", inbound.id()))
        .await?;
    assert_eq!(manage.status, StatusCode::OK);
    assert!(!manage.body.contains(&token));

    // Outbound, to that SCIM endpoint (our own, here): the token is checked with a read,
    // kept sealed, and shown nowhere.
    let missing = browser
        .submit(
            "/console/integrations/new?system=scim",
            "/console/integrations/scim",
            &[
                ("title", "App"),
                ("direction", "outbound"),
                ("base_url", &url),
            ],
        )
        .await?;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    let out = browser
        .submit(
            "/console/integrations/new?system=scim",
            "/console/integrations/scim",
            &[
                ("title", "App"),
                ("direction", "outbound"),
                ("base_url", &url),
                ("token", &token),
                ("requests_per_minute", "600"),
            ],
        )
        .await?;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    let page = browser.get(&out.location).await?;
    assert!(page.body.contains("Added and active."), "{}", page.body);
    assert!(!page.body.contains(&token));
    let app = c
        .service
        .integrations()
        .await?
        .into_iter()
        .find(|a| a.record().title == "App")
        .ok_or("not created")?;
    assert_eq!(app.direction(), DirectionKind::Outbound);
    assert_eq!(app.state().name(), "active");
    assert!(
        !serde_json::to_string(app.settings())?.contains(&token),
        "only the secret's name is stored"
    );
    Ok(())
}
