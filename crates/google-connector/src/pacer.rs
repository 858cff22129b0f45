//! Client-side pacing: keeps one subject's requests under Google's per-user quota (2,400 a
//! minute by default) instead of tripping `userRateLimitExceeded`.
//!
//! The pacer hands out start times spaced `60 s / N` apart (a GCRA-style limiter with no
//! burst): in any 60-second window at most `N + 1` requests start. It is shared by every task of
//! one connector (one subject), so concurrent member listings draw from the same budget.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A per-subject request pacer. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer allowing `per_minute` request starts a minute; `0` means unpaced.
    pub fn per_minute(per_minute: u32) -> Self {
        let interval = if per_minute == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(60) / per_minute
        };
        Self {
            interval,
            next: Mutex::new(None),
        }
    }

    /// The spacing between two request starts.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits until the next request may start. The lock is held only to reserve a slot, never
    /// while sleeping, so waiters are served in reservation order.
    pub async fn acquire(&self) {
        if self.interval.is_zero() {
            return;
        }
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = match *next {
                Some(slot) if slot > now => slot,
                _ => now,
            };
            *next = Some(at + self.interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_to_stay_under_the_quota() {
        let pacer = Arc::new(Pacer::per_minute(2_400));
        assert_eq!(pacer.interval(), Duration::from_millis(25));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let p = Arc::clone(&pacer);
            tasks.push(tokio::spawn(async move {
                p.acquire().await;
                Instant::now()
            }));
        }
        let mut starts = Vec::new();
        for t in tasks {
            starts.push(t.await.unwrap() - start);
        }
        starts.sort();
        let ms: Vec<u128> = starts.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![0, 25, 50, 75, 100]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_minute_holds_at_most_the_quota() {
        let pacer = Pacer::per_minute(60);
        let start = Instant::now();
        let mut count = 0;
        while Instant::now() - start < Duration::from_secs(60) {
            pacer.acquire().await;
            if Instant::now() - start < Duration::from_secs(60) {
                count += 1;
            }
        }
        assert!(count <= 61, "{count}");
        assert!(count >= 59, "{count}");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_is_not_banked_and_zero_means_unpaced() {
        let pacer = Pacer::per_minute(600);
        pacer.acquire().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let t = Instant::now();
        pacer.acquire().await;
        pacer.acquire().await;
        assert_eq!(Instant::now() - t, Duration::from_millis(100));
        let free = Pacer::per_minute(0);
        let t = Instant::now();
        for _ in 0..100 {
            free.acquire().await;
        }
        assert_eq!(Instant::now(), t);
    }
}
