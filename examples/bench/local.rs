//! `store` and `plan`: the modes that need no emulator. `store` applies a synthetic tenant to a
//! backend, reads its view and re-applies it with no change; `plan` runs the planner on a
//! synthetic tenant against an equal store with some churn (`--scale`: at three sizes).

use std::time::Instant;

use anyhow::Result;
use chrono::Utc;
use directory_sync::core::*;
use directory_sync::store::{InMemoryStore, LocalView, Store};

use crate::{Backend, create_primary, peak_rss_mib, reset_peak_rss, rss_mib};

/// Runs `plan` at three sizes, each in a child process (its own peak RSS).
pub(crate) fn plan_scale() -> Result<()> {
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

pub(crate) async fn store(
    users: u32,
    groups: u32,
    memberships: u32,
    backend: Backend,
) -> Result<()> {
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

    let (started, cpu) = (Instant::now(), crate::cpu_seconds());
    let applied = store.apply(&changes).await?;
    let (apply, apply_cpu) = (started.elapsed(), crate::cpu_seconds() - cpu);

    let (started, cpu) = (Instant::now(), crate::cpu_seconds());
    let view = store.view(id).await?;
    let (read, read_cpu) = (started.elapsed(), crate::cpu_seconds() - cpu);

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
        "  initial apply   {:>8.2} s  ({:.0} ops/s; {apply_cpu:.2} CPU-s)",
        apply.as_secs_f64(),
        ops as f64 / apply.as_secs_f64()
    );
    println!(
        "  full view       {:>8.2} s  ({read_cpu:.2} CPU-s; {} users, {} accounts, {} memberships)",
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

pub(crate) async fn plan(users: u32, groups: u32, memberships: u32, churn: f64) -> Result<()> {
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
