//! Under Google's quota the count of calls is the time (issue 21, point 4): a full read with the
//! connector's default concurrency sends exactly the call floor of DESIGN §9, and lists no
//! member page of an empty group.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use dirsync_google::GoogleConnectorBuilder;
use dirsync_google_emulator::{Emulator, EmulatorConfig, TenantSpec};

const MEMBERS_ROUTE: &str = "GET /admin/directory/v1/groups/{group_key}/members";

#[tokio::test]
async fn a_full_read_with_the_default_concurrency_sends_the_call_floor() {
    // 1,200 users: the all-staff group alone takes 6 member pages, the users 3, the groups 1;
    // some groups are empty.
    let spec = TenantSpec {
        groups: 250,
        memberships: 4_000,
        empty_group_ratio: 0.2,
        ..TenantSpec::sized(21, 1_200)
    };
    let emu = Emulator::start(EmulatorConfig::new(spec)).await.unwrap();
    let t = emu.tenant();
    let pages = |n: usize, per: usize| n.div_ceil(per).max(1) as u64;
    let member_pages: Vec<u64> = t
        .groups()
        .iter()
        .map(|g| g.members.len())
        .filter(|&n| n > 0)
        .map(|n| pages(n, 200))
        .collect();
    let empty = t.groups().len() - member_pages.len();
    let deleted = t.users().iter().filter(|u| u.is_deleted()).count();
    let floor = 1
        + pages(t.live_users().count(), 500)
        + pages(deleted, 500)
        + pages(t.groups().len(), 200)
        + member_pages.iter().sum::<u64>();
    assert!(empty > 0, "the tenant must have empty groups to skip");
    assert!(
        member_pages.iter().any(|&p| p > 1),
        "and a multi-page group"
    );

    let connector = support::connector(&emu, 0);
    emu.reset_stats();
    let fetched = support::read_all(&connector).await;

    let stats = emu.stats();
    let api_calls = stats.requests_total - stats.requests("POST /token");
    assert_eq!(api_calls, floor, "{:?}", stats.requests_by_route);
    assert_eq!(fetched.stats.total_requests(), floor);
    assert_eq!(
        stats.requests(MEMBERS_ROUTE),
        member_pages.iter().sum::<u64>(),
        "a member listing per page of a non-empty group, none for the {empty} empty ones"
    );
    assert_eq!(fetched.stats.retries, 0);
    // Many listings were in flight at once, within the default bound.
    assert!(fetched.stats.max_in_flight > 1);
    assert!(fetched.stats.max_in_flight as usize <= GoogleConnectorBuilder::DEFAULT_CONCURRENCY);
}
