//! `cargo run --release --example bench -- store [--users N] [--groups G] [--memberships M] [--backend B]` (B: sqlite-file, sqlite-memory, memory, postgres)
//! `cargo run --release --example bench -- plan [--users N] [--groups G] [--memberships M] [--churn PERCENT] [--scale]`
//! `cargo run --release --example bench -- fetch [--users N] [--groups G] [--memberships M] [--latency-ms L] [--concurrency C]`
//! `cargo run --release --example bench -- quota [--users N] [--groups G] [--memberships M] [--quota Q]`
//! `cargo run --release --example bench -- sync [--users N] [--groups G] [--memberships M] [--backend B]`
//! `cargo build --release -p dirsync && cargo run --release --example bench -- workers [--tenants T] [--workers W]`
//! `cargo run --release --example bench -- provision [--users N] [--groups G] [--memberships M] [--latency-ms L]`
//! `cargo run --release --example bench -- scim [--users N] [--groups G] [--memberships M] [--scim2-server PATH] [--requests-per-minute R]`
//! `cargo run --release --example bench -- push [--users N] [--changes C] [--group-changes G] [--delay-ms D] [--poll-ms P] [--reports-lag-ms L]`
//! `cargo build --release -p dirsync && cargo run --release --example bench -- cli [--users N] [--groups G] [--memberships M] [--latency-ms L] [--concurrency C] [--dirsync PATH]`
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
mod provision;
mod push;
mod remote;
mod scim;
mod workers;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use directory_sync::core::*;
use directory_sync::google::{GoogleSettings, KeyReference};
use directory_sync::sqlite::SqliteStore;
use directory_sync::store::{InMemoryStore, LocalView, Store};

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
        } => store(users, groups.max(1), memberships, backend).await,
        Command::Plan { scale: true, .. } => plan_scale(),
        Command::Plan {
            users,
            groups,
            memberships,
            churn,
            scale: false,
        } => plan(users, groups.max(1), memberships, churn).await,
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
        } => cli::cli(tenant, latency_ms, concurrency, binary).await,
    }
}

/// Runs `plan` at three sizes, each in a child process (its own peak RSS).
fn plan_scale() -> Result<()> {
    let exe = std::env::current_exe()?;
    for users in [10_000u32, 100_000, 1_000_000] {
        let status = std::process::Command::new(&exe)
            .args(["plan", "--users", &users.to_string()])
            .args(["--groups", &(users / 10).to_string()])
            .args(["--memberships", &(users * 10).to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "plan at {users} users failed");
    }
    Ok(())
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

async fn store(users: u32, groups: u32, memberships: u32, backend: Backend) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    let store = backend.open(&path).await?;
    let now = Utc::now();
    let primary = create_primary(&*store, now).await?;
    let id = primary.id();

    let started = Instant::now();
    let (changes, written) =
        synthetic_changes(&primary, Version::ZERO, 0, users, groups, memberships, now)?;
    let built = started.elapsed();
    let ops = changes.ops().len();

    let started = Instant::now();
    let applied = store.apply(&changes).await?;
    let apply = started.elapsed();

    let started = Instant::now();
    let view = store.view(id).await?;
    let read = started.elapsed();

    let started = Instant::now();
    let noop = store
        .apply(&DirectoryChanges::new(&primary, applied.version))
        .await?;
    let nothing = started.elapsed();
    anyhow::ensure!(
        noop.ops == 0 && noop.version == applied.version,
        "a no-change apply wrote"
    );

    let size = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum::<u64>();
    println!(
        "store benchmark ({} backend)",
        match backend {
            Backend::SqliteFile => "sqlite file",
            Backend::SqliteMemory => "sqlite memory",
            Backend::Memory => "in-memory",
            Backend::Postgres => "postgres",
        }
    );
    println!(
        "  tenant          {users} users + accounts, {groups} groups, {written} memberships = {ops} operations"
    );
    println!("  build changes   {:>8.2} s", built.as_secs_f64());
    println!(
        "  initial apply   {:>8.2} s  ({:.0} ops/s)",
        apply.as_secs_f64(),
        ops as f64 / apply.as_secs_f64()
    );
    println!(
        "  full view       {:>8.2} s  ({} users, {} accounts, {} memberships)",
        read.as_secs_f64(),
        view.users.len(),
        view.accounts.len(),
        view.memberships.len()
    );
    println!(
        "  no-change apply {:>8.4} s  (wrote nothing: version stays {})",
        nothing.as_secs_f64(),
        noop.version
    );
    if matches!(backend, Backend::SqliteFile) {
        println!(
            "  file size       {:>8.1} MiB (db + wal)",
            size as f64 / 1048576.0
        );
    }
    if let Some(rss) = peak_rss_mib() {
        println!("  peak RSS        {rss:>8.0} MiB (whole process, change set and view included)");
    }
    Ok(())
}

/// A synthetic tenant as one change set on `base`: users `first_user..first_user + users`
/// (each with an account), `groups` groups, and `memberships` memberships spread evenly over
/// them; also the number of memberships written.
pub(crate) fn synthetic_changes(
    primary: &Integration<Inbound, Primary>,
    base: Version,
    first_user: u32,
    users: u32,
    groups: u32,
    memberships: u32,
    now: chrono::DateTime<Utc>,
) -> Result<(DirectoryChanges, u32)> {
    let id = primary.id();
    let authority = primary.profile_authority();
    let mut changes = DirectoryChanges::new(primary, base);
    let account_id = |u: u32| ExternalId::new(format!("1{u:011}"));
    for u in first_user..first_user + users {
        let user = UserId::derived(id.as_uuid(), &u.to_be_bytes());
        let email = Email::new(format!("user{u}@example.com"))?;
        changes.push(DirectoryOp::Profile(authority.create_user(
            user,
            UserProfile::new(email.clone()),
            now,
            None,
        )));
        changes.push(DirectoryOp::UpsertAccount(Account {
            integration: id,
            external_id: account_id(u)?,
            email,
            link: Some(AccountLink {
                user,
                by: LinkedBy::Provisioned,
                at: now,
            }),
            attributes: Attributes::new(),
            attribute_since: Default::default(),
            first_seen: now,
            last_seen: now,
            missing_since: None,
            missing_runs: 0,
        }));
    }
    let group_id = |g: u32| ExternalId::new(format!("0{g:011}"));
    for g in 0..groups {
        changes.push(DirectoryOp::UpsertGroup(Group {
            id: GroupId::derived(id.as_uuid(), &g.to_be_bytes()),
            integration: id,
            external_id: group_id(g)?,
            email: Email::new(format!("group{g}@example.com"))?,
            name: format!("group {g}"),
            description: String::new(),
        }));
    }
    let per_group = memberships.div_ceil(groups.max(1)).min(users.max(1));
    let mut written = 0;
    'groups: for g in 0..groups {
        for k in 0..per_group {
            if written == memberships {
                break 'groups;
            }
            let member = (g.wrapping_mul(7919).wrapping_add(k)) % users.max(1);
            changes.push(DirectoryOp::UpsertMembership(Membership {
                integration: id,
                group: group_id(g)?,
                member: Member {
                    kind: MemberKind::User,
                    external_id: account_id(member)?,
                    email: None,
                },
                role: MemberRole::Member,
            }));
            written += 1;
        }
    }
    Ok((changes, written))
}

/// A synthetic remote tenant as a complete snapshot; `salt` changes the names of the users
/// whose index is below `changed_users`, and drops the memberships whose index is below
/// `dropped_memberships`.
fn tenant(
    users: u32,
    groups: u32,
    memberships: u32,
    changed_users: u32,
    dropped_memberships: u32,
) -> Result<Snapshot> {
    let mut b = SnapshotBuilder::new(ObjectKinds::all(), ScopeFilter::everything(), Utc::now());
    b.org_units(Vec::new())?;
    let mut page = Vec::with_capacity(users as usize);
    for u in 0..users {
        let mut r = RemoteUser::new(
            ExternalId::new(format!("1{u:011}"))?,
            Email::new(format!("user{u}@example.com"))?,
        );
        r.name.display = if u < changed_users {
            format!("User {u} (renamed)")
        } else {
            format!("User {u}")
        };
        r.org_unit = Some(OrgUnitPath::new(format!("/OU{}", u % 50))?);
        if u > 0 {
            r.manager_email = Some(Email::new(format!("user{}@example.com", u / 10))?);
        }
        page.push(r);
    }
    b.users_page(page, None)?;
    let mut all = Vec::with_capacity(groups as usize);
    for g in 0..groups {
        all.push(RemoteGroup {
            external_id: ExternalId::new(format!("0{g:011}"))?,
            email: Email::new(format!("group{g}@example.com"))?,
            name: format!("group {g}"),
            description: String::new(),
            direct_members_count: None,
        });
    }
    b.groups_page(all, None)?;
    let per_group = memberships.div_ceil(groups).min(users.max(1));
    let mut index = 0;
    for g in 0..groups {
        let group = ExternalId::new(format!("0{g:011}"))?;
        let mut members = Vec::new();
        for k in 0..per_group {
            if index >= memberships {
                break;
            }
            if index >= dropped_memberships {
                let member = (g.wrapping_mul(7919).wrapping_add(k)) % users.max(1);
                members.push(RemoteMember {
                    group: group.clone(),
                    member: Member {
                        kind: MemberKind::User,
                        external_id: ExternalId::new(format!("1{member:011}"))?,
                        email: None,
                    },
                    role: MemberRole::Member,
                });
            }
            index += 1;
        }
        b.members_page(&group, members, None)?;
    }
    Ok(b.finish()?)
}

/// The view of a store that applied `changes` (creations and upserts only) onto `empty`.
fn view_of(empty: LocalView, changes: &DirectoryChanges) -> Result<LocalView> {
    let mut view = LocalView {
        version: empty.version.next(),
        ..empty
    };
    for op in changes.ops() {
        match op {
            DirectoryOp::UpsertAccount(a) => view.accounts.push(a.clone()),
            DirectoryOp::UpsertGroup(g) => view.groups.push(g.clone()),
            DirectoryOp::UpsertMembership(m) => view.memberships.push(m.clone()),
            DirectoryOp::UpsertOrgUnit(o) => view.org_units.push(o.clone()),
            DirectoryOp::Profile(p) => match p.change() {
                ProfileChange::CreateUser {
                    user,
                    profile,
                    event,
                } => view.users.push(DirectoryUser::provisioned(
                    *user,
                    profile.clone(),
                    event.clone(),
                )?),
                other => anyhow::bail!("unexpected in an initial plan: {other:?}"),
            },
            other => anyhow::bail!("unexpected in an initial plan: {other:?}"),
        }
    }
    view.accounts
        .sort_by(|a, b| a.external_id.cmp(&b.external_id));
    view.groups
        .sort_by(|a, b| a.external_id.cmp(&b.external_id));
    view.memberships.sort_by(|a, b| {
        (&a.group, a.member.kind, &a.member.external_id).cmp(&(
            &b.group,
            b.member.kind,
            &b.member.external_id,
        ))
    });
    view.org_units
        .sort_by(|a, b| a.external_id.cmp(&b.external_id));
    view.users.sort_by_key(|u| u.id);
    Ok(view)
}

async fn plan(users: u32, groups: u32, memberships: u32, churn: f64) -> Result<()> {
    use directory_sync::engine::{Policy, plan_primary};
    let now = Utc::now();
    let policy = Policy::default();
    let started = Instant::now();
    let base = tenant(users, groups, memberships, 0, 0)?;
    let built = started.elapsed();
    // The view is what the base snapshot plans into an empty store (built from the plan's
    // operations, as a store would apply them, to keep the setup's memory down at 1M users).
    let store = InMemoryStore::new();
    let primary = create_primary(&store, now).await?;
    let empty = store.view(primary.id()).await?;
    drop(store);
    let first = plan_primary(&primary, &base, &empty, &policy, now)?;
    let view = view_of(empty, first.changes())?;
    drop(first);
    let setup_peak = peak_rss_mib();

    let started = Instant::now();
    let same = plan_primary(&primary, &base, &view, &policy, now)?;
    let unchanged = started.elapsed();
    let same_ops = same.changes().ops().len();
    anyhow::ensure!(
        same_ops == 0,
        "the view does not match the snapshot: {same}"
    );
    drop((same, base));

    let changed = (f64::from(users) * churn / 100.0) as u32;
    let dropped = (f64::from(memberships) * churn / 100.0) as u32;
    let churned = tenant(users, groups, memberships, changed, dropped)?;
    let inputs = rss_mib();
    let reset = reset_peak_rss();
    let started = Instant::now();
    let plan = plan_primary(&primary, &churned, &view, &policy, now)?;
    let planned = started.elapsed();
    let planning_peak = peak_rss_mib();
    println!("plan benchmark (in-memory view)");
    println!(
        "  tenant           {users} users, {groups} groups, {memberships} memberships (snapshot built in {:.2} s)",
        built.as_secs_f64()
    );
    println!(
        "  plan, no change  {:>8.3} s  ({same_ops} operations)",
        unchanged.as_secs_f64(),
    );
    println!(
        "  plan, {churn}% churn {:>7.3} s  ({} operations; held: {})",
        planned.as_secs_f64(),
        plan.changes().ops().len(),
        plan.is_held()
    );
    println!(
        "  inline sizes     RemoteMember {} B, Membership {} B, RemoteUser {} B, DirectoryUser {} B, Account {} B (heap strings extra)",
        std::mem::size_of::<RemoteMember>(),
        std::mem::size_of::<Membership>(),
        std::mem::size_of::<RemoteUser>(),
        std::mem::size_of::<DirectoryUser>(),
        std::mem::size_of::<Account>(),
    );
    if let (Some(inputs), Some(peak), true) = (inputs, planning_peak, reset) {
        println!(
            "  RSS at planning  {inputs:>8.0} MiB inputs (snapshot + view), {peak:.0} MiB peak while planning"
        );
    }
    if let Some(rss) = setup_peak {
        println!(
            "  setup peak RSS   {rss:>8.0} MiB (snapshot, initial plan and view being built; not planning)"
        );
    }
    Ok(())
}
