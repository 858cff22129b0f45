//! Lenient serde models of the Directory API's JSON (reference §3.4).
//!
//! Every field has a default (Google omits empty arrays and false booleans); unknown fields are
//! ignored; counts may be strings or numbers; the `any`-typed multi-valued user fields are read
//! entry by entry, and an entry that does not fit is skipped rather than failing the record.
//! List pages keep their items as raw JSON so that one bad record is quarantined alone.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A list page: the items (raw, mapped one by one) and the next page token.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Page {
    /// `users` of a `Users` page.
    #[serde(deserialize_with = "lenient_vec")]
    pub(crate) users: Vec<Value>,
    /// `groups` of a `Groups` page.
    #[serde(deserialize_with = "lenient_vec")]
    pub(crate) groups: Vec<Value>,
    /// `members` of a `Members` page.
    #[serde(deserialize_with = "lenient_vec")]
    pub(crate) members: Vec<Value>,
    /// `organizationUnits` of the (unpaginated) `OrgUnits` response.
    #[serde(deserialize_with = "lenient_vec")]
    pub(crate) organization_units: Vec<Value>,
    /// The next page's token; absent or empty on the last page.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub(crate) next_page_token: Option<String>,
}

/// `UserName`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct UserName {
    /// Given name.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) given_name: String,
    /// Family name.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) family_name: String,
    /// Full name.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) full_name: String,
    /// Display name.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) display_name: String,
}

/// One entry of `externalIds`, `relations`, `emails`, ... (`type` / `customType` / `value`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct TypedValue {
    /// The value (an id, an email).
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) value: String,
    /// The type (`organization`, `manager`, `custom`, ...).
    #[serde(rename = "type", deserialize_with = "lenient_string")]
    pub(crate) kind: String,
    /// The custom type, when `type` is `custom`.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) custom_type: String,
}

/// One entry of `organizations`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Organization {
    /// Whether it is the primary organization.
    #[serde(deserialize_with = "lenient_bool")]
    pub(crate) primary: bool,
    /// Job title.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) title: String,
    /// Department.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) department: String,
    /// Cost center.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) cost_center: String,
    /// Description ("Type of employee" in the Admin console).
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) description: String,
    /// Organization name.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) name: String,
    /// Custom type.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) custom_type: String,
    /// Location.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) location: String,
}

/// `User` (the fields the sync reads).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct User {
    /// Immutable id.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) id: String,
    /// Primary email.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) primary_email: String,
    /// Name.
    #[serde(deserialize_with = "lenient_or_default")]
    pub(crate) name: UserName,
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
    #[serde(deserialize_with = "lenient_opt_string")]
    pub(crate) org_unit_path: Option<String>,
    /// Creation time, RFC 3339.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub(crate) creation_time: Option<String>,
    /// Deletion time, RFC 3339 (deleted users only).
    #[serde(deserialize_with = "lenient_opt_string")]
    pub(crate) deletion_time: Option<String>,
    /// External ids (`any` in the discovery document).
    #[serde(deserialize_with = "lenient_vec")]
    pub(crate) external_ids: Vec<TypedValue>,
    /// Relations (`any`).
    #[serde(deserialize_with = "lenient_vec")]
    pub(crate) relations: Vec<TypedValue>,
    /// Organizations (`any`).
    #[serde(deserialize_with = "lenient_vec")]
    pub(crate) organizations: Vec<Organization>,
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
pub(crate) struct Group {
    /// Immutable id.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) id: String,
    /// Email.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) email: String,
    /// Name.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) name: String,
    /// Description.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) description: String,
    /// Direct member count: int64 encoded as a JSON string (a number is accepted too).
    #[serde(deserialize_with = "lenient_opt_string")]
    pub(crate) direct_members_count: Option<String>,
}

/// `Member`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Member {
    /// The member's id (a customer id for `CUSTOMER`).
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) id: String,
    /// The member's email (absent for `CUSTOMER`).
    #[serde(deserialize_with = "lenient_opt_string")]
    pub(crate) email: Option<String>,
    /// `OWNER`, `MANAGER`, `MEMBER` (absent: `MEMBER`).
    #[serde(deserialize_with = "lenient_opt_string")]
    pub(crate) role: Option<String>,
    /// `USER`, `GROUP`, `CUSTOMER`, `EXTERNAL`.
    #[serde(rename = "type", deserialize_with = "lenient_opt_string")]
    pub(crate) kind: Option<String>,
    /// `ACTIVE`, `SUSPENDED`, ... (often absent).
    #[serde(deserialize_with = "lenient_opt_string")]
    pub(crate) status: Option<String>,
}

/// `OrgUnit`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct OrgUnit {
    /// Immutable id (`id:03ph8a2z1mnq4x7`).
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) org_unit_id: String,
    /// Path.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) org_unit_path: String,
    /// Name.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) name: String,
    /// Description.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) description: String,
    /// Parent's id.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub(crate) parent_org_unit_id: Option<String>,
    /// Parent's path.
    #[serde(deserialize_with = "lenient_opt_string")]
    pub(crate) parent_org_unit_path: Option<String>,
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
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) message: String,
    /// Details; `errors[0].reason` is the classification signal.
    #[serde(deserialize_with = "lenient_vec")]
    pub(crate) errors: Vec<ErrorItem>,
    /// Newer front-ends: `PERMISSION_DENIED`, `RESOURCE_EXHAUSTED`, ...
    #[serde(deserialize_with = "lenient_opt_string")]
    pub(crate) status: Option<String>,
}

/// One entry of [`ErrorBody::errors`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ErrorItem {
    /// The reason, e.g. `userRateLimitExceeded`.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) reason: String,
    /// Its message.
    #[serde(deserialize_with = "lenient_string")]
    pub(crate) message: String,
    /// Its domain.
    #[serde(deserialize_with = "lenient_string")]
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

/// A string, or a number/bool rendered as text; anything else (null, objects) → empty.
fn value_to_string(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(value_to_string(Value::deserialize(d)?).unwrap_or_default())
}

fn lenient_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_to_string(Value::deserialize(d)?))
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

/// Anything that fails to parse as `T` becomes `T::default()`.
fn lenient_or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    Ok(serde_json::from_value(Value::deserialize(d)?).unwrap_or_default())
}

/// An array whose entries are parsed one by one (bad entries skipped); a single object counts
/// as a one-entry array; anything else is empty.
fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let items = match Value::deserialize(d)? {
        Value::Array(items) => items,
        v @ Value::Object(_) => vec![v],
        _ => Vec::new(),
    };
    Ok(items
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_arrays_and_tokens_are_an_empty_last_page() {
        let p: Page =
            serde_json::from_str(r#"{"kind":"admin#directory#users","etag":"x"}"#).unwrap();
        assert!(p.users.is_empty() && p.next_page_token.is_none());
    }

    #[test]
    fn counts_are_strings_or_numbers_and_any_arrays_are_lenient() {
        let g: Group =
            serde_json::from_str(r#"{"id":"g","email":"g@x.com","directMembersCount":"42"}"#)
                .unwrap();
        assert_eq!(g.direct_members_count.as_deref(), Some("42"));
        let g: Group = serde_json::from_str(r#"{"id":"g","directMembersCount":7}"#).unwrap();
        assert_eq!(g.direct_members_count.as_deref(), Some("7"));
        let u: User = serde_json::from_str(
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
