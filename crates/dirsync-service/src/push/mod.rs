//! Pushed changes from a source that pushes (Google's `users.watch`, issue 19): the channel each
//! push-enabled integration keeps open ([`channels`]), and the notifications it brings
//! ([`receive`]): verified against the stored channel, queued, coalesced per user, each user
//! re-read from the source and applied through the engine's push path; what the source cannot
//! push (groups and memberships) is polled from its activity log ([`poll`]); and the outbound
//! integrations concerned follow every change at once ([`follow`]).

mod channels;
mod follow;
mod poll;
mod receive;

use std::time::Duration;

pub use channels::ChannelChange;
pub(crate) use follow::Affected;
pub use poll::Polled;
pub(crate) use poll::polls;
pub(crate) use receive::PushQueue;
pub use receive::{Notice, Received};

/// How the service keeps push channels and handles their notifications
/// ([`Service::with_push`](crate::Service::with_push)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushSettings {
    /// The server's public base URL (`https://sync.example.com`): channels send to
    /// `{public_url}/hooks/google/{integration}`.
    pub public_url: String,
    /// How long a channel is asked to live (Google grants at most 6 hours).
    pub ttl: chrono::Duration,
    /// A channel closer than this to its expiry is replaced (a new one opened, then the old
    /// one stopped).
    pub renew_before: chrono::Duration,
    /// Notifications for one user within this window are one re-read.
    pub coalesce: Duration,
    /// More users queued at once than this falls back to one full sync (a storm).
    pub storm: usize,
    /// How often activities are polled (groups and memberships, when the integration's
    /// authorization allows it), at the scheduler's ticks.
    pub poll_every: Duration,
    /// How far before the end of the last window the next one starts, to catch activities the
    /// source shows late (Google: "a couple of minutes"); those seen already are skipped.
    pub poll_overlap: chrono::Duration,
}

impl PushSettings {
    /// Channels to `public_url` (no trailing slash needed) living 6 hours, replaced 30 minutes
    /// before they expire; notifications coalesced over 200 ms; a storm above 500 users;
    /// activities polled every minute over windows overlapping by 10 minutes.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            ttl: chrono::Duration::hours(6),
            renew_before: chrono::Duration::minutes(30),
            coalesce: Duration::from_millis(200),
            storm: 500,
            poll_every: Duration::from_secs(60),
            poll_overlap: chrono::Duration::minutes(10),
        }
    }

    /// With activities polled every `every`, each window starting `overlap` before the end of
    /// the last one.
    pub fn with_polling(mut self, every: Duration, overlap: chrono::Duration) -> Self {
        self.poll_every = every;
        self.poll_overlap = overlap;
        self
    }

    /// With notifications coalesced over `window`.
    pub fn with_coalesce(mut self, window: Duration) -> Self {
        self.coalesce = window;
        self
    }

    /// With a storm above `users` queued users.
    pub fn with_storm(mut self, users: usize) -> Self {
        self.storm = users.max(1);
        self
    }

    /// With channels asked to live `ttl`, replaced `renew_before` their expiry.
    pub fn with_ttl(mut self, ttl: chrono::Duration, renew_before: chrono::Duration) -> Self {
        self.ttl = ttl;
        self.renew_before = renew_before;
        self
    }

    /// Where `integration`'s channel sends.
    pub fn address(&self, integration: dirsync_core::IntegrationId) -> String {
        format!("{}/hooks/google/{integration}", self.public_url)
    }
}

/// The lower-case hex SHA-256 of a channel token.
pub(crate) fn token_hash(token: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two strings in time that depends only on their length.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
