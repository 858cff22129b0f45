//! Progress of long operations, for progress bars and frontends: a [`ProgressSink`] receives
//! [`Progress`] events as pages arrive and runs finish.

use std::collections::BTreeMap;
use std::sync::Mutex;

use dirsync_core::{FetchProgress, IntegrationId, ObjectKind, RuleId, SyncRun};

/// One progress event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// A run of the integration (for one rule, or everything) started.
    Started {
        /// The integration.
        integration: IntegrationId,
        /// The rule, if the run is for one.
        rule: Option<RuleId>,
    },
    /// A page of objects arrived; the figures are totals so far for this kind in this run.
    Fetched {
        /// The integration.
        integration: IntegrationId,
        /// What kind of object.
        kind: ObjectKind,
        /// Pages so far.
        pages: u64,
        /// Objects so far.
        items: u64,
    },
    /// The run finished (its record says how).
    Finished {
        /// The run's record.
        run: Box<SyncRun>,
    },
}

/// Receives progress events. Implemented for closures and for tokio channel senders, so a
/// frontend can either draw directly or consume a stream.
pub trait ProgressSink: Send + Sync {
    /// One event. Must not block for long: it is called on the fetch's path.
    fn report(&self, event: Progress);
}

impl<F: Fn(Progress) + Send + Sync> ProgressSink for F {
    fn report(&self, event: Progress) {
        self(event);
    }
}

impl ProgressSink for tokio::sync::mpsc::UnboundedSender<Progress> {
    fn report(&self, event: Progress) {
        // A receiver that went away only means nobody watches any more.
        let _ = self.send(event);
    }
}

/// A [`ProgressSink`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl ProgressSink for Silent {
    fn report(&self, _event: Progress) {}
}

/// Adapts a sink to the connector's per-page callback, keeping the running totals.
pub(crate) struct PageCounter<'a> {
    integration: IntegrationId,
    sink: &'a dyn ProgressSink,
    totals: Mutex<BTreeMap<ObjectKind, (u64, u64)>>,
}

impl<'a> PageCounter<'a> {
    pub(crate) fn new(integration: IntegrationId, sink: &'a dyn ProgressSink) -> Self {
        Self {
            integration,
            sink,
            totals: Mutex::new(BTreeMap::new()),
        }
    }
}

impl FetchProgress for PageCounter<'_> {
    fn page(&self, kind: ObjectKind, items: usize) {
        let (pages, total) = {
            let mut totals = self
                .totals
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let entry = totals.entry(kind).or_default();
            entry.0 += 1;
            entry.1 += items as u64;
            *entry
        };
        self.sink.report(Progress::Fetched {
            integration: self.integration,
            kind,
            pages,
            items: total,
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn pages_become_running_totals_on_a_channel() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let integration = IntegrationId::random();
        let counter = PageCounter::new(integration, &tx);
        counter.page(ObjectKind::Users, 500);
        counter.page(ObjectKind::Groups, 200);
        counter.page(ObjectKind::Users, 120);
        let mut seen = Vec::new();
        while let Ok(event) = rx.try_recv() {
            seen.push(event);
        }
        assert_eq!(
            seen,
            vec![
                Progress::Fetched {
                    integration,
                    kind: ObjectKind::Users,
                    pages: 1,
                    items: 500
                },
                Progress::Fetched {
                    integration,
                    kind: ObjectKind::Groups,
                    pages: 1,
                    items: 200
                },
                Progress::Fetched {
                    integration,
                    kind: ObjectKind::Users,
                    pages: 2,
                    items: 620
                },
            ]
        );
        // A receiver that went away does not break the fetch.
        drop(rx);
        counter.page(ObjectKind::Users, 1);
    }
}
