//! `provision`: outbound provisioning of a whole directory into an empty emulated tenant (issue
//! 17): an inbound primary reads tenant A; an outbound integration writes tenant B, which holds
//! only its admin, under a per-request latency. One rule provisions every user (creating the
//! org units); one provisions every group of A with its members. Then a resync that must write
//! nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use directory_sync::core::*;
use directory_sync::google::{GoogleKind, GoogleSettings, KeyReference, RetryConfig};
use directory_sync::service::{CreateGoogle, NewRule, Registry, Service, Silent};
use directory_sync::sqlite::SqliteStore;
use dirsync_google_emulator::{
    Emulator, EmulatorConfig, MemberType, NewUser, RunningEmulator, Tenant, TenantSpec,
};

/// Runs the benchmark and prints its figures.
pub(crate) async fn provision(
    users: usize,
    groups: usize,
    memberships: usize,
    latency_ms: u64,
) -> Result<()> {
    let spec = TenantSpec {
        users,
        groups,
        memberships,
        nested_group_ratio: 0.0,
        empty_group_ratio: 0.0,
        suspended_ratio: 0.0,
        ..TenantSpec::sized(7, users)
    };
    let a = Emulator::start(EmulatorConfig::new(spec)).await?;
    let source = a.tenant();
    let mut tb = Tenant::empty(source.domain(), "C0bench");
    let mut admin = NewUser::new(&format!("b-admin@{}", source.domain()), "Bench", "Admin");
    admin.is_admin = true;
    tb.add_user(admin)?;
    let b = Emulator::start(EmulatorConfig::with_tenant(tb)).await?;

    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path().join("directory.db"))?;
    let kind = GoogleKind::new().customize(|builder| {
        builder.retry(
            RetryConfig::default()
                .with_max_retries(5)
                .with_delays(Duration::from_millis(50), Duration::from_secs(2)),
        )
    });
    let service = Service::new(Arc::new(store), Registry::new().with(kind));
    let settings = |emu: &RunningEmulator, name: &str| -> Result<GoogleSettings> {
        let key = dir.path().join(name);
        std::fs::write(&key, emu.service_account_key_json())?;
        Ok(GoogleSettings::new(
            Email::new(emu.admin_subject())?,
            KeyReference::File(key),
            KeyOwnership::CustomerOwned,
        )
        .with_api_base(emu.base_url())
        .with_quota_per_minute(0))
    };
    let create =
        |title: &str, direction, s| CreateGoogle::new(title, direction, s, Schedule::Manual);
    let primary = service
        .create_google(create("A", DirectionKind::Inbound, settings(&a, "a.json")?))
        .await?;
    service.activate(primary.integration.id(), &Silent).await?;
    let out = service
        .create_google(create(
            "B",
            DirectionKind::Outbound,
            settings(&b, "b.json")?,
        ))
        .await?
        .integration
        .id();
    service.activate(out, &Silent).await?;
    let everyone = UserProvisioning::new(Selector::Everyone).creating_org_units(true);
    service
        .add_rule(
            out,
            NewRule::provision_users("People", everyone, Trigger::Manual),
        )
        .await?;
    let groups = GroupProvisioning::new(GroupSource::AllOf(primary.integration.id()));
    service
        .add_rule(
            out,
            NewRule::provision_groups("Groups", groups, Trigger::Manual),
        )
        .await?;
    let live = source.live_users().count();
    let org_units = source.org_units().len().saturating_sub(1);
    let member_rows: usize = source
        .groups()
        .iter()
        .flat_map(|g| &g.members)
        .filter(|m| m.member_type == MemberType::User)
        .count();
    println!(
        "tenant A: {live} users, {org_units} org units, {} groups, {member_rows} user memberships; B: its admin",
        source.groups().len()
    );

    b.set_latency(Duration::from_millis(latency_ms));
    b.reset_stats();
    let started = Instant::now();
    let run = service.sync(out, &Silent).await?;
    let wall = started.elapsed();
    if run.outcome != RunOutcome::Succeeded {
        bail!("the provisioning run did not succeed: {:?}", run.outcome);
    }
    let stats = b.stats();
    let floor = live + org_units + source.groups().len() + member_rows;
    println!("provisioning at {latency_ms} ms a request:");
    println!("  wall            {:>8.1} s", wall.as_secs_f64());
    println!(
        "  requests        {:>8}  (writes {}, floor one per object {floor})",
        stats.requests_total,
        stats.write_requests()
    );
    for (route, n) in &stats.requests_by_route {
        println!("    {n:>7}  {route}");
    }
    println!("  max in flight   {:>8}", stats.max_in_flight);
    let accounts = b.tenant().live_users().count() - 1;
    let members: usize = b.tenant().groups().iter().map(|g| g.members.len()).sum();
    println!(
        "  B holds         {accounts} accounts, {} groups, {members} memberships",
        b.tenant().groups().len()
    );

    b.reset_stats();
    let started = Instant::now();
    let again = service.sync(out, &Silent).await?;
    let wall = started.elapsed();
    println!(
        "resync: {:?} in {:.1} s, {} requests, {} writes",
        again.outcome,
        wall.as_secs_f64(),
        b.stats().requests_total,
        b.stats().write_requests()
    );
    if b.stats().write_requests() != 0 {
        bail!("a resync with no change wrote to B");
    }
    drop(dir);
    Ok(())
}
