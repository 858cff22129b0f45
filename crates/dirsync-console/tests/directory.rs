//! The directory pages: users with search and paging, a user's page, groups with their
//! members, org units; names holding markup and control characters are shown escaped.

mod support;

use dirsync_google_emulator::NewUser;
use dirsync_service::Silent;
use reqwest::StatusCode;
use support::{Console, TestResult};

#[tokio::test]
async fn users_groups_and_org_units_are_shown_escaped_searched_and_paged() -> TestResult {
    let c = Console::start_sized(60).await?;
    let evil = c.email("evil");
    c.google.add_user(NewUser::new(
        &evil,
        "<img src=x onerror=alert(1)>",
        "\u{1b}[31mRed\u{7}",
    ))?;
    let id = c.integration("Acme").await?;
    c.service.activate(id.parse()?, &Silent).await?;
    let browser = c.signed_in(&c.google.admin_subject()).await?;

    let first = browser.get("/console/users").await?;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.body.contains("page 1 of 2"), "{}", first.body);
    assert!(first.body.contains(r#"rel="next""#) && !first.body.contains(r#"rel="prev""#));
    let second = browser.get("/console/users?q=&page=1").await?;
    assert!(second.body.contains("page 2 of 2") && second.body.contains(r#"rel="prev""#));

    let found = browser.get("/console/users?q=evil").await?;
    assert!(found.body.contains("1 user(s)"), "{}", found.body);
    assert!(
        !found.body.contains("<img src=x"),
        "markup is escaped: {}",
        found.body
    );
    assert!(found.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!found.body.contains('\u{1b}') && !found.body.contains('\u{7}'));
    assert!(found.body.contains("\u{FFFD}[31mRed\u{FFFD}"));
    let marker = "href=\"/console/users/";
    let at = found.body.find(marker).ok_or("no user link")? + marker.len();
    let user_id = &found.body[at..at + found.body[at..].find('"').ok_or("unterminated")?];

    let user = browser.get(&format!("/console/users/{user_id}")).await?;
    assert_eq!(user.status, StatusCode::OK);
    assert!(
        user.body.contains(&evil) && user.body.contains("provisioned"),
        "{}",
        user.body
    );
    assert!(
        user.body.contains(&format!("/console/integrations/{id}")) && user.body.contains("Acme")
    );
    assert!(!user.body.contains("<img src=x"));

    let groups = browser.get("/console/groups").await?;
    let group = c
        .google
        .tenant()
        .groups()
        .first()
        .map(|g| g.email.clone())
        .ok_or("no group")?;
    assert!(
        groups.body.contains(&group) && groups.body.contains("member(s)"),
        "{}",
        groups.body
    );
    let units = browser.get("/console/org-units").await?;
    let unit = c
        .google
        .tenant()
        .org_units()
        .first()
        .map(|o| o.path.clone())
        .ok_or("no org unit")?;
    assert!(units.body.contains(&unit), "{}", units.body);
    assert_eq!(
        browser.get("/console/users/nonsense").await?.status,
        StatusCode::BAD_REQUEST
    );
    Ok(())
}
