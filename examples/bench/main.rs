//! `cargo run --release --example bench -- store [--users N] [--groups G] [--memberships M] [--backend B]` (B: sqlite-file, sqlite-memory, memory, postgres)
//! `cargo run --release --example bench -- plan [--users N] [--groups G] [--memberships M] [--churn PERCENT] [--scale]`
//! `cargo run --release --example bench -- fetch [--users N] [--groups G] [--memberships M] [--latency-ms L] [--concurrency C]`
//! `cargo run --release --example bench -- quota [--users N] [--groups G] [--memberships M] [--quota Q]`
//! `cargo run --release --example bench -- sync [--users N] [--groups G] [--memberships M] [--backend B]`
//! `cargo build --release -p dirsync && cargo run --release --example bench -- workers [--tenants T] [--workers W]`
//! `cargo run --release --example bench -- provision [--users N] [--groups G] [--memberships M] [--latency-ms L]`
//! `cargo run --release --example bench -- scim [--users N] [--groups G] [--memberships M] [--scim2-server PATH] [--requests-per-minute R]`
//! `cargo run --release --example bench -- push [--users N] [--changes C] [--group-changes G] [--delay-ms D] [--poll-ms P] [--reports-lag-ms L]`
//! `cargo build --release -p dirsync && cargo run --release --example bench -- cli [--users N] [--groups G] [--memberships M] [--latency-ms L] [--concurrency C] [--dirsync PATH] [--compare CMD] [--shed N]`
//!
//! Prints figures. `store`: one initial apply of a whole tenant (users with accounts, groups,
//! memberships), a full read of the integration's view, and a re-apply with no change (which
//! must write nothing). `plan`: the planner on a tenant against an equal store with some churn;
//! `--scale` runs it at 10k, 100k and 1M users, each in its own process. `fetch`: the Google
//! connector reading an emulated tenant under latency, against the call floor and the critical
//! path. `quota`: the same under the emulator's per-subject quota. `sync`: fetch, plan and apply
//! of a whole tenant into SQLite, then a resync with no change, with peak memory. `workers`:
//! the due rules of many PostgreSQL tenants run by 1, 2 and W `dirsync scheduler:work` processes.
//! `scim`: outbound provisioning of a whole directory into the real `scim2-server` (pip install
//! scim2-server), then a resync with no change.
//! `push`: Google push and Reports polling (issue 19): from a change in the emulated tenant to
//! the directory, for user suspensions by push and membership changes by polling, and the
//! calls they cost against a full sync's.
//! `cli`: the `dirsync` binary itself (create, activate with its initial sync, a resync with no
//! change) against the emulator under latency, against the critical path.
//! Figures, not assertions: compare runs, don't gate on them. `BENCHMARKS.md` records them.

mod api;
mod cli;
mod local;
mod provision;
mod push;
mod remote;
mod scim;
mod workers;

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use directory_sync::core::*;
use directory_sync::google::{GoogleSettings, KeyReference};
use directory_sync::sqlite::SqliteStore;
use directory_sync::store::{InMemoryStore, Store};

#[derive(Parser)]
#[command(about = "Figures for directory-sync's building blocks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Initial apply, view and no-change apply of a synthetic tenant.
    Store {
        /// Users (each with an account).
        #[arg(long, default_value_t = 100_000)]
        users: u32,
        /// Groups.
        #[arg(long, default_value_t = 10_000)]
        groups: u32,
        /// Memberships, spread evenly over the groups.
        #[arg(long, default_value_t = 1_000_000)]
        memberships: u32,
        /// Which store.
        #[arg(long, value_enum, default_value_t = Backend::SqliteFile)]
        backend: Backend,
    },
    /// Planning a tenant against an equal store with some churn.
    Plan {
        /// Users.
        #[arg(long, default_value_t = 100_000)]
        users: u32,
        /// Groups.
        #[arg(long, default_value_t = 10_000)]
        groups: u32,
        /// Memberships, spread evenly over the groups.
        #[arg(long, default_value_t = 1_000_000)]
        memberships: u32,
        /// Percent of users, groups and memberships changed between the store and the snapshot.
        #[arg(long, default_value_t = 1.0)]
        churn: f64,
        /// Run at 10k, 100k and 1M users (groups = users / 10, memberships = users × 10), each
        /// in a child process so that each peak RSS is its own.
        #[arg(long)]
        scale: bool,
    },
    /// The connector reading an emulated tenant under latency, with no quota and no pacing.
    Fetch {
        #[command(flatten)]
        tenant: TenantArgs,
        /// Emulated latency of every request, in milliseconds.
        #[arg(long, default_value_t = 20)]
        latency_ms: u64,
        /// Member listings in flight at once (the best measured, and the connector's default).
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// The same read under the emulator's per-subject quota, paced by the connector.
    Quota {
        #[command(flatten)]
        tenant: TenantArgs,
        /// Emulated latency of every request, in milliseconds.
        #[arg(long, default_value_t = 20)]
        latency_ms: u64,
        /// Requests a minute the emulator allows the subject (and the connector paces to).
        #[arg(long, default_value_t = 2_400)]
        quota: u32,
        /// Member listings in flight at once (the best measured, and the connector's default).
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// The HTTP API's reads (a page of users, the status) at rest and while a large apply runs
    /// on the same SQLite file.
    Api {
        /// Users in the directory (the apply under load adds as many again).
        #[arg(long, default_value_t = 100_000)]
        users: u32,
        /// Groups.
        #[arg(long, default_value_t = 10_000)]
        groups: u32,
        /// Memberships.
        #[arg(long, default_value_t = 1_000_000)]
        memberships: u32,
        /// Requests of each kind at rest.
        #[arg(long, default_value_t = 50)]
        samples: usize,
    },
    /// Outbound provisioning of a directory into an empty tenant under latency, then a resync.
    Provision(ProvisionArgs),
    /// Google push and Reports polling: change-to-directory times and the calls they cost.
    Push {
        /// Users in the tenant.
        #[arg(long, default_value_t = 20_000)]
        users: usize,
        /// User suspensions by push.
        #[arg(long, default_value_t = 100)]
        changes: usize,
        /// Membership changes by polling.
        #[arg(long, default_value_t = 5)]
        group_changes: usize,
        /// The emulator's delay before delivering each notification.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// How often activities are polled.
        #[arg(long, default_value_t = 5_000)]
        poll_ms: u64,
        /// How late the Reports API shows an activity.
        #[arg(long, default_value_t = 2_000)]
        reports_lag_ms: u64,
        /// Make the membership changes all at once, then wait for them (as a burst of changes
        /// within one polling interval), instead of one after another.
        #[arg(long)]
        burst: bool,
    },
    /// Outbound provisioning of a directory into scim2-server, then a resync.
    Scim {
        /// Users.
        #[arg(long, default_value_t = 2_000)]
        users: usize,
        /// Groups (each made empty in the application first).
        #[arg(long, default_value_t = 20)]
        groups: usize,
        /// User memberships over the groups other than all-staff (which holds everyone).
        #[arg(long, default_value_t = 2_000)]
        memberships: usize,
        /// The scim2-server binary (default: $DIRSYNC_SCIM2_SERVER).
        #[arg(long, value_name = "PATH")]
        scim2_server: Option<std::path::PathBuf>,
        /// The client's pace (0: unpaced).
        #[arg(long, default_value_t = directory_sync::scim::outbound::DEFAULT_REQUESTS_PER_MINUTE)]
        requests_per_minute: u32,
    },
    /// A whole sync (fetch, plan, apply into a SQLite file), then a resync with no change.
    Sync {
        /// Users.
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        /// Groups.
        #[arg(long, default_value_t = 10_000)]
        groups: usize,
        /// User memberships spread over the groups other than all-staff.
        #[arg(long, default_value_t = 900_000)]
        memberships: usize,
        /// Member listings in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Which store.
        #[arg(long, value_enum, default_value_t = Backend::SqliteFile)]
        backend: Backend,
    },
    /// Scheduled work of many PostgreSQL tenants shared by `dirsync scheduler:work` processes.
    Workers {
        /// Tenants, each with one due rule.
        #[arg(long, default_value_t = 30)]
        tenants: usize,
        /// The most worker processes measured (1, 2 and this many).
        #[arg(long, default_value_t = 3)]
        workers: usize,
        /// Users of the emulated tenant every integration reads.
        #[arg(long, default_value_t = 200)]
        users: usize,
        /// Emulated latency of every request, in milliseconds.
        #[arg(long, default_value_t = 50)]
        latency_ms: u64,
        /// The dirsync binary (default: the one beside this example).
        #[arg(long)]
        dirsync: Option<std::path::PathBuf>,
    },
    /// The `dirsync` binary as a user runs it: create, activate (the initial sync), then a
    /// sync with no change, against the emulator under latency.
    Cli {
        #[command(flatten)]
        tenant: TenantArgs,
        /// Emulated latency of every request, in milliseconds.
        #[arg(long, default_value_t = 20)]
        latency_ms: u64,
        /// `--concurrency` given to `google-integration:create` (default: none, the
        /// connector's default).
        #[arg(long)]
        concurrency: Option<usize>,
        /// The binary (default: `dirsync` in the folder above this example's, i.e. the same
        /// profile's build).
        #[arg(long = "dirsync")]
        binary: Option<std::path::PathBuf>,
        /// Another client to read the same tenant after `dirsync`, side by side: a command run
        /// by `sh -c` with `DIRSYNC_EMU_BASE`, `DIRSYNC_EMU_KEY` (a key file) and
        /// `DIRSYNC_EMU_SUBJECT` set (`examples/bench/clients/` has Google's Python and Node
        /// clients). Repeatable.
        #[arg(long)]
        compare: Vec<String>,
        /// The emulator sheds load past this many requests in flight (503 `backendError`), to
        /// see the connector's bound adapt (default: no bound).
        #[arg(long)]
        shed: Option<u64>,
    },
}

/// The tenant of `provision`.
#[derive(clap::Args, Clone, Copy)]
struct ProvisionArgs {
    /// Users.
    #[arg(long, default_value_t = 2_000)]
    users: usize,
    /// Groups.
    #[arg(long, default_value_t = 200)]
    groups: usize,
    /// User memberships over the groups other than all-staff (which holds everyone: 2,000
    /// gives ~4,000 in all).
    #[arg(long, default_value_t = 2_000)]
    memberships: usize,
    /// Added to every request of the written tenant, in milliseconds.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
}

/// The emulated tenant of `fetch` and `quota`.
#[derive(clap::Args, Clone, Copy)]
struct TenantArgs {
    /// Users.
    #[arg(long, default_value_t = 20_000)]
    users: usize,
    /// Groups (the first is all-staff; the others have skewed, Zipf-like sizes).
    #[arg(long, default_value_t = 2_000)]
    groups: usize,
    /// User memberships spread over the groups other than all-staff (192,000 gives the issue's
    /// ~200,000 memberships in all, with all-staff and nested groups).
    #[arg(long, default_value_t = 192_000)]
    memberships: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    /// SQLite in a file in a temporary directory (the embedded default).
    SqliteFile,
    /// SQLite in memory.
    SqliteMemory,
    /// The in-memory reference store.
    Memory,
    /// PostgreSQL: a fresh schema on `DIRSYNC_TEST_POSTGRES_URL`, or on a private cluster
    /// started for the run (see `dirsync_postgres::testing`).
    Postgres,
}

impl Backend {
    /// A fresh, empty store of this kind (a SQLite file at `path`).
    async fn open(self, path: &std::path::Path) -> Result<Arc<dyn Store>> {
        Ok(match self {
            Backend::SqliteFile => Arc::new(SqliteStore::open(path)?),
            Backend::SqliteMemory => Arc::new(SqliteStore::open_in_memory()?),
            Backend::Memory => Arc::new(InMemoryStore::new()),
            Backend::Postgres => match dirsync_postgres::testing::fresh_store().await {
                Some((store, _schema)) => store,
                None => {
                    anyhow::bail!("no PostgreSQL: install it or set DIRSYNC_TEST_POSTGRES_URL")
                }
            },
        })
    }

    fn name(self) -> &'static str {
        match self {
            Backend::SqliteFile => "SQLite file",
            Backend::SqliteMemory => "SQLite in memory",
            Backend::Memory => "in-memory store",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let outcome = run(Cli::parse().command).await;
    println!(
        "  load average    {:>8}  (1 min, at the end)",
        load_average()
    );
    outcome
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Store {
            users,
            groups,
            memberships,
            backend,
        } => local::store(users, groups.max(1), memberships, backend).await,
        Command::Plan { scale: true, .. } => local::plan_scale(),
        Command::Plan {
            users,
            groups,
            memberships,
            churn,
            scale: false,
        } => local::plan(users, groups.max(1), memberships, churn).await,
        Command::Push {
            users,
            changes,
            group_changes,
            delay_ms,
            poll_ms,
            reports_lag_ms,
            burst,
        } => {
            push::push(push::PushArgs {
                users,
                changes,
                group_changes,
                delay_ms,
                poll_ms,
                reports_lag_ms,
                burst,
            })
            .await
        }
        Command::Workers {
            tenants,
            workers,
            users,
            latency_ms,
            dirsync,
        } => workers::workers(tenants, workers, users, latency_ms, dirsync).await,
        Command::Fetch {
            tenant,
            latency_ms,
            concurrency,
        } => remote::fetch(tenant, latency_ms, concurrency).await,
        Command::Quota {
            tenant,
            latency_ms,
            quota,
            concurrency,
        } => remote::quota(tenant, latency_ms, quota, concurrency).await,
        Command::Api {
            users,
            groups,
            memberships,
            samples,
        } => api::api(users, groups, memberships, samples).await,
        Command::Sync {
            users,
            groups,
            memberships,
            concurrency,
            backend,
        } => remote::sync(users, groups, memberships, concurrency, backend).await,
        Command::Scim {
            users,
            groups,
            memberships,
            scim2_server,
            requests_per_minute,
        } => {
            scim::scim(
                users,
                groups,
                memberships,
                scim2_server,
                requests_per_minute,
            )
            .await
        }
        Command::Provision(a) => {
            provision::provision(a.users, a.groups, a.memberships, a.latency_ms).await
        }
        Command::Cli {
            tenant,
            latency_ms,
            concurrency,
            binary,
            compare,
            shed,
        } => cli::cli(tenant, latency_ms, concurrency, binary, compare, shed).await,
    }
}

/// The benchmark's primary integration, created in `store`.
async fn create_primary(
    store: &dyn Store,
    now: chrono::DateTime<Utc>,
) -> Result<Integration<Inbound, Primary>> {
    let settings = RemoteSettings::from_typed(&GoogleSettings::new(
        Email::new("admin@example.com")?,
        KeyReference::File("key.json".into()),
        KeyOwnership::CustomerOwned,
    ))?;
    let new = NewIntegration::new(
        "bench",
        DirectionKind::Inbound,
        settings,
        Schedule::Manual,
        now,
    )?;
    store
        .create_integration(new)
        .await?
        .into_primary()
        .context("the primary")
}

/// A `/proc/self/status` figure in MiB (`VmHWM` is the peak RSS, `VmRSS` the current one).
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The machine's 1-minute load average (other processes share the 2 cores the figures need).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// CPU seconds this process has used so far, all threads, user and system (`/proc/self/stat`,
/// in the kernel's 10 ms ticks): a phase's CPU, unlike its wall, does not grow when other
/// programs share the cores.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command's closing parenthesis; utime and stime are the 14th and
    // 15th of the line, the 12th and 13th after it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

fn peak_rss_mib() -> Option<f64> {
    status_mib("VmHWM:")
}

fn rss_mib() -> Option<f64> {
    status_mib("VmRSS:")
}

/// Resets the peak RSS to the current RSS (Linux `clear_refs` 5), so that a later
/// [`peak_rss_mib`] is the peak of what ran since.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
