//! `push`: Google push and Reports polling (issue 19). An inbound integration of an emulated
//! tenant, activated (its full sync's calls counted), then push turned on, with the server's
//! hook route answering the emulator's notifications:
//!
//! 1. a user suspension, `--changes` times one after another: the time from the change in the
//!    tenant to the directory (p50, p95, max), with the emulator's delivery delay;
//! 2. a membership change, `--group-changes` times: the time from the change to the directory by
//!    polling alone (the scheduler loop ticking every second, polling every `--poll-ms`, the
//!    Reports API showing activities `--reports-lag-ms` late); with `--burst` the changes are
//!    made together and then awaited, as changes falling within one polling interval;
//! 3. the calls all of that cost the tenant, against the full sync's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use directory_sync::core::*;
use directory_sync::google::{GoogleSettings, KeyReference};
use directory_sync::service::{CreateGoogle, PushSettings, Registry, Service, Silent};
use directory_sync::sqlite::SqliteStore;
use directory_sync::store::Store;
use dirsync_google_emulator::{
    Emulator, EmulatorConfig, MemberType, PushDelivery, Role, TenantSpec,
};
use dirsync_server::{AppState, router};

/// What the `push` mode is asked for.
pub(crate) struct PushArgs {
    pub(crate) users: usize,
    pub(crate) changes: usize,
    pub(crate) group_changes: usize,
    pub(crate) delay_ms: u64,
    pub(crate) poll_ms: u64,
    pub(crate) reports_lag_ms: u64,
    pub(crate) burst: bool,
}

/// Runs the benchmark and prints its figures.
pub(crate) async fn push(args: PushArgs) -> Result<()> {
    let mut config = EmulatorConfig::new(TenantSpec::sized(19, args.users));
    config.push = PushDelivery::default().with_delay(Duration::from_millis(args.delay_ms));
    config.reports_lag = Duration::from_millis(args.reports_lag_ms);
    let google = Emulator::start(config).await?;
    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let store = SqliteStore::open(dir.path().join("directory.db"))?;
    let settings = PushSettings::new(base).with_polling(
        Duration::from_millis(args.poll_ms),
        chrono::Duration::minutes(10),
    );
    // The push window would hold the 51st suspension within 10 minutes (the safeguard):
    // widened here so that every change is applied.
    let service = Arc::new(
        Service::new(Arc::new(store), Registry::builtin())
            .with_push(settings.clone())
            .with_push_window(directory_sync::engine::PushWindow::new(10_000, 10)),
    );
    let app = router(AppState::new(Arc::clone(&service)));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let key = dir.path().join("key.json");
    std::fs::write(&key, google.service_account_key_json())?;
    let google_settings = GoogleSettings::new(
        Email::new(google.admin_subject())?,
        KeyReference::File(key),
        KeyOwnership::CustomerOwned,
    )
    .with_api_base(google.base_url())
    .with_quota_per_minute(0);
    let created = service
        .create_google(CreateGoogle::new(
            "A",
            DirectionKind::Inbound,
            google_settings,
            Schedule::Manual,
        ))
        .await?;
    let id = created.integration.id();
    google.reset_stats();
    let started = Instant::now();
    service.activate(id, &Silent).await?;
    let full = google.stats();
    let tenant = google.tenant();
    println!(
        "push benchmark: {} users, {} groups; the full sync of activation: {} calls to the tenant (tokens apart: {}), {:.1} s",
        tenant.live_users().count(),
        tenant.groups().len(),
        full.requests_total,
        api_calls(&full),
        started.elapsed().as_secs_f64()
    );

    google.reset_stats();
    service.set_push(id, true).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler = {
        let service = Arc::clone(&service);
        tokio::spawn(async move {
            service
                .run_scheduler(
                    Duration::from_secs(1),
                    async {
                        let _ = stopped.await;
                    },
                    &Silent,
                )
                .await;
        })
    };

    // 1. User suspensions by push.
    let victims: Vec<_> = tenant
        .live_users()
        .filter(|u| !u.is_admin && !u.suspended)
        .take(args.changes)
        .cloned()
        .collect();
    let mut push_latencies = Vec::new();
    for u in &victims {
        let email = Email::new(&u.primary_email)?;
        let t0 = Instant::now();
        google.suspend_user(&u.id)?;
        loop {
            let now = service.store().user_by_email(&email).await?;
            if now.is_some_and(|d| d.status == UserStatus::Suspended) {
                break;
            }
            if t0.elapsed() > Duration::from_secs(30) {
                bail!("{} never reached the directory", u.primary_email);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        push_latencies.push(t0.elapsed());
    }

    // 2. Membership changes by polling: a user added to a small group.
    let user = MemberType::User;
    let mut groups: Vec<_> = tenant
        .groups()
        .iter()
        .filter(|g| g.members.len() < 200 && g.members.iter().any(|m| m.member_type == user))
        .cloned()
        .collect();
    groups.truncate(args.group_changes);
    // Each change: the group, the newcomer, when it was made.
    let mut pending = Vec::new();
    let mut poll_latencies = Vec::new();
    for g in &groups {
        let newcomer = tenant
            .live_users()
            .find(|u| !u.is_admin && !u.suspended && g.members.iter().all(|m| m.id != u.id))
            .context("a user outside the group")?
            .clone();
        google.add_member(&g.email, &newcomer.primary_email, Role::Member)?;
        pending.push((g, newcomer, Instant::now()));
        if !args.burst {
            await_members(
                service.store().as_ref(),
                id,
                &mut pending,
                &mut poll_latencies,
            )
            .await?;
        }
    }
    await_members(
        service.store().as_ref(),
        id,
        &mut pending,
        &mut poll_latencies,
    )
    .await?;
    let _ = stop.send(());
    scheduler.await?;
    let spent = google.stats();

    println!(
        "1. user suspension by push, {} changes, delivery delay {} ms, coalescing {} ms:",
        push_latencies.len(),
        args.delay_ms,
        settings.coalesce.as_millis()
    );
    print_latencies(&mut push_latencies);
    println!(
        "2. membership change by polling, {} changes, Reports lag {} ms, polling every {} ms (scheduler tick 1 s):",
        poll_latencies.len(),
        args.reports_lag_ms,
        args.poll_ms
    );
    print_latencies(&mut poll_latencies);
    println!(
        "3. calls for {} user and {} group changes (and the channel, and every poll): {} (tokens apart: {}), against {} for a full sync",
        push_latencies.len(),
        poll_latencies.len(),
        spent.requests_total,
        api_calls(&spent),
        full.requests_total
    );
    for (route, n) in &spent.requests_by_route {
        println!("    {n:>7}  {route}");
    }
    Ok(())
}

/// Requests other than token requests.
fn api_calls(stats: &dirsync_google_emulator::Stats) -> u64 {
    let tokens = stats
        .requests_by_route
        .iter()
        .filter(|(route, _)| route.ends_with("/token"))
        .map(|(_, n)| n)
        .sum::<u64>();
    stats.requests_total - tokens
}

/// Waits until the directory has every pending newcomer in its group, noting each one's time
/// from its change.
async fn await_members(
    store: &dyn Store,
    integration: IntegrationId,
    pending: &mut Vec<(
        &dirsync_google_emulator::Group,
        dirsync_google_emulator::User,
        Instant,
    )>,
    latencies: &mut Vec<Duration>,
) -> Result<()> {
    while let Some((g, newcomer, t0)) = pending.first() {
        if member(store, integration, &g.id, &newcomer.id).await? {
            latencies.push(t0.elapsed());
            pending.remove(0);
        } else if t0.elapsed() > Duration::from_secs(180) {
            bail!(
                "{} never joined {} in the directory",
                newcomer.primary_email,
                g.email
            );
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

/// Whether the directory has `member` in `group` (Google ids) for `integration`.
async fn member(
    store: &dyn Store,
    integration: IntegrationId,
    group: &str,
    member: &str,
) -> Result<bool> {
    let view = store.view(integration).await?;
    Ok(view
        .memberships
        .iter()
        .any(|m| m.group.as_str() == group && m.member.external_id.as_str() == member))
}

fn print_latencies(samples: &mut [Duration]) {
    if samples.is_empty() {
        println!("  no samples");
        return;
    }
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    println!(
        "  p50 {:>8.0} ms   p95 {:>8.0} ms   max {:>8.0} ms",
        at(0.50).as_secs_f64() * 1000.0,
        at(0.95).as_secs_f64() * 1000.0,
        at(1.0).as_secs_f64() * 1000.0
    );
}
