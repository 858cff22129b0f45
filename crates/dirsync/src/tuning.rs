//! Reliability settings read from the environment, for operators and tests:
//!
//! - `DIRSYNC_LEASE_SECONDS` (whole seconds, at least 1; default 60): a run's lease time to
//!   live. A run renews its lease every third of it, so a run that was killed frees its
//!   integration after at most this long.
//! - `DIRSYNC_RETRY_BUDGET_SECONDS` (whole seconds; default 600): how long one fetch or apply
//!   may spend waiting to retry Google (API calls and token requests); 0 never retries.

use std::time::Duration;

use dirsync_google::GoogleKind;
use dirsync_google::RetryConfig;

fn seconds(var: &str) -> Option<i64> {
    std::env::var(var).ok()?.trim().parse::<i64>().ok()
}

/// The lease time to live to run with.
pub(crate) fn lease_ttl() -> chrono::Duration {
    let s = seconds("DIRSYNC_LEASE_SECONDS")
        .filter(|s| *s >= 1)
        .unwrap_or(dirsync_service::DEFAULT_LEASE_SECONDS);
    chrono::Duration::seconds(s)
}

/// Google's connector kind with the retry budget to run with.
pub(crate) fn google() -> GoogleKind {
    match seconds("DIRSYNC_RETRY_BUDGET_SECONDS").and_then(|s| u64::try_from(s).ok()) {
        None => GoogleKind::new(),
        Some(budget) => GoogleKind::new().customize(move |b| {
            b.retry(RetryConfig::default().with_budget(Duration::from_secs(budget)))
        }),
    }
}
