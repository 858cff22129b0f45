//! Plans held by a safeguard, until released (approved or discarded).

use dirsync_core::{HeldPlan, IntegrationId, PlanId};

use super::State;
use crate::{Error, Result};

pub(super) fn hold(state: &mut State, plan: &HeldPlan) -> Result<()> {
    state.known(plan.integration)?;
    let seq = state.next_seq;
    state.next_seq += 1;
    state.held.insert(plan.id.clone(), (seq, plan.clone()));
    Ok(())
}

/// An integration's held plans, oldest first.
pub(super) fn of_integration(state: &State, integration: IntegrationId) -> Vec<HeldPlan> {
    let mut plans: Vec<&(u64, HeldPlan)> = state
        .held
        .values()
        .filter(|(_, p)| p.integration == integration)
        .collect();
    plans.sort_by_key(|(seq, p)| (p.held_at, *seq));
    plans.into_iter().map(|(_, p)| p.clone()).collect()
}

pub(super) fn release(state: &mut State, id: &PlanId) -> Result<HeldPlan> {
    state
        .held
        .remove(id)
        .map(|(_, p)| p)
        .ok_or_else(|| Error::NotFound {
            kind: "held plan",
            id: id.to_string(),
        })
}
