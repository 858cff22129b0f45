//! Under Google's quota the pacer keeps every request under it (issue 21, point 4): a full read
//! paced to a quota draws no 403 or 429 from an emulator that enforces a quota above it.
//!
//! Google counts a minute; the emulator's window is shortened to one second here (and the
//! quota scaled with it) so that the read takes seconds, not minutes: the pacer spaces starts
//! evenly, so a second of its starts is a sixtieth of a minute's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use dirsync_google_emulator::{Emulator, EmulatorConfig, TenantSpec};

#[tokio::test]
async fn a_paced_full_read_draws_no_quota_refusal() {
    // Over a hundred requests (600 users, 120 groups, the all-staff group in 3 member pages):
    // nearly three seconds of the pacer's starts.
    let spec = TenantSpec {
        groups: 120,
        memberships: 1_500,
        ..TenantSpec::sized(23, 600)
    };
    let emu = Emulator::start(EmulatorConfig::new(spec)).await.unwrap();
    // 2,400 a minute paced (2,352 after the pacer's headroom: 39.2 a second), against 45 a
    // second enforced: the pacer's spacing must hold with every member listing in flight at
    // once. Unpaced, the same read draws dozens of refusals.
    emu.set_quota(Some(45), Duration::from_secs(1));
    emu.set_latency(Duration::from_millis(2));
    let connector = support::connector(&emu, 2_400);
    emu.reset_stats();
    let fetched = support::read_all(&connector).await;

    let stats = emu.stats();
    let api_calls = stats.requests_total - stats.requests("POST /token");
    assert!(
        api_calls > 45,
        "the read must outlast one window: {api_calls} calls"
    );
    assert_eq!(stats.quota_rejections, 0, "{:?}", stats.requests_by_route);
    assert_eq!(fetched.stats.retries, 0);
    assert_eq!(fetched.stats.total_requests(), api_calls);
}
