//! The AppsCo walk in a real browser: headless Chromium driven through chromedriver
//! (WebDriver), against the console and the emulated Google: sign in, add a Google
//! integration, activate it (the per-scope check refuses first), see the directory, add a
//! rule, set the safeguards, change the tenant, run now and watch the run under way until it
//! is held, approve the held plan, change the title and interval and deactivate, add an
//! outbound integration and a rule with the builder (and Tab through that page), add a SCIM
//! integration (its token shown once), authorize one by consent, look at a phone's width,
//! remove one. Every page passes a usability audit (labels, no positive tabindex, contrast),
//! and its screenshot is saved under `target/console-screenshots/`.
//!
//! chromedriver is found as `$CHROMEDRIVER`, else on `PATH`. Without it the test says so and
//! passes, unless `CI` or `DIRSYNC_REQUIRE_BROWSER=1` is set: then it fails (`.ci/run` installs
//! Debian's `chromium` and `chromium-driver`).

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::webdriver::Session;
use support::{Console, Res, TestResult};

/// The usability audit run on every page (see the script).
const AUDIT: &str = include_str!("support/audit.js");

/// Which controls Tab must reach, and where the focus is (see the script).
const KEYBOARD: &str = include_str!("support/keyboard.js");

/// chromedriver, or `None` (having said why) when the test may be skipped.
fn chromedriver() -> Option<PathBuf> {
    let found = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join("chromedriver"))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        let message = "chromedriver not found ($CHROMEDRIVER or PATH): the browser test did not run \
                       (apt-get install chromium chromium-driver)";
        let required = std::env::var_os("CI").is_some()
            || std::env::var("DIRSYNC_REQUIRE_BROWSER").as_deref() == Ok("1");
        assert!(!required, "CI or DIRSYNC_REQUIRE_BROWSER=1: {message}");
        eprintln!("{message}");
    }
    found
}

/// chromedriver on a free port of 127.0.0.1, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver(path: &PathBuf) -> Res<Driver> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    // The operator's zone, which the console names and shows times in.
    let child = Command::new(path)
        .env("TZ", "Europe/Berlin")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await
            && r.status().is_success()
        {
            return Ok(driver);
        }
        if Instant::now() > deadline {
            return Err("chromedriver did not answer within 20 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where the screenshots go: `target/console-screenshots/`.
fn screenshots() -> Res<PathBuf> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            PathBuf::from,
        )
        .join("console-screenshots");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The walk's browser: waits for each page's heading, then saves its screenshot.
struct Walk {
    web: Session,
    base: String,
    shots: PathBuf,
    taken: usize,
}

impl Walk {
    /// Waits until the page's `h1` reads `heading`, then saves its screenshot as `name`.
    async fn page(&mut self, heading: &str, name: &str) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let h1 = match self.web.find("h1").await {
                Ok(h1) => h1.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if h1 == heading {
                break;
            }
            if Instant::now() > deadline {
                let url = self.web.url().await?;
                let source = self.web.source().await.unwrap_or_default();
                return Err(format!("at {url}: heading {h1:?}, not {heading:?}\n{source}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Every page passes the usability audit: labels, no positive tabindex, contrast.
        let problems = self.web.execute(AUDIT, serde_json::json!([])).await?;
        assert_eq!(
            problems,
            serde_json::json!([]),
            "{name}: usability problems"
        );
        self.taken += 1;
        let png = self.web.screenshot().await?;
        std::fs::write(
            self.shots.join(format!("{:02}-{name}.png", self.taken)),
            png,
        )?;
        Ok(())
    }

    async fn open(&self, path: &str) -> Res<()> {
        self.web.goto(&format!("{}{path}", self.base)).await?;
        Ok(())
    }

    async fn click(&self, css: &str) -> Res<()> {
        self.web.find(css).await?.click().await?;
        Ok(())
    }

    async fn type_in(&self, css: &str, text: &str) -> Res<()> {
        let field = self.web.find(css).await?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    /// Waits until the page (which reloads itself while a run is under way) shows `text`.
    async fn until(&self, text: &str) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // The page may be reloading: a missing `main` is asked again.
            if self.body().await.is_ok_and(|b| b.contains(text)) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(
                    format!("{text:?} not shown within 20 s: {}", self.body().await?).into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Tabs through the page from its top: every control a keyboard user needs is reached,
    /// in turn, and shows a focus outline.
    async fn keyboard(&self) -> Res<()> {
        let wanted = self
            .web
            .execute(KEYBOARD, serde_json::json!([true]))
            .await?;
        let wanted: Vec<i64> = serde_json::from_value(wanted)?;
        self.web
            .execute(
                "document.activeElement.blur(); window.scrollTo(0, 0);",
                serde_json::json!([]),
            )
            .await?;
        let mut reached = Vec::new();
        // A time field takes a Tab per part (hours, minutes): more presses than controls.
        for _ in 0..wanted.len() * 2 + 4 {
            if wanted.iter().all(|i| reached.contains(i)) {
                break;
            }
            self.web.tab().await?;
            let focused = self
                .web
                .execute(KEYBOARD, serde_json::json!([false]))
                .await?;
            let (index, outline, what): (i64, String, String) = serde_json::from_value(focused)?;
            if index >= 0 {
                assert_ne!(outline, "none", "shows no focus: {what}");
                reached.push(index);
            }
        }
        let missed: Vec<_> = wanted.iter().filter(|i| !reached.contains(i)).collect();
        assert!(
            missed.is_empty(),
            "not reached by Tab: {missed:?} of {wanted:?}"
        );
        Ok(())
    }

    /// The integration of the Manage page the browser is on.
    async fn integration_id(&self) -> Res<String> {
        let url = self.web.url().await?;
        Ok(url
            .split("/console/integrations/")
            .nth(1)
            .and_then(|rest| rest.split(['?', '#', '/']).next())
            .ok_or("not on a Manage page")?
            .to_owned())
    }

    async fn body(&self) -> Res<String> {
        self.web.find("main").await?.text().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_appsco_walk_in_headless_chromium() -> TestResult {
    let Some(path) = chromedriver() else {
        return Ok(());
    };
    let driver = start_driver(&path).await?;
    let c = Console::start().await?;
    let web = Session::chrome(
        &driver.url,
        &[
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
        ],
    )
    .await?;
    let mut walk = Walk {
        web,
        base: c.base.clone(),
        shots: screenshots()?,
        taken: 0,
    };
    let result = the_walk(&c, &mut walk).await;
    walk.web.quit().await?;
    result
}

async fn the_walk(c: &Console, w: &mut Walk) -> TestResult {
    // Sign in: the console sends the browser to (emulated) Google and back.
    let admin = c.google.admin_subject();
    c.google.set_auto_consent(Some(&admin));
    w.open("/console").await?;
    w.page("Sign in", "sign-in").await?;
    w.click("a.button").await?;
    w.page("Provisioning", "provisioning-empty").await?;

    // Add a Google integration, by the service account. Times are in the browser's zone.
    w.click("a.button[href='/console/integrations/new']")
        .await?;
    w.page("Add integration", "add-integration").await?;
    let footer = w.web.find("footer").await?.text().await?;
    assert_eq!(footer, "Times are shown in Europe/Berlin.");
    w.type_in("#title", "Acme Workspace").await?;
    w.click("input[name=method][value=service_account]").await?;
    w.type_in("#subject", &admin).await?;
    w.click("#google-form button[type=submit]").await?;
    w.page("Authorize", "authorize").await?;

    // The per-scope check refuses a scope not granted, then activates once it is.
    let denied = "https://www.googleapis.com/auth/admin.directory.group.readonly";
    c.google.deny_scope(denied);
    w.click("form[action$='/activate'] button").await?;
    w.page("Authorize", "activate-refused").await?;
    assert!(w.body().await?.contains(&format!("✗ missing: {denied}")));
    c.google.allow_scope(denied);
    w.click("form[action$='/activate'] button").await?;
    w.page("Acme Workspace", "manage-activated").await?;
    assert!(w.body().await?.contains("Activated; first sync: succeeded"));
    let id = w.integration_id().await?;

    // The directory.
    w.click("nav a[href='/console/users']").await?;
    w.page("Users", "users").await?;
    w.click("nav a[href='/console/groups']").await?;
    w.page("Groups", "groups").await?;

    // A rule added with the form; any user removal held (the Safeguards form).
    w.open(&format!("/console/integrations/{id}")).await?;
    w.page("Acme Workspace", "manage").await?;
    w.click("details:has(#rule-name) summary").await?;
    w.type_in("#rule-name", "Everyone, by hand").await?;
    w.click("#rule-trigger option[value=manual]").await?;
    w.click("form:has(#rule-name) button").await?;
    w.page("Acme Workspace", "rule-added").await?;
    assert!(w.body().await?.contains("Rule added."));
    w.type_in("#sg-users-count", "0").await?;
    w.type_in("#sg-users-percent", "0").await?;
    w.click("button[name=use][value=these]").await?;
    w.page("Acme Workspace", "safeguards-saved").await?;
    assert!(
        w.body()
            .await?
            .contains("This integration has its own thresholds.")
    );

    // Change the tenant: one person leaves, another is suspended.
    let integration = id.parse()?;
    let mut people = c
        .google
        .tenant()
        .live_users()
        .filter(|u| !u.is_admin)
        .map(|u| u.primary_email.clone())
        .collect::<Vec<_>>()
        .into_iter();
    let (leaver, suspended) = (
        people.next().ok_or("nobody")?,
        people.next().ok_or("nobody")?,
    );
    c.google.remove_user(&leaver)?;
    c.google.suspend_user(&suspended)?;

    // Run now and watch: the page shows the run under way (slow answers keep it running),
    // and reloads itself until the outcome is there: held by the safeguard.
    c.google.set_latency(Duration::from_millis(150));
    w.click("form[action$='/run'] button").await?;
    w.page("Acme Workspace", "run-running").await?;
    let body = w.body().await?;
    assert!(body.contains("Running now"), "{body}");
    assert!(body.contains("Whole directory — running since"), "{body}");
    c.google.set_latency(Duration::ZERO);
    w.until("Run finished: held for approval").await?;
    w.page("Acme Workspace", "run-held").await?;
    let body = w.body().await?;
    assert!(!body.contains("Running now"));
    let banner = w.web.find(".banner").await?.text().await?;
    assert!(banner.contains("1 plan(s) held for approval."), "{banner}");

    // Approve the held plan: the suspension reaches the directory.
    w.click("form[action$='/approve'] button").await?;
    w.page("Acme Workspace", "plan-approved").await?;
    assert!(w.body().await?.contains("Plan approved; run succeeded"));
    assert!(
        w.web.find(".banner").await.is_err(),
        "no banner once approved"
    );
    w.open(&format!("/console/users?q={suspended}")).await?;
    w.page("Users", "users-suspended").await?;
    let body = w.body().await?;
    assert!(
        body.contains(&suspended) && body.contains("suspended"),
        "{body}"
    );

    // Settings: title, interval, deactivated.
    w.open(&format!("/console/integrations/{id}")).await?;
    w.page("Acme Workspace", "manage-after").await?;
    w.type_in("#title", "Acme EU").await?;
    w.click("#interval option[value=daily]").await?;
    w.click("#active").await?;
    w.click("form[action$='/settings'] button").await?;
    w.page("Acme EU", "settings-saved").await?;
    let any = c.service.integration(integration).await?;
    assert_eq!(any.state().name(), "inactive");
    assert!(
        any.record()
            .schedule
            .to_string()
            .starts_with("daily at 02:00"),
        "{}",
        any.record().schedule
    );

    // An outbound integration: its rules come from the builder.
    w.open("/console/integrations/new").await?;
    w.page("Add integration", "add-outbound").await?;
    w.type_in("#title", "Acme out").await?;
    w.click("input[name=direction][value=outbound]").await?;
    w.click("input[name=method][value=service_account]").await?;
    w.type_in("#subject", &admin).await?;
    w.click("#google-form button[type=submit]").await?;
    w.page("Authorize", "authorize-outbound").await?;
    w.click("form[action$='/activate'] button").await?;
    w.page("Acme out", "manage-outbound").await?;
    w.click("details:has(#out-name) summary").await?;
    w.page("Acme out", "rule-builder").await?;
    w.keyboard().await?;
    w.type_in("#out-name", "Engineers").await?;
    w.click("#out-select option[value=org_unit]").await?;
    w.type_in("#out-select-value", "/Engineering").await?;
    w.click("#out-delete-after").await?;
    w.type_in("#out-delete-after", "30").await?;
    w.click("form:has(#out-name) button[type=submit]").await?;
    w.page("Acme out", "outbound-rule-added").await?;
    assert!(
        w.body()
            .await?
            .contains("provisions users: org unit /Engineering"),
        "{}",
        w.body().await?
    );

    // SCIM: the identity provider's base URL and token, shown once.
    w.open("/console/integrations/new").await?;
    w.click("#system option[value=scim]").await?;
    w.click("form.choose button").await?;
    w.page("Add integration", "add-scim").await?;
    w.type_in("#title", "Okta").await?;
    w.click("#scim-form button[type=submit]").await?;
    w.page("SCIM integration added", "scim-token-once").await?;
    let body = w.body().await?;
    assert!(body.contains("The token is shown this once."), "{body}");
    assert!(body.contains(&format!("{}/scim/v2/", c.base)), "{body}");

    // Authorize with Google: to the (emulated) consent, where the admin allows, and back
    // through the OAuth callback to the integration's page, which says who authorized it.
    w.open("/console/integrations/new").await?;
    w.page("Add integration", "add-second").await?;
    w.type_in("#title", "Spare").await?;
    w.click("input[name=method][value=consent]").await?;
    w.click("#google-form button[type=submit]").await?;
    w.page("Authorize", "authorize-consent").await?;
    w.click("form[action$='/consent'] button").await?;
    w.page("Spare", "manage-spare").await?;
    let body = w.body().await?;
    assert!(body.contains("Authorized."), "{body}");
    assert!(body.contains(&admin), "{body}");

    // At a phone's width the Manage page fits (tables scroll inside their box).
    w.web.set_window(390, 844).await?;
    w.open(&format!("/console/integrations/{id}")).await?;
    w.page("Acme EU", "phone-manage").await?;
    let wide = w
        .web
        .execute(
            "const d = document.documentElement; return d.scrollWidth > d.clientWidth;",
            serde_json::json!([]),
        )
        .await?;
    assert_eq!(
        wide,
        serde_json::json!(false),
        "no sideways scrolling at 390 px"
    );
    w.web.set_window(1280, 900).await?;

    // Remove the consent one, typing its title.
    w.open("/console").await?;
    w.page("Provisioning", "provisioning").await?;
    let spare = c
        .service
        .integrations()
        .await?
        .into_iter()
        .find(|a| a.record().title == "Spare")
        .ok_or("no Spare")?;
    w.open(&format!("/console/integrations/{}", spare.id()))
        .await?;
    w.page("Spare", "manage-spare-remove").await?;
    w.type_in("#confirm", "Spare").await?;
    w.click("form:has(#confirm) button").await?;
    w.page("Provisioning", "removed").await?;
    assert!(w.body().await?.contains("Removed Spare."));
    assert_eq!(c.service.integrations().await?.len(), 3);
    Ok(())
}
