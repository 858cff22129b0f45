//! Benchmarks against the Directory API emulator: `fetch`, `quota` and `sync`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use directory_sync::core::*;
use directory_sync::engine::{Policy, plan_primary};
use directory_sync::google::{
    GoogleConnector, RetryConfig, ServiceAccountKey, required_scopes as google_required_scopes,
};
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, Tenant, TenantSpec};

use crate::{Backend, TenantArgs, create_primary, peak_rss_mib, reset_peak_rss, rss_mib};

/// Page sizes the connector asks for (the API's maxima).
const USERS_PER_PAGE: u64 = 500;
const GROUPS_PER_PAGE: u64 = 200;
const MEMBERS_PER_PAGE: u64 = 200;

pub(crate) async fn emulator(
    users: usize,
    groups: usize,
    memberships: usize,
) -> Result<RunningEmulator> {
    let spec = TenantSpec {
        users,
        groups,
        memberships,
        ..TenantSpec::sized(7, users)
    };
    Ok(Emulator::start(EmulatorConfig::new(spec)).await?)
}

/// A connector for the emulator; `per_minute` 0 turns client pacing off.
fn connector(
    emu: &RunningEmulator,
    concurrency: usize,
    per_minute: u32,
) -> Result<GoogleConnector> {
    Ok(GoogleConnector::builder()
        .api_base(emu.base_url())
        .subject(Email::new(emu.admin_subject())?)
        .key_json(ServiceAccountKey::new(emu.service_account_key_json()))
        .scopes(google_required_scopes(
            DirectionKind::Inbound,
            ObjectKind::ALL,
        ))
        .concurrency(concurrency)
        .requests_per_minute(per_minute)
        .retry(
            RetryConfig::default()
                .with_max_retries(10)
                .with_delays(Duration::from_millis(100), Duration::from_secs(10))
                .with_max_jitter(Duration::from_millis(100)),
        )
        .build()?)
}

/// Fetches everything, timed.
async fn fetch_all(source: &GoogleConnector) -> Result<(Fetched, Duration)> {
    let request = FetchRequest::new(ObjectKinds::all(), ScopeFilter::everything());
    let started = Instant::now();
    let fetched = source.fetch(&request, &NoProgress).await?;
    Ok((fetched, started.elapsed()))
}

/// What reading a tenant must cost at the maximum page sizes (DESIGN §9).
pub(crate) struct Floor {
    /// The fewest calls that read everything: org units (1) + users + deleted users + groups
    /// + the members of every non-empty group.
    pub(crate) calls: u64,
    /// Members listings a client that knew no counts would send for empty groups.
    empty_groups: u64,
    /// The longest single page chain (the all-staff group's members).
    pub(crate) longest_chain: u64,
    /// The longest chain of pages that must follow one another: the groups listing, then the
    /// biggest group's members.
    dependent_chain: u64,
}

pub(crate) fn floor(t: &Tenant) -> Floor {
    let pages = |n: u64, per: u64| n.div_ceil(per).max(1);
    let users = t.live_users().count() as u64;
    let deleted = t.users().iter().filter(|u| u.is_deleted()).count() as u64;
    let groups = t.groups().len() as u64;
    let member_pages: Vec<u64> = t
        .groups()
        .iter()
        .map(|g| g.members.len() as u64)
        .filter(|&n| n > 0)
        .map(|n| pages(n, MEMBERS_PER_PAGE))
        .collect();
    let longest_members = member_pages.iter().copied().max().unwrap_or(0);
    let user_pages = pages(users, USERS_PER_PAGE);
    let deleted_pages = pages(deleted, USERS_PER_PAGE);
    let group_pages = pages(groups, GROUPS_PER_PAGE);
    Floor {
        calls: 1 + user_pages + deleted_pages + group_pages + member_pages.iter().sum::<u64>(),
        empty_groups: groups - member_pages.len() as u64,
        longest_chain: longest_members.max(user_pages).max(group_pages),
        dependent_chain: (group_pages + longest_members).max(user_pages + deleted_pages),
    }
}

pub(crate) fn describe(t: &Tenant) -> String {
    let sizes: Vec<usize> = t.groups().iter().map(|g| g.members.len()).collect();
    let memberships: usize = sizes.iter().sum();
    let mut others: Vec<usize> = sizes.iter().skip(1).copied().collect();
    others.sort_unstable();
    let median = others.get(others.len() / 2).copied().unwrap_or(0);
    let biggest = others.last().copied().unwrap_or(0);
    format!(
        "{} users (+{} deleted), {} groups (all-staff {}, next biggest {biggest}, median {median}, {} empty), {memberships} memberships",
        t.live_users().count(),
        t.users().iter().filter(|u| u.is_deleted()).count(),
        t.groups().len(),
        sizes.first().copied().unwrap_or(0),
        sizes.iter().filter(|&&n| n == 0).count(),
    )
}

fn print_stats(stats: &FetchStats, wall: Duration) {
    for (route, n) in &stats.requests {
        println!("    {n:>7}  {route}");
    }
    println!(
        "  requests        {:>8}  (retries {}, max in flight {}, {:.1} MiB received)",
        stats.total_requests(),
        stats.retries,
        stats.max_in_flight,
        stats.bytes as f64 / 1_048_576.0
    );
    println!("  wall            {:>8.2} s", wall.as_secs_f64());
}

/// `fetch`: no quota, no pacing, latency on every request.
pub(crate) async fn fetch(tenant: TenantArgs, latency_ms: u64, concurrency: usize) -> Result<()> {
    let emu = emulator(tenant.users, tenant.groups, tenant.memberships).await?;
    let t = emu.tenant();
    let floor = floor(&t);
    let latency = Duration::from_millis(latency_ms);
    emu.set_latency(latency);
    let (fetched, wall) = fetch_all(&connector(&emu, concurrency, 0)?).await?;
    let critical = latency * floor.longest_chain as u32;
    let dependent = latency * floor.dependent_chain as u32;
    println!(
        "fetch benchmark (emulator, {latency_ms} ms a request, no quota, no pacing, {concurrency} member listings at once)"
    );
    println!("  tenant          {}", describe(&t));
    print_stats(&fetched.stats, wall);
    println!(
        "  call floor      {:>8}  (1 org units + users + deleted users + groups + members of non-empty groups; {} empty groups skipped)",
        floor.calls, floor.empty_groups
    );
    println!(
        "  critical path   {:>8.2} s  (longest chain {} pages × {latency_ms} ms); wall is {:.2}×",
        critical.as_secs_f64(),
        floor.longest_chain,
        wall.as_secs_f64() / critical.as_secs_f64()
    );
    println!(
        "  dependent path  {:>8.2} s  (groups listing, then the biggest group: {} pages)",
        dependent.as_secs_f64(),
        floor.dependent_chain
    );
    let snapshot = &fetched.snapshot;
    println!(
        "  snapshot        {} users, {} groups, {} memberships",
        snapshot.users().len(),
        snapshot.groups().len(),
        snapshot.members().len()
    );
    emu.shutdown().await;
    Ok(())
}

/// `quota`: the emulator enforces `quota` requests a minute for the subject; the connector
/// paces to it.
pub(crate) async fn quota(
    tenant: TenantArgs,
    latency_ms: u64,
    quota: u32,
    concurrency: usize,
) -> Result<()> {
    let emu = emulator(tenant.users, tenant.groups, tenant.memberships).await?;
    let t = emu.tenant();
    let floor = floor(&t);
    emu.set_latency(Duration::from_millis(latency_ms));
    emu.set_quota_per_minute(Some(quota));
    let (fetched, wall) = fetch_all(&connector(&emu, concurrency, quota)?).await?;
    let calls = fetched.stats.total_requests();
    let bound = Duration::from_secs_f64(calls as f64 * 60.0 / f64::from(quota));
    println!(
        "quota benchmark (emulator enforcing {quota} requests a minute for the subject, {latency_ms} ms a request)"
    );
    println!("  tenant          {}", describe(&t));
    print_stats(&fetched.stats, wall);
    println!(
        "  calls ÷ quota   {:>8.2} s  (call floor {}); wall is {:.3}×",
        bound.as_secs_f64(),
        floor.calls,
        wall.as_secs_f64() / bound.as_secs_f64()
    );
    println!(
        "  rate-limited    {:>8}  (answers the emulator refused for quota)",
        emu.stats().quota_rejections
    );
    emu.shutdown().await;
    Ok(())
}

/// `sync`: fetch, plan and apply a whole tenant into a SQLite file, then a resync with no
/// change; memory is measured from after the emulator's tenant was built.
pub(crate) async fn sync(
    users: usize,
    groups: usize,
    memberships: usize,
    concurrency: usize,
    backend: Backend,
) -> Result<()> {
    let started = Instant::now();
    let emu = emulator(users, groups, memberships).await?;
    let t = emu.tenant();
    let tenant = describe(&t);
    drop(t);
    let generated = started.elapsed();
    let source = connector(&emu, concurrency, 0)?;
    let dir = tempfile::tempdir()?;
    let store = backend.open(&dir.path().join("sync.db")).await?;
    let primary = create_primary(&*store, Utc::now()).await?;
    let policy = Policy::default();
    let baseline = rss_mib().context("no /proc/self/status")?;
    let reset = reset_peak_rss();

    println!(
        "sync benchmark (emulator, no latency, no quota; {})",
        backend.name()
    );
    println!(
        "  tenant          {tenant} (generated in {:.1} s)",
        generated.as_secs_f64()
    );
    for pass in ["initial sync", "resync, no change"] {
        let (fetched, fetch) = fetch_all(&source).await?;
        let started = Instant::now();
        let view = store.view(primary.id()).await?;
        let read = started.elapsed();
        let started = Instant::now();
        let plan = plan_primary(&primary, &fetched.snapshot, &view, &policy, Utc::now())?;
        let planned = started.elapsed();
        drop((fetched, view));
        // A held plan is applied as if approved: its cost is the figure wanted here.
        let held = if plan.is_held() {
            ", held and approved"
        } else {
            ""
        };
        let started = Instant::now();
        let applied = store.apply(plan.changes()).await?;
        let apply = started.elapsed();
        println!("  {pass}");
        println!("    fetch         {:>8.2} s", fetch.as_secs_f64());
        println!("    view          {:>8.2} s", read.as_secs_f64());
        println!(
            "    plan          {:>8.2} s  ({} operations{held})",
            planned.as_secs_f64(),
            plan.changes().ops().len()
        );
        println!(
            "    apply         {:>8.2} s  ({} written, version {})",
            apply.as_secs_f64(),
            applied.ops,
            applied.version
        );
        println!(
            "    view + plan + apply {:>6.2} s",
            (read + planned + apply).as_secs_f64()
        );
    }
    if let (Some(peak), true) = (peak_rss_mib(), reset) {
        println!(
            "  peak RSS        {:>8.0} MiB of the sync (whole process {peak:.0} MiB, of which {baseline:.0} MiB emulator and tenant before the sync)",
            peak - baseline
        );
    }
    emu.shutdown().await;
    Ok(())
}
