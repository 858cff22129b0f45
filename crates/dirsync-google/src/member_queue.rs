//! The groups whose members are still to be listed, biggest first, filled while the groups
//! listing is still paging: the members of the groups on the listing's first page are read
//! while its next pages arrive, and the biggest group known (whose pages bound the fetch's wall
//! time) never waits behind small ones.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Mutex;

use dirsync_core::RemoteGroup;

use crate::error::Error;

/// See the module documentation. Workers take groups with [`next`](Self::next) until the
/// listing has [`close`](Self::close)d it and it is empty.
pub(crate) struct MemberQueue {
    /// Whether members are wanted at all (else groups are not kept).
    enabled: bool,
    state: Mutex<State>,
    ready: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    waiting: BinaryHeap<Waiting>,
    /// Groups queued so far: ties between equal sizes go in listing order.
    queued: u64,
    closed: bool,
}

/// A group in the queue, ordered by its member count (unknown counts as the longest), then
/// by when it was listed.
struct Waiting {
    size: u64,
    order: Reverse<u64>,
    group: RemoteGroup,
}

impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.size, self.order).cmp(&(other.size, other.order))
    }
}

impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Waiting {}

impl MemberQueue {
    /// An open, empty queue; with `enabled` false it keeps nothing and its workers end at once
    /// when it is closed.
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            state: Mutex::new(State::default()),
            ready: tokio::sync::Notify::new(),
        }
    }

    fn state(&self) -> Result<std::sync::MutexGuard<'_, State>, Error> {
        self.state.lock().map_err(|_| Error::Poisoned {
            what: "member queue",
        })
    }

    /// Queues the groups of one listing page; a group known to have no members (a count of
    /// 0) is not listed.
    pub(crate) fn push(&self, groups: impl IntoIterator<Item = RemoteGroup>) -> Result<(), Error> {
        if !self.enabled {
            return Ok(());
        }
        let mut state = self.state()?;
        for group in groups {
            if group.direct_members_count == Some(0) {
                continue;
            }
            state.queued += 1;
            let order = Reverse(state.queued);
            state.waiting.push(Waiting {
                size: group.direct_members_count.unwrap_or(u64::MAX),
                order,
                group,
            });
        }
        drop(state);
        self.ready.notify_waiters();
        Ok(())
    }

    /// No more groups will come (the listing is complete).
    pub(crate) fn close(&self) -> Result<(), Error> {
        self.state()?.closed = true;
        self.ready.notify_waiters();
        Ok(())
    }

    /// The biggest group waiting; waits while the queue is empty but open; `None` once it is
    /// closed and empty.
    pub(crate) async fn next(&self) -> Result<Option<RemoteGroup>, Error> {
        loop {
            // Registered before the state is read, so a push in between is not missed.
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.state()?;
                if let Some(waiting) = state.waiting.pop() {
                    return Ok(Some(waiting.group));
                }
                if state.closed {
                    return Ok(None);
                }
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use dirsync_core::{Email, ExternalId};

    use super::*;

    fn group(id: &str, count: Option<u64>) -> RemoteGroup {
        RemoteGroup {
            external_id: ExternalId::new(id).unwrap(),
            email: Email::new(format!("{id}@example.com")).unwrap(),
            name: id.to_owned(),
            description: String::new(),
            direct_members_count: count,
        }
    }

    async fn drain(queue: &MemberQueue) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(g) = queue.next().await.unwrap() {
            out.push(g.external_id.to_string());
        }
        out
    }

    #[tokio::test]
    async fn biggest_first_unknown_counts_as_longest_ties_in_listing_order_empty_skipped() {
        let queue = MemberQueue::new(true);
        queue
            .push([
                group("small", Some(3)),
                group("empty", Some(0)),
                group("big", Some(500)),
                group("unknown", None),
                group("small2", Some(3)),
            ])
            .unwrap();
        queue.close().unwrap();
        assert_eq!(drain(&queue).await, ["unknown", "big", "small", "small2"]);
    }

    #[tokio::test]
    async fn a_worker_waits_for_pages_still_coming_and_ends_when_the_listing_does() {
        let queue = MemberQueue::new(true);
        // The worker starts on an empty, open queue: it must wait, not end.
        let (mut taken, ()) = tokio::join!(drain(&queue), async {
            tokio::task::yield_now().await;
            queue.push([group("a", Some(1))]).unwrap();
            tokio::task::yield_now().await;
            queue.push([group("b", Some(2))]).unwrap();
            tokio::task::yield_now().await;
            queue.close().unwrap();
        });
        taken.sort();
        assert_eq!(taken, ["a", "b"]);
    }

    #[tokio::test]
    async fn without_memberships_nothing_is_kept() {
        let queue = MemberQueue::new(false);
        queue.push([group("a", Some(1))]).unwrap();
        queue.close().unwrap();
        assert!(drain(&queue).await.is_empty());
    }
}
