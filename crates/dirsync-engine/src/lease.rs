//! A run's lease: taken before the run, renewed while it works (a heartbeat every third of its
//! time to live), given back when it ends — or when its future is dropped (a cancelled run).
//! The run's writes are fenced by it (`Store::apply_fenced`, `Store::record_ownership_fenced`),
//! so a run that lost its lease cannot write; a run whose renewal fails stops at once.

use std::future::Future;

use dirsync_core::{IntegrationId, RunId};
use dirsync_store::{Lease, Store};

use crate::{Error, RunContext};

/// Gives the lease back when dropped before [`release`](Self::release) ran: a run whose
/// future was dropped (cancelled) frees its integration at once instead of after the lease's
/// time to live.
struct ReleaseOnDrop<'a> {
    store: &'a dyn Store,
    lease: Option<Lease>,
}

impl ReleaseOnDrop<'_> {
    async fn release(mut self) {
        if let Some(lease) = self.lease.take()
            && let Err(e) = self.store.release_lease(&lease).await
        {
            tracing::warn!(integration = %lease.integration, error = %e, "releasing the sync lease failed; it expires on its own");
        }
    }
}

impl Drop for ReleaseOnDrop<'_> {
    fn drop(&mut self) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        // Drop cannot await: the release runs to its end here. Backends finish it without this
        // thread's runtime (in memory, or on the blocking pool), so it cannot deadlock; outside
        // a runtime (a shutdown) the lease expires on its own.
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        tracing::info!(integration = %lease.integration, holder = %lease.holder, "run cancelled: releasing its lease");
        if let Err(e) = futures::executor::block_on(self.store.release_lease(&lease)) {
            tracing::warn!(integration = %lease.integration, error = %e, "releasing a cancelled run's lease failed; it expires on its own");
        }
    }
}

impl RunContext<'_> {
    /// Runs `work` under the integration's lease (see the module documentation), passing it the
    /// lease that fences its writes.
    pub(crate) async fn with_lease<T>(
        &self,
        integration: IntegrationId,
        work: impl AsyncFnOnce(&Lease) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let now = self.clock.now();
        // A holder the store has seen renews its lease: a name per run, so that a second run
        // started by the same runner is refused instead of sharing (and releasing) the lease.
        let holder = format!(
            "{}#{}",
            self.holder,
            self.run_id.unwrap_or_else(RunId::random)
        );
        let lease = self
            .store
            .acquire_lease(integration, &holder, now + self.lease, now)
            .await?;
        let guard = ReleaseOnDrop {
            store: self.store,
            lease: Some(lease.clone()),
        };
        let result = self.heartbeat(&lease, work(&lease)).await;
        guard.release().await;
        result
    }

    /// Polls `work` to its end, renewing `lease` every third of its time to live; stops `work`
    /// (drops it) with the renewal's error when a renewal fails.
    async fn heartbeat<T>(
        &self,
        lease: &Lease,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let period = (self.lease / 3)
            .to_std()
            .unwrap_or_default()
            .max(std::time::Duration::from_millis(10));
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                result = &mut work => return result,
                () = tokio::time::sleep(period) => {
                    let until = self.clock.now() + self.lease;
                    if let Err(e) = self.store.renew_lease(lease, until).await {
                        tracing::warn!(integration = %lease.integration, error = %e, "renewing the sync lease failed: the run stops");
                        return Err(e.into());
                    }
                }
            }
        }
    }
}
