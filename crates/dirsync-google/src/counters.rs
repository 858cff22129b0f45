//! What one fetch (or one apply) counted, for its [`FetchStats`]: requests and answers by route
//! and status, retries and why, bytes read, and the most requests in flight at once.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use dirsync_core::FetchStats;

/// One more in `map` for `route` and `status`.
fn count(map: &Mutex<BTreeMap<String, BTreeMap<String, u64>>>, route: &str, status: &str) {
    if let Ok(mut m) = map.lock() {
        *m.entry(route.to_owned())
            .or_default()
            .entry(status.to_owned())
            .or_default() += 1;
    }
}

/// Counters of one fetch (or one apply), shared by its tasks, and when it started (its retry
/// budget runs from then).
#[derive(Debug)]
pub(crate) struct Counters {
    requests: Mutex<BTreeMap<String, u64>>,
    responses: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
    retries: AtomicU64,
    retries_by: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
    bytes: AtomicU64,
    in_flight: AtomicU32,
    max_in_flight: AtomicU32,
    started: tokio::time::Instant,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            requests: Mutex::default(),
            responses: Mutex::default(),
            retries: AtomicU64::default(),
            retries_by: Mutex::default(),
            bytes: AtomicU64::default(),
            in_flight: AtomicU32::default(),
            max_in_flight: AtomicU32::default(),
            started: tokio::time::Instant::now(),
        }
    }
}

impl Counters {
    /// A request sent on `route`.
    pub(crate) fn request(&self, route: &str) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry(route.to_owned()).or_default() += 1;
        }
    }

    /// An answer of `status` (`error`: none) on `route`.
    pub(crate) fn answer(&self, route: &str, status: &str) {
        count(&self.responses, route, status);
    }

    /// A retry of `route` after `status` (`error`: no answer).
    pub(crate) fn retry(&self, route: &str, status: Option<u16>) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        count(&self.retries_by, route, &status);
    }

    /// When the fetch or apply started: its retry budget runs from then.
    pub(crate) fn started(&self) -> tokio::time::Instant {
        self.started
    }

    /// A response body of `len` bytes read.
    pub(crate) fn received(&self, len: usize) {
        self.bytes
            .fetch_add(u64::try_from(len).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The figures so far, with `elapsed`.
    pub(crate) fn stats(&self, elapsed: Duration) -> FetchStats {
        let mut stats = FetchStats::default();
        stats.requests = self.requests.lock().map(|r| r.clone()).unwrap_or_default();
        stats.responses = self.responses.lock().map(|r| r.clone()).unwrap_or_default();
        stats.retries = self.retries.load(Ordering::Relaxed);
        stats.retries_by = self
            .retries_by
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default();
        stats.bytes = self.bytes.load(Ordering::Relaxed);
        stats.elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        stats.max_in_flight = self.max_in_flight.load(Ordering::Relaxed);
        stats
    }
}

/// Decrements the in-flight gauge when a request ends, however it ends.
pub(crate) struct InFlight<'a>(&'a Counters);

impl<'a> InFlight<'a> {
    /// One more request in flight, until the gauge is dropped.
    pub(crate) fn start(c: &'a Counters) -> Self {
        let now = c.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        c.max_in_flight.fetch_max(now, Ordering::Relaxed);
        Self(c)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
