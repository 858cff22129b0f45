//! Lenient serde models of the Directory API's JSON (reference §3.4).
//!
//! Every field has a default (Google omits empty arrays and false booleans); unknown fields are
//! ignored; counts may be strings or numbers; the `any`-typed multi-valued user fields are read
//! entry by entry, and an entry that does not fit is skipped rather than failing the record.
//! List pages keep their items as raw JSON text so that one bad record is quarantined alone.
//!
//! The models borrow their text from the response body (a `Cow` is owned only where JSON
//! escapes had to be undone), and the lenient readers visit the JSON directly instead of
//! building a `serde_json::Value` first: a 20,000-user tenant is ~2,500 pages and ~240,000
//! records a sync, and parsing is most of the client's CPU.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// A list page: the items (raw JSON text, mapped one by one) and the next page token.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Page<'a> {
    /// `users` of a `Users` page.
    #[serde(borrow, deserialize_with = "raw_items")]
    pub(crate) users: Vec<&'a RawValue>,
    /// `groups` of a `Groups` page.
    #[serde(borrow, deserialize_with = "raw_items")]
    pub(crate) groups: Vec<&'a RawValue>,
    /// `members` of a `Members` page.
    #[serde(borrow, deserialize_with = "raw_items")]
    pub(crate) members: Vec<&'a RawValue>,
    /// `organizationUnits` of the (unpaginated) `OrgUnits` response.
    #[serde(borrow, deserialize_with = "raw_items")]
    pub(crate) organization_units: Vec<&'a RawValue>,
    /// The next page's token; absent or empty on the last page.
    #[serde(deserialize_with = "lenient_opt_owned")]
    pub(crate) next_page_token: Option<String>,
}

impl<'a> Page<'a> {
    /// Parses a list response of `route`, which must be a JSON object: serde would otherwise
    /// read an array field by field, and a page that is not a page must fail the chain, never
    /// look like an empty (last) page.
    pub(crate) fn parse(route: &str, body: &'a [u8]) -> Result<Self, crate::error::Error> {
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => crate::client::decode(route, body),
            _ => Err(crate::error::Error::Decode {
                route: route.to_owned(),
                message: "a list response is a JSON object".to_owned(),
            }),
        }
    }
}

/// `UserName`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct UserName<'a> {
    /// Given name.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) given_name: Cow<'a, str>,
    /// Family name.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) family_name: Cow<'a, str>,
    /// Full name.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) full_name: Cow<'a, str>,
    /// Display name.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) display_name: Cow<'a, str>,
}

/// One entry of `externalIds`, `relations`, `emails`, ... (`type` / `customType` / `value`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct TypedValue<'a> {
    /// The value (an id, an email).
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) value: Cow<'a, str>,
    /// The type (`organization`, `manager`, `custom`, ...).
    #[serde(borrow, rename = "type", deserialize_with = "lenient_string")]
    pub(crate) kind: Cow<'a, str>,
    /// The custom type, when `type` is `custom`.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) custom_type: Cow<'a, str>,
}

/// One entry of `organizations`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Organization<'a> {
    /// Whether it is the primary organization.
    #[serde(deserialize_with = "lenient_bool")]
    pub(crate) primary: bool,
    /// Job title.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) title: Cow<'a, str>,
    /// Department.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) department: Cow<'a, str>,
    /// Cost center.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) cost_center: Cow<'a, str>,
    /// Description ("Type of employee" in the Admin console).
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) description: Cow<'a, str>,
    /// Organization name.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) name: Cow<'a, str>,
    /// Custom type.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) custom_type: Cow<'a, str>,
    /// Location.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) location: Cow<'a, str>,
}

/// `User` (the fields the sync reads).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct User<'a> {
    /// Immutable id.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) id: Cow<'a, str>,
    /// Primary email.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) primary_email: Cow<'a, str>,
    /// Name.
    #[serde(borrow, deserialize_with = "lenient_or_default")]
    pub(crate) name: UserName<'a>,
    /// Suspended.
    #[serde(deserialize_with = "lenient_bool")]
    pub(crate) suspended: bool,
    /// Archived.
    #[serde(deserialize_with = "lenient_bool")]
    pub(crate) archived: bool,
    /// Super admin.
    #[serde(deserialize_with = "lenient_bool")]
    pub(crate) is_admin: bool,
    /// Delegated admin.
    #[serde(deserialize_with = "lenient_bool")]
    pub(crate) is_delegated_admin: bool,
    /// Org unit path (`/` for the root).
    #[serde(borrow, deserialize_with = "lenient_opt_string")]
    pub(crate) org_unit_path: Option<Cow<'a, str>>,
    /// Creation time, RFC 3339.
    #[serde(borrow, deserialize_with = "lenient_opt_string")]
    pub(crate) creation_time: Option<Cow<'a, str>>,
    /// Deletion time, RFC 3339 (deleted users only).
    #[serde(borrow, deserialize_with = "lenient_opt_string")]
    pub(crate) deletion_time: Option<Cow<'a, str>>,
    /// External ids (`any` in the discovery document).
    #[serde(borrow, deserialize_with = "lenient_vec")]
    pub(crate) external_ids: Vec<TypedValue<'a>>,
    /// Relations (`any`).
    #[serde(borrow, deserialize_with = "lenient_vec")]
    pub(crate) relations: Vec<TypedValue<'a>>,
    /// Organizations (`any`).
    #[serde(borrow, deserialize_with = "lenient_vec")]
    pub(crate) organizations: Vec<Organization<'a>>,
    /// Aliases.
    #[serde(deserialize_with = "lenient_vec")]
    pub(crate) aliases: Vec<String>,
    /// Custom schemas (`projection=full`): schema → field → value.
    #[serde(deserialize_with = "lenient_or_default")]
    pub(crate) custom_schemas: serde_json::Map<String, Value>,
}

/// `Group`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Group<'a> {
    /// Immutable id.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) id: Cow<'a, str>,
    /// Email.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) email: Cow<'a, str>,
    /// Name.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) name: Cow<'a, str>,
    /// Description.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) description: Cow<'a, str>,
    /// Direct member count: int64 encoded as a JSON string (a number is accepted too).
    #[serde(borrow, deserialize_with = "lenient_opt_string")]
    pub(crate) direct_members_count: Option<Cow<'a, str>>,
}

/// `Member`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Member<'a> {
    /// The member's id (a customer id for `CUSTOMER`).
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) id: Cow<'a, str>,
    /// The member's email (absent for `CUSTOMER`).
    #[serde(borrow, deserialize_with = "lenient_opt_string")]
    pub(crate) email: Option<Cow<'a, str>>,
    /// `OWNER`, `MANAGER`, `MEMBER` (absent: `MEMBER`).
    #[serde(borrow, deserialize_with = "lenient_opt_string")]
    pub(crate) role: Option<Cow<'a, str>>,
    /// `USER`, `GROUP`, `CUSTOMER`, `EXTERNAL`.
    #[serde(borrow, rename = "type", deserialize_with = "lenient_opt_string")]
    pub(crate) kind: Option<Cow<'a, str>>,
    /// `ACTIVE`, `SUSPENDED`, ... (often absent).
    #[serde(borrow, deserialize_with = "lenient_opt_string")]
    pub(crate) status: Option<Cow<'a, str>>,
}

/// `OrgUnit`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct OrgUnit<'a> {
    /// Immutable id (`id:03ph8a2z1mnq4x7`).
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) org_unit_id: Cow<'a, str>,
    /// Path.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) org_unit_path: Cow<'a, str>,
    /// Name.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) name: Cow<'a, str>,
    /// Description.
    #[serde(borrow, deserialize_with = "lenient_string")]
    pub(crate) description: Cow<'a, str>,
    /// Parent's id.
    #[serde(borrow, deserialize_with = "lenient_opt_string")]
    pub(crate) parent_org_unit_id: Option<Cow<'a, str>>,
    /// Parent's path.
    #[serde(borrow, deserialize_with = "lenient_opt_string")]
    pub(crate) parent_org_unit_path: Option<Cow<'a, str>>,
}

/// The Google API error envelope (reference §4.1).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ErrorEnvelope {
    /// The error.
    #[serde(deserialize_with = "lenient_or_default")]
    pub(crate) error: ErrorBody,
}

/// The body of [`ErrorEnvelope`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ErrorBody {
    /// The HTTP code repeated.
    pub(crate) code: Option<u16>,
    /// A message.
    #[serde(deserialize_with = "lenient_owned")]
    pub(crate) message: String,
    /// Details; `errors[0].reason` is the classification signal.
    #[serde(deserialize_with = "lenient_vec")]
    pub(crate) errors: Vec<ErrorItem>,
    /// Newer front-ends: `PERMISSION_DENIED`, `RESOURCE_EXHAUSTED`, ...
    #[serde(deserialize_with = "lenient_opt_owned")]
    pub(crate) status: Option<String>,
}

/// One entry of [`ErrorBody::errors`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ErrorItem {
    /// The reason, e.g. `userRateLimitExceeded`.
    #[serde(deserialize_with = "lenient_owned")]
    pub(crate) reason: String,
    /// Its message.
    #[serde(deserialize_with = "lenient_owned")]
    pub(crate) message: String,
    /// Its domain.
    #[serde(deserialize_with = "lenient_owned")]
    pub(crate) domain: String,
}

/// What an error response says, reduced to what the retry decision and the error need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// `errors[0].reason`, else the envelope's `status`, else a reason recognised in a
    /// non-JSON body (`Quota exceeded ...` → `quotaExceeded`).
    pub(crate) reason: Option<String>,
    /// A human message (clipped).
    pub(crate) message: String,
}

/// Reads an error response body (JSON envelope or plain text).
pub(crate) fn parse_error(body: &[u8]) -> ApiError {
    if let Ok(env) = serde_json::from_slice::<ErrorEnvelope>(body) {
        let first = env.error.errors.into_iter().find(|e| !e.reason.is_empty());
        let reason = first
            .as_ref()
            .map(|e| e.reason.clone())
            .or(env.error.status.filter(|s| !s.is_empty()));
        let message = if env.error.message.is_empty() {
            first.map(|e| e.message).unwrap_or_default()
        } else {
            env.error.message
        };
        if reason.is_some() || !message.is_empty() {
            return ApiError {
                reason,
                message: clip(&message),
            };
        }
    }
    let text = String::from_utf8_lossy(body);
    let reason = if text.contains("Quota exceeded") {
        Some("quotaExceeded".to_owned())
    } else if text.contains("Request rate higher than configured") {
        Some("rateLimitExceeded".to_owned())
    } else {
        None
    };
    ApiError {
        reason,
        message: clip(text.trim()),
    }
}

/// Shortens text for an error message.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(MAX).collect();
    out.push('…');
    out
}

/// A string, or a number or boolean rendered as text (as `serde_json::Value` renders it);
/// anything else (null, arrays, objects) → `None`. Visits the JSON directly: no `Value`.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(if v { "true" } else { "false" })))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map(|n| Cow::Owned(n.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    Ok(d.deserialize_any(TextVisitor)?.unwrap_or_default())
}

fn lenient_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_any(TextVisitor)
}

fn lenient_opt_owned<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(d.deserialize_any(TextVisitor)?.map(Cow::into_owned))
}

fn lenient_owned<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient_opt_owned(d)?.unwrap_or_default())
}

/// `true`, or a string saying `true` in any case; anything else is `false`.
struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v.eq_ignore_ascii_case("true"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(BoolVisitor)
}

/// Anything that fails to parse as `T` becomes `T::default()`.
fn lenient_or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    let raw = <&'de RawValue>::deserialize(d)?;
    Ok(serde_json::from_str(raw.get()).unwrap_or_default())
}

/// The entries of an array as raw text; a single object counts as a one-entry array;
/// anything else is empty.
fn raw_entries(raw: &RawValue) -> Vec<&RawValue> {
    match raw.get().as_bytes().first() {
        Some(b'[') => serde_json::from_str(raw.get()).unwrap_or_default(),
        Some(b'{') => vec![raw],
        _ => Vec::new(),
    }
}

/// A page's items, each kept as its raw JSON text (see [`raw_entries`]).
fn raw_items<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<&'de RawValue>, D::Error> {
    Ok(raw_entries(<&'de RawValue>::deserialize(d)?))
}

/// An array whose entries are parsed one by one (bad entries skipped); a single object counts
/// as a one-entry array; anything else is empty.
fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let raw = <&'de RawValue>::deserialize(d)?;
    Ok(raw_entries(raw)
        .into_iter()
        .filter_map(|entry| serde_json::from_str(entry.get()).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_arrays_and_tokens_are_an_empty_last_page() {
        let p: Page<'_> =
            serde_json::from_str(r#"{"kind":"admin#directory#users","etag":"x"}"#).unwrap();
        assert!(p.users.is_empty() && p.next_page_token.is_none());
    }

    #[test]
    fn counts_are_strings_or_numbers_and_any_arrays_are_lenient() {
        let g: Group<'_> =
            serde_json::from_str(r#"{"id":"g","email":"g@x.com","directMembersCount":"42"}"#)
                .unwrap();
        assert_eq!(g.direct_members_count.as_deref(), Some("42"));
        let g: Group<'_> = serde_json::from_str(r#"{"id":"g","directMembersCount":7}"#).unwrap();
        assert_eq!(g.direct_members_count.as_deref(), Some("7"));
        let u: User<'_> = serde_json::from_str(
            r#"{"id":1,"externalIds":[{"value":"E1","type":"organization"}, 5, "x"],
                "relations":{"value":"m@x.com","type":"manager"},
                "organizations":"nonsense","name":null,"suspended":"true","extra":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(u.id, "1");
        assert_eq!(u.external_ids.len(), 1);
        assert_eq!(u.relations[0].kind, "manager");
        assert!(u.organizations.is_empty());
        assert!(u.suspended);
    }

    /// What the readers gave when they went through `serde_json::Value` (before borrowing).
    fn through_value(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    #[test]
    fn lenient_fields_read_as_they_did_through_values() {
        #[derive(Deserialize)]
        struct Probe<'a> {
            #[serde(borrow, deserialize_with = "lenient_opt_string")]
            text: Option<Cow<'a, str>>,
            #[serde(deserialize_with = "lenient_bool")]
            flag: bool,
        }
        for v in [
            r#""plain""#,
            r#""esc\"aped \u00e9\n""#,
            "0",
            "-17",
            "18446744073709551615",
            "18446744073709551616",
            "1.5",
            "-0.0",
            "1e300",
            "2.5E-7",
            "true",
            "false",
            "null",
            "[]",
            r#"[1,"a",{"b":[null]}]"#,
            r#"{"a":{"b":[1,2,{"c":"d"}]}}"#,
            r#""TRUE""#,
            r#""yes""#,
        ] {
            let json = format!(r#"{{"text":{v},"flag":{v}}}"#);
            let probe: Probe<'_> =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
            let value: Value = serde_json::from_str(v).unwrap();
            assert_eq!(
                probe.text.map(Cow::into_owned),
                through_value(&value),
                "{v}"
            );
            let flag = match &value {
                Value::Bool(b) => *b,
                Value::String(s) => s.eq_ignore_ascii_case("true"),
                _ => false,
            };
            assert_eq!(probe.flag, flag, "{v}");
        }
    }

    #[test]
    fn page_items_are_kept_as_raw_text_and_strings_borrowed_unless_escaped() {
        let json = r#"{"members":[{"id":"1","email":"a@x.com"}, 5, {"id":"2\u0033"}],
                       "nextPageToken":"t"}"#;
        let p: Page<'_> = serde_json::from_str(json).unwrap();
        assert_eq!(p.members.len(), 3);
        assert_eq!(p.members[1].get(), "5");
        let m: Member<'_> = serde_json::from_str(p.members[0].get()).unwrap();
        assert!(matches!(m.id, Cow::Borrowed("1")));
        let m: Member<'_> = serde_json::from_str(p.members[2].get()).unwrap();
        assert!(matches!(&m.id, Cow::Owned(id) if id == "23"), "{:?}", m.id);
        // A single object counts as a one-entry array; anything else is empty.
        let p: Page<'_> = serde_json::from_str(r#"{"groups":{"id":"g"},"users":"x"}"#).unwrap();
        assert_eq!((p.groups.len(), p.users.len()), (1, 0));
        assert_eq!(p.next_page_token, None);
    }

    #[test]
    fn error_reasons_come_from_errors_then_status_then_text() {
        let e = parse_error(
            br#"{"error":{"code":403,"message":"Rate","errors":[{"reason":"userRateLimitExceeded","message":"Rate","domain":"usageLimits"}]}}"#,
        );
        assert_eq!(e.reason.as_deref(), Some("userRateLimitExceeded"));
        let e = parse_error(
            br#"{"error":{"code":429,"message":"slow","status":"RESOURCE_EXHAUSTED"}}"#,
        );
        assert_eq!(e.reason.as_deref(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(e.message, "slow");
        let e = parse_error(b"Quota exceeded for the current request");
        assert_eq!(e.reason.as_deref(), Some("quotaExceeded"));
        let e = parse_error(b"<html>Bad Gateway</html>");
        assert_eq!(e.reason, None);
        assert!(e.message.contains("Bad Gateway"));
    }
}
