//! Hostile input to every parser and mapper the connector runs on remote bytes (issue 8,
//! point 5): arbitrary and garbled bytes and JSON never panic; invalid emails, ids and paths,
//! huge and control-character strings end in a quarantined record naming the field or are kept
//! verbatim. Unit tests, because the wire and mapping modules are private; the connector-level
//! cases are in `tests/hostile_input.rs`.
//!
//! Property cases: `PROPTEST_CASES` (default 256).

use dirsync_core::{Email, ExternalId, ObjectKind};

use crate::ServiceAccountKey;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::auth::classify_token_response;
use crate::mapping::{map_deleted_user, map_group, map_member, map_org_unit, map_user};
use crate::wire::{Page, parse_error};
use crate::{KeyInfo, MappingConfig};

/// A record's JSON text, as a page item or a `get` answer gives it to the mappers.
macro_rules! raw {
    ($($json:tt)+) => {
        json!($($json)+).to_string()
    };
}

const USERS: &str = include_str!("../tests/fixtures/users-page.json");
const GROUPS: &str = include_str!("../tests/fixtures/groups-page.json");
const MEMBERS: &str = include_str!("../tests/fixtures/members-page.json");
const ORGUNITS: &str = include_str!("../tests/fixtures/orgunits.json");
const KEY: &str = include_str!("../tests/fixtures/test-key.json");

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
    let _ = Page::parse("test", bytes);
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
    let raw = v.to_string();
    for cfg in [
        MappingConfig::default(),
        MappingConfig {
            custom_schemas: false,
            employment_type: crate::config::EmploymentTypeSource::CustomSchema {
                schema: "Sales".into(),
                field: "type".into(),
            },
        },
    ] {
        check(map_user(&raw, &cfg).map(|_| ()));
    }
    check(map_deleted_user(&raw).map(|_| ()));
    check(map_group(&raw).map(|_| ()));
    check(map_member(&group, &raw).map(|_| ()));
    check(map_org_unit(&raw).map(|_| ()));
    if let Ok(page) = serde_json::from_str::<Page<'_>>(&raw) {
        for item in page
            .users
            .iter()
            .chain(&page.groups)
            .chain(&page.members)
            .chain(&page.organization_units)
        {
            let item = item.get();
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
    assert!(Page::parse("test", deep.as_bytes()).is_err());
    parse_everything(deep.as_bytes());
    // A page keeps its items as raw text (skipped over without recursion), so a deep item
    // fails alone, when it is mapped: a quarantined record, not a crash.
    let deep_users = format!(r#"{{"users":{}}}"#, deep);
    let page = Page::parse("test", deep_users.as_bytes()).unwrap();
    assert_eq!(page.users.len(), 1);
    let user = map_user(page.users[0].get(), &MappingConfig::default());
    assert!(user.is_err());
    check(user.map(|_| ()));
    assert!(map_member(&ExternalId::new("g").unwrap(), page.users[0].get()).is_err());
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
        let q = map_user(&user(fields.clone()).to_string(), &cfg).unwrap_err();
        assert_eq!(q.kind, ObjectKind::Users);
        assert!(q.reason.starts_with(field), "{fields}: {}", q.reason);
        assert!(q.label.chars().count() <= 201, "the label is clipped");
    }
    // Not even an object: quarantined, not a panic.
    for v in [json!(null), json!(5), json!("user"), json!([1, 2])] {
        assert!(map_user(&v.to_string(), &cfg).is_err(), "{v}");
    }
    let q = map_group(&raw!({"id": "g", "email": "no email"})).unwrap_err();
    assert!(q.reason.starts_with("email"), "{}", q.reason);
    let q = map_member(
        &ExternalId::new("g").unwrap(),
        &raw!({"id": "m", "type": "ROBOT"}),
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
    let u = map_user(&v.to_string(), &cfg).unwrap();
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
