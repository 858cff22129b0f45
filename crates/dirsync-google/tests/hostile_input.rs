//! Hostile input to the connector (issue 8, point 5): arbitrary and garbled bytes and JSON to
//! every parser and mapper never panic; malformed service-account keys, invalid emails, huge
//! and control-character strings, duplicate ids and repeating page tokens each end in a typed
//! error or a quarantined record.
//!
//! Property cases: `PROPTEST_CASES` (default 256).

// Test helpers may unwrap, as `clippy.toml` allows in `#[test]` functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use dirsync_core::{
    DirectorySource, Email, ExternalId, FetchRequest, ObjectKind, ObjectKinds, ScopeFilter,
    ServiceAccountKey,
};
use dirsync_google::auth::classify_token_response;
use dirsync_google::mapping::{map_deleted_user, map_group, map_member, map_org_unit, map_user};
use dirsync_google::wire::{Page, parse_error};
use dirsync_google::{
    Error, GoogleConnector, KeyInfo, MappingConfig, RetryConfig, StaticTokenSource,
};
use mockito::{Matcher, Server};
use proptest::prelude::*;
use serde_json::{Value, json};

const USERS: &str = include_str!("fixtures/users-page.json");
const GROUPS: &str = include_str!("fixtures/groups-page.json");
const MEMBERS: &str = include_str!("fixtures/members-page.json");
const ORGUNITS: &str = include_str!("fixtures/orgunits.json");
const KEY: &str = include_str!("fixtures/test-key.json");
const SHORT_KEY: &str = include_str!("fixtures/short-key.json");

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256)
}

/// Leaves that break naive code: control characters, bidi overrides, huge and odd numbers,
/// almost-valid emails and paths.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,40}",
        Just(String::new()),
        Just("a\u{0}b@example.com".to_owned()),
        Just("x\u{202e}y@example.com".to_owned()),
        Just("@example.com".to_owned()),
        Just("a@@example.com".to_owned()),
        Just("/Sales\u{7}/x".to_owned()),
        Just("//".to_owned()),
        Just("x".repeat(70_000)),
        Just(format!("{}@example.com", "a".repeat(300))),
        Just("ADMIN@EXAMPLE.COM".to_owned()),
        Just("123456789012345678901".to_owned()),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(json!(u64::MAX)),
        nasty_string().prop_map(Value::String),
    ]
}

/// Arbitrary JSON whose object keys are mostly the ones the connector reads, so that the
/// mappers see every field with every type.
fn json_value() -> impl Strategy<Value = Value> {
    const KEYS: &[&str] = &[
        "id",
        "primaryEmail",
        "email",
        "name",
        "givenName",
        "familyName",
        "fullName",
        "displayName",
        "suspended",
        "archived",
        "isAdmin",
        "isDelegatedAdmin",
        "orgUnitPath",
        "creationTime",
        "deletionTime",
        "externalIds",
        "relations",
        "organizations",
        "aliases",
        "customSchemas",
        "value",
        "type",
        "customType",
        "primary",
        "description",
        "role",
        "status",
        "directMembersCount",
        "orgUnitId",
        "parentOrgUnitId",
        "parentOrgUnitPath",
        "users",
        "groups",
        "members",
        "organizationUnits",
        "nextPageToken",
        "error",
        "errors",
        "reason",
        "message",
        "code",
        "access_token",
        "error_description",
        "private_key",
        "client_email",
        "token_uri",
        "client_id",
        "Sales",
    ];
    let key = prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => nasty_string(),
    ];
    json_leaf().prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..10)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every parser and mapper the connector runs on remote bytes, on `bytes`.
fn parse_everything(bytes: &[u8]) {
    let _ = serde_json::from_slice::<Page>(bytes);
    let _ = parse_error(bytes);
    let subject = Email::new("admin@example.com").unwrap();
    for status in [200, 400, 401, 403, 429, 503] {
        let _ = classify_token_response(status, bytes, &subject);
    }
    let _ = KeyInfo::parse(ServiceAccountKey::new(String::from_utf8_lossy(bytes)));
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        map_everything(&v);
    }
}

/// Every mapper on `v`, on every array inside a page shape, and on `v` as a page.
fn map_everything(v: &Value) {
    let group = ExternalId::new("g1").unwrap();
    for cfg in [
        MappingConfig::default(),
        MappingConfig {
            custom_schemas: false,
            employment_type: dirsync_google::config::EmploymentTypeSource::CustomSchema {
                schema: "Sales".into(),
                field: "type".into(),
            },
        },
    ] {
        check(map_user(v, &cfg).map(|_| ()));
    }
    check(map_deleted_user(v).map(|_| ()));
    check(map_group(v).map(|_| ()));
    check(map_member(&group, v).map(|_| ()));
    check(map_org_unit(v).map(|_| ()));
    if let Ok(page) = serde_json::from_value::<Page>(v.clone()) {
        for item in page
            .users
            .iter()
            .chain(&page.groups)
            .chain(&page.members)
            .chain(&page.organization_units)
        {
            check(map_user(item, &MappingConfig::default()).map(|_| ()));
            check(map_group(item).map(|_| ()));
            check(map_member(&group, item).map(|_| ()));
            check(map_org_unit(item).map(|_| ()));
        }
    }
}

/// A refusal is a quarantined record with a reason and a short label.
fn check(result: Result<(), dirsync_core::QuarantinedRecord>) {
    if let Err(q) = result {
        assert!(!q.reason.is_empty(), "{q:?}");
        // A clipped label (200 characters and an ellipsis), plus " in group <id>" for members.
        let bound = 201 + " in group ".len() + ExternalId::MAX_LEN;
        assert!(q.label.chars().count() <= bound, "labels are clipped");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_a_parser(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_everything(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics_a_mapper(v in json_value()) {
        map_everything(&v);
        parse_everything(v.to_string().as_bytes());
    }

    #[test]
    fn garbled_api_responses_never_panic(
        which in 0usize..5,
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
    ) {
        let original = [USERS, GROUPS, MEMBERS, ORGUNITS, KEY][which].as_bytes();
        let mut bytes = original[..cut.index(original.len() + 1)].to_vec();
        if !bytes.is_empty() {
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
        }
        parse_everything(&bytes);
    }
}

#[test]
fn deeply_nested_json_is_a_typed_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(serde_json::from_slice::<Page>(deep.as_bytes()).is_err());
    parse_everything(deep.as_bytes());
    let deep_users = format!(r#"{{"users":{}}}"#, deep);
    assert!(serde_json::from_str::<Page>(&deep_users).is_err());
}

fn user(fields: Value) -> Value {
    let mut u = json!({"id": "1001", "primaryEmail": "ok@example.com"});
    for (k, v) in fields.as_object().unwrap() {
        u[k] = v.clone();
    }
    u
}

#[test]
fn invalid_emails_ids_and_paths_quarantine_the_record_with_the_field_named() {
    let cfg = MappingConfig::default();
    let bad = [
        (json!({"primaryEmail": "not-an-email"}), "primaryEmail"),
        (json!({"primaryEmail": "a@@example.com"}), "primaryEmail"),
        (
            json!({"primaryEmail": "bell\u{7}@example.com"}),
            "primaryEmail",
        ),
        (
            json!({"primaryEmail": "nul\u{0}@example.com"}),
            "primaryEmail",
        ),
        (
            json!({"primaryEmail": format!("{}@example.com", "a".repeat(100_000))}),
            "primaryEmail",
        ),
        (json!({"primaryEmail": null}), "primaryEmail"),
        (json!({"id": ""}), "id"),
        (json!({"id": "12\u{1b}34"}), "id"),
        (json!({"id": "9".repeat(5_000)}), "id"),
        (json!({"orgUnitPath": "Sales"}), "orgUnitPath"),
        (json!({"orgUnitPath": "/Sales\u{0}"}), "orgUnitPath"),
    ];
    for (fields, field) in bad {
        let q = map_user(&user(fields.clone()), &cfg).unwrap_err();
        assert_eq!(q.kind, ObjectKind::Users);
        assert!(q.reason.starts_with(field), "{fields}: {}", q.reason);
        assert!(q.label.chars().count() <= 201, "the label is clipped");
    }
    // Not even an object: quarantined, not a panic.
    for v in [json!(null), json!(5), json!("user"), json!([1, 2])] {
        assert!(map_user(&v, &cfg).is_err(), "{v}");
    }
    let q = map_group(&json!({"id": "g", "email": "no email"})).unwrap_err();
    assert!(q.reason.starts_with("email"), "{}", q.reason);
    let q = map_member(
        &ExternalId::new("g").unwrap(),
        &json!({"id": "m", "type": "ROBOT"}),
    )
    .unwrap_err();
    assert!(!q.reason.is_empty());
}

#[test]
fn huge_and_control_character_text_in_free_fields_is_kept_verbatim_or_dropped_never_a_panic() {
    let cfg = MappingConfig::default();
    let huge = "é".repeat(500_000);
    let v = user(json!({
        "name": {"givenName": "\u{1b}[31mRed\u{7}", "familyName": huge, "fullName": "\u{202e}x"},
        "relations": [{"type": "manager", "value": "not an email\u{0}"}],
        "externalIds": [{"type": "organization", "value": "E\u{0}1"}],
        "organizations": [{"primary": true, "description": "Contractor\u{7}", "title": huge}],
        "creationTime": "yesterday",
        "customSchemas": {"S": {"f": [{"value": huge}], "g": {"nested": true}}}
    }));
    let u = map_user(&v, &cfg).unwrap();
    assert_eq!(
        u.name.given, "\u{1b}[31mRed\u{7}",
        "names are free text, kept verbatim"
    );
    assert_eq!(u.name.family.len(), huge.len());
    assert_eq!(
        u.manager_email, None,
        "a manager that is not an email is dropped"
    );
    assert_eq!(
        u.employment_type, None,
        "an unknown employment type is dropped"
    );
    assert_eq!(u.created_at, None, "an unparsable time is dropped");
}

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
    FetchRequest {
        kinds: ObjectKinds::new([ObjectKind::Users]).unwrap(),
        filter: ScopeFilter::everything(),
    }
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
