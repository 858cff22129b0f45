//! A request pacer: request starts spaced evenly at `N` a minute (no burst), shared by every
//! request of one client, so that a plan of thousands of writes stays under what the
//! application allows instead of being answered 429.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Spaces request starts `60 s / N` apart; `N = 0` is unpaced.
#[derive(Debug)]
pub(crate) struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// At most `per_minute` request starts a minute; `0`: unpaced.
    pub(crate) fn per_minute(per_minute: u32) -> Self {
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

    /// Waits for the next slot. The lock is held only to reserve it, never while sleeping.
    pub(crate) async fn acquire(&self) {
        if self.interval.is_zero() {
            return;
        }
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = next.filter(|slot| *slot > now).unwrap_or(now);
            *next = Some(at + self.interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn starts_are_spaced_and_idle_time_is_not_banked() {
        let pacer = Pacer::per_minute(600);
        let start = Instant::now();
        for _ in 0..4 {
            pacer.acquire().await;
        }
        // Four starts: at 0, 100, 200 and 300 ms.
        assert_eq!(Instant::now() - start, Duration::from_millis(300));
        tokio::time::sleep(Duration::from_secs(5)).await;
        let t = Instant::now();
        pacer.acquire().await;
        pacer.acquire().await;
        assert_eq!(Instant::now() - t, Duration::from_millis(100));
        let free = Pacer::per_minute(0);
        let t = Instant::now();
        for _ in 0..50 {
            free.acquire().await;
        }
        assert_eq!(Instant::now(), t);
    }
}
