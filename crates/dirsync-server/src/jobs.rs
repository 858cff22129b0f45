//! Runs as jobs: `POST /integrations/{id}/sync` answers 202 with the run's id at once; the
//! run goes on in a task, its progress fans out to `GET /runs/{id}/events` (server-sent
//! events), `GET /runs/{id}` says `running` until its record exists, and `DELETE /runs/{id}`
//! cancels it (its future is dropped: the store's writes are transactions and the run's lease
//! is released, so nothing is half-written and the integration is free at once).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use dirsync_core::{IntegrationId, IntegrationState, RunId};
use dirsync_service::views::RunView;
use dirsync_service::{Progress, ProgressSink};
use futures::Stream;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

use crate::integrations::id;
use crate::openapi::Refusals;
use crate::{AppState, Error};

/// Finished jobs kept for `GET /runs/{id}` and late event subscribers (older ones are found in
/// the store's run records).
const KEEP_FINISHED: usize = 256;

/// How many of each integration's newest run records are searched for a run no job tracks.
const RECORDS_SEARCHED: usize = 1_000;

/// Progress events buffered per subscriber; a slow one skips to the newest (the figures are
/// running totals, so nothing is lost but intermediate counts).
const EVENT_BUFFER: usize = 64;

/// What a job is doing.
#[derive(Debug, Clone)]
enum JobState {
    Running,
    Finished(Box<RunView>),
    /// The run could not be recorded (e.g. another run held the lease): the error's kind and
    /// message.
    Refused {
        kind: &'static str,
        message: String,
    },
    Cancelled,
}

struct Job {
    integration: IntegrationId,
    started_at: DateTime<Utc>,
    state: JobState,
    events: broadcast::Sender<Value>,
    abort: Option<AbortHandle>,
    /// When it finished, for pruning (the order of finishing).
    finished_seq: Option<u64>,
}

/// The jobs of this process.
#[derive(Default, Clone)]
pub(crate) struct Jobs {
    inner: Arc<Mutex<JobTable>>,
}

#[derive(Default)]
struct JobTable {
    jobs: HashMap<RunId, Job>,
    next_seq: u64,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs").finish_non_exhaustive()
    }
}

impl Jobs {
    fn table(&self) -> std::sync::MutexGuard<'_, JobTable> {
        // A job table left by a panicking handler is still consistent (each update is one
        // assignment), so it is used as it is.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn finish(&self, run: RunId, state: JobState) {
        let mut table = self.table();
        let seq = table.next_seq;
        table.next_seq += 1;
        if let Some(job) = table.jobs.get_mut(&run) {
            // A cancelled job stays cancelled: its task may finish its last step anyway.
            if !matches!(job.state, JobState::Cancelled) {
                job.state = state;
            }
            job.finished_seq = Some(seq);
            job.abort = None;
            let _ = job.events.send(event_of(&job.state));
        }
        let mut finished: Vec<(u64, RunId)> = table
            .jobs
            .iter()
            .filter_map(|(id, j)| j.finished_seq.map(|s| (s, *id)))
            .collect();
        if finished.len() > KEEP_FINISHED {
            finished.sort_unstable();
            for (_, id) in &finished[..finished.len() - KEEP_FINISHED] {
                table.jobs.remove(id);
            }
        }
    }
}

/// Sends each progress event of one run to its subscribers as JSON.
struct Broadcast(broadcast::Sender<Value>);

impl ProgressSink for Broadcast {
    fn report(&self, event: Progress) {
        let json = match event {
            Progress::Started { integration, rule } => json!({
                "event": "started",
                "integration": integration.to_string(),
                "rule": rule.map(|r| r.to_string()),
            }),
            Progress::Fetched {
                kind, pages, items, ..
            } => json!({"event": "fetched", "kind": kind.as_str(), "pages": pages, "items": items}),
            // The job's own end event follows, with the run's record.
            Progress::Finished { .. } => return,
            _ => json!({"event": "progress"}),
        };
        // No subscriber is no error: progress is there for whoever listens.
        let _ = self.0.send(json);
    }
}

fn event_of(state: &JobState) -> Value {
    match state {
        JobState::Running => json!({"event": "running"}),
        JobState::Finished(run) => json!({"event": "finished", "run": run}),
        JobState::Refused { kind, message } => {
            json!({"event": "refused", "error": {"kind": kind, "message": message}})
        }
        JobState::Cancelled => json!({"event": "cancelled"}),
    }
}

/// `POST /integrations/{id}/sync`: the run started.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Accepted {
    /// The run's id (`GET /runs/{run_id}`).
    run_id: String,
    /// The integration.
    integration: String,
}

/// `GET /runs/{id}` while the run is not recorded yet (or was refused or cancelled).
#[derive(Debug, Serialize)]
struct JobView {
    run_id: String,
    integration: String,
    outcome: &'static str,
    started_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Value>,
}

fn run_id(text: &str) -> Result<RunId, Error> {
    RunId::parse(text).map_err(|_| Error::BadRequest(format!("{text:?} is not a run id")))
}

/// Starts a sync of `integration` as a job and answers 202 with its run id. An unknown or
/// inactive integration is refused at once; a run refused later (another run holds the
/// integration) ends the job as `refused` with the kind `busy`.
pub(crate) async fn start_sync(
    state: &AppState,
    integration: &str,
) -> Result<(StatusCode, Json<Value>), Error> {
    let integration = id(integration)?;
    let any = state.service.integration(integration).await?;
    if *any.state() != IntegrationState::Active {
        return Err(Error::Service(dirsync_service::Error::WrongState {
            integration,
            state: any.state().name().to_owned(),
            action: "syncing",
            needs: "active",
        }));
    }
    let run = RunId::random();
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let jobs = state.jobs.clone();
    jobs.table().jobs.insert(
        run,
        Job {
            integration,
            started_at: Utc::now(),
            state: JobState::Running,
            events: events.clone(),
            abort: None,
            finished_seq: None,
        },
    );
    let service = Arc::clone(&state.service);
    let task = tokio::spawn({
        let jobs = jobs.clone();
        async move {
            let sink = Broadcast(events);
            let state = match service.sync_as(integration, run, &sink).await {
                Ok(record) => JobState::Finished(Box::new(RunView::from(&record))),
                Err(e) => JobState::Refused {
                    kind: e.kind(),
                    message: e.to_string(),
                },
            };
            jobs.finish(run, state);
        }
    });
    if let Some(job) = jobs.table().jobs.get_mut(&run)
        && job.finished_seq.is_none()
    {
        job.abort = Some(task.abort_handle());
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(
            serde_json::to_value(Accepted {
                run_id: run.to_string(),
                integration: integration.to_string(),
            })
            .unwrap_or(Value::Null),
        ),
    ))
}

/// `GET /runs/{id}`: `running` (or `refused`, `cancelled`) from the job, else the run's record.
#[utoipa::path(
    get,
    path = "/runs/{id}",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    responses((status = 200, description = "`running`, `refused` or `cancelled` with `run_id`, `integration`, `started_at` (and `error`), or the run's record once it exists", body = Object), Refusals)
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(run): Path<String>,
) -> Result<Json<Value>, Error> {
    let run = run_id(&run)?;
    let job = state
        .jobs
        .table()
        .jobs
        .get(&run)
        .map(|j| (j.integration, j.started_at, j.state.clone()));
    let view = |integration: IntegrationId, started_at, outcome, error| JobView {
        run_id: run.to_string(),
        integration: integration.to_string(),
        outcome,
        started_at,
        error,
    };
    let json = match job {
        Some((_, _, JobState::Finished(record))) => serde_json::to_value(record),
        Some((integration, started, JobState::Running)) => {
            serde_json::to_value(view(integration, started, "running", None))
        }
        Some((integration, started, JobState::Cancelled)) => {
            serde_json::to_value(view(integration, started, "cancelled", None))
        }
        Some((integration, started, JobState::Refused { kind, message })) => {
            let error = json!({"kind": kind, "message": message});
            serde_json::to_value(view(integration, started, "refused", Some(error)))
        }
        None => serde_json::to_value(recorded(&state, run).await?),
    };
    Ok(Json(json.unwrap_or(Value::Null)))
}

/// A run this process no longer tracks, from the store's records.
async fn recorded(state: &AppState, run: RunId) -> Result<RunView, Error> {
    for any in state.service.integrations().await? {
        if let Some(record) = state
            .service
            .runs(any.id(), RECORDS_SEARCHED)
            .await?
            .iter()
            .find(|r| r.id == run)
        {
            return Ok(RunView::from(record));
        }
    }
    Err(Error::Service(dirsync_service::Error::Store(
        dirsync_store::Error::NotFound {
            kind: "run",
            id: run.to_string(),
        },
    )))
}

/// `GET /runs/{id}/events`: the run's progress as server-sent events (`started`, `fetched`
/// with running totals, then one of `finished` with the run's record, `refused` or
/// `cancelled`), ending with the run. A run already over sends its end at once.
#[utoipa::path(
    get,
    path = "/runs/{id}/events",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    responses((status = 200, description = "Server-sent events: `started`, `fetched`, then `finished`, `refused` or `cancelled`", body = String, content_type = "text/event-stream"), Refusals)
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    Path(run): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    let run = run_id(&run)?;
    let (receiver, over) = {
        let table = state.jobs.table();
        let Some(job) = table.jobs.get(&run) else {
            return Err(Error::Service(dirsync_service::Error::Store(
                dirsync_store::Error::NotFound {
                    kind: "running job",
                    id: run.to_string(),
                },
            )));
        };
        let over = (!matches!(job.state, JobState::Running)).then(|| event_of(&job.state));
        (job.events.subscribe(), over)
    };
    let stream = futures::stream::unfold(
        (receiver, over, false),
        |(mut receiver, over, done)| async move {
            if done {
                return None;
            }
            if let Some(last) = over {
                return Some((
                    Ok(Event::default().data(last.to_string())),
                    (receiver, None, true),
                ));
            }
            loop {
                match receiver.recv().await {
                    Ok(event) => {
                        let end = event["event"] != "started" && event["event"] != "fetched";
                        let sse = Event::default().data(event.to_string());
                        return Some((Ok(sse), (receiver, None, end)));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// `DELETE /runs/{id}`: cancels a running job.
#[utoipa::path(
    delete,
    path = "/runs/{id}",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    responses((status = 200, description = "`{run_id, cancelled}`", body = Object), Refusals)
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path(run): Path<String>,
) -> Result<Json<Value>, Error> {
    let run = run_id(&run)?;
    let abort = {
        let mut table = state.jobs.table();
        match table.jobs.get_mut(&run) {
            Some(job) if matches!(job.state, JobState::Running) => {
                job.state = JobState::Cancelled;
                job.abort.take()
            }
            Some(_) => {
                return Err(Error::Conflict(format!(
                    "run {run} is over; there is nothing to cancel"
                )));
            }
            None => {
                return Err(Error::Service(dirsync_service::Error::Store(
                    dirsync_store::Error::NotFound {
                        kind: "running job",
                        id: run.to_string(),
                    },
                )));
            }
        }
    };
    if let Some(abort) = abort {
        abort.abort();
    }
    state.jobs.finish(run, JobState::Cancelled);
    tracing::info!(%run, "run cancelled");
    Ok(Json(json!({"run_id": run.to_string(), "cancelled": true})))
}
