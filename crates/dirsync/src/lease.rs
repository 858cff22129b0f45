//! The lease time to live of this process's runs: `DIRSYNC_LEASE_SECONDS` (whole seconds, at
//! least 1), else the service's default (60 s). A run renews its lease every third of it, so a
//! run that was killed frees its integration after at most this long.

/// The environment variable that sets it.
pub(crate) const VAR: &str = "DIRSYNC_LEASE_SECONDS";

/// The lease time to live to run with.
pub(crate) fn ttl() -> chrono::Duration {
    let seconds = std::env::var(VAR)
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|s| *s >= 1)
        .unwrap_or(dirsync_service::DEFAULT_LEASE_SECONDS);
    chrono::Duration::seconds(seconds)
}
