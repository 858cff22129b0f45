//! The notification hook: the service tells a [`Notifier`] when a run failed, when a
//! safeguard held a plan, and when an integration recovered (a run that did not fail after
//! one that did). Operators wire it to chat or paging; the command line posts each event as
//! JSON to `--notify-url`.

use async_trait::async_trait;
use dirsync_core::{IntegrationId, PlanId, RunId, RunOutcome, SyncRun};
use serde::Serialize;

/// Something an operator should hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Notification {
    /// A run failed.
    Failed {
        /// The integration.
        integration: IntegrationId,
        /// Its title.
        title: String,
        /// The run.
        run: RunId,
        /// Why.
        reason: String,
        /// Whether the integration itself is now failed (an authorization problem: it stays
        /// failed until reauthorized) rather than only this run (the next run may succeed).
        integration_failed: bool,
    },
    /// A safeguard held a plan: nothing was applied until someone approves it.
    Held {
        /// The integration.
        integration: IntegrationId,
        /// Its title.
        title: String,
        /// The run.
        run: RunId,
        /// The held plan (what `plan:approve` takes).
        plan: PlanId,
    },
    /// A run that did not fail, after one that did.
    Recovered {
        /// The integration.
        integration: IntegrationId,
        /// Its title.
        title: String,
        /// The run.
        run: RunId,
    },
}

impl Notification {
    /// The event a run calls for, if any: `previous_failed` says whether the run before it
    /// failed, `integration_failed` whether the integration is failed after it.
    pub fn after_run(
        run: &SyncRun,
        title: &str,
        previous_failed: bool,
        integration_failed: bool,
    ) -> Option<Self> {
        let (integration, title, id) = (run.integration, title.to_owned(), run.id);
        match &run.outcome {
            RunOutcome::Failed { reason } => Some(Self::Failed {
                integration,
                title,
                run: id,
                reason: reason.clone(),
                integration_failed,
            }),
            RunOutcome::Held { plan } => Some(Self::Held {
                integration,
                title,
                run: id,
                plan: plan.clone(),
            }),
            _ if previous_failed => Some(Self::Recovered {
                integration,
                title,
                run: id,
            }),
            _ => None,
        }
    }
}

/// Receives [`Notification`]s. It must not fail the run: report delivery problems itself
/// (a log line).
#[async_trait]
pub trait Notifier: Send + Sync {
    /// One event.
    async fn notify(&self, event: &Notification);
}
