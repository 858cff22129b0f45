//! `cargo run --example quickstart`
//!
//! A tour of directory-sync's foundation on a real SQLite file, with no Google account: it
//! creates integrations (and shows which one becomes the primary and what the Workspace admin
//! must grant), writes a demo directory through the primary in one transaction, shows the
//! safety rules refusing what they must refuse, walks a user through their lifecycle, computes
//! the schedule, and reopens the file to show that everything persisted.
//!
//! The Google connector, the emulator and the sync engine are not built yet; once they are, this
//! example becomes the full sync against the emulator. Until then, the one simulated step is the
//! authorization record at activation (the connector will verify each scope against Google's
//! token endpoint), and the directory is written from a hand-made change set instead of a plan.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, TimeZone, Utc};
use directory_sync::core::*;
use directory_sync::sqlite::SqliteStore;
use directory_sync::store::{Error as StoreError, Store};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let path = std::env::temp_dir().join("directory-sync-quickstart.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    println!("directory-sync quickstart: a tour of the foundation");
    println!("store: {} (SQLite, WAL)\n", path.display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path)?);
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .context("a valid instant")?;

    let primary = integrations(&*store, now).await?;
    let primary = activate(&*store, primary, now).await?;
    let people = write_directory(&*store, &primary, now).await?;
    show_directory(&*store, &primary).await?;
    safety_rules(&*store, &primary, &people, now).await?;
    lifecycle(&*store, &primary, &people, now).await?;
    schedule(&*store, &primary, now).await?;
    reopen(&path).await?;
    Ok(())
}

fn section(title: &str) {
    println!("\n== {title}");
}

fn settings() -> Result<RemoteSettings> {
    Ok(RemoteSettings::GoogleWorkspace(GoogleSettings::new(
        Email::new("admin@example.com")?,
        KeyReference::File(PathBuf::from("service-account.json")),
        KeyOwnership::ProviderManaged,
    )))
}

/// Creates an outbound integration first, then two inbound ones: the first inbound is primary.
async fn integrations(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<Integration<Inbound, Primary>> {
    section("1. Integrations: the first inbound one is the primary");
    let requests = [
        ("Google groups (outbound)", DirectionKind::Outbound),
        ("Google Workspace (example.com)", DirectionKind::Inbound),
        (
            "Google Workspace (subsidiary.example)",
            DirectionKind::Inbound,
        ),
    ];
    for (title, direction) in requests {
        let new = NewIntegration::new(title, direction, settings()?, Schedule::Manual, now)?;
        let created = store.create_integration(new).await?;
        println!(
            "  created {:<40} {:<8} -> {:<9} state {}",
            format!("{title:?}"),
            direction.to_string(),
            created.role().to_string(),
            created.state()
        );
    }
    let primary = store
        .primary()
        .await?
        .context("the first inbound integration is the primary")?;
    println!(
        "\n  The Workspace super admin grants the service account, by domain-wide delegation,"
    );
    println!("  exactly these scopes for the primary (inbound, all object kinds):");
    for scope in google_required_scopes(DirectionKind::Inbound, ObjectKind::ALL) {
        println!("    {scope}");
    }
    println!(
        "  and for the outbound integration additionally:\n    {}",
        google_scopes::GROUP_MEMBER
    );
    Ok(primary)
}

/// Records the authorization and activates the primary (the scope check itself is simulated).
async fn activate(
    store: &dyn Store,
    mut primary: Integration<Inbound, Primary>,
    now: DateTime<Utc>,
) -> Result<Integration<Inbound, Primary>> {
    section("2. Activation (authorization record simulated until the connector exists)");
    let authorization = Authorization {
        subject: Email::new("admin@example.com")?,
        client_id: "100000000000000000001".into(),
        client_email: Email::new("directory-sync@demo-project.iam.gserviceaccount.com")?,
        ownership: KeyOwnership::ProviderManaged,
        scopes: google_required_scopes(DirectionKind::Inbound, ObjectKind::ALL),
        verified_at: now,
    };
    primary.activate(authorization)?;
    primary.set_schedule(Schedule::every_monday(TimeOfDay::parse(
        "02:00",
        "Europe/Berlin",
    )?));
    primary.add_rule(SyncRule::new(
        "everything, weekly",
        ObjectKinds::all(),
        ScopeFilter::everything(),
        Trigger::Scheduled,
        now,
    ))?;
    primary.add_rule(SyncRule::new(
        "engineering, on demand",
        ObjectKinds::new([ObjectKind::Users, ObjectKind::Memberships])?,
        ScopeFilter {
            org_unit: Some(OrgUnitPath::new("/Engineering")?),
            groups: None,
        },
        Trigger::Manual,
        now,
    ))?;
    let saved = store.save_integration(&primary.into()).await?;
    let auth = saved
        .record()
        .authorization
        .clone()
        .context("authorization recorded")?;
    println!(
        "  {} is {} (revision {})",
        saved.title(),
        saved.state(),
        saved.revision()
    );
    println!(
        "  authorized by {} via {} ({}) at {}",
        auth.subject, auth.client_email, auth.ownership, auth.verified_at
    );
    saved.into_primary().context("still the primary")
}

/// The demo people, by name.
struct People {
    ids: Vec<(&'static str, UserId)>,
}

impl People {
    fn get(&self, name: &str) -> Result<UserId> {
        match self.ids.iter().find(|(n, _)| *n == name) {
            Some((_, id)) => Ok(*id),
            None => bail!("no demo person {name}"),
        }
    }
}

const DEMO: [(&str, &str, &str, &str, EmploymentType); 5] = [
    (
        "ada",
        "Ada Lovelace",
        "/Engineering",
        "E-001",
        EmploymentType::Employee,
    ),
    (
        "grace",
        "Grace Hopper",
        "/Engineering/Platform",
        "E-002",
        EmploymentType::Employee,
    ),
    (
        "alan",
        "Alan Turing",
        "/Engineering/Platform",
        "E-003",
        EmploymentType::Contractor,
    ),
    (
        "edsger",
        "Edsger Dijkstra",
        "/Research",
        "E-004",
        EmploymentType::Employee,
    ),
    (
        "barbara",
        "Barbara Liskov",
        "/Research",
        "E-005",
        EmploymentType::Employee,
    ),
];

/// Writes the demo directory through the primary in one transaction.
async fn write_directory(
    store: &dyn Store,
    primary: &Integration<Inbound, Primary>,
    now: DateTime<Utc>,
) -> Result<People> {
    section("3. Writing a demo directory through the primary, in one transaction");
    let id = primary.id();
    let authority = primary.profile_authority();
    let mut changes = DirectoryChanges::new(primary, store.version(id).await?);
    let mut people = People { ids: Vec::new() };
    for (i, (name, full, ou, employee_id, kind)) in DEMO.into_iter().enumerate() {
        let user = UserId::derived(id.as_uuid(), name.as_bytes());
        people.ids.push((name, user));
        let email = Email::new(format!("{name}@example.com"))?;
        let (given, family) = full.split_once(' ').unwrap_or((full, ""));
        let profile = UserProfile {
            primary_email: email.clone(),
            name: PersonName {
                given: given.into(),
                family: family.into(),
                display: full.into(),
            },
            manager: (i > 0).then(|| Manager::Resolved(UserId::derived(id.as_uuid(), b"ada"))),
            employee_id: Some(employee_id.into()),
            employment_type: Some(kind),
            org_unit: Some(OrgUnitPath::new(ou)?),
            is_admin: i == 0,
        };
        changes.push(DirectoryOp::Profile(authority.create_user(
            user,
            profile,
            now,
            Some(kind),
        )));
        changes.push(DirectoryOp::UpsertAccount(Account {
            integration: id,
            external_id: ExternalId::new(format!("10000000{i}"))?,
            email,
            link: Some(AccountLink {
                user,
                by: LinkedBy::Provisioned,
                at: now,
            }),
            attributes: Attributes::new(),
            first_seen: now,
            last_seen: now,
            missing_since: None,
            missing_runs: 0,
        }));
    }
    for (ext, path, parent) in [
        ("ou-eng", "/Engineering", None),
        ("ou-plat", "/Engineering/Platform", Some("ou-eng")),
        ("ou-res", "/Research", None),
    ] {
        let path = OrgUnitPath::new(path)?;
        changes.push(DirectoryOp::UpsertOrgUnit(OrgUnit {
            integration: id,
            external_id: ExternalId::new(ext)?,
            name: path.name().into(),
            path,
            description: String::new(),
            parent: parent.map(ExternalId::new).transpose()?,
        }));
    }
    for (ext, name) in [("g-eng", "engineering"), ("g-all", "all-staff")] {
        changes.push(DirectoryOp::UpsertGroup(Group {
            id: GroupId::derived(id.as_uuid(), ext.as_bytes()),
            integration: id,
            external_id: ExternalId::new(ext)?,
            email: Email::new(format!("{name}@example.com"))?,
            name: name.into(),
            description: String::new(),
        }));
    }
    let member =
        |group: &str, kind: MemberKind, ext: String, role: MemberRole| -> Result<DirectoryOp> {
            Ok(DirectoryOp::UpsertMembership(Membership {
                integration: id,
                group: ExternalId::new(group)?,
                member: Member {
                    kind,
                    external_id: ExternalId::new(ext)?,
                    email: None,
                },
                role,
            }))
        };
    for i in 0..3 {
        let role = if i == 0 {
            MemberRole::Owner
        } else {
            MemberRole::Member
        };
        changes.push(member(
            "g-eng",
            MemberKind::User,
            format!("10000000{i}"),
            role,
        )?);
    }
    for i in 3..5 {
        changes.push(member(
            "g-all",
            MemberKind::User,
            format!("10000000{i}"),
            MemberRole::Member,
        )?);
    }
    changes.push(member(
        "g-all",
        MemberKind::Group,
        "g-eng".into(),
        MemberRole::Member,
    )?);
    let applied = store.apply(&changes).await?;
    println!(
        "  applied {} operations; the integration's data is now at {}",
        applied.ops, applied.version
    );
    Ok(people)
}

async fn show_directory(store: &dyn Store, primary: &Integration<Inbound, Primary>) -> Result<()> {
    let view = store.view(primary.id()).await?;
    println!(
        "\n  {:<24} {:<18} {:<22} {:<11} {:<8} status",
        "email", "name", "org unit", "type", "emp id"
    );
    let mut users = view.users.clone();
    users.sort_by(|a, b| a.profile.primary_email.cmp(&b.profile.primary_email));
    for u in &users {
        let p = &u.profile;
        println!(
            "  {:<24} {:<18} {:<22} {:<11} {:<8} {}{}",
            p.primary_email.as_str(),
            p.name.display,
            p.org_unit
                .as_ref()
                .map(|o| o.to_string())
                .unwrap_or_default(),
            p.employment_type.map(|e| e.to_string()).unwrap_or_default(),
            p.employee_id.clone().unwrap_or_default(),
            u.status,
            if p.is_admin { " (admin)" } else { "" },
        );
    }
    println!(
        "  {} groups, {} memberships (one nested group), {} org units",
        view.groups.len(),
        view.memberships.len(),
        view.org_units.len()
    );
    Ok(())
}

fn refused<T: std::fmt::Debug>(
    what: &str,
    result: std::result::Result<T, impl std::fmt::Display>,
) -> Result<()> {
    match result {
        Ok(value) => bail!("{what} should have been refused, got {value:?}"),
        Err(e) => {
            println!("  refused  {what}\n           -> {e}");
            Ok(())
        }
    }
}

/// Shows the rules refusing what they must refuse, and the store unchanged afterwards.
async fn safety_rules(
    store: &dyn Store,
    primary: &Integration<Inbound, Primary>,
    people: &People,
    now: DateTime<Utc>,
) -> Result<()> {
    section("4. The safety rules at work");
    let before = store.view(primary.id()).await?;

    // A fetch that stopped after the first page cannot become a snapshot.
    let mut builder = SnapshotBuilder::new(
        ObjectKinds::only(ObjectKind::Users),
        ScopeFilter::everything(),
        now,
    );
    builder.users_page(
        vec![RemoteUser::new(
            ExternalId::new("100000000")?,
            Email::new("ada@example.com")?,
        )],
        Some("page-2"),
    )?;
    refused(
        "a snapshot whose user listing stopped after page 1",
        builder.finish(),
    )?;

    // A change set planned against an older version.
    let mut stale = DirectoryChanges::new(primary, Version::ZERO);
    stale.push(DirectoryOp::RemoveGroup {
        external_id: ExternalId::new("g-eng")?,
    });
    refused(
        "a change planned against v0 (the store is at v1)",
        store.apply(&stale).await,
    )?;

    // A second user with an existing email, in another case: nothing of the change set is written.
    let mut duplicate = DirectoryChanges::new(primary, before.version);
    duplicate.push(DirectoryOp::RemoveGroup {
        external_id: ExternalId::new("g-all")?,
    });
    let profile = UserProfile::new(Email::new("ADA@example.com")?);
    duplicate.push(DirectoryOp::Profile(
        primary
            .profile_authority()
            .create_user(UserId::random(), profile, now, None),
    ));
    refused(
        "a new user with ada's email (the group removal before it is rolled back)",
        store.apply(&duplicate).await,
    )?;

    // An illegal lifecycle transition.
    let mut reactivate = DirectoryChanges::new(primary, before.version);
    let event = LifecycleEvent {
        at: now,
        kind: LifecycleKind::Reactivated,
        employment_type: None,
    };
    reactivate.push(DirectoryOp::Profile(
        primary
            .profile_authority()
            .lifecycle(people.get("grace")?, event),
    ));
    refused(
        "reactivating a user who is not suspended",
        store.apply(&reactivate).await,
    )?;

    // The primary owns data: it cannot be removed.
    refused(
        "removing the primary while it owns the directory",
        store.remove_integration(primary.id()).await,
    )?;

    // A secondary has no `profile_authority()` at compile time; a forged record is caught at run time.
    let secondary = store
        .integrations()
        .await?
        .into_iter()
        .find(|i| matches!(i, AnyIntegration::Inbound(_)))
        .context("the secondary inbound integration")?;
    let mut record = secondary.into_record();
    record.role = RoleKind::Primary;
    let impostor = AnyIntegration::from_record(record)?
        .into_primary()
        .context("forged")?;
    let mut forged = DirectoryChanges::new(&impostor, Version::ZERO);
    let profile = UserProfile::new(Email::new("mallory@example.com")?);
    forged.push(DirectoryOp::Profile(
        impostor
            .profile_authority()
            .create_user(UserId::random(), profile, now, None),
    ));
    let result = store.apply(&forged).await;
    if !matches!(result, Err(StoreError::NotPrimary { .. })) {
        bail!("a forged primary must be refused as NotPrimary, got {result:?}");
    }
    refused(
        "profile changes from a secondary that forged the primary role",
        result,
    )?;

    let after = store.view(primary.id()).await?;
    println!(
        "  the directory is unchanged: {}",
        if after == before { "yes" } else { "NO" }
    );
    if after != before {
        bail!("a refused change altered the store");
    }
    Ok(())
}

/// Suspends, reactivates and deprovisions users, and prints their history.
async fn lifecycle(
    store: &dyn Store,
    primary: &Integration<Inbound, Primary>,
    people: &People,
    now: DateTime<Utc>,
) -> Result<()> {
    section("5. Lifecycle (only the primary writes it)");
    let steps = [
        ("alan", LifecycleKind::Suspended, 1),
        ("alan", LifecycleKind::Reactivated, 2),
        ("barbara", LifecycleKind::Deprovisioned, 3),
        ("alan", LifecycleKind::Deprovisioned, 4),
    ];
    for (name, kind, day) in steps {
        let mut changes = DirectoryChanges::new(primary, store.version(primary.id()).await?);
        let event = LifecycleEvent {
            at: now + Duration::days(day),
            kind,
            employment_type: None,
        };
        changes.push(DirectoryOp::Profile(
            primary
                .profile_authority()
                .lifecycle(people.get(name)?, event),
        ));
        let applied = store.apply(&changes).await?;
        println!("  {name:<8} {kind:<14} -> {}", applied.version);
    }
    for name in ["alan", "barbara"] {
        let user = store
            .user(people.get(name)?)
            .await?
            .context("the user exists")?;
        let history: Vec<String> = user
            .lifecycle
            .history
            .iter()
            .map(|e| format!("{} {}", e.kind, e.at.format("%Y-%m-%d")))
            .collect();
        println!(
            "  {name}: {} ({}) — {}",
            user.status,
            user.profile
                .employment_type
                .map(|e| e.to_string())
                .unwrap_or_default(),
            history.join(", ")
        );
    }
    Ok(())
}

/// Prints the next scheduled runs and which rules are due.
async fn schedule(
    store: &dyn Store,
    primary: &Integration<Inbound, Primary>,
    now: DateTime<Utc>,
) -> Result<()> {
    section("6. Schedule and rules");
    let primary = store
        .integration(primary.id())
        .await?
        .into_primary()
        .context("the primary")?;
    let schedule = primary.schedule();
    println!("  schedule: {schedule}");
    let mut at = now;
    for _ in 0..3 {
        at = schedule.next_after(at).context("a next run")?;
        println!("    next run {} (UTC)", at.format("%a %Y-%m-%d %H:%M"));
    }
    let due_at = schedule.next_after(now).context("a next run")? + Duration::minutes(1);
    for rule in primary.rules() {
        println!(
            "  rule {:<24} trigger {:<9} kinds {}",
            format!("{:?}", rule.name),
            rule.trigger.to_string(),
            rule.kinds
        );
    }
    let due: Vec<&str> = primary
        .due_rules(due_at)
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    println!(
        "  due at {}: {:?} (a manual rule is never due)",
        due_at.format("%a %H:%M UTC"),
        due
    );
    Ok(())
}

/// Reopens the file and shows that everything persisted.
async fn reopen(path: &std::path::Path) -> Result<()> {
    section("7. Reopening the file");
    let store = SqliteStore::open(path)?;
    let integrations = store.integrations().await?;
    let primary = store.primary().await?.context("the primary persisted")?;
    let view = store.view(primary.id()).await?;
    println!(
        "  {} integrations, primary {:?} at {}, {} users, {} memberships — all persisted",
        integrations.len(),
        primary.title(),
        view.version,
        view.users.len(),
        view.memberships.len()
    );
    println!(
        "\nDone. Next: `cargo test --workspace`, and ARCHITECTURE.md for where each rule is enforced."
    );
    Ok(())
}
