//! Push channel records, by channel id; forgotten with their integration.

use dirsync_core::{IntegrationId, PushChannel};

use super::State;
use crate::{Error, Result};

/// An integration's channels, oldest first.
pub(super) fn channels(state: &State, integration: IntegrationId) -> Result<Vec<PushChannel>> {
    state.known(integration)?;
    let mut channels: Vec<PushChannel> = state
        .push_channels
        .values()
        .filter(|c| c.integration == integration)
        .cloned()
        .collect();
    channels.sort_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)));
    Ok(channels)
}

pub(super) fn save_channel(state: &mut State, channel: &PushChannel) -> Result<()> {
    state.known(channel.integration)?;
    if state
        .push_channels
        .get(&channel.id)
        .is_some_and(|c| c.integration != channel.integration)
    {
        return Err(Error::AlreadyExists {
            kind: "push channel",
            id: channel.id.clone(),
        });
    }
    state
        .push_channels
        .insert(channel.id.clone(), channel.clone());
    Ok(())
}

/// Forgets every push record of a removed integration.
pub(super) fn forget_integration(state: &mut State, integration: IntegrationId) {
    state
        .push_channels
        .retain(|_, c| c.integration != integration);
}
