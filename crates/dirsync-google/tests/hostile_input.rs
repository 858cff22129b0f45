//! Hostile input to the connector (issue 8, point 5), through its public API: malformed
//! service-account keys, duplicate ids and hostile records across pages, and repeating page
//! tokens each end in a typed error or a quarantined record. The parsers and mappers themselves
//! (private modules) are fuzzed by the unit tests in `src/hostile_tests.rs`.

// Test helpers may unwrap, as `clippy.toml` allows in `#[test]` functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use dirsync_core::{
    DirectorySource, Email, ExternalId, FetchRequest, ObjectKind, ObjectKinds, ScopeFilter,
};
use dirsync_google::ServiceAccountKey;
use dirsync_google::{Error, GoogleConnector, RetryConfig, StaticTokenSource};
use mockito::{Matcher, Server};
use serde_json::{Value, json};

const KEY: &str = include_str!("fixtures/test-key.json");
const SHORT_KEY: &str = include_str!("fixtures/short-key.json");

fn connector(server: &mockito::ServerGuard) -> GoogleConnector {
    GoogleConnector::builder()
        .api_base(server.url())
        .subject(Email::new("admin@example.com").unwrap())
        .token_source(Arc::new(StaticTokenSource::new(["t"])))
        .requests_per_minute(0)
        .retry(RetryConfig::immediate(1))
        .build()
        .unwrap()
}

fn users_only() -> FetchRequest {
    FetchRequest::new(
        ObjectKinds::new([ObjectKind::Users]).unwrap(),
        ScopeFilter::everything(),
    )
}

/// Serves `pages` of the users listing by page token (`None` for the first page) and an empty
/// deleted-users listing.
async fn users_server(pages: &[(Option<&str>, Value)]) -> mockito::ServerGuard {
    let mut server = Server::new_async().await;
    server
        .mock("GET", "/admin/directory/v1/users")
        .match_query(Matcher::UrlEncoded("showDeleted".into(), "true".into()))
        .with_body("{}")
        .create_async()
        .await;
    for (token, body) in pages {
        let token = token.map(str::to_owned);
        server
            .mock("GET", "/admin/directory/v1/users")
            .match_query(Matcher::Any)
            .match_request(move |req| {
                let query = req.path_and_query().split_once('?').map_or("", |(_, q)| q);
                let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect();
                let get = |k: &str| {
                    pairs
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| v.clone())
                };
                get("showDeleted").is_none() && get("pageToken") == token
            })
            .with_body(body.to_string())
            .create_async()
            .await;
    }
    server
}

#[tokio::test]
async fn duplicate_ids_and_hostile_records_across_pages_are_quarantined_and_the_rest_kept() {
    let server = users_server(&[
        (
            None,
            json!({"users": [
                {"id": "1", "primaryEmail": "ada@example.com"},
                {"id": "2", "primaryEmail": "not an email"},
                {"id": "3", "primaryEmail": "cyd@example.com", "name": {"givenName": "\u{0}"}},
                "garbage",
            ], "nextPageToken": "p2"}),
        ),
        (
            Some("p2"),
            json!({"users": [
                {"id": "1", "primaryEmail": "ada.again@example.com"},
                {"id": "4", "primaryEmail": "dan@example.com"},
            ]}),
        ),
    ])
    .await;
    let fetched = connector(&server)
        .fetch(&users_only(), &dirsync_core::NoProgress)
        .await
        .unwrap();
    let kept: Vec<&str> = fetched
        .snapshot
        .users()
        .iter()
        .map(|u| u.external_id.as_str())
        .collect();
    let quarantined: Vec<(Option<&str>, &str)> = fetched
        .snapshot
        .quarantined()
        .iter()
        .map(|q| {
            (
                q.external_id.as_ref().map(ExternalId::as_str),
                q.reason.as_str(),
            )
        })
        .collect();
    assert!(kept.contains(&"3") && kept.contains(&"4"), "{kept:?}");
    assert!(!kept.contains(&"2"), "{kept:?}");
    assert!(
        quarantined
            .iter()
            .any(|(id, r)| *id == Some("2") && r.starts_with("primaryEmail")),
        "{quarantined:?}"
    );
    assert!(
        quarantined
            .iter()
            .any(|(id, r)| *id == Some("1") && r.contains("twice")),
        "a duplicate id is quarantined, not silently dropped: {quarantined:?}"
    );
    assert!(
        quarantined.iter().any(|(id, _)| id.is_none()),
        "the non-object record is quarantined: {quarantined:?}"
    );
}

#[tokio::test]
async fn a_page_token_that_comes_back_after_two_pages_fails_the_fetch() {
    let server = users_server(&[
        (
            None,
            json!({"users": [{"id": "1", "primaryEmail": "a@example.com"}], "nextPageToken": "A"}),
        ),
        (
            Some("A"),
            json!({"users": [{"id": "2", "primaryEmail": "b@example.com"}], "nextPageToken": "B"}),
        ),
        (
            Some("B"),
            json!({"users": [{"id": "3", "primaryEmail": "c@example.com"}], "nextPageToken": "A"}),
        ),
    ])
    .await;
    let err = connector(&server)
        .fetch(&users_only(), &dirsync_core::NoProgress)
        .await
        .unwrap_err();
    assert!(
        matches!(err, dirsync_core::Error::PageChain { .. }),
        "{err:?}"
    );
}

fn key_with(edit: impl FnOnce(&mut Value)) -> ServiceAccountKey {
    let mut v: Value = serde_json::from_str(KEY).unwrap();
    v["token_uri"] = json!("http://127.0.0.1:1/token");
    edit(&mut v);
    ServiceAccountKey::new(v.to_string())
}

fn build_with(key: ServiceAccountKey) -> Result<GoogleConnector, Error> {
    GoogleConnector::builder()
        .subject(Email::new("admin@example.com").unwrap())
        .key_json(key)
        .build()
}

/// The reason of a key refusal, checked to quote no key material.
fn key_refusal(result: Result<GoogleConnector, Error>) -> String {
    match result {
        Err(Error::Key { reason }) => {
            let pem: Value = serde_json::from_str(KEY).unwrap();
            let short: Value = serde_json::from_str(SHORT_KEY).unwrap();
            for key in [&pem, &short] {
                for line in key["private_key"].as_str().unwrap().lines().skip(1).take(3) {
                    assert!(!reason.contains(line), "the key is quoted: {reason}");
                }
            }
            reason
        }
        other => panic!("expected a key error, got {other:?}"),
    }
}

#[test]
fn malformed_service_account_keys_are_typed_errors_naming_the_problem() {
    assert!(
        build_with(key_with(|_| {})).is_ok(),
        "the well-formed key builds"
    );
    // PKCS#1 instead of PKCS#8.
    let r = key_refusal(build_with(key_with(|v| {
        let pem = v["private_key"]
            .as_str()
            .unwrap()
            .replace("PRIVATE KEY", "RSA PRIVATE KEY");
        v["private_key"] = json!(pem);
    })));
    assert!(r.contains("PKCS#8"), "{r}");
    // A 1024-bit RSA key (Google issues 2048-bit keys).
    let r = key_refusal(build_with(ServiceAccountKey::new(SHORT_KEY.replace(
        "https://oauth2.googleapis.com/token",
        "http://127.0.0.1:1/token",
    ))));
    assert!(r.contains("at least 2048 bits"), "{r}");
    // A PKCS#8 header over garbage.
    let r = key_refusal(build_with(key_with(|v| {
        v["private_key"] = json!("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    })));
    assert!(r.contains("invalid private key"), "{r}");
    // Missing or empty fields.
    for field in ["private_key", "client_email", "token_uri"] {
        let r = key_refusal(build_with(key_with(|v| {
            v.as_object_mut().unwrap().remove(field);
        })));
        assert!(
            r.contains(if field == "private_key" {
                "PKCS#8"
            } else {
                field
            }),
            "{field}: {r}"
        );
        let r = key_refusal(build_with(key_with(|v| v[field] = json!(""))));
        assert!(!r.is_empty(), "{field}");
    }
    // The wrong kind of credential file.
    let r = key_refusal(build_with(key_with(|v| {
        v["type"] = json!("authorized_user")
    })));
    assert!(
        r.contains("authorized_user") && r.contains("service_account"),
        "{r}"
    );
    let r = key_refusal(build_with(key_with(|v| {
        v["type"] = json!("external_account")
    })));
    assert!(r.contains("external_account"), "{r}");
    // Not a key file at all.
    for text in [
        "",
        "null",
        "[]",
        "{",
        "\u{0}",
        "-----BEGIN PRIVATE KEY-----",
    ] {
        let r = key_refusal(build_with(ServiceAccountKey::new(text)));
        assert!(!r.is_empty(), "{text:?}");
    }
}
