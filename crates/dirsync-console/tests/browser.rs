//! The AppsCo walk in a real browser: headless Chromium driven through chromedriver
//! (WebDriver), against the console and the emulated Google: sign in, add a Google
//! integration, activate it (the per-scope check refuses first), see the directory, run a rule
//! now, approve a held plan, change the title and interval and deactivate, remove another
//! integration. A screenshot of each page is saved under `target/console-screenshots/`.
//!
//! chromedriver is found as `$CHROMEDRIVER`, else on `PATH`. Without it the test says so and
//! passes, unless `CI` or `DIRSYNC_REQUIRE_BROWSER=1` is set: then it fails (`.ci/run` installs
//! Debian's `chromium` and `chromium-driver`).

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dirsync_core::{Safeguards, Threshold};
use dirsync_service::IntegrationUpdate;
use support::webdriver::Session;
use support::{Console, Res, TestResult};

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
    let child = Command::new(path)
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

    // Add a Google integration, by the service account.
    w.click("a.button[href='/console/integrations/new']")
        .await?;
    w.page("Add integration", "add-integration").await?;
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
    let url = w.web.url().await?;
    let id = url
        .split("/console/integrations/")
        .nth(1)
        .and_then(|rest| rest.split(['?', '#']).next())
        .ok_or("not on a Manage page")?
        .to_owned();

    // The directory.
    w.click("nav a[href='/console/users']").await?;
    w.page("Users", "users").await?;
    w.click("nav a[href='/console/groups']").await?;
    w.page("Groups", "groups").await?;

    // A rule added with the form, run now; a removal held by a safeguard (set by the service:
    // the console has no safeguards form yet), approved.
    w.open(&format!("/console/integrations/{id}")).await?;
    w.page("Acme Workspace", "manage").await?;
    w.click("details:has(#rule-name) summary").await?;
    w.type_in("#rule-name", "Everyone, by hand").await?;
    w.click("#rule-trigger option[value=manual]").await?;
    w.click("form:has(#rule-name) button").await?;
    w.page("Acme Workspace", "rule-added").await?;
    assert!(w.body().await?.contains("Rule added."));
    let integration = id.parse()?;
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
    w.open(&format!("/console/integrations/{id}")).await?;
    w.page("Acme Workspace", "manage-with-rule").await?;
    // Run now and watch: the page shows the run under way (slow answers keep it running),
    // and reloads itself until the outcome is there.
    c.google.set_latency(Duration::from_millis(150));
    w.click("form[action$='/run'] button").await?;
    w.page("Acme Workspace", "run-running").await?;
    let body = w.body().await?;
    assert!(body.contains("Running now"), "{body}");
    assert!(body.contains("Whole directory — running since"), "{body}");
    c.google.set_latency(Duration::ZERO);
    w.until("Run finished: held for approval").await?;
    w.page("Acme Workspace", "run-held").await?;
    assert!(!w.body().await?.contains("Running now"));
    w.click("form[action$='/approve'] button").await?;
    w.page("Acme Workspace", "plan-approved").await?;
    assert!(w.body().await?.contains("Plan approved; run succeeded"));

    // Settings: title, interval, deactivated.
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

    // Remove another integration, typing its title.
    w.open("/console/integrations/new").await?;
    w.page("Add integration", "add-second").await?;
    w.type_in("#title", "Spare").await?;
    w.click("input[name=method][value=consent]").await?;
    w.click("#google-form button[type=submit]").await?;
    w.page("Authorize", "authorize-consent").await?;
    // Authorize with Google: to the (emulated) consent, where the admin allows, and back
    // through the OAuth callback to the integration's page, which says who authorized it.
    w.click("form[action$='/consent'] button").await?;
    w.page("Spare", "manage-spare").await?;
    let body = w.body().await?;
    assert!(body.contains("Authorized."), "{body}");
    assert!(body.contains(&admin), "{body}");
    w.type_in("#confirm", "Spare").await?;
    w.click("form:has(#confirm) button").await?;
    w.page("Provisioning", "removed").await?;
    assert!(w.body().await?.contains("Removed Spare."));
    assert_eq!(c.service.integrations().await?.len(), 1);
    Ok(())
}
