//! Reviewing held plans without fetching again: a held plan read back with its operations,
//! and discarding one that should never be applied.

use dirsync_core::{DirectionKind, HeldPlan, PlanId};

use crate::{DryRun, Error, Service};

/// A plan a safeguard held, as stored, and the plan itself (for its summary and
/// [`Service::explain`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HeldPlanDetail {
    /// When and why it was held.
    pub held: HeldPlan,
    /// The plan, exactly as it would be applied by [`Service::approve`].
    pub plan: DryRun,
}

impl Service {
    /// A held plan, read back from the store (nothing is fetched).
    ///
    /// # Errors
    /// [`dirsync_engine::Error::NoHeldPlan`] (through [`Error::Engine`]) when no plan of that id
    /// is held; [`dirsync_engine::Error::TamperedPlan`] when its content no longer matches its
    /// id; a store error.
    pub async fn held_plan(&self, id: &PlanId) -> Result<HeldPlanDetail, Error> {
        let held = self
            .store
            .held_plan(id)
            .await?
            .ok_or_else(|| dirsync_engine::Error::NoHeldPlan { plan: id.clone() })?;
        let direction = self.store.integration(held.integration).await?.direction();
        let tampered = || dirsync_engine::Error::TamperedPlan { plan: id.clone() };
        let plan = match direction {
            DirectionKind::Outbound => {
                DryRun::Remote(serde_json::from_value(held.plan.clone()).map_err(|_| tampered())?)
            }
            _ => DryRun::Directory(
                serde_json::from_value(held.plan.clone()).map_err(|_| tampered())?,
            ),
        };
        if plan.id() != id || !plan.verify() {
            return Err(tampered().into());
        }
        Ok(HeldPlanDetail { held, plan })
    }

    /// Discards a held plan: it will never be applied, and the next sync plans afresh (and is
    /// held again if it trips the same safeguard). Returns what was discarded.
    ///
    /// # Errors
    /// The store's `NotFound` when no plan of that id is held; a store error.
    pub async fn discard(&self, id: &PlanId) -> Result<HeldPlan, Error> {
        let held = self.store.release_plan(id).await?;
        tracing::info!(integration = %held.integration, plan = %id, "held plan discarded");
        Ok(held)
    }
}
