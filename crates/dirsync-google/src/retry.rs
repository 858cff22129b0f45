//! The retry decision: a pure function of the response (status, Google's `reason`), the attempt
//! number and the [`RetryConfig`], with an injectable random source for the jitter.
//!
//! Retried (reference §4.2–§4.4): `userRateLimitExceeded`, `quotaExceeded`, `rateLimitExceeded`,
//! `backendError`, `internalError`, `badGateway`, `gatewayTimeout` (and the newer envelope
//! statuses `RESOURCE_EXHAUSTED`, `UNAVAILABLE`, `INTERNAL`, `DEADLINE_EXCEEDED`), any 429,
//! 408 or 5xx, and transport failures (timeouts, connection errors: no status). Never retried:
//! 400, 403 with any other reason (`forbidden`, `insufficientPermissions`, ...), 404, 409.
//! 401 is not decided here: the client drops its token and retries exactly once.

use std::time::Duration;

use rand::Rng;

use crate::config::RetryConfig;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Stop and report the failure.
    GiveUp,
}

/// Google `reason`s (and envelope `status`es) that signal a transient condition.
const TRANSIENT_REASONS: &[&str] = &[
    "userRateLimitExceeded",
    "quotaExceeded",
    "rateLimitExceeded",
    "backendError",
    "internalError",
    "badGateway",
    "gatewayTimeout",
    "RESOURCE_EXHAUSTED",
    "UNAVAILABLE",
    "INTERNAL",
    "DEADLINE_EXCEEDED",
];

/// Whether a failure with this status (`None`: no response — a timeout or connection error) and
/// reason is transient.
pub fn is_transient(status: Option<u16>, reason: Option<&str>) -> bool {
    if reason.is_some_and(|r| TRANSIENT_REASONS.contains(&r)) {
        return true;
    }
    match status {
        None => true,
        Some(s) => s == 408 || s == 429 || s >= 500,
    }
}

/// Decides whether attempt number `attempt` (0 for the first retry) should happen, and after
/// how long: `min(max_delay, base_delay · 2^attempt)` plus a uniform jitter in
/// `[0, max_jitter]`.
pub fn decide<R: Rng + ?Sized>(
    status: Option<u16>,
    reason: Option<&str>,
    attempt: u32,
    cfg: &RetryConfig,
    rng: &mut R,
) -> Decision {
    if attempt >= cfg.max_retries || !is_transient(status, reason) {
        return Decision::GiveUp;
    }
    let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
    let backoff = cfg
        .base_delay
        .checked_mul(factor)
        .unwrap_or(cfg.max_delay)
        .min(cfg.max_delay);
    let jitter_ms = u64::try_from(cfg.max_jitter.as_millis()).unwrap_or(u64::MAX);
    let jitter = if jitter_ms == 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(rng.random_range(0..=jitter_ms))
    };
    Decision::Retry(backoff + jitter)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn no_jitter() -> RetryConfig {
        RetryConfig {
            max_jitter: Duration::ZERO,
            ..RetryConfig::default()
        }
    }

    #[test]
    fn every_retry_decision_in_a_table() {
        let cfg = no_jitter();
        let mut rng = StdRng::seed_from_u64(7);
        let s = Duration::from_secs;
        #[rustfmt::skip]
        let table: &[(Option<u16>, Option<&str>, u32, Decision)] = &[
            // Rate limits and quota: retried on the reason, whatever the status.
            (Some(403), Some("userRateLimitExceeded"), 0, Decision::Retry(s(1))),
            (Some(403), Some("quotaExceeded"), 1, Decision::Retry(s(2))),
            (Some(429), Some("rateLimitExceeded"), 2, Decision::Retry(s(4))),
            (Some(429), None, 3, Decision::Retry(s(8))),
            (Some(429), Some("RESOURCE_EXHAUSTED"), 4, Decision::Retry(s(16))),
            // Server errors, with or without a reason, and non-JSON bodies.
            (Some(500), Some("backendError"), 0, Decision::Retry(s(1))),
            (Some(500), Some("internalError"), 0, Decision::Retry(s(1))),
            (Some(502), Some("badGateway"), 0, Decision::Retry(s(1))),
            (Some(503), None, 0, Decision::Retry(s(1))),
            (Some(504), Some("gatewayTimeout"), 0, Decision::Retry(s(1))),
            (Some(503), Some("UNAVAILABLE"), 0, Decision::Retry(s(1))),
            (Some(408), None, 0, Decision::Retry(s(1))),
            // Timeouts and connection errors: no status at all.
            (None, None, 0, Decision::Retry(s(1))),
            (None, None, 1, Decision::Retry(s(2))),
            // Permanent: never retried.
            (Some(400), Some("invalid"), 0, Decision::GiveUp),
            (Some(400), Some("required"), 0, Decision::GiveUp),
            (Some(400), None, 0, Decision::GiveUp),
            (Some(401), Some("authError"), 0, Decision::GiveUp),
            (Some(403), Some("forbidden"), 0, Decision::GiveUp),
            (Some(403), Some("insufficientPermissions"), 0, Decision::GiveUp),
            (Some(403), Some("accessNotConfigured"), 0, Decision::GiveUp),
            (Some(403), Some("PERMISSION_DENIED"), 0, Decision::GiveUp),
            (Some(403), None, 0, Decision::GiveUp),
            (Some(404), Some("notFound"), 0, Decision::GiveUp),
            (Some(409), Some("duplicate"), 0, Decision::GiveUp),
            (Some(412), Some("conditionNotMet"), 0, Decision::GiveUp),
            // Exhausted: the 6th attempt is not made (max_retries = 5).
            (Some(503), Some("backendError"), 5, Decision::GiveUp),
            (Some(403), Some("userRateLimitExceeded"), 9, Decision::GiveUp),
            (None, None, 5, Decision::GiveUp),
        ];
        for (status, reason, attempt, want) in table {
            let got = decide(*status, *reason, *attempt, &cfg, &mut rng);
            assert_eq!(
                got, *want,
                "status {status:?} reason {reason:?} attempt {attempt}"
            );
        }
    }

    #[test]
    fn waits_are_capped_and_jittered_within_bounds() {
        let cfg = RetryConfig {
            max_retries: 40,
            ..RetryConfig::default()
        };
        let mut rng = StdRng::seed_from_u64(1);
        for attempt in 0..40 {
            let Decision::Retry(d) = decide(Some(503), None, attempt, &cfg, &mut rng) else {
                panic!("attempt {attempt} should retry");
            };
            let base = cfg.base_delay * 2u32.pow(attempt.min(5));
            let base = base.min(cfg.max_delay);
            assert!(d >= base && d <= base + cfg.max_jitter, "{attempt}: {d:?}");
        }
    }

    #[test]
    fn no_retries_when_disabled() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            decide(Some(503), None, 0, &RetryConfig::none(), &mut rng),
            Decision::GiveUp
        );
    }
}
