//! The console's security, over plain HTTP: no session → sign-in; OpenID Connect sign-in at
//! the emulated Google for allowed emails only; read-only operators; CSRF; escaping; the
//! security headers; the one-time bootstrap link.

mod support;

use reqwest::StatusCode;
use support::{Browser, Console, READER, STRANGER, TestResult};

#[tokio::test]
async fn without_a_session_every_page_and_form_goes_to_sign_in() -> TestResult {
    let c = Console::start().await?;
    let browser = Browser::new(&c.base)?;
    let page = browser.get("/console/integrations/x?y=1").await?;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location,
        "/console/signin?next=%2Fconsole%2Fintegrations%2Fx%3Fy%3D1"
    );
    let form = browser.post("/console/signout", &[("csrf", "x")]).await?;
    assert_eq!(form.status, StatusCode::SEE_OTHER);
    assert_eq!(form.location, "/console/signin?next=%2Fconsole");
    let signin = browser.get(&page.location).await?;
    assert_eq!(signin.status, StatusCode::OK);
    assert!(
        signin.body.contains("Sign in with Google"),
        "{}",
        signin.body
    );
    Ok(())
}

#[tokio::test]
async fn allowed_emails_sign_in_and_others_are_refused() -> TestResult {
    let c = Console::start().await?;
    let admin = c.signed_in(&c.google.admin_subject()).await?;
    let home = admin.get("/console").await?;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains(&c.google.admin_subject()));
    assert!(home.body.contains("Add integration"));
    // Signing in revoked the refresh token the sign-in brought.
    assert_eq!(c.google.revocations(), 1);

    let stranger = Browser::new(&c.base)?;
    let (status, body) = stranger.sign_in(&c.google, &c.email(STRANGER)).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("is not allowed"), "{body}");
    assert_eq!(
        stranger.get("/console").await?.status,
        StatusCode::SEE_OTHER
    );

    // A callback without the sign-in's cookie (another browser, or replayed) is refused.
    let replay = Browser::new(&c.base)?;
    let answer = replay
        .get("/console/signin/callback?code=4/emu-x&state=y")
        .await?;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);

    // Signing out ends the session on the server, not only in the browser.
    let csrf = admin.csrf("/console").await?;
    let out = admin.post("/console/signout", &[("csrf", &csrf)]).await?;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.get("/console").await?.status, StatusCode::SEE_OTHER);
    Ok(())
}

#[tokio::test]
async fn forms_need_the_sessions_csrf_token_and_a_full_operator() -> TestResult {
    let c = Console::start().await?;
    let id = c.integration("Acme").await?;
    let admin = c.signed_in(&c.google.admin_subject()).await?;
    let page = format!("/console/integrations/{id}");
    let settings = format!("{page}/settings");
    let fields = [
        ("title", "Renamed"),
        ("interval", "manual"),
        ("at", "02:00"),
        ("zone", "UTC"),
    ];
    for csrf in [None, Some("wrong"), Some("")] {
        let mut form = fields.to_vec();
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf));
        }
        let answer = admin.post(&settings, &form).await?;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "csrf {csrf:?}");
        assert!(answer.body.contains("CSRF"), "{}", answer.body);
    }
    // Another session's token is no good either.
    let other = c.signed_in(&c.google.admin_subject()).await?;
    let others = other.csrf(&page).await?;
    let mut form = fields.to_vec();
    form.push(("csrf", &others));
    assert_eq!(
        admin.post(&settings, &form).await?.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(c.service.integrations().await?[0].record().title, "Acme");

    let csrf = admin.csrf(&page).await?;
    let mut form = fields.to_vec();
    form.push(("csrf", &csrf));
    let saved = admin.post(&settings, &form).await?;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location, format!("{page}?saved=1"));
    assert_eq!(c.service.integrations().await?[0].record().title, "Renamed");

    // A read-only operator sees, without the forms, and cannot change even with its token.
    let reader = c.signed_in(&c.email(READER)).await?;
    let seen = reader.get(&page).await?;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.contains("Renamed") && seen.body.contains("(read-only)"));
    assert!(!seen.body.contains("Save settings") && !seen.body.contains("Remove integration"));
    let token = reader.csrf(&page).await?;
    let mut form = fields.to_vec();
    form.push(("csrf", &token));
    let refused = reader.post(&settings, &form).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("read-only"), "{}", refused.body);
    assert_eq!(c.service.integrations().await?[0].record().title, "Renamed");
    // It may still sign out.
    let out = reader.post("/console/signout", &[("csrf", &token)]).await?;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    Ok(())
}

#[tokio::test]
async fn markup_is_shown_escaped_under_a_strict_policy() -> TestResult {
    let c = Console::start().await?;
    // Titles refuse control characters (the store's rule); user names may hold them, and the
    // directory pages show them replaced.
    let id = c.integration("<script>alert(1)</script>&\"x\"").await?;
    let admin = c.signed_in(&c.google.admin_subject()).await?;
    for path in ["/console".to_owned(), format!("/console/integrations/{id}")] {
        let page = admin.get(&path).await?;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            !page.body.contains("<script>alert"),
            "{path}: {}",
            page.body
        );
        assert!(
            page.body
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;x&quot;"),
            "{path}"
        );
        let csp = page
            .headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'")
                && csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(
            page.headers
                .get("x-frame-options")
                .and_then(|v| v.to_str().ok()),
            Some("DENY")
        );
    }
    // Even a refused id's echo is escaped.
    let page = admin.get("/console/integrations/%3Cb%3Ebold").await?;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body.contains("&lt;b&gt;bold") && !page.body.contains("<b>bold"),
        "{}",
        page.body
    );
    Ok(())
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site() -> TestResult {
    let c = Console::start().await?;
    let browser = Browser::new(&c.base)?;
    c.google.set_auto_consent(Some(&c.google.admin_subject()));
    let start = browser.get("/console/signin/google").await?;
    let at_google = browser.get(&start.location).await?;
    let back = browser.get(&at_google.location).await?;
    let cookies: Vec<&str> = back
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("dirsync_console="))
        .ok_or("no session cookie")?;
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/console"),
        "{session}"
    );
    // Served over http (this test): not Secure, or the browser would drop it.
    assert!(!session.contains("Secure"), "{session}");
    Ok(())
}

#[tokio::test]
async fn a_bootstrap_link_signs_in_once() -> TestResult {
    let c = Console::start().await?;
    let token = c.service.create_console_bootstrap().await?;
    let url = dirsync_console::bootstrap_url(&c.base, token.expose_secret());
    let browser = Browser::new(&c.base)?;
    // Opening the link spends nothing (link previews open links): a button does.
    let page = browser.get(&url).await?;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sign in"));
    let used = browser
        .post("/console/bootstrap", &[("token", token.expose_secret())])
        .await?;
    assert_eq!(used.status, StatusCode::SEE_OTHER, "{}", used.body);
    assert_eq!(used.location, "/console");
    let home = browser.get("/console").await?;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("bootstrap link") && home.body.contains("Add integration"));

    let again = Browser::new(&c.base)?;
    let refused = again
        .post("/console/bootstrap", &[("token", token.expose_secret())])
        .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("used already"), "{}", refused.body);
    assert_eq!(again.get("/console").await?.status, StatusCode::SEE_OTHER);
    let nonsense = again
        .post("/console/bootstrap", &[("token", "dsb_nonsense")])
        .await?;
    assert_eq!(nonsense.status, StatusCode::FORBIDDEN);
    Ok(())
}
