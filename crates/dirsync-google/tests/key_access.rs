//! The key's path against `mockito` on 127.0.0.1: the token exchanges per scope and what the
//! access check makes of them, the key token source's cache, the key's own token endpoint, and
//! that no secret reaches an error or a `Debug`.

// Test helpers may unwrap, as `clippy.toml` allows in `#[test]` functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mockapi;

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use dirsync_core::{DirectorySource, Email, KeyOwnership, ObjectKind, Scope};
use dirsync_google::{
    Error, GcpAuthTokenSource, GoogleConnector, GoogleConnectorBuilder, KeyInfo, RetryConfig,
    ScopeCheck, StaticTokenSource, TokenSource,
};
use dirsync_google::{ServiceAccountKey, scopes as google_scopes};
use mockito::{Matcher, Mock, Server, ServerGuard};

use mockapi::*;

fn test_key(server: &ServerGuard) -> (ServiceAccountKey, String) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/test-key.json"
    ))
    .unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let pem = json["private_key"].as_str().unwrap().to_owned();
    json["token_uri"] = format!("{}/token", server.url()).into();
    (ServiceAccountKey::new(json.to_string()), pem)
}

/// The claims of the JWT in a token request's form body.
fn claims_of(req: &mockito::Request) -> serde_json::Value {
    let body = req.utf8_lossy_body().unwrap_or_default().into_owned();
    let assertion = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "assertion")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    // gcp_auth pads its base64url segments; our own exchange does not.
    let middle = assertion
        .split('.')
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(middle)
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

async fn token_mock(
    server: &mut ServerGuard,
    scope: &'static str,
    status: usize,
    body: &str,
) -> Mock {
    let aud = format!("{}/token", server.url());
    server
        .mock("POST", "/token")
        .match_header("content-type", "application/x-www-form-urlencoded")
        .match_body(Matcher::Regex(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=".into(),
        ))
        .match_request(move |req| {
            let c = claims_of(req);
            c["scope"] == scope
                && c["sub"] == ADMIN
                && c["iss"] == CLIENT_EMAIL
                && c["aud"] == aud.as_str()
        })
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body)
        .create_async()
        .await
}

fn key_builder(server: &ServerGuard, key: ServiceAccountKey) -> GoogleConnectorBuilder {
    GoogleConnector::builder()
        .api_base(server.url())
        .subject(Email::new(ADMIN).unwrap())
        .key_json(key)
        .ownership(KeyOwnership::ProviderManaged)
        .requests_per_minute(0)
        .retry(RetryConfig::immediate(1))
}

#[tokio::test]
async fn validate_access_names_the_missing_scope_and_probes_the_granted_apis() {
    let mut server = Server::new_async().await;
    let ok = r#"{"access_token":"ya29.secret-access","expires_in":3599,"token_type":"Bearer"}"#;
    let refused = r#"{"error":"unauthorized_client","error_description":"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}"#;
    let user = token_mock(&mut server, google_scopes::USER_READONLY, 200, ok).await;
    let group = token_mock(&mut server, google_scopes::GROUP_READONLY, 200, ok).await;
    let orgunit = token_mock(&mut server, google_scopes::ORGUNIT_READONLY, 401, refused).await;
    let users_probe = get(
        &mut server,
        "/admin/directory/v1/users",
        &[("customer", "my_customer"), ("maxResults", "1")],
        "ya29.secret-access",
        "{}",
    )
    .await;
    let groups_probe = get(
        &mut server,
        "/admin/directory/v1/groups",
        &[("customer", "my_customer"), ("maxResults", "1")],
        "ya29.secret-access",
        "{}",
    )
    .await;
    let ou_probe = server
        .mock("GET", "/admin/directory/v1/customer/my_customer/orgunits")
        .match_query(Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let (key, _) = test_key(&server);
    let connector = key_builder(&server, key).build().unwrap();
    let report = connector.validate_access().await.unwrap();
    // One exchange per scope: the check's token is kept and serves its probe.
    user.expect(1).assert_async().await;
    group.expect(1).assert_async().await;
    orgunit.expect(1).assert_async().await;
    users_probe.assert_async().await;
    groups_probe.assert_async().await;
    ou_probe.assert_async().await;
    let scope = |s: &str| Scope::new(s).unwrap();
    assert_eq!(
        report.missing(),
        BTreeSet::from([scope(google_scopes::ORGUNIT_READONLY)])
    );
    assert_eq!(
        report.granted(),
        BTreeSet::from([
            scope(google_scopes::USER_READONLY),
            scope(google_scopes::GROUP_READONLY)
        ])
    );
    assert_eq!(report.client_id.as_deref(), Some("100000000000000000001"));
    assert_eq!(
        report.client_email.as_ref().map(|e| e.as_str()),
        Some(CLIENT_EMAIL)
    );
    assert_eq!(report.checks.len(), 3, "one named check per scope");
    match report.into_authorization(chrono::Utc::now()) {
        Err(dirsync_core::Error::Access(dirsync_core::AccessDenied::MissingScopes { scopes })) => {
            assert_eq!(scopes, vec![scope(google_scopes::ORGUNIT_READONLY)])
        }
        other => panic!("{other:?}"),
    }
}

/// Concurrent callers share one exchange per scope; a scope's token is cached, a refused
/// check leaves nothing cached, and an invalidated token is asked for again.
#[tokio::test]
async fn the_key_token_source_asks_once_per_scope_and_keeps_what_a_check_was_issued() {
    let mut server = Server::new_async().await;
    let ok = r#"{"access_token":"ya29.secret-access","expires_in":3599,"token_type":"Bearer"}"#;
    let refused =
        r#"{"error":"unauthorized_client","error_description":"not authorized for the scope"}"#;
    let user = token_mock(&mut server, google_scopes::USER_READONLY, 200, ok).await;
    let group = token_mock(&mut server, google_scopes::GROUP_READONLY, 200, ok).await;
    let orgunit = token_mock(&mut server, google_scopes::ORGUNIT_READONLY, 401, refused).await;
    let (key, _) = test_key(&server);
    let key = KeyInfo::parse(key).unwrap();
    let source = GcpAuthTokenSource::new(
        key,
        Email::new(ADMIN).unwrap(),
        std::time::Duration::from_secs(10),
    )
    .unwrap();
    let scope = |s: &str| Scope::new(s).unwrap();
    let (users, groups) = (
        scope(google_scopes::USER_READONLY),
        scope(google_scopes::GROUP_READONLY),
    );
    let orgunits = scope(google_scopes::ORGUNIT_READONLY);

    // Four callers, two scopes, a cold cache: one exchange each.
    let tokens = futures::future::join_all([
        source.token(&users),
        source.token(&groups),
        source.token(&users),
        source.token(&groups),
    ])
    .await;
    for token in tokens {
        assert_eq!(token.unwrap().expose_secret(), "ya29.secret-access");
    }

    // A check asks (it is the check), and keeps the token it was issued.
    assert_eq!(source.check(&users).await.unwrap(), ScopeCheck::Granted);
    source.token(&users).await.unwrap();

    // A refused scope is reported missing, and nothing is kept for it.
    assert!(matches!(
        source.check(&orgunits).await.unwrap(),
        ScopeCheck::Missing { .. }
    ));
    assert!(source.token(&orgunits).await.is_err());

    // An invalidated token is asked for again.
    source.invalidate(&groups).await;
    source.token(&groups).await.unwrap();

    // users: one for the four callers, one for the check; groups: one, one after the
    // invalidation; org units: the check, then the token call.
    user.expect(2).assert_async().await;
    group.expect(2).assert_async().await;
    orgunit.expect(2).assert_async().await;
}

#[tokio::test]
async fn validate_access_reports_a_bad_subject_as_unauthorized() {
    let mut server = Server::new_async().await;
    let bad = server
        .mock("POST", "/token")
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(r#"{"error":"invalid_grant","error_description":"Invalid email or User ID"}"#)
        .expect(1)
        .create_async()
        .await;
    let api = server
        .mock("GET", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let (key, pem) = test_key(&server);
    let connector = key_builder(&server, key).build().unwrap();
    let err = connector.validate_access().await.unwrap_err();
    bad.assert_async().await;
    api.assert_async().await;
    match &err {
        dirsync_core::Error::Access(dirsync_core::AccessDenied::Unauthorized { reason }) => {
            assert!(
                reason.contains("admin@example.com") && reason.contains("invalid_grant"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    let body = pem.lines().nth(1).unwrap();
    assert!(!format!("{err} {err:?}").contains(body));
}

#[tokio::test]
async fn the_gcp_auth_path_uses_the_keys_token_uri_and_refreshes_after_a_401() {
    let mut server = Server::new_async().await;
    let ok = r#"{"access_token":"ya29.from-gcp-auth","expires_in":3599,"token_type":"Bearer"}"#;
    let token = token_mock(&mut server, google_scopes::GROUP_READONLY, 200, ok).await;
    let stale = server
        .mock("GET", "/admin/directory/v1/groups")
        .match_query(Matcher::Any)
        .with_status(401)
        .with_body(api_error(401, "authError"))
        .expect(1)
        .create_async()
        .await;
    let groups = get(
        &mut server,
        "/admin/directory/v1/groups",
        &groups_query(None),
        "ya29.from-gcp-auth",
        "{}",
    )
    .await;
    let (key, _) = test_key(&server);
    let connector = key_builder(&server, key).build().unwrap();
    connector
        .fetch(&kinds(&[ObjectKind::Groups]), &dirsync_core::NoProgress)
        .await
        .unwrap();
    // The 401 threw the cached token away: the token endpoint was asked twice.
    token.expect(2).assert_async().await;
    stale.assert_async().await;
    groups.assert_async().await;
}

#[tokio::test]
async fn no_secret_appears_in_any_error_or_debug_output() {
    let server = Server::new_async().await;
    let (key, pem) = test_key(&server);
    let key_text = key.expose_secret().to_owned();
    let connector = key_builder(&server, key.clone()).build().unwrap();
    let with_tokens = builder(
        &server,
        Arc::new(StaticTokenSource::new(["ya29.very-secret"])),
    )
    .key_json(key.clone())
    .build()
    .unwrap();
    let scope = Scope::new(google_scopes::USER_READONLY).unwrap();
    let errors = vec![
        Error::Config { reason: "r".into() },
        Error::Key { reason: "r".into() },
        Error::Access(dirsync_core::AccessDenied::Unauthorized { reason: "r".into() }),
        Error::Access(dirsync_core::AccessDenied::MissingScopes {
            scopes: vec![scope],
        }),
        Error::Token {
            message: "m".into(),
            transient: true,
        },
        Error::Http {
            route: "GET /x".into(),
            status: Some(500),
            reason: Some("backendError".into()),
            message: "m".into(),
            transient: true,
        },
        Error::Decode {
            route: "GET /x".into(),
            message: "m".into(),
        },
        Error::Core(dirsync_core::Error::Access(
            dirsync_core::AccessDenied::Unauthorized { reason: "r".into() },
        )),
    ];
    let mut printed = format!(
        "{connector:?} {with_tokens:?} {key:?} {:?}",
        GoogleConnector::builder().key_json(key.clone())
    );
    for e in errors {
        let core: dirsync_core::Error = e.clone().into();
        printed.push_str(&format!("{e} {e:?} {core} {core:?}"));
    }
    // Errors from a key that is refused must not quote it either.
    let broken = key_text.replace("BEGIN PRIVATE KEY", "BEGIN RSA PRIVATE KEY");
    let e = key_builder(&server, ServiceAccountKey::new(broken))
        .build()
        .unwrap_err();
    printed.push_str(&format!("{e} {e:?}"));
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!printed.contains(line), "key material leaked");
    }
    assert!(!printed.contains("PRIVATE KEY"));
    assert!(!printed.contains("ya29.very-secret"));
    assert!(
        printed.contains("admin@example.com"),
        "Debug still says something useful"
    );
}
