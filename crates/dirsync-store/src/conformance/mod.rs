//! The conformance suite: the [`Store`] contract as executable cases, one file per area. Every
//! backend runs all of them, each on a fresh, empty store. In a backend's tests,
//! [`conformance_tests!`](crate::conformance_tests) expands to one `#[tokio::test]` per case, so
//! a failure names its case and `cargo test <case>` runs one:
//!
//! ```ignore
//! use std::sync::Arc;
//! use dirsync_store::{InMemoryStore, Store};
//!
//! dirsync_store::conformance_tests!(|| async { Arc::new(InMemoryStore::new()) as Arc<dyn Store> });
//! ```
//!
//! The factory may also return `(Arc<dyn Store>, guard)`: the guard (a temporary directory, a
//! database) lives until the case ends; or an `Option` of either, `None` where the backend is
//! not available (see [`Fixture`]). [`run_all`] runs every case in one test instead.
//!
//! Cases assert error *kinds* (`matches!(err, Error::Conflict { .. })`), never messages. They
//! panic on failure, like tests. The cases are not a stable API: new ones are added as the
//! contract grows.

// This module is test code shipped as a library: asserting is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use dirsync_core::{
    AnyIntegration, AttributeValue, Authorization, DirectionKind, DirectoryChanges, DirectoryOp,
    DirectoryUser, EmploymentType, GroupOrigin, Inbound, Integration, IntegrationId,
    IntegrationState, KeyOwnership, LifecycleEvent, LifecycleKind, LinkedBy, Manager, MemberKind,
    MemberRole, Membership, ObjectKind, ObjectKinds, OrgUnitPath, OwnedGroup, OwnedMembership,
    OwnershipChange, Primary, RemoteSettings, RoleKind, RunOutcome, Schedule, Scope, ScopeFilter,
    SyncRule, SyncRun, TimeOfDay, Trigger, UserId, UserStatus, Version,
};
use futures::FutureExt;
use futures::future::BoxFuture;

use crate::{Error, Store};

mod activity_cursors;
mod api_tokens;
mod apply;
mod directory;
mod fencing;
pub mod fixtures;
mod integrations;
mod ownership;
mod push_channels;
mod retention;
mod runs;
mod seed;

pub use activity_cursors::activity_cursors_are_kept_per_integration;
pub use api_tokens::api_tokens_are_kept_by_name_and_hash_until_revoked;
pub use apply::*;
pub use directory::*;
pub use fencing::*;
use fixtures::*;
pub use integrations::*;
pub use ownership::*;
pub use push_channels::push_channels_are_kept_per_integration_until_removed;
pub use retention::*;
pub use runs::*;
use seed::*;

/// What a conformance factory returns: a store, a store with a guard that must live as long
/// as the case (a temporary directory, a private database), or `None` when the backend is not
/// available here (the case then does not run: the factory says so, loudly).
pub trait Fixture: Send {
    /// The store the case runs on, if there is one.
    fn store(&self) -> Option<Arc<dyn Store>>;
}

impl Fixture for Arc<dyn Store> {
    fn store(&self) -> Option<Arc<dyn Store>> {
        Some(Arc::clone(self))
    }
}

impl<G: Send> Fixture for (Arc<dyn Store>, G) {
    fn store(&self) -> Option<Arc<dyn Store>> {
        Some(Arc::clone(&self.0))
    }
}

impl<F: Fixture> Fixture for Option<F> {
    fn store(&self) -> Option<Arc<dyn Store>> {
        self.as_ref().and_then(F::store)
    }
}

/// One named case.
pub struct Case {
    /// The case's name (its function's name).
    pub name: &'static str,
    /// Runs the case on a store.
    pub run: fn(Arc<dyn Store>) -> BoxFuture<'static, ()>,
}

/// One `#[tokio::test]` per conformance case, for a backend's test crate: each runs its case on
/// a fresh store from the factory (an async closure or function returning a
/// [`Fixture`](crate::conformance::Fixture)), on a two-thread runtime so the concurrent cases
/// really race. Needs the `conformance` feature of `dirsync-store` and `tokio` (with `macros`
/// and `rt-multi-thread`) among the test crate's dependencies. See [`conformance`](crate::conformance).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::conformance_tests!(@each tests [$factory]);
    };
    (@each $mode:ident [$($arg:tt)*]) => {
        $crate::conformance_tests!(@$mode [$($arg)*]
            first_inbound_becomes_primary,
            outbound_created_first_never_becomes_primary,
            later_inbound_integrations_are_secondary,
            concurrent_creations_elect_exactly_one_primary,
            creating_an_integration_twice_is_refused,
            primary_cannot_be_removed_while_it_owns_data,
            primary_without_data_can_be_removed_and_the_next_inbound_is_primary,
            role_is_immutable,
            direction_is_immutable,
            system_and_creation_time_are_immutable,
            integration_fields_round_trip,
            stale_integration_revision_is_refused,
            unknown_ids_are_not_found,
            integrations_are_listed_oldest_first,
            directory_data_round_trips,
            email_lookups_ignore_case,
            duplicate_email_is_refused_and_nothing_is_written,
            failed_apply_leaves_no_partial_write,
            stale_version_is_a_conflict_and_writes_nothing,
            versions_bump_once_per_nonempty_apply,
            concurrent_applies_on_one_version_one_wins,
            profile_changes_from_a_secondary_are_refused,
            outbound_integrations_cannot_write_the_directory,
            illegal_lifecycle_transitions_are_refused,
            lifecycle_history_accumulates,
            email_change_frees_the_old_address,
            upserts_replace_existing_objects,
            removing_a_group_removes_its_memberships,
            removing_missing_objects_is_refused,
            links_to_unknown_users_are_refused,
            memberships_need_their_group,
            objects_of_another_integration_are_refused,
            views_are_isolated_per_integration,
            accounts_of_lists_links_across_integrations,
            removing_an_integration_removes_exactly_what_it_owns,
            run_records_persist_newest_first,
            recording_a_run_again_replaces_it,
            held_plans_persist_until_released,
            leases_are_exclusive_until_released_or_expired,
            a_run_that_lost_its_lease_cannot_apply,
            a_run_that_lost_its_lease_cannot_record_ownership,
            only_the_holder_renews_its_lease,
            runs_are_pruned_beyond_their_retention,
            ownership_records_round_trip_and_bump_the_version,
            ownership_records_are_for_outbound_integrations_at_their_version,
            removing_an_outbound_integration_removes_its_ownership_records,
            group_ownership_records_round_trip_with_memberships_in_one_record,
            group_ownership_records_are_refused_for_another_integration,
            api_tokens_are_kept_by_name_and_hash_until_revoked,
            push_channels_are_kept_per_integration_until_removed,
            activity_cursors_are_kept_per_integration,
        );
    };
    (@tests [$factory:expr] $($name:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture = ($factory)().await;
                if let Some(store) = $crate::conformance::Fixture::store(&fixture) {
                    $crate::conformance::$name(store).await;
                }
            }
        )*
    };
    (@cases [] $($name:ident,)*) => {
        /// Every case, in order.
        pub fn cases() -> Vec<Case> {
            vec![$(Case { name: stringify!($name), run: |store| Box::pin($name(store)) }),*]
        }
    };
}

crate::conformance_tests!(@each cases []);

/// Runs every case, each on a fresh store from `new_store`, and panics naming every case that
/// failed (with its message).
pub async fn run_all<F, Fut>(new_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let mut failures = Vec::new();
    let all = cases();
    for case in &all {
        let store = new_store().await;
        if let Err(panic) = AssertUnwindSafe((case.run)(store)).catch_unwind().await {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{}: {message}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n  {}",
        failures.len(),
        all.len(),
        failures.join("\n  ")
    );
}
