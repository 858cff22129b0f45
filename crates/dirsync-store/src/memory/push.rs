//! Push channel records, by channel id, and activity cursors, by integration; forgotten with
//! their integration.

use dirsync_core::{ActivityCursor, IntegrationId, PushChannel};

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
    state.activity_cursors.remove(&integration);
}

pub(super) fn activity_cursor(
    state: &State,
    integration: IntegrationId,
) -> Result<Option<ActivityCursor>> {
    state.known(integration)?;
    Ok(state.activity_cursors.get(&integration).cloned())
}

pub(super) fn save_activity_cursor(state: &mut State, cursor: &ActivityCursor) -> Result<()> {
    state.known(cursor.integration)?;
    state
        .activity_cursors
        .insert(cursor.integration, cursor.clone());
    Ok(())
}
