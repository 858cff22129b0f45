//! The connector traits: how the engine reads from and writes to a remote directory without
//! knowing which one it is. Both are object-safe (`Arc<dyn DirectorySource>`).

use std::collections::BTreeMap;
use std::fmt::Debug;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{
    AccessReport, Error, ObjectKind, ObjectKinds, RemoteChanges, RemoteOpKinds, ScopeFilter,
    Snapshot,
};

/// What to fetch: which kinds, within which scope. Made with [`FetchRequest::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FetchRequest {
    /// The kinds to fetch.
    pub kinds: ObjectKinds,
    /// The scope filter.
    pub filter: ScopeFilter,
}

impl FetchRequest {
    /// A request for `kinds` within `filter`.
    pub fn new(kinds: ObjectKinds, filter: ScopeFilter) -> Self {
        Self { kinds, filter }
    }
}

/// Figures of one fetch, for the run record. Start from [`FetchStats::default`] (all zero) and
/// set the figures a connector counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FetchStats {
    /// Requests sent, by route (e.g. `GET /admin/directory/v1/users`).
    pub requests: BTreeMap<String, u64>,
    /// Answers by route and status: `{"GET /admin/directory/v1/users": {"200": 12, "503": 1}}`,
    /// with `error` for a request that got no answer (a timeout, a dropped connection). Absent
    /// from records written before it was counted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub responses: BTreeMap<String, BTreeMap<String, u64>>,
    /// Retries, all routes together.
    pub retries: u64,
    /// Retries by route and the status that caused them (`error`: no answer; the token
    /// endpoint's route is `token`), as [`responses`](Self::responses). Absent from records
    /// written before it was counted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub retries_by: BTreeMap<String, BTreeMap<String, u64>>,
    /// Response bytes received (after decompression).
    pub bytes: u64,
    /// Wall time, in milliseconds.
    pub elapsed_ms: u64,
    /// The most requests in flight at once.
    pub max_in_flight: u32,
}

impl FetchStats {
    /// Requests over all routes.
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Adds the figures of a later step of the same run (e.g. the writes after the fetch):
    /// requests, retries, bytes and time add up; the most in flight is the larger.
    pub fn absorb(&mut self, later: &FetchStats) {
        for (route, n) in &later.requests {
            *self.requests.entry(route.clone()).or_default() += n;
        }
        add_by_status(&mut self.responses, &later.responses);
        self.retries += later.retries;
        add_by_status(&mut self.retries_by, &later.retries_by);
        self.bytes += later.bytes;
        self.elapsed_ms += later.elapsed_ms;
        self.max_in_flight = self.max_in_flight.max(later.max_in_flight);
    }
}

/// Adds counts by route and status.
fn add_by_status(
    into: &mut BTreeMap<String, BTreeMap<String, u64>>,
    from: &BTreeMap<String, BTreeMap<String, u64>>,
) {
    for (route, statuses) in from {
        let route = into.entry(route.clone()).or_default();
        for (status, n) in statuses {
            *route.entry(status.clone()).or_default() += n;
        }
    }
}

/// A complete snapshot and the figures of the fetch that made it. Made with [`Fetched::new`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fetched {
    /// The snapshot.
    pub snapshot: Snapshot,
    /// The figures.
    pub stats: FetchStats,
}

impl Fetched {
    /// A fetch's result: its complete snapshot and its figures.
    pub fn new(snapshot: Snapshot, stats: FetchStats) -> Self {
        Self { snapshot, stats }
    }
}

/// Progress of a fetch, reported as pages arrive (for progress bars and frontends).
pub trait FetchProgress: Send + Sync {
    /// A page of `items` objects of `kind` arrived.
    fn page(&self, kind: ObjectKind, items: usize);
}

/// A [`FetchProgress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl FetchProgress for NoProgress {
    fn page(&self, _kind: ObjectKind, _items: usize) {}
}

/// A remote directory the engine reads from.
#[async_trait]
pub trait DirectorySource: Send + Sync + Debug {
    /// Runs the connector's access checks (Google: a token request per required scope, then
    /// each API once). Failed checks are reported in the [`AccessReport`]; credentials the
    /// remote refuses outright are an error.
    ///
    /// # Errors
    /// [`Error::Access`] ([`AccessDenied::Unauthorized`](crate::AccessDenied::Unauthorized)) for
    /// a bad key, subject or delegation; [`Error::Remote`] when the remote cannot be reached.
    async fn validate_access(&self) -> Result<AccessReport, Error>;

    /// The kinds this source can read: what a run of everything fetches. All kinds by default;
    /// a source that cannot read some (e.g. an HR export without org units) says so here.
    fn readable_kinds(&self) -> ObjectKinds {
        ObjectKinds::all()
    }

    /// Fetches a complete snapshot of `request`, reporting progress as pages arrive.
    ///
    /// # Errors
    /// Any failure after retries: then no snapshot exists, and nothing may be deleted.
    async fn fetch(
        &self,
        request: &FetchRequest,
        progress: &dyn FetchProgress,
    ) -> Result<Fetched, Error>;
}

/// What happened to one remote operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RemoteOpOutcome {
    /// Done now.
    Done,
    /// The remote was already in the wanted state (e.g. the member existed).
    AlreadyDone,
    /// Not done; the next run will try again.
    Failed {
        /// Why.
        reason: String,
    },
}

/// The outcome of applying remote changes, one entry per operation, in order. Made with
/// [`RemoteApplyReport::new`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RemoteApplyReport {
    /// Per operation.
    pub outcomes: Vec<RemoteOpOutcome>,
    /// The connector's figures for the writes (requests by route, retries, ...), the same
    /// shape as a fetch's; all zero from a target that does not count.
    #[serde(default)]
    pub stats: FetchStats,
}

impl RemoteApplyReport {
    /// One outcome per operation, in order, and the connector's figures for the writes.
    pub fn new(outcomes: Vec<RemoteOpOutcome>, stats: FetchStats) -> Self {
        Self { outcomes, stats }
    }
}

/// A remote directory the engine writes to (outbound integrations).
#[async_trait]
pub trait DirectoryTarget: Send + Sync + Debug {
    /// Applies the operations idempotently and reports each one's outcome.
    ///
    /// # Errors
    /// A failure that stops the whole apply (e.g. [`Error::Access`]); per-operation
    /// failures are reported in the [`RemoteApplyReport`] instead.
    async fn apply(&self, changes: &RemoteChanges) -> Result<RemoteApplyReport, Error>;

    /// The kinds of operation [`apply`](Self::apply) carries out. The engine refuses a change
    /// set that uses any other kind before anything is applied. By default inserting and
    /// deleting group members ([`RemoteOpKinds::membership`]); a target that can do more (or
    /// less) says so.
    fn supported_operations(&self) -> RemoteOpKinds {
        RemoteOpKinds::membership()
    }

    /// What the remote's groups keep beyond their email and name, so that a plan compares
    /// only that (a group is not "updated" every run for a description it cannot hold). By
    /// default everything Google's groups keep ([`GroupTraits::FULL`]).
    fn group_traits(&self) -> GroupTraits {
        GroupTraits::FULL
    }
}

/// What a remote's groups keep beyond their email and name ([`DirectoryTarget::group_traits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupTraits {
    /// Member roles (Google: owner, manager, member).
    pub member_roles: bool,
    /// A description.
    pub descriptions: bool,
}

impl GroupTraits {
    /// Member roles and a description, as Google's groups.
    pub const FULL: Self = Self {
        member_roles: true,
        descriptions: true,
    };
    /// A name and members only, as SCIM's core Group (RFC 7643 §4.2).
    pub const NAMES_AND_MEMBERS: Self = Self {
        member_roles: false,
        descriptions: false,
    };
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use chrono::Utc;

    use crate::{Email, ExternalId, RemoteOp, RemoteUser, SnapshotBuilder};

    #[test]
    fn stats_by_status_add_up_and_old_records_still_read() -> Result<(), serde_json::Error> {
        // A record written before statuses were counted.
        let old: FetchStats = serde_json::from_str(
            r#"{"requests": {"GET /users": 3}, "retries": 1, "bytes": 10, "elapsed_ms": 5, "max_in_flight": 2}"#,
        )?;
        assert_eq!(old.total_requests(), 3);
        assert!(old.responses.is_empty() && old.retries_by.is_empty());

        let later = FetchStats {
            responses: BTreeMap::from([(
                "GET /users".to_owned(),
                BTreeMap::from([("200".to_owned(), 2), ("503".to_owned(), 1)]),
            )]),
            retries_by: BTreeMap::from([(
                "GET /users".to_owned(),
                BTreeMap::from([("503".to_owned(), 1)]),
            )]),
            ..FetchStats::default()
        };
        let mut total = old.clone();
        total.absorb(&later);
        total.absorb(&later);
        assert_eq!(total.responses["GET /users"]["200"], 4);
        assert_eq!(total.retries_by["GET /users"]["503"], 2);
        let again: FetchStats = serde_json::from_value(serde_json::to_value(&total)?)?;
        assert_eq!(again, total);
        Ok(())
    }

    /// A fake source: two pages of users.
    #[derive(Debug)]
    struct TwoPages;

    #[async_trait]
    impl DirectorySource for TwoPages {
        async fn validate_access(&self) -> Result<AccessReport, Error> {
            Ok(AccessReport::new(vec![crate::AccessCheck::passed(
                "reachable",
            )]))
        }

        async fn fetch(
            &self,
            request: &FetchRequest,
            progress: &dyn FetchProgress,
        ) -> Result<Fetched, Error> {
            let mut b =
                SnapshotBuilder::new(request.kinds.clone(), request.filter.clone(), Utc::now());
            for (page, next) in [("1", Some("t")), ("2", None)] {
                let user = RemoteUser::new(
                    ExternalId::new(page)?,
                    Email::new(format!("u{page}@example.com"))?,
                );
                b.users_page(vec![user], next)?;
                progress.page(ObjectKind::Users, 1);
            }
            Ok(Fetched {
                snapshot: b.finish()?,
                stats: FetchStats::default(),
            })
        }
    }

    #[derive(Debug)]
    struct AlwaysDone;

    #[async_trait]
    impl DirectoryTarget for AlwaysDone {
        async fn apply(&self, changes: &RemoteChanges) -> Result<RemoteApplyReport, Error> {
            Ok(RemoteApplyReport {
                outcomes: changes
                    .ops()
                    .iter()
                    .map(|_| RemoteOpOutcome::Done)
                    .collect(),
                stats: FetchStats::default(),
            })
        }
    }

    struct Counter(AtomicUsize);

    impl FetchProgress for Counter {
        fn page(&self, _kind: ObjectKind, items: usize) {
            self.0.fetch_add(items, Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn connector_traits_are_object_safe_and_report_progress() -> Result<(), Error> {
        let source: Arc<dyn DirectorySource> = Arc::new(TwoPages);
        let request = FetchRequest {
            kinds: ObjectKinds::only(ObjectKind::Users),
            filter: ScopeFilter::everything(),
        };
        let counter = Counter(AtomicUsize::new(0));
        let fetched = source.fetch(&request, &counter).await?;
        assert_eq!(fetched.snapshot.users().len(), 2);
        assert_eq!(counter.0.load(Ordering::Relaxed), 2);
        let _: Arc<dyn DirectoryTarget> = Arc::new(AlwaysDone);
        let _ = RemoteOp::DeleteMember {
            group: ExternalId::new("g")?,
            member: Email::new("a@b.co")?,
        };
        Ok(())
    }
}
