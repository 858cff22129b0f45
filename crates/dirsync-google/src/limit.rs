//! The bound on requests in flight, adapting to Google's answers as TCP's congestion window
//! does (additive increase, multiplicative decrease).
//!
//! It starts at the configured concurrency, which stays its ceiling. An answer that says
//! Google is shedding load or rate limiting (429, 503, or 403 with a rate-limit reason) halves
//! it, once per round: the answers to requests sent before that cut, which were sent at the
//! old bound, do not cut it again. Every `bound` answers that come back without one raise it by
//! one, up to the ceiling. A request that gets neither (another error, no answer at all) leaves
//! it alone.
//!
//! Lowering the bound cannot take back permits that are held: those are forgotten as they come
//! back, so the requests in flight fall to the new bound as they finish.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::Error;

/// How an answer bears on the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A success: one step towards one more in flight.
    Calm,
    /// Google shedding load or rate limiting: halve the bound.
    Throttled,
    /// Anything else (a client error, no answer): no step either way.
    Neutral,
}

impl Answer {
    /// How an answer with this HTTP status and Google `reason` bears on the bound.
    pub(crate) fn of(status: u16, reason: Option<&str>) -> Self {
        match status {
            200..=299 => Self::Calm,
            429 | 503 => Self::Throttled,
            403 if reason.is_some_and(|r| {
                matches!(
                    r,
                    "userRateLimitExceeded" | "rateLimitExceeded" | "quotaExceeded"
                )
            }) =>
            {
                Self::Throttled
            }
            _ => Self::Neutral,
        }
    }
}

/// The adaptive bound on requests in flight (see the module's documentation).
pub(crate) struct Limit {
    permits: Semaphore,
    ceiling: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The bound now: permits held plus available, once the owed ones are forgotten.
    bound: usize,
    /// Permits held beyond the bound, forgotten as they come back.
    owed: usize,
    /// Calm answers since the bound last moved.
    calm: usize,
    /// Bumped at each cut; a ticket remembers the round it was issued in.
    round: u64,
}

/// The right to send one request, given back when dropped.
pub(crate) struct Ticket<'a> {
    limit: &'a Limit,
    permit: Option<SemaphorePermit<'a>>,
    round: u64,
}

impl Limit {
    /// A bound of `ceiling` requests in flight, its highest.
    pub(crate) fn new(ceiling: usize) -> Self {
        Self {
            permits: Semaphore::new(ceiling),
            ceiling,
            state: Mutex::new(State {
                bound: ceiling,
                owed: 0,
                calm: 0,
                round: 0,
            }),
        }
    }

    /// The bound now.
    pub(crate) fn bound(&self) -> usize {
        self.state().bound
    }

    /// Waits for room under the bound.
    pub(crate) async fn acquire(&self) -> Result<Ticket<'_>, Error> {
        let permit = self.permits.acquire().await.map_err(|_| Error::Closed)?;
        Ok(Ticket {
            limit: self,
            permit: Some(permit),
            round: self.state().round,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is plain counters, each update whole: a panic elsewhere cannot leave it
        // half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn calm(&self) {
        let mut s = self.state();
        if s.bound >= self.ceiling {
            return;
        }
        s.calm += 1;
        if s.calm >= s.bound {
            s.calm = 0;
            s.bound += 1;
            if s.owed > 0 {
                s.owed -= 1;
            } else {
                self.permits.add_permits(1);
            }
            tracing::debug!(bound = s.bound, "one more request in flight");
        }
    }

    fn throttled(&self, round: u64) {
        let mut s = self.state();
        if round != s.round || s.bound == 1 {
            return;
        }
        let bound = s.bound / 2;
        let cut = s.bound - bound;
        let forgotten = self.permits.forget_permits(cut);
        s.owed += cut - forgotten;
        s.bound = bound;
        s.calm = 0;
        s.round += 1;
        tracing::info!(
            bound,
            ceiling = self.ceiling,
            "Google is shedding load or rate limiting: fewer requests in flight"
        );
    }
}

impl Ticket<'_> {
    /// Tells the bound how the request was answered.
    pub(crate) fn answered(&self, answer: Answer) {
        match answer {
            Answer::Calm => self.limit.calm(),
            Answer::Throttled => self.limit.throttled(self.round),
            Answer::Neutral => {}
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let mut s = self.limit.state();
        if s.owed > 0 {
            s.owed -= 1;
            permit.forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_flight(limit: &Limit, n: usize) -> Vec<Ticket<'_>> {
        (0..n)
            .map(|_| {
                futures::FutureExt::now_or_never(limit.acquire())
                    .expect("room under the bound")
                    .expect("open")
            })
            .collect()
    }

    #[test]
    fn answers_are_read_as_google_means_them() {
        assert_eq!(Answer::of(200, None), Answer::Calm);
        assert_eq!(Answer::of(204, None), Answer::Calm);
        assert_eq!(
            Answer::of(429, Some("rateLimitExceeded")),
            Answer::Throttled
        );
        assert_eq!(Answer::of(503, Some("backendError")), Answer::Throttled);
        assert_eq!(Answer::of(503, None), Answer::Throttled);
        for reason in [
            "userRateLimitExceeded",
            "rateLimitExceeded",
            "quotaExceeded",
        ] {
            assert_eq!(Answer::of(403, Some(reason)), Answer::Throttled, "{reason}");
        }
        assert_eq!(Answer::of(403, Some("forbidden")), Answer::Neutral);
        assert_eq!(Answer::of(403, None), Answer::Neutral);
        assert_eq!(Answer::of(404, Some("notFound")), Answer::Neutral);
        assert_eq!(Answer::of(500, Some("backendError")), Answer::Neutral);
        assert_eq!(Answer::of(502, None), Answer::Neutral);
    }

    #[test]
    fn a_throttle_halves_the_bound_once_a_round_and_held_permits_drain_to_it() {
        let limit = Limit::new(8);
        let tickets = in_flight(&limit, 8);
        assert!(futures::FutureExt::now_or_never(limit.acquire()).is_none());
        // Every request of the round is refused: one cut, not eight.
        for t in &tickets {
            t.answered(Answer::Throttled);
        }
        assert_eq!(limit.bound(), 4);
        drop(tickets);
        // Four came back as owed and were forgotten: four may be in flight, not five.
        let tickets = in_flight(&limit, 4);
        assert!(futures::FutureExt::now_or_never(limit.acquire()).is_none());
        // A refusal of the new round cuts again.
        tickets[0].answered(Answer::Throttled);
        tickets[1].answered(Answer::Throttled);
        assert_eq!(limit.bound(), 2);
        drop(tickets);
        let tickets = in_flight(&limit, 2);
        assert!(futures::FutureExt::now_or_never(limit.acquire()).is_none());
        drop(tickets);
        // Never below one.
        let t = in_flight(&limit, 1);
        t[0].answered(Answer::Throttled);
        drop(t);
        let t = in_flight(&limit, 1);
        t[0].answered(Answer::Throttled);
        assert_eq!(limit.bound(), 1);
        drop(t);
        let _one = in_flight(&limit, 1);
        assert!(futures::FutureExt::now_or_never(limit.acquire()).is_none());
    }

    #[test]
    fn calm_answers_raise_the_bound_one_a_round_up_to_its_ceiling() {
        let limit = Limit::new(4);
        in_flight(&limit, 1)[0].answered(Answer::Throttled);
        assert_eq!(limit.bound(), 2);
        // Two calm answers at a bound of two: three.
        let t = in_flight(&limit, 2);
        t[0].answered(Answer::Calm);
        assert_eq!(limit.bound(), 2);
        t[1].answered(Answer::Calm);
        assert_eq!(limit.bound(), 3);
        // The new permit is free at once, beside the two held.
        let more = in_flight(&limit, 1);
        assert!(futures::FutureExt::now_or_never(limit.acquire()).is_none());
        drop((t, more));
        // Neutral answers are no step.
        for _ in 0..10 {
            in_flight(&limit, 1)[0].answered(Answer::Neutral);
        }
        assert_eq!(limit.bound(), 3);
        for _ in 0..100 {
            in_flight(&limit, 1)[0].answered(Answer::Calm);
        }
        assert_eq!(limit.bound(), 4, "never past the configured concurrency");
        let _all = in_flight(&limit, 4);
        assert!(futures::FutureExt::now_or_never(limit.acquire()).is_none());
    }

    #[test]
    fn a_raise_while_permits_are_owed_settles_the_debt_instead() {
        let limit = Limit::new(4);
        let tickets = in_flight(&limit, 4);
        tickets[0].answered(Answer::Throttled);
        assert_eq!(limit.bound(), 2);
        // Two calm answers before any permit came back: the bound is three, one permit owed.
        tickets[1].answered(Answer::Calm);
        tickets[2].answered(Answer::Calm);
        assert_eq!(limit.bound(), 3);
        drop(tickets);
        let _three = in_flight(&limit, 3);
        assert!(futures::FutureExt::now_or_never(limit.acquire()).is_none());
    }
}
