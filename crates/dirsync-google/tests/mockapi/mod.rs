//! What the connector's `mockito` tests share: the exact queries the connector sends, a mock
//! that answers only its exact request, a connector for the mock server, and an API error body.

#![allow(dead_code)] // Each test binary uses some of them.

use std::sync::Arc;

use dirsync_core::{Email, FetchRequest, ObjectKind, ObjectKinds, ScopeFilter};
use dirsync_google::{GoogleConnector, GoogleConnectorBuilder, RetryConfig, StaticTokenSource};
use mockito::{Matcher, Mock, ServerGuard};

/// The delegated admin of the mock tenant.
pub(crate) const ADMIN: &str = "admin@example.com";
/// The test key's service account.
pub(crate) const CLIENT_EMAIL: &str = "sync@test-project.iam.gserviceaccount.com";

pub(crate) const USER_FIELDS: &str = "nextPageToken,users(id,primaryEmail,name,suspended,archived,isAdmin,isDelegatedAdmin,orgUnitPath,creationTime,externalIds,relations,organizations,aliases,customSchemas)";
pub(crate) const DELETED_FIELDS: &str =
    "nextPageToken,users(id,primaryEmail,orgUnitPath,deletionTime)";
pub(crate) const GROUP_FIELDS: &str =
    "nextPageToken,groups(id,email,name,description,directMembersCount)";
pub(crate) const MEMBER_FIELDS: &str = "nextPageToken,members(id,email,role,type,status)";
pub(crate) const ORGUNIT_FIELDS: &str =
    "organizationUnits(orgUnitId,orgUnitPath,name,description,parentOrgUnitId,parentOrgUnitPath)";

/// The query of `req`, as a sorted list of decoded pairs.
pub(crate) fn query_of(req: &mockito::Request) -> Vec<(String, String)> {
    let pq = req.path_and_query();
    let q = pq.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// Matches only when the query is exactly `want` (every parameter, nothing else).
pub(crate) fn exact_query(
    want: &[(&str, &str)],
) -> impl Fn(&mockito::Request) -> bool + Send + Sync + 'static {
    let mut want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    move |req| query_of(req) == want
}

pub(crate) fn users_query(page: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    let mut q = vec![
        ("customer", "my_customer"),
        ("maxResults", "500"),
        ("projection", "full"),
        ("fields", USER_FIELDS),
        ("prettyPrint", "false"),
    ];
    q.extend(page.map(|p| ("pageToken", p)));
    q
}

pub(crate) fn deleted_query() -> Vec<(&'static str, &'static str)> {
    vec![
        ("customer", "my_customer"),
        ("maxResults", "500"),
        ("showDeleted", "true"),
        ("fields", DELETED_FIELDS),
        ("prettyPrint", "false"),
    ]
}

pub(crate) fn groups_query(page: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    let mut q = vec![
        ("customer", "my_customer"),
        ("maxResults", "200"),
        ("fields", GROUP_FIELDS),
        ("prettyPrint", "false"),
    ];
    q.extend(page.map(|p| ("pageToken", p)));
    q
}

pub(crate) fn members_query(page: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    let mut q = vec![
        ("maxResults", "200"),
        ("fields", MEMBER_FIELDS),
        ("prettyPrint", "false"),
    ];
    q.extend(page.map(|p| ("pageToken", p)));
    q
}

pub(crate) async fn get(
    server: &mut ServerGuard,
    path: &str,
    query: &[(&str, &str)],
    token: &str,
    body: &str,
) -> Mock {
    server
        .mock("GET", path)
        .match_query(Matcher::Any)
        .match_request(exact_query(query))
        .match_header("authorization", format!("Bearer {token}").as_str())
        .match_header("accept-encoding", Matcher::Regex("gzip".into()))
        .with_status(200)
        .with_header("content-type", "application/json; charset=UTF-8")
        .with_body(body)
        .create_async()
        .await
}

pub(crate) fn builder(
    server: &ServerGuard,
    tokens: Arc<StaticTokenSource>,
) -> GoogleConnectorBuilder {
    GoogleConnector::builder()
        .api_base(server.url())
        .subject(Email::new("admin@example.com").unwrap())
        .token_source(tokens)
        .requests_per_minute(0)
        .retry(RetryConfig::immediate(3))
}

pub(crate) fn kinds(k: &[ObjectKind]) -> FetchRequest {
    FetchRequest::new(
        ObjectKinds::new(k.iter().copied()).unwrap(),
        ScopeFilter::everything(),
    )
}

pub(crate) fn api_error(status: u16, reason: &str) -> String {
    format!(
        r#"{{"error":{{"code":{status},"message":"msg {reason}","errors":[{{"reason":"{reason}","domain":"global","message":"msg"}}]}}}}"#
    )
}
