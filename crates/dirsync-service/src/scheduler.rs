//! The scheduler loop: [`run_due`](Service::run_due) again and again, for a long-running
//! process (`dirsync serve`), until it is asked to stop.

use std::future::Future;
use std::time::Duration;

use crate::Service;
use crate::progress::ProgressSink;

impl Service {
    /// Keeps the push channels ([`keep_push_channels`](Self::keep_push_channels), when the
    /// service has [push settings](Self::with_push)) and runs the scheduled rules that are
    /// due every `tick` (the first time at once) until
    /// `shutdown` completes. Shutting down never interrupts a round of runs: the round under
    /// way when `shutdown` completes finishes first (bound it with a timeout around this
    /// future if it must end sooner). Failures are logged and the loop goes on.
    pub async fn run_scheduler(
        &self,
        tick: Duration,
        shutdown: impl Future<Output = ()>,
        progress: &dyn ProgressSink,
    ) {
        let shutdown = std::pin::pin!(shutdown);
        let mut shutdown = shutdown;
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = interval.tick() => {
                    if self.push.is_some()
                        && let Err(e) = self.keep_push_channels().await
                    {
                        tracing::warn!(error = %e, "could not keep the push channels");
                    }
                    match self.run_due(self.clock.now(), progress).await {
                        Ok(runs) if !runs.is_empty() => {
                            let failed = runs.iter().filter(|r| r.result.is_err()).count();
                            tracing::info!(runs = runs.len(), failed, "scheduled rules ran");
                        }
                        Ok(_) => tracing::debug!("nothing due"),
                        Err(e) => tracing::warn!(error = %e, "could not list the due rules"),
                    }
                }
            }
        }
        tracing::info!("scheduler stopped");
    }
}
