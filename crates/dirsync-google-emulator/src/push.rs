//! Push notifications (`users.watch`): how the emulator delivers them ([`PushDelivery`]) and what
//! it delivered ([`Notification`], [`WatchChannel`]).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How notifications are delivered to the channels' addresses (settable while running with
/// [`crate::RunningEmulator::set_push_delivery`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PushDelivery {
    /// Waited before the first attempt of every notification (Google's own delivery lag).
    pub delay: Duration,
    /// Probability in `[0, 1]` that a notification (not the `sync` handshake) is lost: never sent.
    pub drop_rate: f64,
    /// Attempts per notification; a non-2xx answer or a connection error is retried.
    pub max_attempts: u32,
    /// Wait before the second attempt, doubled for each later one.
    pub retry_backoff: Duration,
    /// The longest a channel lives, whatever `params.ttl` asks (observed: 6 hours).
    pub max_ttl: Duration,
    /// Seed of the RNG that decides drops (reset when the delivery is set).
    pub seed: u64,
}

impl Default for PushDelivery {
    fn default() -> Self {
        Self {
            delay: Duration::ZERO,
            drop_rate: 0.0,
            max_attempts: 5,
            retry_backoff: Duration::from_millis(50),
            max_ttl: Duration::from_secs(6 * 3600),
            seed: 1,
        }
    }
}

impl PushDelivery {
    /// The defaults with `delay` before every notification.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The defaults with notifications dropped at `rate` (`0.0..=1.0`).
    pub fn with_drop_rate(mut self, rate: f64) -> Self {
        self.drop_rate = rate.clamp(0.0, 1.0);
        self
    }

    /// With `attempts` attempts per notification (at least 1) and `backoff` before the second.
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.max_attempts = attempts.max(1);
        self.retry_backoff = backoff;
        self
    }
}

/// A channel opened with `users.watch`, as the emulator keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchChannel {
    /// The id the client chose.
    pub id: String,
    /// The opaque resource id the emulator answered.
    pub resource_id: String,
    /// Where notifications go.
    pub address: String,
    /// When it stops delivering.
    pub expiration: DateTime<Utc>,
    /// The `event=` filter, if any (`add`, `update`, `delete`, ...).
    pub event: Option<String>,
    /// The `domain=` it watches (lower case), if any: it hears only that domain's users.
    /// `None` when opened with `customer=` (every user of the customer).
    pub domain: Option<String>,
    /// Whether `channels.stop` stopped it.
    pub stopped: bool,
    /// Messages numbered so far (the `sync` handshake is number 1).
    pub messages: u64,
}

/// What became of one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Answered 2xx (this status) on the last attempt.
    Delivered(u16),
    /// Lost on purpose ([`PushDelivery::drop_rate`]).
    Dropped,
    /// Every attempt failed; the last status (0 for a connection error).
    Failed(u16),
    /// The channel expired or was stopped before it could be delivered.
    ChannelGone,
}

/// One notification the emulator sent (or meant to), in the order they were finished.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notification {
    /// `X-Goog-Channel-ID`.
    pub channel_id: String,
    /// `X-Goog-Message-Number`.
    pub message_number: u64,
    /// `X-Goog-Resource-State`: `sync`, `add`, `update` or `delete`.
    pub state: String,
    /// The user's id (empty for `sync`).
    pub user_id: String,
    /// Attempts made.
    pub attempts: u32,
    /// What became of it.
    pub outcome: Outcome,
}
