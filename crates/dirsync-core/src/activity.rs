//! Polling a source's activity log for what it cannot push (Google's Reports API for groups
//! and memberships, issue 19 point 3): the activities read ([`Activity`]), a group re-read
//! because one named it ([`GroupRead`]), and where the next poll starts ([`ActivityCursor`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{IntegrationId, RemoteGroup, RemoteMember};

/// One activity of the source's log: its unique id, when it happened, and the group it names
/// (by the source's key: an email or an id). Nothing else of it is trusted: the group is re-read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Activity {
    /// Unique among the source's activities (Google: the application and `id.uniqueQualifier`).
    pub id: String,
    /// When it happened (Google: `id.time`).
    pub time: DateTime<Utc>,
    /// The group it names.
    pub group: String,
}

impl Activity {
    /// Activity `id` at `time` naming `group`.
    pub fn new(id: impl Into<String>, time: DateTime<Utc>, group: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            time,
            group: group.into(),
        }
    }
}

/// One group as the source has it now: a complete per-group snapshot, or the source's word
/// that it is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupRead {
    /// The group and every member it has.
    Present {
        /// The group.
        group: Box<RemoteGroup>,
        /// All its members.
        members: Vec<RemoteMember>,
    },
    /// The source answers that no such group exists.
    Deleted,
}

/// Where an integration's activity polling stands: the end of the last window read, the ids
/// of the activities seen in the overlap before it (the next window starts that much earlier,
/// to catch activities that the source shows late, and these are not applied twice), and when
/// it last polled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActivityCursor {
    /// The integration polled.
    pub integration: IntegrationId,
    /// The end of the last window read.
    pub since: DateTime<Utc>,
    /// The activities already applied that lie in the overlap before `since`: id → time.
    pub seen: BTreeMap<String, DateTime<Utc>>,
    /// When the last poll ran.
    pub polled_at: DateTime<Utc>,
    /// Activities applied so far (new ones, not counting those seen again).
    pub activities: u64,
    /// Groups re-read because an activity named them, so far.
    pub groups_read: u64,
}

impl ActivityCursor {
    /// A cursor that starts polling at `since`, first polled at `polled_at`.
    pub fn new(integration: IntegrationId, since: DateTime<Utc>, polled_at: DateTime<Utc>) -> Self {
        Self {
            integration,
            since,
            seen: BTreeMap::new(),
            polled_at,
            activities: 0,
            groups_read: 0,
        }
    }

    /// The window to read now: from `overlap` before [`since`](Self::since) to `now`.
    pub fn window(&self, overlap: Duration, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.since - overlap, now.max(self.since))
    }

    /// The activities not seen before, in time order, de-duplicated by id.
    pub fn unseen(&self, mut read: Vec<Activity>) -> Vec<Activity> {
        read.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
        let mut ids = BTreeSet::new();
        read.retain(|a| !self.seen.contains_key(&a.id) && ids.insert(a.id.clone()));
        read
    }

    /// Moves past a window read up to `end`: `applied` (the unseen activities of the window,
    /// for which `groups` groups were re-read) join the seen ones, and those older than the
    /// next window's start (`overlap` before `end`) are forgotten.
    pub fn advance(
        &mut self,
        end: DateTime<Utc>,
        overlap: Duration,
        applied: &[Activity],
        groups: u64,
        now: DateTime<Utc>,
    ) {
        self.seen
            .extend(applied.iter().map(|a| (a.id.clone(), a.time)));
        self.activities += applied.len() as u64;
        self.groups_read += groups;
        self.since = end.max(self.since);
        let keep_from = self.since - overlap;
        self.seen.retain(|_, t| *t >= keep_from);
        self.polled_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    #[test]
    fn an_activity_seen_in_the_overlap_is_not_applied_twice() {
        let id = IntegrationId::random();
        let overlap = Duration::seconds(60);
        let mut cursor = ActivityCursor::new(id, at(0), at(0));
        let a = Activity::new("a", at(10), "g@x");
        let b = Activity::new("b", at(20), "h@x");
        let first = cursor.unseen(vec![b.clone(), a.clone(), a.clone()]);
        assert_eq!(first, vec![a.clone(), b.clone()]);
        cursor.advance(at(30), overlap, &first, 2, at(30));
        assert_eq!(cursor.window(overlap, at(90)), (at(-30), at(90)));
        // The next window overlaps the first: a and b come again, with a late c.
        let c = Activity::new("c", at(25), "g@x");
        let second = cursor.unseen(vec![a.clone(), b, c.clone()]);
        assert_eq!(second, vec![c.clone()]);
        cursor.advance(at(90), overlap, &second, 1, at(90));
        assert_eq!(cursor.activities, 3);
        assert_eq!(cursor.groups_read, 3);
        // What lies before the next window's start (30) is forgotten.
        assert_eq!(
            cursor.seen.keys().collect::<Vec<_>>(),
            Vec::<&String>::new()
        );
        let d = Activity::new("d", at(80), "g@x");
        cursor.advance(at(100), overlap, std::slice::from_ref(&d), 1, at(100));
        assert_eq!(cursor.seen.keys().collect::<Vec<_>>(), vec!["d"]);
        assert!(cursor.unseen(vec![d, a]).iter().all(|x| x.id == "a"));
    }
}
