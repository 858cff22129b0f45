//! The [`Service`]: one entry point over a store and connectors. Its operations are split by
//! concern: integration lifecycle (`lifecycle.rs`), rules and the scheduler (`rules.rs`), and
//! runs, dry runs and approvals (here).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use dirsync_core::{
    AnyIntegration, ConnectRequest, Connection, DirectionKind, FetchProgress, HeldPlan,
    IntegrationId, NoProgress, PlanId, RemoteSettings, RuleId, RunId, SyncRun,
};
use dirsync_engine::{Clock, Plan, Policy, RunContext, ToDirectory, ToRemote};
use dirsync_store::Store;

use crate::Error;
use crate::notify::{Notification, Notifier};
use crate::progress::{PageCounter, Progress, ProgressSink};
use crate::registry::{Registry, synced_kinds};

/// The service API that frontends and command-line tools build on. Cheap to share behind an
/// `Arc`; every method takes `&self`.
pub struct Service {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) registry: Registry,
    pub(crate) policy: Policy,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) holder: String,
    pub(crate) lease: Duration,
    pub(crate) concurrency: usize,
    notifier: Option<Arc<dyn Notifier>>,
    retention: RunRetention,
    /// The Google kind that authorizes by consent ([`Service::with_consent`]).
    #[cfg(feature = "google")]
    pub(crate) consent: Option<dirsync_google::GoogleKind>,
    /// Consents waiting for Google's redirect to a server.
    #[cfg(feature = "google")]
    pub(crate) pending_consents: crate::PendingConsents,
    pub(crate) push_window: dirsync_engine::PushWindow,
    /// Where outbound SCIM tokens are kept ([`Service::with_secrets`]).
    pub(crate) secrets: Option<Arc<dyn dirsync_core::SecretStore>>,
    /// One lock per integration: its pushes are planned and applied one at a time.
    pub(crate) push_locks: crate::scim::PushLocks,
    /// Push channels and notifications ([`Service::with_push`]); `None`: no channels.
    pub(crate) push: Option<crate::push::PushSettings>,
    /// Notified users waiting for a re-read.
    pub(crate) push_queue: crate::push::PushQueue,
    /// The runs under way in this process.
    pub(crate) live: Arc<crate::live::LiveRuns>,
}

/// How many run records are kept per integration: after each run the service deletes those
/// beyond the newest `keep` and those older than `max_age` (never the newest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunRetention {
    /// At most this many runs per integration.
    pub keep: usize,
    /// No run older than this (by its start), except the newest.
    pub max_age: Duration,
}

impl RunRetention {
    /// Keep the newest `keep` runs of at most `max_age`.
    pub fn new(keep: usize, max_age: Duration) -> Self {
        Self { keep, max_age }
    }
}

impl Default for RunRetention {
    /// The newest 200 runs of the last 90 days: months of nightly runs, or a day and a half
    /// of runs every ten minutes.
    fn default() -> Self {
        Self::new(200, Duration::days(90))
    }
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("policy", &self.policy)
            .field("holder", &self.holder)
            .field("lease", &self.lease)
            .field("concurrency", &self.concurrency)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

/// The default time to live of a run's lease, in seconds.
pub const DEFAULT_LEASE_SECONDS: i64 = 60;

fn system_clock() -> DateTime<Utc> {
    Utc::now()
}

impl Service {
    /// A service over `store`, connecting through the connectors of `registry`, with the default
    /// [`Policy`], the system clock, a lease of [`DEFAULT_LEASE_SECONDS`] named after this
    /// process (renewed by its run every third of that, so a run that crashed frees its
    /// integration within a minute), and up to four integrations synced at once by
    /// [`run_due`](Self::run_due).
    pub fn new(store: Arc<dyn Store>, registry: Registry) -> Self {
        Self {
            store,
            registry,
            policy: Policy::default(),
            clock: Arc::new(system_clock),
            holder: format!("directory-sync:{}", std::process::id()),
            lease: Duration::seconds(DEFAULT_LEASE_SECONDS),
            concurrency: 4,
            notifier: None,
            retention: RunRetention::default(),
            #[cfg(feature = "google")]
            consent: None,
            #[cfg(feature = "google")]
            pending_consents: crate::PendingConsents::default(),
            push_window: dirsync_engine::PushWindow::default(),
            secrets: None,
            push_locks: crate::scim::PushLocks::default(),
            push: None,
            push_queue: crate::push::PushQueue::default(),
            live: Arc::default(),
        }
    }

    /// Keeps push channels for push-enabled integrations and handles their notifications
    /// with `settings` (the server's public URL, above all).
    pub fn with_push(mut self, settings: crate::push::PushSettings) -> Self {
        self.push = Some(settings);
        self
    }

    /// The push settings, if the service keeps push channels.
    pub fn push_settings(&self) -> Option<&crate::push::PushSettings> {
        self.push.as_ref()
    }

    /// Uses this sliding window for the users safeguard on pushed changes (default: more
    /// than 50 users taken away by pushes within 10 minutes holds the next).
    pub fn with_push_window(mut self, window: dirsync_engine::PushWindow) -> Self {
        self.push_window = window;
        self
    }

    /// Uses this safety policy (safeguards, grace, admins).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Uses this clock (tests pass a controllable one).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Names this runner in integration leases (e.g. `host:pid`), for operators reading a
    /// "leased by" error.
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// A run's lease time to live: the run renews it every third of this while it works, and a
    /// run that crashed leaves it behind until it expires (tests and single-process tools may
    /// shorten it).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Tells `notifier` about failed runs, held plans and recoveries (see [`Notification`]).
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// How many run records to keep per integration (default [`RunRetention::default`]).
    pub fn with_run_retention(mut self, retention: RunRetention) -> Self {
        self.retention = retention;
        self
    }

    /// How many integrations [`run_due`](Self::run_due) syncs at once (at least one).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The store (for reading the directory: users, accounts, views).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The safety policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Every integration, oldest first.
    ///
    /// # Errors
    /// A store error.
    pub async fn integrations(&self) -> Result<Vec<AnyIntegration>, Error> {
        Ok(self.store.integrations().await?)
    }

    /// One integration.
    ///
    /// # Errors
    /// A store error (`NotFound` for an unknown id).
    pub async fn integration(&self, id: IntegrationId) -> Result<AnyIntegration, Error> {
        Ok(self.store.integration(id).await?)
    }

    pub(crate) fn context<'a>(&'a self, progress: &'a dyn FetchProgress) -> RunContext<'a> {
        RunContext {
            store: self.store.as_ref(),
            policy: &self.policy,
            clock: self.clock.as_ref(),
            holder: self.holder.clone(),
            lease: self.lease,
            progress,
            run_id: None,
            due_at: None,
        }
    }

    /// Syncs the whole directory of an integration now and returns the run's record (see
    /// [`dirsync_engine::sync_inbound`]): applied, unchanged, held by a safeguard (approve it with
    /// [`approve`](Self::approve)), or failed with its reason.
    ///
    /// # Errors
    /// Only when no run could be recorded: unknown or inactive integration, another run holds
    /// its lease, or the store failed.
    pub async fn sync(
        &self,
        id: IntegrationId,
        progress: &dyn ProgressSink,
    ) -> Result<SyncRun, Error> {
        self.run(id, None, progress).await
    }

    /// [`sync`](Self::sync) as the run `run`: its record gets that id. For APIs that answer
    /// "accepted, run `run`" before the run ends and let the caller follow it (a fresh
    /// [`RunId::random`](dirsync_core::RunId::random) for each run).
    ///
    /// # Errors
    /// As [`sync`](Self::sync).
    pub async fn sync_as(
        &self,
        id: IntegrationId,
        run: RunId,
        progress: &dyn ProgressSink,
    ) -> Result<SyncRun, Error> {
        self.run_with(id, None, Some(run), None, progress).await
    }

    pub(crate) async fn run(
        &self,
        id: IntegrationId,
        rule: Option<RuleId>,
        progress: &dyn ProgressSink,
    ) -> Result<SyncRun, Error> {
        self.run_with(id, rule, None, None, progress).await
    }

    /// A scheduled run of `rule`, due at `due_at`: it runs only if the rule is still due once
    /// the run holds the integration's lease (see [`RunContext::due_at`]).
    pub(crate) async fn run_scheduled(
        &self,
        id: IntegrationId,
        rule: RuleId,
        due_at: DateTime<Utc>,
        progress: &dyn ProgressSink,
    ) -> Result<SyncRun, Error> {
        self.run_with(id, Some(rule), None, Some(due_at), progress)
            .await
    }

    /// One run, in a span carrying the integration, the rule and the run's id, so that every
    /// log line of the run (connector, engine, store) names them.
    pub(crate) async fn run_with(
        &self,
        id: IntegrationId,
        rule: Option<RuleId>,
        run_id: Option<RunId>,
        due_at: Option<DateTime<Utc>>,
        progress: &dyn ProgressSink,
    ) -> Result<SyncRun, Error> {
        let run_id = run_id.unwrap_or_else(RunId::random);
        let span = tracing::info_span!(
            "run",
            integration = %id,
            rule = rule.map(|r| r.to_string()),
            run = %run_id
        );
        tracing::Instrument::instrument(self.run_in_span(id, rule, run_id, due_at, progress), span)
            .await
    }

    async fn run_in_span(
        &self,
        id: IntegrationId,
        rule: Option<RuleId>,
        run_id: RunId,
        due_at: Option<DateTime<Utc>>,
        progress: &dyn ProgressSink,
    ) -> Result<SyncRun, Error> {
        let _listed = self.live.enter(run_id, id, rule, self.clock.now());
        let progress = &crate::live::Tracked {
            runs: &self.live,
            run: run_id,
            inner: progress,
        };
        let any = self.store.integration(id).await?;
        let connection = self.connect(&any, any.settings())?;
        let previous_failed = match &self.notifier {
            Some(_) => self
                .store
                .runs(id, 1)
                .await?
                .first()
                .is_some_and(|r| matches!(r.outcome, dirsync_core::RunOutcome::Failed { .. })),
            None => false,
        };
        progress.report(Progress::Started {
            integration: id,
            rule,
        });
        let pages = PageCounter::new(id, progress);
        let ctx = RunContext {
            run_id: Some(run_id),
            due_at,
            ..self.context(&pages)
        };
        let run = match any.direction() {
            DirectionKind::Outbound => {
                dirsync_engine::sync_outbound(
                    &ctx,
                    connection.source.as_ref(),
                    connection.target.as_ref(),
                    id,
                    rule,
                )
                .await?
            }
            _ => dirsync_engine::sync_inbound(&ctx, connection.source.as_ref(), id, rule).await?,
        };
        crate::metrics::record_run(any.direction(), &run);
        progress.report(Progress::Finished {
            run: Box::new(run.clone()),
        });
        let before = run.started_at - self.retention.max_age;
        if let Err(e) = self.store.prune_runs(id, self.retention.keep, before).await {
            tracing::warn!(integration = %id, error = %e, "pruning old run records failed");
        }
        if let Some(notifier) = &self.notifier {
            let integration_failed = matches!(
                self.store.integration(id).await.map(|a| a.state().clone()),
                Ok(dirsync_core::IntegrationState::Failed { .. })
            );
            let title = &any.record().title;
            if let Some(event) =
                Notification::after_run(&run, title, previous_failed, integration_failed)
            {
                notifier.notify(&event).await;
            }
        }
        Ok(run)
    }

    /// A dry run: the plan a sync started now would apply or hold, without writing anything.
    /// Its `Display` is a readable summary; [`explain`](Self::explain) names every operation.
    ///
    /// # Errors
    /// Unknown or inactive integration; a failed fetch; a refused snapshot.
    pub async fn dry_run(
        &self,
        id: IntegrationId,
        progress: &dyn ProgressSink,
    ) -> Result<DryRun, Error> {
        let any = self.store.integration(id).await?;
        let connection = self.connect(&any, any.settings())?;
        let pages = PageCounter::new(id, progress);
        let ctx = self.context(&pages);
        let source = connection.source.as_ref();
        Ok(match any.direction() {
            DirectionKind::Outbound => DryRun::Remote(
                dirsync_engine::dry_run_outbound(
                    &ctx,
                    source,
                    connection.target.as_ref(),
                    id,
                    None,
                )
                .await?,
            ),
            _ => DryRun::Directory(dirsync_engine::dry_run_inbound(&ctx, source, id, None).await?),
        })
    }

    /// Applies a plan a safeguard held, exactly as it was held, and returns the run's record.
    ///
    /// # Errors
    /// No such held plan, a plan that no longer matches the store (sync again), or a store error.
    pub async fn approve(&self, plan: &PlanId) -> Result<SyncRun, Error> {
        let held = self
            .store
            .held_plan(plan)
            .await?
            .ok_or_else(|| dirsync_engine::Error::NoHeldPlan { plan: plan.clone() })?;
        let any = self.store.integration(held.integration).await?;
        let ctx = self.context(&NoProgress);
        let run = match any.direction() {
            DirectionKind::Outbound => {
                let connection = self.connect(&any, any.settings())?;
                dirsync_engine::approve_outbound(&ctx, connection.target.as_ref(), plan).await?
            }
            _ => dirsync_engine::approve(&ctx, plan).await?,
        };
        crate::metrics::record_run(any.direction(), &run);
        Ok(run)
    }

    /// The plans of an integration waiting for approval.
    ///
    /// # Errors
    /// A store error.
    pub async fn held_plans(&self, id: IntegrationId) -> Result<Vec<HeldPlan>, Error> {
        Ok(self.store.held_plans(id).await?)
    }

    /// Every integration's plans waiting for approval, integrations oldest first.
    ///
    /// # Errors
    /// A store error.
    pub async fn all_held_plans(&self) -> Result<Vec<HeldPlan>, Error> {
        let mut all = Vec::new();
        for any in self.store.integrations().await? {
            all.extend(self.store.held_plans(any.id()).await?);
        }
        Ok(all)
    }

    /// The integration's most recent runs, newest first, at most `limit`.
    ///
    /// # Errors
    /// A store error.
    pub async fn runs(&self, id: IntegrationId, limit: usize) -> Result<Vec<SyncRun>, Error> {
        Ok(self.store.runs(id, limit).await?)
    }

    /// A connection for `any` with `settings` (its own, or new ones being verified).
    pub(crate) fn connect(
        &self,
        any: &AnyIntegration,
        settings: &RemoteSettings,
    ) -> Result<Connection, Error> {
        let kind = self.registry.get(settings.system())?;
        let kinds = synced_kinds(
            kind.as_ref(),
            any.direction(),
            settings,
            &any.record().rules,
        )?;
        Ok(kind.connect(&ConnectRequest::new(
            any.id(),
            any.direction(),
            settings,
            &kinds,
        ))?)
    }

    /// The connectors this service connects with.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// A dry run's plan: into the directory (inbound) or out to the remote (outbound).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DryRun {
    /// An inbound integration's plan.
    Directory(Plan<ToDirectory>),
    /// An outbound integration's plan.
    Remote(Plan<ToRemote>),
}

macro_rules! both {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            DryRun::Directory($p) => $e,
            DryRun::Remote($p) => $e,
        }
    };
}

impl DryRun {
    /// The plan's id (what an approval would name, were it held).
    pub fn id(&self) -> &PlanId {
        both!(self, p => p.id())
    }

    /// The integration it is for.
    pub fn integration(&self) -> IntegrationId {
        both!(self, p => p.integration())
    }

    /// The version it was planned against.
    pub fn based_on(&self) -> dirsync_core::Version {
        both!(self, p => p.based_on())
    }

    /// Whether a safeguard would hold it.
    pub fn is_held(&self) -> bool {
        both!(self, p => p.is_held())
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        both!(self, p => p.is_empty())
    }

    /// Whether its content still hashes to its id (see [`Plan::verify`]).
    pub fn verify(&self) -> bool {
        both!(self, p => p.verify())
    }

    /// The safeguards it trips.
    pub fn trips(&self) -> &[dirsync_engine::Trip] {
        both!(self, p => p.trips())
    }

    /// Operations per kind, by name.
    pub fn count_names(&self) -> std::collections::BTreeMap<String, u64> {
        both!(self, p => p.count_names())
    }
}

impl std::fmt::Display for DryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        both!(self, p => p.fmt(f))
    }
}
