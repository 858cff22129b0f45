//! Runs under way in this process, for frontends to show while they run
//! ([`Service::live_runs`]): every run the service makes (a rule run by hand, a scheduled run,
//! a sync through the API) is listed from its start until its record is written, with what
//! its fetch has read so far. [`Service::start_rule`] starts a rule's run in the background
//! and answers its id at once; a run that could not be recorded (another run holds the
//! integration) leaves its refusal for [`Service::run_refusal`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use dirsync_core::{IntegrationId, IntegrationState, ObjectKind, RuleId, RunId};
use serde::Serialize;

use crate::progress::{Progress, ProgressSink, Silent};
use crate::{Error, Service};

/// How many refusals of background runs are remembered.
const REFUSALS_KEPT: usize = 64;

/// A run under way in this process, as its progress tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct LiveRun {
    /// The run (its record gets this id).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub run: RunId,
    /// The integration.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub integration: IntegrationId,
    /// The rule, if the run is for one.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rule: Option<RuleId>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Objects read so far, per kind.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fetched: BTreeMap<ObjectKind, u64>,
    /// The kind of the newest page read; `None` before the first page.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub reading: Option<ObjectKind>,
}

impl LiveRun {
    /// What it is doing, in words: "starting" before its first page, then "reading users"
    /// (the kind of its newest page). Planning and applying follow the last page; the run's
    /// record says what they did.
    pub fn phase(&self) -> String {
        match self.reading {
            None => "starting".to_owned(),
            Some(kind) => format!("reading {}", kind.as_str().replace('_', " ")),
        }
    }
}

/// The live runs of one service, and the refusals of the runs it started in the background.
#[derive(Debug, Default)]
pub(crate) struct LiveRuns {
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    running: HashMap<RunId, LiveRun>,
    refused: VecDeque<(RunId, String)>,
}

impl LiveRuns {
    fn table(&self) -> MutexGuard<'_, Table> {
        // Each update is one assignment: a table left by a panic is still consistent.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lists `run` as running (unless it is already listed) until the guard is dropped.
    pub(crate) fn enter(
        self: &Arc<Self>,
        run: RunId,
        integration: IntegrationId,
        rule: Option<RuleId>,
        now: DateTime<Utc>,
    ) -> LiveGuard {
        self.table().running.entry(run).or_insert_with(|| LiveRun {
            run,
            integration,
            rule,
            started_at: now,
            fetched: BTreeMap::new(),
            reading: None,
        });
        LiveGuard {
            runs: Arc::clone(self),
            run,
        }
    }

    fn page(&self, run: RunId, kind: ObjectKind, items: u64) {
        if let Some(live) = self.table().running.get_mut(&run) {
            live.fetched.insert(kind, items);
            live.reading = Some(kind);
        }
    }

    fn refuse(&self, run: RunId, why: String) {
        let mut table = self.table();
        if table.refused.len() >= REFUSALS_KEPT {
            table.refused.pop_front();
        }
        table.refused.push_back((run, why));
    }
}

/// Keeps a run listed while it lives.
pub(crate) struct LiveGuard {
    runs: Arc<LiveRuns>,
    run: RunId,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.runs.table().running.remove(&self.run);
    }
}

/// Passes a run's progress on, noting its pages in the live table.
pub(crate) struct Tracked<'a> {
    pub(crate) runs: &'a LiveRuns,
    pub(crate) run: RunId,
    pub(crate) inner: &'a dyn ProgressSink,
}

impl ProgressSink for Tracked<'_> {
    fn report(&self, event: Progress) {
        if let Progress::Fetched { kind, items, .. } = &event {
            self.runs.page(self.run, *kind, *items);
        }
        self.inner.report(event);
    }
}

impl Service {
    /// The runs under way in this process (of `integration`, or of every integration), oldest
    /// first. Runs of other processes sharing the store are not listed.
    pub fn live_runs(&self, integration: Option<IntegrationId>) -> Vec<LiveRun> {
        let mut runs: Vec<LiveRun> = self
            .live
            .table()
            .running
            .values()
            .filter(|r| integration.is_none_or(|i| r.integration == i))
            .cloned()
            .collect();
        runs.sort_by_key(|r| (r.started_at, r.run));
        runs
    }

    /// Starts a run of one rule in the background (on the tokio runtime) and answers its id at
    /// once: it is in [`live_runs`](Self::live_runs) from now until its record is written
    /// ([`runs`](Self::runs) then has it), or, when no record could be made (another run held
    /// the integration), its refusal is [`run_refusal`](Self::run_refusal).
    ///
    /// # Errors
    /// [`Error::UnknownRule`]; [`Error::WrongState`] unless the integration is active; a store
    /// error.
    pub async fn start_rule(
        self: &Arc<Self>,
        id: IntegrationId,
        rule: RuleId,
    ) -> Result<RunId, Error> {
        let any = self.store.integration(id).await?;
        if any.record().rules.iter().all(|r| r.id != rule) {
            return Err(Error::UnknownRule {
                integration: id,
                rule,
            });
        }
        if *any.state() != IntegrationState::Active {
            return Err(Error::WrongState {
                integration: id,
                state: any.state().name().to_owned(),
                action: "running a rule",
                needs: "active",
            });
        }
        let run = RunId::random();
        let guard = self.live.enter(run, id, Some(rule), self.clock.now());
        let service = Arc::clone(self);
        tokio::spawn(async move {
            let result = service
                .run_with(id, Some(rule), Some(run), None, &Silent)
                .await;
            if let Err(e) = result {
                tracing::warn!(integration = %id, %rule, %run, error = %e, "run started in the background was refused");
                service.live.refuse(run, e.to_string());
            }
            // Listed until its record or refusal is there: a reader never finds neither.
            drop(guard);
        });
        Ok(run)
    }

    /// Why a run [`start_rule`](Self::start_rule) started could not be recorded, if it could
    /// not (the newest refusals are remembered).
    pub fn run_refusal(&self, run: RunId) -> Option<String> {
        self.live
            .table()
            .refused
            .iter()
            .rev()
            .find(|(r, _)| *r == run)
            .map(|(_, why)| why.clone())
    }
}
