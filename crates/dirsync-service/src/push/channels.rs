//! Channel upkeep: one live channel per push-enabled integration, opened when push is on (or
//! the integration becomes active), replaced before it expires — the new one recorded before
//! the old one is stopped, so no notification falls between them — and stopped when push is
//! off or the integration is inactive or removed. Runs under the integration's lease, so that
//! of several workers exactly one opens a channel.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dirsync_core::{
    AnyIntegration, ChannelRequest, ChannelToken, DirectionKind, IntegrationId, PushChannel,
    PushSource,
};
use rand::RngCore as _;
use std::sync::Arc;

use super::{Affected, token_hash};
use crate::{Error, Service};

/// What the upkeep did to one integration's channels.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelChange {
    /// Opened this channel (a first one or a replacement).
    Opened(PushChannel),
    /// Stopped and forgot this channel (replaced, expired, or push no longer wanted).
    Stopped(PushChannel),
}

impl Service {
    /// Keeps every integration's push channel as it should be (see the module documentation)
    /// and polls the activities of those that poll, when due; for the scheduler loop, every
    /// tick. An integration another worker (or a run) holds the
    /// lease of is skipped this time. Failures are logged per integration and the others go on.
    ///
    /// # Errors
    /// Only when the integrations cannot be listed.
    pub async fn keep_push_channels(&self) -> Result<Vec<ChannelChange>, Error> {
        let mut changes = Vec::new();
        for any in self.store.integrations().await? {
            match self.keep_channel(&any).await {
                Ok(mut c) => changes.append(&mut c),
                Err(Error::Store(dirsync_store::Error::Leased { .. })) => {}
                Err(e) => {
                    tracing::warn!(integration = %any.id(), error = %e, "push channel upkeep failed");
                }
            }
        }
        Ok(changes)
    }

    /// The integration's push channel, made as it should be now.
    ///
    /// # Errors
    /// The source's errors opening or stopping a channel; a store error (`Leased` when another
    /// worker holds the integration).
    pub async fn keep_channel(&self, any: &AnyIntegration) -> Result<Vec<ChannelChange>, Error> {
        let id = any.id();
        let recorded = self.store.push_channels(id).await?;
        let source = self.push_source(any);
        if recorded.is_empty() && source.is_none() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let holder = format!("{}#push", self.holder);
        let lease = self
            .store
            .acquire_lease(id, &holder, now + self.lease, now)
            .await?;
        let result = self.keep_channel_leased(any, source.clone()).await;
        // Activities are polled under the same lease, once the channel is as it should be.
        let polled = match (&result, &source) {
            (Ok(_), Some(s)) => match self.poll_if_due(any, s.as_ref()).await {
                Ok(affected) => affected,
                Err(e) => {
                    tracing::warn!(integration = %id, error = %e, "polling activities failed; the next tick tries again");
                    Affected::default()
                }
            },
            _ => Affected::default(),
        };
        if let Err(e) = self.store.release_lease(&lease).await {
            tracing::warn!(integration = %id, error = %e, "releasing the push lease failed; it expires on its own");
        }
        self.follow_outbound(&polled).await;
        result
    }

    /// The source's push side, when this integration wants a channel.
    pub(crate) fn push_source(&self, any: &AnyIntegration) -> Option<Arc<dyn PushSource>> {
        let wanted = any.push()
            && self.push.is_some()
            && any.direction() == DirectionKind::Inbound
            && any.state().can_sync();
        if !wanted {
            return None;
        }
        match self.connect(any, any.settings()) {
            Ok(c) => c.push,
            Err(e) => {
                tracing::warn!(integration = %any.id(), error = %e, "cannot connect to keep the push channel");
                None
            }
        }
    }

    async fn keep_channel_leased(
        &self,
        any: &AnyIntegration,
        source: Option<Arc<dyn PushSource>>,
    ) -> Result<Vec<ChannelChange>, Error> {
        let id = any.id();
        // Read again under the lease: another worker may have just opened one.
        let recorded = self.store.push_channels(id).await?;
        let now = self.clock.now();
        let mut changes = Vec::new();
        let keep = match (&source, &self.push) {
            (Some(source), Some(settings)) => {
                let fresh = recorded
                    .iter()
                    .rev()
                    .find(|c| c.expires_at - now > settings.renew_before)
                    .cloned();
                match fresh {
                    Some(c) => Some(c.id),
                    None => {
                        let opened = self.open_channel(id, source.as_ref()).await?;
                        tracing::info!(integration = %id, channel = %opened.id, expires_at = %opened.expires_at, "push channel opened");
                        let kept = opened.id.clone();
                        changes.push(ChannelChange::Opened(opened));
                        Some(kept)
                    }
                }
            }
            _ => None,
        };
        for old in recorded
            .into_iter()
            .filter(|c| Some(&c.id) != keep.as_ref())
        {
            if old.is_live(now) {
                let stopper = match &source {
                    Some(s) => Some(Arc::clone(s)),
                    None => self.connect(any, any.settings()).ok().and_then(|c| c.push),
                };
                if let Some(s) = stopper {
                    s.stop_channel(&old.id, &old.resource_id).await?;
                }
            }
            self.store.remove_push_channel(&old.id).await?;
            tracing::info!(integration = %id, channel = %old.id, "push channel stopped");
            changes.push(ChannelChange::Stopped(old));
        }
        Ok(changes)
    }

    async fn open_channel(
        &self,
        id: IntegrationId,
        source: &dyn PushSource,
    ) -> Result<PushChannel, Error> {
        let settings = self.push.as_ref().ok_or_else(|| {
            Error::Invalid(dirsync_core::Error::InvalidValue {
                kind: "push settings",
                value: String::new(),
                reason: "the service has no public URL for push channels".to_owned(),
            })
        })?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = ChannelToken::new(URL_SAFE_NO_PAD.encode(bytes));
        // A random UUID, as Google's own examples have.
        let channel_id = dirsync_core::RunId::random().to_string();
        let address = settings.address(id);
        let request = ChannelRequest::new(&channel_id, &address, token.clone(), settings.ttl);
        let opened = source.open_channel(&request).await?;
        let channel = PushChannel::new(
            id,
            channel_id,
            opened.resource_id,
            token_hash(token.expose_secret()),
            address,
            self.clock.now(),
            opened.expires_at,
        )?;
        self.store.save_push_channel(&channel).await?;
        Ok(channel)
    }

    /// Stops and forgets every channel of `id` (push turned off, deactivation, removal).
    pub(crate) async fn stop_channels(&self, any: &AnyIntegration) -> Result<(), Error> {
        let recorded = self.store.push_channels(any.id()).await?;
        if recorded.is_empty() {
            return Ok(());
        }
        let source = self.connect(any, any.settings()).ok().and_then(|c| c.push);
        let now = self.clock.now();
        for old in recorded {
            if let Some(s) = &source
                && old.is_live(now)
                && let Err(e) = s.stop_channel(&old.id, &old.resource_id).await
            {
                tracing::warn!(integration = %any.id(), channel = %old.id, error = %e, "stopping a push channel failed; it expires on its own");
            }
            self.store.remove_push_channel(&old.id).await?;
        }
        Ok(())
    }

    /// Turns pushed changes on or off for `id` and opens or stops its channel at once.
    ///
    /// # Errors
    /// A store error; the source's errors opening the channel (push stays on: the scheduler
    /// loop tries again).
    pub async fn set_push(&self, id: IntegrationId, on: bool) -> Result<AnyIntegration, Error> {
        let mut any = self.store.integration(id).await?;
        any.set_push(on);
        let saved = self.store.save_integration(&any).await?;
        if on {
            self.keep_channel(&saved).await?;
        } else {
            self.stop_channels(&saved).await?;
        }
        Ok(saved)
    }
}
