//! Many workers on one database (issue 14, point 4): three schedulers share the due rules of
//! 30 tenants on one PostgreSQL database; one dies in the middle of a run, holding a lease.
//! Every due rule runs exactly once — none twice, none lost: the dead worker's rule is run by
//! another once its lease expires.
//!
//! The dying worker is a task, not a process: its store (a `FaultyStore`) lets it take one
//! lease per tenant and then refuses everything a dead process could no longer do — record
//! the rule's run, record the run, renew or release the lease — and the worker stops at its
//! first such failure, leaving the lease to expire on its own.
#![cfg(feature = "file")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{Duration, Utc};
use dirsync_core::{DirectionKind, Interval, RemoteSettings, Schedule};
use dirsync_file::FileSettings;
use dirsync_postgres::PostgresStore;
use dirsync_postgres::testing as cluster;
use dirsync_service::{CreateIntegration, Error, Registry, Service, Silent};
use dirsync_store::{FaultPoint, FaultyStore, Operation, Store};

const TENANTS: usize = 30;

/// A lease's time to live: a dead worker's rule runs again after at most this long.
const LEASE_SECONDS: i64 = 2;

/// An export of two users, shared by every tenant.
fn export(dir: &std::path::Path) {
    std::fs::write(
        dir.join("users.csv"),
        "id,email,given_name,family_name\n1,ada@example.com,Ada,Lovelace\n\
         2,bob@example.com,Bob,Builder\n",
    )
    .unwrap();
    std::fs::write(dir.join("groups.csv"), "id,email,name\n").unwrap();
    std::fs::write(dir.join("memberships.csv"), "group,member,role\n").unwrap();
    std::fs::write(dir.join("org_units.csv"), "path,name\n").unwrap();
}

/// A tenant with an active file integration whose hourly rule (the one it is created with)
/// was created three hours ago: due now, once.
async fn tenant(base: &PostgresStore, name: &str, folder: &std::path::Path) {
    let store = Arc::new(base.tenant(name).await.unwrap());
    let past = Utc::now() - Duration::hours(3);
    let service = Service::new(store, Registry::builtin()).with_clock(Arc::new(move || past));
    let settings = RemoteSettings::from_typed(&FileSettings::new(folder).unwrap()).unwrap();
    let created = service
        .create(CreateIntegration::new(
            "HR export",
            DirectionKind::Inbound,
            settings,
            Schedule::every(Interval::from_minutes(60).unwrap()),
        ))
        .await
        .unwrap();
    let id = created.integration.id();
    // Created with one scheduled rule, "Whole directory".
    assert_eq!(created.integration.record().rules.len(), 1);
    service.activate(id, &Silent).await.unwrap();
}

/// A worker: its own pool on the database (as a separate process would have), a service per
/// tenant, `run_due` over every tenant (starting at `first`) until `stop`. Returns how many
/// rules it ran, and, for a dying worker, the tenant whose run it died in.
async fn worker(
    url: String,
    names: Vec<String>,
    first: usize,
    dying: bool,
    stop: Arc<AtomicBool>,
) -> (usize, Option<String>) {
    let base = PostgresStore::connect(&url).await.unwrap();
    let mut services = Vec::new();
    for k in 0..names.len() {
        let name = names[(first + k) % names.len()].clone();
        let tenant = base.tenant(&name).await.unwrap();
        let store: Arc<dyn Store> = if dying {
            let faulty = FaultyStore::new(tenant);
            faulty.fail(Operation::Lease, FaultPoint::Before, 1, None);
            faulty.fail(Operation::SaveIntegration, FaultPoint::Before, 0, None);
            faulty.fail(Operation::RecordRun, FaultPoint::Before, 0, None);
            Arc::new(faulty)
        } else {
            Arc::new(tenant)
        };
        let service = Service::new(store, Registry::builtin())
            .with_holder(format!("worker-{first}"))
            .with_lease(Duration::seconds(LEASE_SECONDS));
        services.push((name, service));
    }
    let mut ran = 0;
    while !stop.load(Ordering::SeqCst) {
        for (name, service) in &services {
            for due in service.run_due(Utc::now(), &Silent).await.unwrap() {
                match due.result {
                    Ok(_) => ran += 1,
                    // Another worker runs it, or ran it.
                    Err(Error::Store(dirsync_store::Error::Leased { .. }))
                    | Err(Error::Engine(dirsync_engine::Error::NotDue { .. })) => {}
                    Err(e) if dying => {
                        eprintln!("worker {first} dies in tenant {name}'s run: {e}");
                        return (ran, Some(name.clone()));
                    }
                    Err(e) => panic!("worker {first}, tenant {name}: {e}"),
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (ran, None)
}

/// The scheduled runs recorded in each tenant.
async fn scheduled_runs(base: &PostgresStore, names: &[String]) -> Vec<usize> {
    let mut counts = Vec::new();
    for name in names {
        let store = base.tenant(name).await.unwrap();
        let id = store.integrations().await.unwrap()[0].id();
        let runs = store.runs(id, 100).await.unwrap();
        counts.push(runs.iter().filter(|r| r.rule.is_some()).count());
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_run_every_due_rule_of_30_tenants_exactly_once() {
    let Some(url) = cluster::fresh_url().await else {
        return;
    };
    let folder = tempfile::tempdir().unwrap();
    export(folder.path());
    let base = PostgresStore::connect(&url).await.unwrap();
    let names: Vec<String> = (0..TENANTS).map(|_| cluster::fresh_tenant_name()).collect();
    for name in &names {
        tenant(&base, name, folder.path()).await;
    }
    assert_eq!(scheduled_runs(&base, &names).await, vec![0; TENANTS]);

    let stop = Arc::new(AtomicBool::new(false));
    let spawn = |first: usize, dying: bool| {
        tokio::spawn(worker(
            url.clone(),
            names.clone(),
            first,
            dying,
            stop.clone(),
        ))
    };
    // The dying worker starts with the last tenant; the others go forward from 0 and 10.
    let dying = spawn(TENANTS - 1, true);
    let workers = [spawn(0, false), spawn(10, false)];
    let (dead_ran, died_in) = dying.await.unwrap();
    let died_in = died_in.expect("the dying worker died in a run");

    // Wait until every tenant has its run (bounded: a lost rule fails the test).
    let mut counts = scheduled_runs(&base, &names).await;
    for _ in 0..600 {
        if counts.iter().all(|&c| c >= 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        counts = scheduled_runs(&base, &names).await;
    }
    // One more pass of the workers over every tenant: nothing may run a second time.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut ran = dead_ran;
    for w in workers {
        ran += w.await.unwrap().0;
    }
    let counts = scheduled_runs(&base, &names).await;
    assert_eq!(counts, vec![1; TENANTS], "every due rule ran exactly once");
    assert_eq!(
        ran, TENANTS,
        "the workers ran {ran} rules for {TENANTS} due"
    );
    let dead = names.iter().position(|n| *n == died_in).unwrap();
    assert_eq!(
        counts[dead], 1,
        "the dead worker's rule ran, once, after its lease"
    );
}
