//! Wire tests of the connector's reads against `mockito` on 127.0.0.1: exact requests,
//! pagination to the last page, rule scopes, retries, error mapping and a 401's fresh token.
//! The key's path (token exchanges, the access check, secrets) is in `key_access.rs`.

// Test helpers may unwrap, as `clippy.toml` allows in `#[test]` functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mockapi;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dirsync_core::{
    DirectorySource, Email, FetchProgress, ObjectKind, OrgUnitPath, Scope, ScopeFilter,
};
use dirsync_google::{GoogleConnector, RetryConfig, StaticTokenSource, scopes as google_scopes};
use mockito::{Matcher, Mock, Server, ServerGuard};

use mockapi::*;

const USERS: &str = include_str!("fixtures/users-page.json");
const GROUPS: &str = include_str!("fixtures/groups-page.json");
const MEMBERS: &str = include_str!("fixtures/members-page.json");
const ORGUNITS: &str = include_str!("fixtures/orgunits.json");

const USERS_TOKEN_2: &str =
    "Cj0KOwoJZW1haWxfa2V5EiESHxIdY2hhcmxlcy5iYWJiYWdlQGV4YW1wbGUuY29tIhBleGFtcGxlLmNvbRoA";
const GROUPS_TOKEN_2: &str = "CiJ0b2tlbl9mb3JfcGFnZV8yX29mX2dyb3Vwc19saXN0";
const MEMBERS_TOKEN_2: &str = "CiBtZW1iZXJzX3BhZ2VfdG9rZW5fcGFnZV8y";

#[derive(Default)]
struct Count(AtomicUsize);

impl FetchProgress for Count {
    fn page(&self, _kind: ObjectKind, items: usize) {
        self.0.fetch_add(items, Ordering::Relaxed);
    }
}

fn gzip(body: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body.as_bytes()).unwrap();
    e.finish().unwrap()
}

/// All listings of a small tenant, every page chain two or three pages long.
async fn tenant(server: &mut ServerGuard, token: &str) -> Vec<Mock> {
    let mut mocks = Vec::new();
    // Org units, gzip-compressed on the wire.
    mocks.push(
        server
            .mock("GET", "/admin/directory/v1/customer/my_customer/orgunits")
            .match_query(Matcher::Any)
            .match_request(exact_query(&[
                ("type", "all"),
                ("fields", ORGUNIT_FIELDS),
                ("prettyPrint", "false"),
            ]))
            .match_header("authorization", format!("Bearer {token}").as_str())
            .match_header("accept-encoding", Matcher::Regex("gzip".into()))
            .with_header("content-encoding", "gzip")
            .with_header("content-type", "application/json")
            .with_body(gzip(ORGUNITS))
            .expect(1)
            .create_async()
            .await,
    );
    let users2 = r#"{"users":[{"id":"3","primaryEmail":"grace@example.com","orgUnitPath":"/Sales",
        "organizations":[{"primary":true,"description":"Contractor"}]}],"nextPageToken":"p3"}"#;
    let users3 = r#"{"kind":"admin#directory#users","nextPageToken":""}"#;
    mocks.push(
        get(
            server,
            "/admin/directory/v1/users",
            &users_query(None),
            token,
            USERS,
        )
        .await,
    );
    mocks.push(
        get(
            server,
            "/admin/directory/v1/users",
            &users_query(Some(USERS_TOKEN_2)),
            token,
            users2,
        )
        .await,
    );
    mocks.push(
        get(
            server,
            "/admin/directory/v1/users",
            &users_query(Some("p3")),
            token,
            users3,
        )
        .await,
    );
    let deleted = r#"{"users":[{"id":"999","primaryEmail":"gone@example.com","deletionTime":"2026-11-01T00:00:00.000Z","orgUnitPath":"/Sales"}]}"#;
    mocks.push(
        get(
            server,
            "/admin/directory/v1/users",
            &deleted_query(),
            token,
            deleted,
        )
        .await,
    );
    let groups2 = r#"{"groups":[{"id":"0empty","email":"empty@example.com","name":"Empty","directMembersCount":"0"}]}"#;
    mocks.push(
        get(
            server,
            "/admin/directory/v1/groups",
            &groups_query(None),
            token,
            GROUPS,
        )
        .await,
    );
    mocks.push(
        get(
            server,
            "/admin/directory/v1/groups",
            &groups_query(Some(GROUPS_TOKEN_2)),
            token,
            groups2,
        )
        .await,
    );
    let eng = "/admin/directory/v1/groups/03x8tuzt3hqdv5t/members";
    mocks.push(get(server, eng, &members_query(None), token, MEMBERS).await);
    mocks.push(
        get(
            server,
            eng,
            &members_query(Some(MEMBERS_TOKEN_2)),
            token,
            r#"{"members":[]}"#,
        )
        .await,
    );
    let analytics = r#"{"members":[{"id":"108234567890123456789","email":"ada.lovelace@example.com","role":"MEMBER","type":"USER"},
        {"id":"1","type":"ROBOT"}]}"#;
    mocks.push(
        get(
            server,
            "/admin/directory/v1/groups/01ljsd9m3o2e4kx/members",
            &members_query(None),
            token,
            analytics,
        )
        .await,
    );
    mocks
}

#[tokio::test]
async fn fetch_sends_exact_requests_and_follows_every_chain_to_its_last_page() {
    let mut server = Server::new_async().await;
    let mocks = tenant(&mut server, "tok-1").await;
    let never = server
        .mock("GET", "/admin/directory/v1/groups/0empty/members")
        .expect(0)
        .create_async()
        .await;
    let tokens = Arc::new(StaticTokenSource::new(["tok-1"]));
    let connector = builder(&server, tokens).concurrency(2).build().unwrap();
    let source: Arc<dyn DirectorySource> = Arc::new(connector);
    let progress = Count::default();
    let fetched = source
        .fetch(
            &kinds(&[
                ObjectKind::OrgUnits,
                ObjectKind::Users,
                ObjectKind::Groups,
                ObjectKind::Memberships,
            ]),
            &progress,
        )
        .await
        .unwrap();
    for m in &mocks {
        m.assert_async().await;
    }
    never.assert_async().await;

    let s = &fetched.snapshot;
    let emails: BTreeSet<&str> = s.users().iter().map(|u| u.primary_email.as_str()).collect();
    assert_eq!(
        emails,
        BTreeSet::from([
            "ada.lovelace@example.com",
            "charles.babbage@example.com",
            "grace@example.com"
        ])
    );
    assert_eq!(s.deleted_users().len(), 1);
    assert_eq!(s.groups().len(), 3);
    assert_eq!(s.org_units().len(), 2);
    // 4 of engineering + 1 of analytics; the ROBOT member is quarantined, not dropped silently.
    assert_eq!(s.members().len(), 5);
    assert_eq!(s.quarantined().len(), 1);
    assert!(s.quarantined()[0].reason.contains("ROBOT"));
    assert_eq!(s.completeness().empty_groups_skipped, 1);
    assert_eq!(s.completeness().pages.get("users"), Some(&3));
    assert_eq!(s.completeness().pages.get("members"), Some(&3));
    assert_eq!(progress.0.load(Ordering::Relaxed), 3 + 3 + 2 + 5);

    let st = &fetched.stats;
    let want: BTreeMap<String, u64> = [
        ("GET /admin/directory/v1/customer/{customerId}/orgunits", 1),
        ("GET /admin/directory/v1/groups", 2),
        ("GET /admin/directory/v1/groups/{groupKey}/members", 3),
        ("GET /admin/directory/v1/users", 4),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(st.requests, want);
    assert_eq!(st.retries, 0);
    assert!(
        st.bytes > ORGUNITS.len() as u64,
        "bytes are counted after decompression"
    );
    assert!(
        st.max_in_flight >= 1 && st.max_in_flight <= 2,
        "{}",
        st.max_in_flight
    );
}

#[tokio::test]
async fn rule_scopes_keep_the_org_unit_subtree_and_the_allowed_groups() {
    let mut server = Server::new_async().await;
    let _mocks = tenant(&mut server, "t").await;
    // A short allow-list is read with groups.get, not by listing every group.
    let one_group = get(
        &mut server,
        "/admin/directory/v1/groups/Analytics%40example.com",
        &[
            ("fields", "id,email,name,description,directMembersCount"),
            ("prettyPrint", "false"),
        ],
        "t",
        r#"{"id":"01ljsd9m3o2e4kx","email":"analytics@example.com","name":"Analytics","directMembersCount":"3"}"#,
    )
    .await;
    let connector = builder(&server, Arc::new(StaticTokenSource::new(["t"])))
        .build()
        .unwrap();
    let mut request = kinds(&[
        ObjectKind::OrgUnits,
        ObjectKind::Users,
        ObjectKind::Groups,
        ObjectKind::Memberships,
    ]);
    request.filter = ScopeFilter::everything()
        .with_org_unit(OrgUnitPath::new("/Engineering").unwrap())
        .with_groups([Email::new("Analytics@example.com").unwrap()]);
    let fetched = connector
        .fetch(&request, &dirsync_core::NoProgress)
        .await
        .unwrap();
    let s = fetched.snapshot;
    let emails: Vec<&str> = s.users().iter().map(|u| u.primary_email.as_str()).collect();
    assert_eq!(emails, vec!["ada.lovelace@example.com"]);
    assert_eq!(s.org_units().len(), 2);
    assert!(
        s.deleted_users().is_empty(),
        "the deleted user was in /Sales"
    );
    let groups: Vec<&str> = s.groups().iter().map(|g| g.email.as_str()).collect();
    assert_eq!(groups, vec!["analytics@example.com"]);
    assert_eq!(s.members().len(), 1);
    one_group.assert_async().await;
    let routes: Vec<&str> = fetched.stats.requests.keys().map(String::as_str).collect();
    assert!(
        !routes.contains(&"GET /admin/directory/v1/groups"),
        "{routes:?}"
    );
    assert_eq!(
        fetched.stats.requests["GET /admin/directory/v1/groups/{groupKey}/members"], 1,
        "only the allowed group's members"
    );
}

#[tokio::test]
async fn a_page_that_keeps_failing_fails_the_whole_fetch() {
    let mut server = Server::new_async().await;
    let _first = get(
        &mut server,
        "/admin/directory/v1/users",
        &users_query(None),
        "t",
        USERS,
    )
    .await;
    let failing = server
        .mock("GET", "/admin/directory/v1/users")
        .match_query(Matcher::Any)
        .match_request(exact_query(&users_query(Some(USERS_TOKEN_2))))
        .with_status(503)
        .with_body(api_error(503, "backendError"))
        .expect(4)
        .create_async()
        .await;
    let connector = builder(&server, Arc::new(StaticTokenSource::new(["t"])))
        .build()
        .unwrap();
    let err = connector
        .fetch(&kinds(&[ObjectKind::Users]), &dirsync_core::NoProgress)
        .await
        .unwrap_err();
    failing.assert_async().await;
    match err {
        dirsync_core::Error::Remote {
            route,
            status,
            reason,
            transient,
            ..
        } => {
            assert_eq!(route, "GET /admin/directory/v1/users");
            assert_eq!(status, Some(503));
            assert_eq!(reason.as_deref(), Some("backendError"));
            assert!(transient);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn transient_failures_are_retried_then_succeed() {
    let mut server = Server::new_async().await;
    let path = "/admin/directory/v1/groups";
    let mut mocks = Vec::new();
    for (status, body) in [
        (503, api_error(503, "backendError")),
        (429, api_error(429, "rateLimitExceeded")),
        (403, api_error(403, "userRateLimitExceeded")),
        (403, api_error(403, "quotaExceeded")),
    ] {
        mocks.push(
            server
                .mock("GET", path)
                .match_query(Matcher::Any)
                .match_request(exact_query(&groups_query(None)))
                .with_status(status)
                .with_body(body)
                .expect(1)
                .create_async()
                .await,
        );
    }
    mocks.push(
        get(
            &mut server,
            path,
            &groups_query(None),
            "t",
            r#"{"groups":[]}"#,
        )
        .await,
    );
    let connector = builder(&server, Arc::new(StaticTokenSource::new(["t"])))
        .retry(RetryConfig::immediate(5))
        .build()
        .unwrap();
    let fetched = connector
        .fetch(&kinds(&[ObjectKind::Groups]), &dirsync_core::NoProgress)
        .await
        .unwrap();
    for m in &mocks {
        m.assert_async().await;
    }
    assert_eq!(fetched.stats.retries, 4);
    assert_eq!(fetched.stats.total_requests(), 5);
    // By route and status: the answers, and the retries each error answer caused.
    let route = "GET /admin/directory/v1/groups";
    let by = |pairs: &[(&str, u64)]| -> std::collections::BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    };
    assert_eq!(
        fetched.stats.responses[route],
        by(&[("200", 1), ("403", 2), ("429", 1), ("503", 1)])
    );
    assert_eq!(
        fetched.stats.retries_by[route],
        by(&[("403", 2), ("429", 1), ("503", 1)])
    );
}

#[tokio::test]
async fn permanent_errors_are_not_retried_and_map_to_the_right_core_error() {
    let user_scope = Scope::new(google_scopes::USER_READONLY).unwrap();
    for (status, reason) in [
        (403u16, "forbidden"),
        (404, "notFound"),
        (400, "invalid"),
        (403, "insufficientPermissions"),
    ] {
        let mut server = Server::new_async().await;
        let m = server
            .mock("GET", "/admin/directory/v1/users")
            .match_query(Matcher::Any)
            .with_status(usize::from(status))
            .with_body(api_error(status, reason))
            .expect(1)
            .create_async()
            .await;
        let connector = builder(&server, Arc::new(StaticTokenSource::new(["t"])))
            .build()
            .unwrap();
        let err = connector
            .fetch(&kinds(&[ObjectKind::Users]), &dirsync_core::NoProgress)
            .await
            .unwrap_err();
        m.assert_async().await;
        match (reason, err) {
            (
                "forbidden",
                dirsync_core::Error::Access(dirsync_core::AccessDenied::Unauthorized { reason }),
            ) => {
                assert!(
                    reason.contains("403") && reason.contains("forbidden"),
                    "{reason}"
                )
            }
            (
                "insufficientPermissions",
                dirsync_core::Error::Access(dirsync_core::AccessDenied::MissingScopes { scopes }),
            ) => {
                assert_eq!(scopes, vec![user_scope.clone()])
            }
            (
                r,
                dirsync_core::Error::Remote {
                    status: s,
                    reason: Some(got),
                    transient: false,
                    ..
                },
            ) => {
                assert_eq!((s, got.as_str()), (Some(status), r))
            }
            (r, other) => panic!("{r}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_401_drops_the_token_and_retries_exactly_once() {
    let mut server = Server::new_async().await;
    let stale = server
        .mock("GET", "/admin/directory/v1/groups")
        .match_header("authorization", "Bearer old")
        .match_query(Matcher::Any)
        .with_status(401)
        .with_body(api_error(401, "authError"))
        .expect(1)
        .create_async()
        .await;
    let fresh = get(
        &mut server,
        "/admin/directory/v1/groups",
        &groups_query(None),
        "new",
        "{}",
    )
    .await;
    let tokens = Arc::new(StaticTokenSource::new(["old", "new"]));
    let connector = builder(&server, Arc::clone(&tokens) as _).build().unwrap();
    connector
        .fetch(&kinds(&[ObjectKind::Groups]), &dirsync_core::NoProgress)
        .await
        .unwrap();
    stale.assert_async().await;
    fresh.assert_async().await;
    assert_eq!(tokens.invalidated(), 1);

    // A second 401 with the fresh token is final: Unauthorized, two requests in all.
    let mut server = Server::new_async().await;
    let always = server
        .mock("GET", "/admin/directory/v1/groups")
        .match_query(Matcher::Any)
        .with_status(401)
        .with_body(api_error(401, "authError"))
        .expect(2)
        .create_async()
        .await;
    let tokens = Arc::new(StaticTokenSource::new([
        "old-secret-token",
        "new-secret-token",
    ]));
    let connector = builder(&server, Arc::clone(&tokens) as _).build().unwrap();
    let err = connector
        .fetch(&kinds(&[ObjectKind::Groups]), &dirsync_core::NoProgress)
        .await
        .unwrap_err();
    always.assert_async().await;
    assert!(
        matches!(
            err,
            dirsync_core::Error::Access(dirsync_core::AccessDenied::Unauthorized { .. })
        ),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("secret-token"));
}

// ---- service-account key, gcp_auth and validate_access ----

#[tokio::test]
async fn connection_errors_are_retried_then_reported_as_transient() {
    // Nothing listens on port 1 of loopback: every attempt is refused.
    let connector = GoogleConnector::builder()
        .api_base("http://127.0.0.1:1")
        .subject(Email::new(ADMIN).unwrap())
        .token_source(Arc::new(StaticTokenSource::new(["t"])))
        .requests_per_minute(0)
        .retry(RetryConfig::immediate(2))
        .build()
        .unwrap();
    match connector
        .fetch(&kinds(&[ObjectKind::Groups]), &dirsync_core::NoProgress)
        .await
    {
        Err(dirsync_core::Error::Remote {
            route,
            status: None,
            transient: true,
            message,
            ..
        }) => {
            assert_eq!(route, "GET /admin/directory/v1/groups");
            assert!(message.starts_with("connection failed"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_page_token_loop_fails_the_fetch_instead_of_spinning() {
    let mut server = Server::new_async().await;
    let body = r#"{"groups":[],"nextPageToken":"again"}"#;
    let _first = get(
        &mut server,
        "/admin/directory/v1/groups",
        &groups_query(None),
        "t",
        body,
    )
    .await;
    let again = get(
        &mut server,
        "/admin/directory/v1/groups",
        &groups_query(Some("again")),
        "t",
        body,
    )
    .await;
    let connector = builder(&server, Arc::new(StaticTokenSource::new(["t"])))
        .build()
        .unwrap();
    let err = connector
        .fetch(&kinds(&[ObjectKind::Groups]), &dirsync_core::NoProgress)
        .await
        .unwrap_err();
    again.expect(1).assert_async().await;
    assert!(
        matches!(err, dirsync_core::Error::PageChain { .. }),
        "{err:?}"
    );
}
