//! Polling what the source cannot push (issue 19 point 3: Google's groups and memberships, by
//! the Reports API): from the channel upkeep, under the integration's lease, once
//! [`PushSettings::poll_every`](super::PushSettings::poll_every) has passed, the activities
//! since the stored [`ActivityCursor`] (the window starting
//! [`poll_overlap`](super::PushSettings::poll_overlap) earlier, so activities the source shows
//! late are still seen; those seen before are skipped by id) are read, and only the groups they
//! name are re-read — each a complete per-group snapshot, group and all its members — and
//! applied through the engine's push path (a group the source no longer has is deleted only on
//! that word; the sliding-window safeguard applies). Nothing polls unless the source says the
//! integration's authorization allows it; push then covers users only.

use std::collections::BTreeSet;

use dirsync_core::{
    ActivityCursor, AnyIntegration, Email, GroupRead, IntegrationId, ObjectKind, PushSource,
};
use dirsync_engine::{Push, PushOutcome};

use super::Affected;
use crate::{Error, Service};

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Polled {
    /// Activities read in the window (repeats included).
    pub read: usize,
    /// Of those, new ones (not seen in an earlier, overlapping window).
    pub new: usize,
    /// Groups re-read (each named by a new activity, once per poll).
    pub groups: usize,
    /// Groups whose re-read changed the directory.
    pub changed: usize,
}

impl Service {
    /// Polls `id`'s activities now, under its lease, whether due or not (for tests, benchmarks
    /// and an operator's "poll now").
    ///
    /// # Errors
    /// [`Error::Invalid`] when the integration cannot poll (push off, not active, or its source
    /// or authorization does not allow it); the source's errors; a store error (`Leased` when
    /// another worker holds the integration).
    pub async fn poll_activities(&self, id: IntegrationId) -> Result<Polled, Error> {
        let any = self.store.integration(id).await?;
        let source = self
            .push_source(&any)
            .filter(|s| polls(&any, s.as_ref()))
            .ok_or_else(|| {
                Error::Invalid(dirsync_core::Error::InvalidValue {
                    kind: "activity polling",
                    value: id.to_string(),
                    reason: "push is off, the integration is not active, or its authorization does not allow reading activities".to_owned(),
                })
            })?;
        let now = self.clock.now();
        let holder = format!("{}#push", self.holder);
        let lease = self
            .store
            .acquire_lease(id, &holder, now + self.lease, now)
            .await?;
        let result = self.poll_leased(&any, source.as_ref()).await;
        if let Err(e) = self.store.release_lease(&lease).await {
            tracing::warn!(integration = %id, error = %e, "releasing the push lease failed; it expires on its own");
        }
        let (polled, affected) = result?;
        self.follow_outbound(&affected).await;
        Ok(polled)
    }

    /// Polls when due (from the channel upkeep, under the lease); what changed, for the
    /// outbound follow-up.
    pub(super) async fn poll_if_due(
        &self,
        any: &AnyIntegration,
        source: &dyn PushSource,
    ) -> Result<Affected, Error> {
        let Some(settings) = &self.push else {
            return Ok(Affected::default());
        };
        if !polls(any, source) {
            return Ok(Affected::default());
        }
        let every = chrono::Duration::from_std(settings.poll_every).unwrap_or_default();
        if let Some(c) = self.store.activity_cursor(any.id()).await?
            && self.clock.now() - c.polled_at < every
        {
            return Ok(Affected::default());
        }
        let (polled, affected) = self.poll_leased(any, source).await?;
        tracing::debug!(integration = %any.id(), read = polled.read, new = polled.new, groups = polled.groups, "activities polled");
        Ok(affected)
    }

    async fn poll_leased(
        &self,
        any: &AnyIntegration,
        source: &dyn PushSource,
    ) -> Result<(Polled, Affected), Error> {
        let id = any.id();
        let overlap = self
            .push
            .as_ref()
            .map_or_else(chrono::Duration::zero, |p| p.poll_overlap);
        let now = self.clock.now();
        let mut cursor = match self.store.activity_cursor(id).await? {
            Some(c) => c,
            // The first poll starts now: what came before is the last full sync's.
            None => ActivityCursor::new(id, now, now),
        };
        let (start, end) = cursor.window(overlap, now);
        let read = source.read_activities(start, end).await?;
        let total = read.len();
        let new = cursor.unseen(read);
        let named: BTreeSet<String> = new.iter().map(|a| a.group.clone()).collect();
        let mut polled = Polled {
            read: total,
            new: new.len(),
            groups: named.len(),
            changed: 0,
        };
        let mut affected = Affected::default();
        for key in &named {
            // A group that cannot be applied now is left to the backstop full sync; the cursor
            // moves on (re-reading it at every poll would not help).
            match self.apply_named_group(any, source, key).await {
                Ok(Some(group)) => {
                    polled.changed += 1;
                    affected.groups.insert((id, group));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(integration = %id, group = %key, error = %e, "a polled group could not be applied; the scheduled sync is the backstop");
                }
            }
        }
        cursor.advance(end, overlap, &new, named.len() as u64, now);
        self.store.save_activity_cursor(&cursor).await?;
        Ok((polled, affected))
    }

    /// Re-reads one named group and applies it; its email when the directory changed.
    async fn apply_named_group(
        &self,
        any: &AnyIntegration,
        source: &dyn PushSource,
        key: &str,
    ) -> Result<Option<Email>, Error> {
        let id = any.id();
        let push = match source.read_group(key).await? {
            GroupRead::Present { group, members } => {
                if !synced(any, &group.email) {
                    return Ok(None);
                }
                Push::Group {
                    group: *group,
                    members,
                }
            }
            GroupRead::Deleted => {
                // Google's word that the group is gone: the group of ours it was, if any.
                let view = self.store.view(id).await?;
                let Some(group) = view.groups.into_iter().find(|g| {
                    g.email.key() == key.to_ascii_lowercase()
                        || g.external_id.as_str().eq_ignore_ascii_case(key)
                }) else {
                    return Ok(None);
                };
                let email = group.email.clone();
                return Ok(self
                    .applied(id, &Push::GroupDeleted(group.external_id))
                    .await?
                    .then_some(email));
            }
            _ => return Ok(None),
        };
        let email = match &push {
            Push::Group { group, .. } => group.email.clone(),
            _ => return Ok(None),
        };
        Ok(self.applied(id, &push).await?.then_some(email))
    }

    /// Applies one push; whether the directory changed.
    pub(super) async fn applied(&self, id: IntegrationId, push: &Push) -> Result<bool, Error> {
        Ok(match self.apply_push(id, push).await? {
            PushOutcome::Applied(_) => true,
            PushOutcome::Held { plan, .. } => {
                tracing::warn!(integration = %id, %plan, "a pushed change is held by the push window");
                false
            }
            _ => false,
        })
    }
}

/// Whether `source` can poll `any`'s activities as it is authorized.
pub(crate) fn polls(any: &AnyIntegration, source: &dyn PushSource) -> bool {
    any.record()
        .authorization
        .as_ref()
        .is_some_and(|a| source.polls_activities(a))
}

/// Whether `any` syncs group `email`: every group without rules, else a rule reading groups or
/// memberships must take it in.
fn synced(any: &AnyIntegration, email: &Email) -> bool {
    let rules = &any.record().rules;
    rules.is_empty()
        || rules.iter().any(|r| {
            (r.kinds.contains(ObjectKind::Groups) || r.kinds.contains(ObjectKind::Memberships))
                && r.scope.includes_group(email)
        })
}
