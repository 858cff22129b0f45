//! Integration records (created, saved and removed through the transactional rules) and their
//! versions.

use dirsync_core::{AnyIntegration, Inbound, Integration, IntegrationId, Primary, Version};

use super::State;
use crate::{Error, Result};

pub(super) fn one(state: &State, id: IntegrationId) -> Result<AnyIntegration> {
    let (_, record) = state
        .integrations
        .get(&id)
        .ok_or_else(|| Error::integration_not_found(id))?;
    Ok(AnyIntegration::from_record(record.clone())?)
}

/// Every integration, in creation order.
pub(super) fn all(state: &State) -> Result<Vec<AnyIntegration>> {
    let mut records: Vec<_> = state.integrations.values().collect();
    records.sort_by_key(|(seq, r)| (r.created_at, *seq));
    records
        .into_iter()
        .map(|(_, r)| AnyIntegration::from_record(r.clone()).map_err(Error::from))
        .collect()
}

pub(super) fn primary(state: &State) -> Result<Option<Integration<Inbound, Primary>>> {
    let Some(id) = state.primary else {
        return Ok(None);
    };
    let (_, record) = state.integrations.get(&id).ok_or_else(|| Error::Corrupt {
        backend: "memory",
        detail: format!("primary {id} has no record"),
    })?;
    Ok(AnyIntegration::from_record(record.clone())?.into_primary())
}

pub(super) fn version(state: &State, integration: IntegrationId) -> Result<Version> {
    state.known(integration)?;
    Ok(state
        .versions
        .get(&integration)
        .copied()
        .unwrap_or_default())
}
