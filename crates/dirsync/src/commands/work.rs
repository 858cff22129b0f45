//! `dirsync scheduler:work`: a worker that runs scheduled rules as they fall due, until SIGTERM
//! or SIGINT — for one directory, or for every tenant of a PostgreSQL database.
//!
//! Several workers on one database share the work without talking to each other: a run takes
//! its integration's lease first, so a rule another worker is running is skipped (`Leased`),
//! one it has just run is no longer due (`NotDue`), and a rule whose worker died runs on the
//! next worker to look once the dead run's lease expires.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use chrono::Utc;
use dirsync_postgres::PostgresStore;
use dirsync_service::{Service, Silent};
use futures::StreamExt;
use serde_json::json;
use tokio::sync::watch;

use super::serve::shutdown_signal;
use super::{connect_postgres, open, service_over};
use crate::args::WorkArgs;
use crate::config::{Settings, is_postgres};
use crate::output::Output;

/// Tenants opened at once when a worker finds new ones.
const OPEN_AT_ONCE: usize = 8;

/// What a worker did before it stopped.
#[derive(Debug, Default)]
struct Totals {
    /// Rounds over the directories (ticks).
    rounds: u64,
    /// Rules this worker ran (whatever their outcome: succeeded, no change, held, failed).
    ran: u64,
    /// Rules that could not run (not counting those another worker held or had run).
    errors: u64,
}

/// The directories a worker runs: one, or every tenant of a database (refreshed every tick).
enum Directories {
    One(Box<Service>),
    Tenants {
        base: PostgresStore,
        services: BTreeMap<String, Service>,
    },
}

impl Directories {
    /// Adds the tenants created since the last look (a tenant is never dropped: its schema
    /// stays until an operator removes it, and a failing listing must not stop the others).
    async fn refresh(&mut self, settings: &Settings) {
        let Self::Tenants { base, services } = self else {
            return;
        };
        let names = match base.tenants().await {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!(error = %e, "could not list the tenants");
                return;
            }
        };
        let new: Vec<String> = names
            .into_iter()
            .filter(|name| !services.contains_key(name))
            .collect();
        // Opened a few at a time: each checks its tenant's schema (a round trip or more).
        let base = &*base;
        let opened: Vec<(String, Result<Service>)> = futures::stream::iter(new)
            .map(|name| async move {
                let service = match base.tenant(&name).await {
                    Ok(store) => service_over(Arc::new(store), settings),
                    Err(e) => Err(e.into()),
                };
                (name, service)
            })
            .buffer_unordered(OPEN_AT_ONCE)
            .collect()
            .await;
        for (name, service) in opened {
            match service {
                Ok(service) => {
                    tracing::info!(tenant = %name, "serving a new tenant");
                    services.insert(name, service);
                }
                Err(e) => tracing::warn!(tenant = %name, error = %e, "could not open the tenant"),
            }
        }
    }

    fn services(&self) -> Vec<(Option<&str>, &Service)> {
        match self {
            Self::One(service) => vec![(None, service.as_ref())],
            Self::Tenants { services, .. } => services
                .iter()
                .map(|(name, s)| (Some(name.as_str()), s))
                .collect(),
        }
    }

    fn count(&self) -> usize {
        match self {
            Self::One(_) => 1,
            Self::Tenants { services, .. } => services.len(),
        }
    }
}

pub(super) async fn work(settings: &Settings, args: &WorkArgs) -> Result<Output> {
    let mut directories = if args.all_tenants {
        if !is_postgres(&settings.db) {
            bail!("--all-tenants needs a PostgreSQL directory (--db postgres://…)");
        }
        if let Some(tenant) = &settings.tenant {
            bail!("--all-tenants runs every tenant; drop --tenant {tenant:?} (or DIRSYNC_TENANT)");
        }
        Directories::Tenants {
            base: connect_postgres(settings).await?,
            services: BTreeMap::new(),
        }
    } else {
        Directories::One(Box::new(open(settings).await?))
    };

    let (stop, mut stopped) = watch::channel(false);
    let signal = tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stopping: no new runs");
        let _ = stop.send(true);
    });
    let tick = Duration::from_secs(args.tick_seconds.max(1));
    let deadline = Duration::from_secs(args.shutdown_timeout_seconds);
    eprintln!(
        "dirsync: working ({}), looking for due rules every {}s",
        if args.all_tenants {
            "every tenant"
        } else {
            "one directory"
        },
        tick.as_secs()
    );

    let mut totals = Totals::default();
    let finished = {
        let rounds = rounds(
            settings,
            &mut directories,
            tick,
            stopped.clone(),
            &mut totals,
        );
        tokio::select! {
            () = rounds => true,
            () = async {
                let _ = stopped.wait_for(|stop| *stop).await;
                tokio::time::sleep(deadline).await;
            } => {
                tracing::warn!(?deadline, "the run under way did not finish in time; it was stopped");
                false
            }
        }
    };
    signal.abort();
    let tenants = directories.count();
    Ok(Output::new(
        json!({
            "stopped": true,
            "runs_finished": finished,
            "directories": tenants,
            "rounds": totals.rounds,
            "ran": totals.ran,
            "errors": totals.errors,
        }),
        format!(
            "stopped after {} rounds over {tenants} directories: ran {} rules, {} could not run",
            totals.rounds, totals.ran, totals.errors
        ),
    ))
}

/// Every `tick`, one round over the directories, until `stopped` (between runs: a run under
/// way finishes first).
async fn rounds(
    settings: &Settings,
    directories: &mut Directories,
    tick: Duration,
    mut stopped: watch::Receiver<bool>,
    totals: &mut Totals,
) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = interval.tick() => {}
        }
        totals.rounds += 1;
        directories.refresh(settings).await;
        for (tenant, service) in directories.services() {
            if *stopped.borrow() {
                return;
            }
            let tenant = tenant.unwrap_or("");
            if service.push_settings().is_some()
                && let Err(e) = service.keep_push_channels().await
            {
                tracing::warn!(tenant, error = %e, "could not keep the push channels");
            }
            let runs = match service.run_due(Utc::now(), &Silent).await {
                Ok(runs) => runs,
                Err(e) => {
                    tracing::warn!(tenant, error = %e, "could not list the due rules");
                    totals.errors += 1;
                    continue;
                }
            };
            for due in runs {
                // Another worker is running it, or ran it since the listing.
                if due.is_another_schedulers() {
                    continue;
                }
                match due.result {
                    Ok(run) => {
                        totals.ran += 1;
                        tracing::info!(
                            tenant,
                            integration = %due.integration,
                            rule = %due.rule,
                            outcome = ?run.outcome,
                            "scheduled rule ran"
                        );
                    }
                    // Logged by the service.
                    Err(_) => totals.errors += 1,
                }
            }
        }
    }
}
