//! One function per command, over the service API, grouped by what they work on.

mod consent;
mod directory;
mod integrations;
mod rules;
mod runs;
mod serve;
mod status;
mod tokens;
mod work;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dirsync_core::{IntegrationId, PlanId, RuleId};
use dirsync_engine::Policy;
use dirsync_postgres::PostgresStore;
use dirsync_service::{
    Error as ServiceError, Registry, SealedSecrets, SecretKey, Service, TerminalProgress as Bars,
};
use dirsync_sqlite::SqliteStore;
use dirsync_store::Store;

use crate::cli::Command;
use crate::config::{Settings, Source, is_postgres, shown_db};
use crate::output::Output;

/// Runs the command line's command.
pub(crate) async fn run(command: Command, settings: &Settings, bars: &Bars) -> Result<Output> {
    if let Command::ConfigShow = command {
        let (json, text) = settings.describe();
        return Ok(Output::new(json, text));
    }
    if let Command::SchedulerWork(args) = &command {
        return work::work(settings, args).await;
    }
    let service = open(settings).await?;
    if let Command::Serve(args) = &command {
        let listen = match args.listen {
            Some(listen) => listen,
            None => settings.listen()?,
        };
        let timeout = args
            .request_timeout
            .or(settings.request_timeout)
            .map_or(dirsync_server::DEFAULT_REQUEST_TIMEOUT, Duration::from_secs);
        return serve::serve(service, args, listen, timeout).await;
    }
    let s = &service;
    match command {
        Command::GoogleCreate(args) => integrations::create(s, args).await,
        Command::GoogleUpdate(args) => integrations::update_google(s, &args).await,
        Command::GoogleAuthorize { id, consent } => {
            consent::authorize(
                s,
                &id,
                &consent,
                settings.format == crate::cli::Format::Json,
            )
            .await
        }
        Command::GoogleActivate { id } | Command::IntegrationActivate { id } => {
            integrations::activate(s, &id, bars).await
        }
        Command::FileCreate(args) => integrations::create_file(s, args).await,
        Command::ScimCreate(args) => tokens::create_scim(s, args).await,
        Command::IntegrationRotateToken { id } => {
            tokens::rotate_scim(s, integration_id(&id)?).await
        }
        Command::IntegrationList(filter) => integrations::list(s, &filter).await,
        Command::IntegrationShow { id } => integrations::show(s, &id).await,
        Command::IntegrationUpdate(args) => integrations::update(s, args).await,
        Command::IntegrationDeactivate { id } => {
            let any = s.deactivate(integration_id(&id)?).await?;
            Ok(integrations::state_change(&any, s, "deactivated"))
        }
        Command::IntegrationPush { id, state } => {
            let any = s.set_push(integration_id(&id)?, state == "on").await?;
            Ok(integrations::state_change(
                &any,
                s,
                &format!("push {state}"),
            ))
        }
        Command::IntegrationReactivate { id } => {
            let any = s.reactivate(integration_id(&id)?).await?;
            Ok(integrations::state_change(&any, s, "reactivated"))
        }
        Command::IntegrationReauthorize(args) if args.oauth => {
            consent::authorize(
                s,
                &args.id,
                &args.consent,
                settings.format == crate::cli::Format::Json,
            )
            .await
        }
        Command::IntegrationReauthorize(args) => integrations::reauthorize(s, args).await,
        Command::IntegrationRemove { id } => integrations::remove(s, &id).await,
        Command::RuleAdd(args) => rules::add(s, args).await,
        Command::RuleList { id } => rules::list(s, &id).await,
        Command::RuleRemove { id, rule } => rules::remove(s, &id, &rule).await,
        Command::RuleRun { id, rule } => {
            let run = s
                .run_rule(integration_id(&id)?, rule_id(&rule)?, bars)
                .await?;
            Ok(runs::run_output(&run))
        }
        Command::Sync { id, dry_run } => runs::sync(s, &id, dry_run, bars).await,
        Command::Runs { id, limit } => runs::list(s, &id, limit).await,
        Command::PlanList(args) => runs::plans(s, args.integration.as_deref()).await,
        Command::PlanShow { plan } => runs::show_plan(s, &plan_id(&plan)?).await,
        Command::PlanApprove { plan } => Ok(runs::run_output(&s.approve(&plan_id(&plan)?).await?)),
        Command::PlanDiscard { plan } => runs::discard(s, &plan_id(&plan)?).await,
        Command::Status => status::status(s).await,
        Command::SchedulerRunDue { now } => {
            status::after_run_due(s, runs::run_due(s, now.as_deref(), bars).await?).await
        }
        Command::ApiTokenCreate { name, read_only } => tokens::create(s, &name, read_only).await,
        Command::ConsoleLogin { public_url } => {
            let public_url = match public_url {
                Some(url) => url,
                None => format!("http://{}", settings.listen()?),
            };
            tokens::console_login(s, &public_url).await
        }
        Command::ApiTokenList => tokens::list(s).await,
        Command::ApiTokenRevoke { name } => tokens::revoke(s, &name).await,
        Command::UsersList(args) => directory::users(s, &args).await,
        Command::GroupsList(args) => directory::groups(s, &args).await,
        Command::OrgUnitsList(args) => directory::org_units(s, &args).await,
        Command::Serve(_)
        | Command::SchedulerWork(_)
        | Command::ConfigShow
        | Command::Completions { .. }
        | Command::Man => {
            bail!("this command needs no directory")
        }
    }
}

/// The service over the directory: a PostgreSQL database (`--db postgres://...`, migrated on
/// connect) or a SQLite file (created, with its folder, if missing).
async fn open(settings: &Settings) -> Result<Service> {
    let store: Arc<dyn Store> = if is_postgres(&settings.db) {
        let store = connect_postgres(settings).await?;
        match &settings.tenant {
            Some(tenant) => Arc::new(
                store
                    .tenant(tenant)
                    .await
                    .with_context(|| format!("opening the directory of tenant {tenant:?}"))?,
            ),
            None => Arc::new(store),
        }
    } else {
        if let Some(tenant) = &settings.tenant {
            bail!(
                "--tenant {tenant:?} needs a PostgreSQL directory (--db postgres://…); a SQLite \
                 file is one directory"
            );
        }
        if settings.db_source != Source::CommandLine
            && let Some(dir) = settings.db.parent()
        {
            std::fs::create_dir_all(dir).with_context(|| {
                format!("creating the folder of the directory {}", dir.display())
            })?;
        }
        Arc::new(
            SqliteStore::open(&settings.db)
                .with_context(|| format!("opening the directory {}", settings.db.display()))?,
        )
    };
    service_over(store, settings)
}

/// The PostgreSQL database `--db` names (its default directory; tenants are reached from it).
async fn connect_postgres(settings: &Settings) -> Result<PostgresStore> {
    let url = settings.db.to_str().unwrap_or_default();
    PostgresStore::connect(url)
        .await
        .with_context(|| format!("opening the directory {}", shown_db(&settings.db)))
}

/// The service over one directory, with the settings' policy, lease and notifier.
fn service_over(store: Arc<dyn Store>, settings: &Settings) -> Result<Service> {
    let policy = Policy::default().with_attributes(settings.attributes.clone());
    let (secrets, key) = secrets_paths(settings)?;
    let key = SecretKey::from_env_or_file(&key)?;
    let sealed: Arc<dyn dirsync_core::SecretStore> = Arc::new(SealedSecrets::new(secrets, key));
    let google = crate::tuning::google().with_secrets(Arc::clone(&sealed));
    let scim = dirsync_scim::ScimKind::new().with_secrets(Arc::clone(&sealed));
    let registry = Registry::builtin().with(google.clone()).with(scim);
    let mut service = Service::new(store, registry)
        .with_consent(google)
        .with_secrets(sealed)
        .with_policy(policy)
        .with_lease(crate::tuning::lease_ttl());
    if let Some(url) = &settings.notify_url {
        service = service.with_notifier(Arc::new(crate::notify::Webhook::new(url)?));
    }
    if let Some(url) = &settings.public_url {
        service = service.with_push(dirsync_service::PushSettings::new(url));
    }
    Ok(service)
}

/// Where consents are kept, sealed, and the key that seals them (unless `DIRSYNC_SECRET_KEY`
/// is set): next to a SQLite file (`FILE.secrets`, `FILE.secret-key`); for PostgreSQL, one pair
/// per tenant in the user's data folder (`dirsync/postgres-TENANT.secrets`).
fn secrets_paths(settings: &Settings) -> Result<(PathBuf, PathBuf)> {
    let base = if is_postgres(&settings.db) {
        let dir = dirs::data_local_dir()
            .context("no data folder to keep consents in (set HOME)")?
            .join("dirsync");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        dir.join(format!(
            "postgres-{}",
            settings.tenant.as_deref().unwrap_or("default")
        ))
    } else {
        settings.db.clone()
    };
    let with = |ext: &str| PathBuf::from(format!("{}.{ext}", base.display()));
    Ok((with("secrets"), with("secret-key")))
}

fn integration_id(s: &str) -> Result<IntegrationId> {
    IntegrationId::parse(s).with_context(|| format!("{s:?} is not an integration id"))
}

fn rule_id(s: &str) -> Result<RuleId> {
    RuleId::parse(s).with_context(|| format!("{s:?} is not a rule id"))
}

fn plan_id(s: &str) -> Result<PlanId> {
    PlanId::parse(s).with_context(|| format!("{s:?} is not a plan id"))
}

/// The integration whose groups and org units to list: the one named, or the primary.
async fn view_integration(s: &Service, id: Option<&str>) -> Result<IntegrationId> {
    match id {
        Some(id) => integration_id(id),
        None => match s.store().primary().await? {
            Some(p) => Ok(p.id()),
            None => bail!("no primary integration yet (create and activate one)"),
        },
    }
}

/// Whether `query` (lower-cased) occurs in any of `texts`, ignoring case.
fn matches(query: &str, texts: &[&str]) -> bool {
    texts.iter().any(|t| t.to_lowercase().contains(query))
}

/// A stable name for the kind of an error, for `--format json` error output.
pub(crate) fn error_kind(e: &anyhow::Error) -> &'static str {
    if let Some(e) = e.downcast_ref::<ServiceError>() {
        return e.kind();
    }
    if e.downcast_ref::<dirsync_core::Error>().is_some() {
        return "invalid";
    }
    "failure"
}
