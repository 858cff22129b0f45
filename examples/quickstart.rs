//! `cargo run --example quickstart`
//!
//! directory-sync end to end, with no Google account: a Google Workspace emulator on 127.0.0.1
//! serves a demo tenant; the example creates the Google integration (and prints what the
//! Workspace admin must grant), activates it (showing first how a missing grant is named), runs
//! the initial sync into a SQLite file with progress, prints the directory, then changes the
//! tenant (a user leaves, one is suspended, memberships change), shows the dry-run plan, applies
//! it, and shows a mass removal held by a safeguard until its plan is approved. Last, an
//! outbound integration on the same tenant keeps a Google group's membership in step with the
//! directory.
//!
//! Every step goes through `directory_sync::service::Service`, the API a product's frontend
//! would call. Nothing leaves the machine.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use directory_sync::core::{
    DirectionKind, DirectoryUser, Email, GroupAssignment, KeyOwnership, Manager, OrgUnitPath,
    RunOutcome, Schedule, Selector, SyncRun, TimeOfDay, Trigger, UserStatus,
};
use directory_sync::google::oauth::CallbackParams;
use directory_sync::google::{
    GoogleKind, GoogleSettings, KeyReference, OAuthSettings, scopes as google_scopes,
};
use directory_sync::service::{
    CreateGoogle, Error as ServiceError, NewRule, Registry, SealedSecrets, SecretKey, Service,
    Silent, TerminalProgress,
};
use directory_sync::sqlite::SqliteStore;
use dirsync_google_emulator::{Emulator, EmulatorConfig, Role, RunningEmulator, TenantSpec};

#[tokio::main]
async fn main() -> Result<()> {
    let started = Instant::now();
    println!("directory-sync quickstart: Google Workspace → a directory in SQLite");

    section("1. A demo Google Workspace tenant, emulated on 127.0.0.1");
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(2026, 1_200))).await?;
    let tenant = google.tenant();
    println!(
        "  {} users, {} groups, {} org units at {}",
        tenant.live_users().count(),
        tenant.groups().len(),
        tenant.org_units().len(),
        google.base_url()
    );
    let dir = std::env::temp_dir().join("directory-sync-quickstart");
    std::fs::create_dir_all(&dir)?;
    let key = dir.join("service-account.json");
    std::fs::write(&key, google.service_account_key_json())?;
    let db = dir.join("directory.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    println!("  service-account key: {}", key.display());
    println!("  directory (SQLite):  {}", db.display());

    // Consents (refresh tokens) are kept sealed next to the directory, under a key file made on
    // first use (or DIRSYNC_SECRET_KEY), as `dirsync` does.
    let secrets = Arc::new(SealedSecrets::new(
        dir.join("directory.db.secrets"),
        SecretKey::from_env_or_file(&dir.join("directory.db.secret-key"))?,
    ));
    let google_kind = GoogleKind::new().with_secrets(secrets);
    let service = Service::new(
        Arc::new(SqliteStore::open(&db)?),
        Registry::builtin().with(google_kind.clone()),
    )
    .with_consent(google_kind);

    section("2. Create the integration");
    let mut settings = GoogleSettings::new(
        Email::new(google.admin_subject())?,
        KeyReference::File(key.clone()),
        KeyOwnership::ProviderManaged,
    );
    settings.api_base = Some(google.base_url());
    // Client-side pacing. Google's default quota is 2,400 requests a minute per admin (the
    // default here too); the emulator enforces none, so the demo paces faster.
    settings.quota_per_minute = 12_000;
    let created = service
        .create_google(CreateGoogle::new(
            format!("Google Workspace ({})", tenant.domain()),
            DirectionKind::Inbound,
            settings,
            Schedule::daily(TimeOfDay::utc(2, 0)?),
        ))
        .await?;
    let id = created.integration.id();
    println!(
        "  integration {id}: {}, {}, daily at 02:00 UTC",
        created.integration.state(),
        if created.integration.is_primary() {
            "the primary (it owns profiles and lifecycles)"
        } else {
            "secondary"
        }
    );
    println!("\n{}", created.instructions);

    section("3. Activate");
    // Until the admin grants every scope, activation names what is missing and changes nothing.
    google.deny_scope(google_scopes::ORGUNIT_READONLY);
    match service.activate(id, &Silent).await {
        Err(e @ ServiceError::Access(dirsync_core::AccessDenied::MissingScopes { .. })) => {
            println!("  before the grant: {e}");
            println!("  state: {}", service.integration(id).await?.state());
        }
        other => bail!("expected a missing scope, got {other:?}"),
    }
    google.allow_scope(google_scopes::ORGUNIT_READONLY);
    println!("  after the grant: checking each scope, then the initial sync…");
    let bars = TerminalProgress::new(std::io::stderr().is_terminal());
    let activated = service.activate(id, &bars).await?;
    bars.finish();
    let auth = activated
        .integration
        .record()
        .authorization
        .clone()
        .context("an active integration records its authorization")?;
    println!(
        "  {}: authorized by {} for {} ({} scopes) at {}",
        activated.integration.state(),
        auth.subject.context("Google names the delegated admin")?,
        auth.client_email.context("and the service account")?,
        auth.scopes.len(),
        auth.verified_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let initial = activated
        .initial_run
        .context("an inbound activation runs the initial sync")?;
    print_run("initial sync", &initial);

    section("4. The directory");
    print_directory(&service, id).await?;

    section("5. Meanwhile, in Google Workspace");
    let people: Vec<String> = tenant
        .live_users()
        .filter(|u| !u.is_admin && !u.suspended)
        .map(|u| u.primary_email.clone())
        .collect();
    let [leaver, suspended, joiner, ..] = people.as_slice() else {
        bail!("the demo tenant has too few people");
    };
    let group = tenant
        .groups()
        .iter()
        .rev()
        .find(|g| !g.members.iter().any(|m| m.email.as_deref() == Some(joiner)))
        .context("a group without the joiner")?;
    google.remove_user(leaver)?;
    google.suspend_user(suspended)?;
    google.add_member(&group.email, joiner, Role::Member)?;
    println!("  {leaver} left the company (deleted in Google)");
    println!("  {suspended} was suspended");
    println!("  {joiner} joined {}", group.email);

    section("6. Dry run: what a sync would do (nothing is written)");
    let plan = service.dry_run(id, &Silent).await?;
    for change in service.explain(&plan).await? {
        println!("  {change}");
    }
    println!("  plan {}", plan.id());

    section("7. Sync");
    let run = service.sync(id, &Silent).await?;
    print_run("sync", &run);
    for email in [leaver, suspended] {
        let user = user(&service, email).await?;
        println!(
            "  {email}: {}{}",
            user.status,
            user.lifecycle
                .deprovisioned_at
                .or(user.lifecycle.suspended_at)
                .map(|t| format!(" since {}", t.format("%H:%M:%S")))
                .unwrap_or_default()
        );
    }
    let again = service.sync(id, &Silent).await?;
    print_run("again, right away", &again);

    section("8. A safeguard: a mass removal waits for approval");
    let leaving: Vec<String> = google
        .tenant()
        .live_users()
        .filter(|u| !u.is_admin && !u.suspended)
        .take(150)
        .map(|u| u.primary_email.clone())
        .collect();
    for email in &leaving {
        google.remove_user(email)?;
    }
    println!("  {} users deleted in Google at once", leaving.len());
    let held = service.sync(id, &Silent).await?;
    print_run("sync", &held);
    let RunOutcome::Held { plan } = &held.outcome else {
        bail!("expected the safeguard to hold the plan");
    };
    for waiting in service.held_plans(id).await? {
        println!("  held: {}", waiting.reason);
    }
    println!(
        "  {} is still {}",
        leaving[0],
        user(&service, &leaving[0]).await?.status
    );
    println!("  an operator checks the plan and approves it by id:");
    let approved = service.approve(plan).await?;
    print_run("approved", &approved);
    println!(
        "  {} is now {}",
        leaving[0],
        user(&service, &leaving[0]).await?.status
    );

    section("9. Outbound: a Google group managed from the directory");
    outbound(&service, &google, &key).await?;

    section("10. Authorized by consent instead of a key");
    consent(&service, &google, &dir).await?;

    section("Done");
    let stats = google.stats();
    println!(
        "  {} API requests answered by the emulator; {:.1} s in all",
        stats.requests_total,
        started.elapsed().as_secs_f64()
    );
    println!(
        "  the directory stays in {}; look around with:",
        db.display()
    );
    println!(
        "    cargo run --bin dirsync -- --db {} users:list",
        db.display()
    );
    println!(
        "    cargo run --bin dirsync -- --db {} runs {id}",
        db.display()
    );
    google.shutdown().await;
    Ok(())
}

/// A second, consent-based integration: an admin authorizes it in a browser (here the
/// emulator consents automatically as its admin), and it records who authorized it.
async fn consent(service: &Service, google: &RunningEmulator, dir: &Path) -> Result<()> {
    let client = dir.join("oauth-client.json");
    std::fs::write(&client, google.oauth_client_json())?;
    let settings = GoogleSettings::oauth(
        OAuthSettings::new(KeyReference::File(client)).with_oauth_base(google.base_url()),
    )
    .with_api_base(google.base_url());
    let created = service
        .create_google(CreateGoogle::new(
            "Google Workspace (consent)",
            DirectionKind::Inbound,
            settings,
            Schedule::Manual,
        ))
        .await?;
    let id = created.integration.id();
    println!("{}", created.instructions);
    google.set_auto_consent(Some(&google.admin_subject()));
    // `dirsync google-integration:authorize ID` listens on 127.0.0.1 for Google's redirect;
    // here the redirect is read from the emulator's answer, as a browser would follow it.
    let start = service
        .start_consent(id, "http://127.0.0.1:8976/callback", None)
        .await?;
    println!("  consent URL: {}…", clip(&start.url, 72));
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let answer = browser.get(&start.url).send().await?;
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .context("the consent page did not redirect")?;
    let query = location.split_once('?').map_or("", |(_, q)| q);
    let any = service
        .finish_consent(start, &CallbackParams::from_query(query))
        .await?;
    if let Some(a) = &any.record().authorization {
        println!(
            "  authorized by {} at {} (oauth), {} scopes",
            a.subject
                .as_ref()
                .map_or_else(String::new, ToString::to_string),
            a.verified_at.format("%H:%M:%S"),
            a.scopes.len()
        );
    }
    let activated = service.activate(id, &Silent).await?;
    println!("  integration {id} is {}", activated.integration.state());
    if let Some(run) = &activated.initial_run {
        print_run("  initial sync", run);
    }
    Ok(())
}

/// Creates an outbound integration on the same tenant whose rule keeps a Google group holding
/// everyone active in the biggest org unit, and shows a directory change reaching the group.
async fn outbound(service: &Service, google: &RunningEmulator, key: &Path) -> Result<()> {
    let tenant = google.tenant();
    let mut sizes = std::collections::BTreeMap::<String, usize>::new();
    for u in tenant.live_users().filter(|u| !u.suspended) {
        if let Some(top) = u.org_unit_path.split('/').nth(1).filter(|t| !t.is_empty()) {
            *sizes.entry(format!("/{top}")).or_default() += 1;
        }
    }
    let ou = sizes
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(ou, _)| ou)
        .context("the demo tenant has org units")?;
    let group = format!(
        "everyone-{}@{}",
        ou.trim_start_matches('/').to_lowercase(),
        tenant.domain()
    );
    google.add_group(&group, &format!("Everyone in {ou} (managed)"))?;
    let mut settings = GoogleSettings::new(
        Email::new(google.admin_subject())?,
        KeyReference::File(key.to_path_buf()),
        KeyOwnership::ProviderManaged,
    );
    settings.api_base = Some(google.base_url());
    settings.quota_per_minute = 12_000;
    let created = service
        .create_google(CreateGoogle::new(
            "Google groups, managed",
            DirectionKind::Outbound,
            settings,
            Schedule::daily(TimeOfDay::utc(3, 0)?),
        ))
        .await?;
    let id = created.integration.id();
    println!(
        "  outbound integration {id} ({}); the admin also grants:",
        created.integration.state()
    );
    for scope in &created.instructions.scopes() {
        println!("    {}", scope.as_str());
    }
    service.activate(id, &Silent).await?;
    let rule = GroupAssignment::new(
        Email::new(&group)?,
        Selector::OrgUnit(OrgUnitPath::new(&ou)?),
    );
    println!(
        "  rule: {group} ← {} (active users only; hand-added members stay)",
        rule.select
    );
    service
        .add_rule(
            id,
            NewRule::assign("Everyone in the org unit", rule, Trigger::Scheduled),
        )
        .await?;
    let plan = service.dry_run(id, &Silent).await?;
    let changes = service.explain(&plan).await?;
    println!("  dry run: {} change(s)", changes.len());
    for change in changes.iter().take(3) {
        println!("    {change}");
    }
    if changes.len() > 3 {
        println!("    … and {} more", changes.len() - 3);
    }
    let run = service.sync(id, &Silent).await?;
    print_run("sync", &run);
    let members = |t: &dirsync_google_emulator::Tenant| {
        t.group(&group).map(|g| g.members.len()).unwrap_or_default()
    };
    println!(
        "  {group} now has {} members in Google",
        members(&google.tenant())
    );

    // Someone joins the org unit in Google; the primary brings it into the directory, and the
    // outbound integration brings it to the group.
    let joiner = tenant
        .live_users()
        .find(|u| !u.suspended && !u.is_admin && !u.org_unit_path.starts_with(&ou))
        .context("someone outside the org unit")?
        .primary_email
        .clone();
    google.with_tenant(|t| t.move_user(&joiner, &ou))?;
    let primary = service
        .store()
        .primary()
        .await?
        .context("the primary exists")?
        .id();
    service.sync(primary, &Silent).await?;
    let run = service.sync(id, &Silent).await?;
    println!("  {joiner} moved to {ou} in Google; after the primary's sync:");
    print_run("outbound sync", &run);
    println!("  {group} now has {} members", members(&google.tenant()));
    let again = service.sync(id, &Silent).await?;
    print_run("again, right away", &again);
    Ok(())
}

fn section(title: &str) {
    println!("\n== {title}");
}

fn print_run(what: &str, run: &SyncRun) {
    let outcome = match &run.outcome {
        RunOutcome::Succeeded => "applied".to_owned(),
        RunOutcome::NoChange => "no change, nothing written".to_owned(),
        RunOutcome::Held { plan } => format!("HELD by a safeguard (plan {plan})"),
        RunOutcome::Failed { reason } => format!("failed: {reason}"),
        other => format!("{other:?}"),
    };
    println!("  {what}: {outcome}");
    let counts: Vec<String> = run
        .counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{} {n}", k.replace('_', " ")))
        .collect();
    if !counts.is_empty() {
        println!("    {}", counts.join(", "));
    }
    if let Some(fetch) = &run.fetch {
        println!(
            "    {} requests, {} retries, {} KiB, {} ms",
            fetch.total_requests(),
            fetch.retries,
            fetch.bytes / 1024,
            fetch.elapsed_ms
        );
    }
}

async fn user(service: &Service, email: &str) -> Result<DirectoryUser> {
    service
        .store()
        .user_by_email(&Email::new(email)?)
        .await?
        .with_context(|| format!("{email} is not in the directory"))
}

async fn print_directory(service: &Service, id: directory_sync::core::IntegrationId) -> Result<()> {
    let users = service.store().users().await?;
    let view = service.store().view(id).await?;
    let emails: std::collections::HashMap<_, _> = users
        .iter()
        .map(|u| (u.id, u.profile.primary_email.as_str()))
        .collect();
    println!(
        "  {:<34} {:<22} {:<16} {:<10} {:<9} manager",
        "email", "name", "org unit", "type", "status"
    );
    for u in users.iter().take(10) {
        let p = &u.profile;
        let manager = match &p.manager {
            Some(Manager::Resolved(m)) => emails.get(m).copied().unwrap_or("?").to_owned(),
            Some(Manager::Unresolved(e)) => format!("{e} (unresolved)"),
            None => String::new(),
        };
        println!(
            "  {:<34} {:<22} {:<16} {:<10} {:<9} {manager}",
            clip(p.primary_email.as_str(), 34),
            clip(&p.name.display, 22),
            clip(
                &p.org_unit
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                16
            ),
            p.employment_type.map(|t| t.to_string()).unwrap_or_default(),
            u.status,
        );
    }
    let count = |s: UserStatus| users.iter().filter(|u| u.status == s).count();
    println!(
        "  … {} users ({} active, {} suspended), {} groups, {} memberships, {} org units",
        users.len(),
        count(UserStatus::Active),
        count(UserStatus::Suspended),
        view.groups.len(),
        view.memberships.len(),
        view.org_units.len()
    );
    Ok(())
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(width - 1).collect();
        out.push('…');
        out
    }
}
