//! The bound on requests in flight adapts (issue 21, point 1's "fewer on 429/503"): against a
//! front end that sheds load past four requests in flight, a connector allowed 32 settles near
//! four instead of drawing refusals in every round, reads everything, and goes back up once
//! the load is gone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use dirsync_google::GoogleConnector;
use dirsync_google::config::RetryConfig;
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec};

/// A connector allowed 32 in flight, unpaced, whose retries wait 5-80 ms.
fn connector(emu: &RunningEmulator) -> GoogleConnector {
    support::builder(emu)
        .requests_per_minute(0)
        .concurrency(32)
        .retry(
            RetryConfig::default()
                .with_max_retries(12)
                .with_delays(Duration::from_millis(5), Duration::from_millis(80))
                .with_max_jitter(Duration::from_millis(10)),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn fewer_requests_in_flight_while_google_sheds_load_and_more_once_it_stops() {
    // About 300 listings: the org units, users, deleted users, groups, and 300 groups' members.
    let spec = TenantSpec {
        groups: 300,
        memberships: 3_000,
        ..TenantSpec::sized(29, 600)
    };
    let emu = Emulator::start(EmulatorConfig::new(spec)).await.unwrap();
    emu.set_latency(Duration::from_millis(5));
    let expected = support::read_all(&support::connector(&emu, 0))
        .await
        .snapshot;

    let connector = connector(&emu);
    emu.set_max_in_flight(Some(4));
    emu.reset_stats();
    let shed = support::read_all(&connector).await;
    let stats = emu.stats();
    assert_eq!(shed.snapshot.users().len(), expected.users().len());
    assert_eq!(shed.snapshot.groups().len(), expected.groups().len());
    assert_eq!(shed.snapshot.members().len(), expected.members().len());
    assert!(shed.snapshot.members().len() > 2_500);
    let refused = stats.overload_rejections;
    let answered = shed.stats.total_requests() - refused;
    assert!(answered > 250, "{answered} listings answered");
    assert_eq!(shed.stats.retries, refused, "every refusal is retried");
    // At a fixed 32 in flight, 28 of every 32 requests would be refused, round after round
    // (seven refusals an answer, and a retry budget spent before the read ends). Adapting:
    // the first rounds' cuts (32 → 16 → 8 → 4), then one refusal each time the bound probes
    // past four (after 2 + 3 + 4 calm answers), about one refusal for every nine answers.
    assert!(refused > 0, "the front end must have shed load");
    assert!(
        refused * 2 < answered,
        "{refused} refusals for {answered} answers: the bound did not come down"
    );

    // The load gone, the same connector's bound climbs back: more than four in flight again.
    emu.set_max_in_flight(None);
    emu.reset_stats();
    let calm = support::read_all(&connector).await;
    let stats = emu.stats();
    assert_eq!(calm.stats.retries, 0);
    assert_eq!(calm.snapshot.members().len(), expected.members().len());
    assert!(
        stats.max_in_flight > 4,
        "at most {} in flight after the load was gone",
        stats.max_in_flight
    );
    assert_eq!(stats.overload_rejections, 0);
}
