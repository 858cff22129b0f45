//! Receiving notifications: [`Service::receive_push`] verifies one against the stored channel
//! (channel id, resource id, and the token's digest compared in constant time), ignores the
//! `sync` handshake, and queues the user it names; a per-integration task drains the queue after
//! the coalescing window, re-reads each queued user from the source (the notification's body is
//! never trusted) and applies it through the engine's push path — a delete only when the source
//! confirms it. More users queued than [`PushSettings::storm`](super::PushSettings::storm) is one
//! full sync instead. Every directory change made this way runs the outbound integrations it
//! concerns (see `follow`), so that they follow in seconds.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use dirsync_core::{ExternalId, IntegrationId, UserRead};
use dirsync_engine::Push;

use super::{Affected, same, token_hash};
use crate::progress::Silent;
use crate::{Error, Service};

/// How often a channel's last notification is written to the store, at most.
const NOTED_EVERY: chrono::Duration = chrono::Duration::seconds(5);

/// One notification as it arrived (Google's `X-Goog-*` headers and the id in its body).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Notice {
    /// `X-Goog-Channel-ID`.
    pub channel_id: String,
    /// `X-Goog-Resource-ID`.
    pub resource_id: String,
    /// `X-Goog-Channel-Token` (a secret: only its digest is compared).
    pub token: dirsync_core::ChannelToken,
    /// `X-Goog-Resource-State`: `sync`, `add`, `update`, `delete`, ...
    pub state: String,
    /// `X-Goog-Message-Number`.
    pub message_number: Option<u64>,
    /// The user's id from the body (only which user to re-read; nothing else is used).
    pub user_id: Option<String>,
}

impl Notice {
    /// A notice from its parts.
    pub fn new(
        channel_id: impl Into<String>,
        resource_id: impl Into<String>,
        token: dirsync_core::ChannelToken,
        state: impl Into<String>,
    ) -> Self {
        Self {
            channel_id: channel_id.into(),
            resource_id: resource_id.into(),
            token,
            state: state.into(),
            message_number: None,
            user_id: None,
        }
    }

    /// With its message number and the user id its body names.
    pub fn about(mut self, message_number: Option<u64>, user_id: Option<String>) -> Self {
        self.message_number = message_number;
        self.user_id = user_id;
        self
    }
}

/// What became of a verified notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received {
    /// The handshake (`sync`) or a notification naming no user: nothing to do.
    Ignored,
    /// Its user is queued for a re-read.
    Queued,
    /// Refused: no live channel of this integration has these ids and this token. Nothing is
    /// triggered.
    Refused,
}

/// The users waiting for a re-read, per integration, and whether a task drains them.
#[derive(Debug, Default)]
pub(crate) struct PushQueue(Mutex<HashMap<IntegrationId, Waiting>>);

#[derive(Debug, Default)]
struct Waiting {
    users: BTreeSet<String>,
    draining: bool,
}

impl PushQueue {
    /// Queues `user`; true when no task drains the integration's queue yet (the caller starts one).
    fn push(&self, id: IntegrationId, user: String) -> bool {
        let mut q = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let w = q.entry(id).or_default();
        w.users.insert(user);
        !std::mem::replace(&mut w.draining, true)
    }

    /// Takes what is queued; when nothing is, the draining task ends (and says so).
    fn take(&self, id: IntegrationId) -> Option<BTreeSet<String>> {
        let mut q = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let w = q.entry(id).or_default();
        if w.users.is_empty() {
            w.draining = false;
            return None;
        }
        Some(std::mem::take(&mut w.users))
    }
}

impl Service {
    /// Verifies and queues one notification for `integration` (see the module documentation).
    /// Answers at once: the re-reads run in a task of their own.
    ///
    /// # Errors
    /// A store error reading the channels (an unknown integration is [`Received::Refused`]).
    pub async fn receive_push(
        self: &Arc<Self>,
        integration: IntegrationId,
        notice: Notice,
    ) -> Result<Received, Error> {
        let channels = match self.store.push_channels(integration).await {
            Ok(c) => c,
            Err(dirsync_store::Error::NotFound { .. }) => return Ok(Received::Refused),
            Err(e) => return Err(e.into()),
        };
        let now = self.clock.now();
        let digest = token_hash(notice.token.expose_secret());
        let Some(mut channel) = channels.into_iter().find(|c| {
            same(&c.id, &notice.channel_id)
                && same(&c.resource_id, &notice.resource_id)
                && same(&c.token_hash, &digest)
                && c.is_live(now)
        }) else {
            tracing::warn!(%integration, channel = %notice.channel_id, "push notification refused: no such live channel");
            return Ok(Received::Refused);
        };
        // Recorded at most once per `NOTED_EVERY` per channel, not per notification: a burst
        // of notifications is not a burst of store writes.
        if channel
            .last_notification
            .is_none_or(|t| now - t >= NOTED_EVERY)
        {
            channel.last_notification = Some(now);
            channel.last_message = notice.message_number.or(channel.last_message);
            self.store.save_push_channel(&channel).await?;
        }
        let user = match (notice.state.as_str(), notice.user_id) {
            ("sync", _) | (_, None) => return Ok(Received::Ignored),
            (_, Some(user)) => user,
        };
        if self.push_queue.push(integration, user) {
            let service = Arc::clone(self);
            tokio::spawn(async move { service.drain_push(integration).await });
        }
        Ok(Received::Queued)
    }

    /// Drains `integration`'s queue until it stays empty through a coalescing window.
    async fn drain_push(self: Arc<Self>, integration: IntegrationId) {
        let (window, storm) = self
            .push
            .as_ref()
            .map_or((std::time::Duration::ZERO, usize::MAX), |p| {
                (p.coalesce, p.storm)
            });
        loop {
            tokio::time::sleep(window).await;
            let Some(users) = self.push_queue.take(integration) else {
                return;
            };
            let mut affected = Affected::default();
            if users.len() > storm {
                tracing::warn!(%integration, users = users.len(), "push storm: one full sync instead");
                match self.sync(integration, &Silent).await {
                    Ok(run) => affected.everything = run.counts.values().any(|&n| n > 0),
                    Err(e) => {
                        tracing::warn!(%integration, error = %e, "the storm's full sync did not run; the scheduled sync is the backstop");
                    }
                }
            } else {
                for user in users {
                    match self.apply_notified_user(integration, &user).await {
                        Ok(c) => affected.users |= c,
                        Err(e) => {
                            tracing::warn!(%integration, error = %e, "a pushed user could not be applied; the scheduled sync is the backstop");
                        }
                    }
                }
            }
            self.follow_outbound(&affected).await;
        }
    }

    /// Re-reads one notified user and applies it; whether the directory changed.
    async fn apply_notified_user(
        &self,
        integration: IntegrationId,
        user: &str,
    ) -> Result<bool, Error> {
        let any = self.store.integration(integration).await?;
        let source =
            self.connect(&any, any.settings())?
                .push
                .ok_or_else(|| Error::UnsupportedSystem {
                    system: format!("{} (cannot push)", any.settings().system()),
                })?;
        let id = ExternalId::new(user)?;
        let push = match source.read_user(&id).await? {
            UserRead::Present(u) => Push::User(*u),
            UserRead::Deleted => Push::UserDeleted(id),
            _ => return Ok(false),
        };
        self.applied(integration, &push).await
    }
}
