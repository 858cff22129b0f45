//! The write side of users and org units: `users.insert`, `users.patch`, `users.delete` and
//! `orgunits.insert`, with Google's validation and errors (reference §4.2):
//!
//! - a body key the resource does not have → 400 `invalid` (`Invalid JSON payload received.
//!   Unknown name "…"`);
//! - a missing required field → 400 `required` (`Missing required field: …`); `users.insert`
//!   needs `primaryEmail`, `name.givenName`, `name.familyName` and `password` (8 to 100
//!   characters, else 400 `invalid` `Invalid Password`);
//! - an email in use (by a user, an alias or a group) → 409 `duplicate` (`Entity already
//!   exists.`); an email outside the tenant's domain → 400 `invalid` (`Domain not found.`);
//! - an org unit that does not exist → 400 `invalid` (`Invalid Input: INVALID_OU_ID`); an org
//!   unit that exists already → 409 `duplicate`; a missing user → 404 `notFound` `userKey`.
//!
//! Each write passes the authorization gate and then the write faults
//! ([`crate::Faults::failing_writes`], [`crate::Faults::write_error_rate`],
//! [`crate::Faults::lost_write_rate`]: applied, and the answer lost as a 504).

use axum::extract::{MatchedPath, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Map, Value};

use super::gate::Op;
use super::response::{ApiError, ApiResult, ok};
use super::{Params, S, check_customer, lock, route, watch, write};
use crate::error::Error;
use crate::render;
use crate::tenant::{EmploymentType, NewUser, UserPatch};

/// The top-level keys of Google's `User` resource a client may send.
const USER_KEYS: &[&str] = &[
    "kind",
    "id",
    "etag",
    "primaryEmail",
    "name",
    "password",
    "hashFunction",
    "changePasswordAtNextLogin",
    "suspended",
    "archived",
    "orgUnitPath",
    "externalIds",
    "relations",
    "organizations",
    "emails",
    "phones",
    "addresses",
    "locations",
    "languages",
    "keywords",
    "websites",
    "ims",
    "gender",
    "notes",
    "posixAccounts",
    "sshPublicKeys",
    "customSchemas",
    "includeInGlobalAddressList",
    "ipWhitelisted",
    "recoveryEmail",
    "recoveryPhone",
];

/// The keys of `name`.
const NAME_KEYS: &[&str] = &["givenName", "familyName", "fullName", "displayName"];

/// The keys of the `OrgUnit` resource a client may send.
const ORG_UNIT_KEYS: &[&str] = &[
    "kind",
    "etag",
    "name",
    "description",
    "parentOrgUnitPath",
    "parentOrgUnitId",
    "orgUnitPath",
    "orgUnitId",
    "blockInheritance",
];

pub(super) fn body(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ApiError::new(400, "parseError", "Parse Error")),
    }
}

pub(super) fn unknown_keys(
    m: &Map<String, Value>,
    known: &[&str],
    prefix: &str,
) -> Result<(), ApiError> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ApiError::new(
            400,
            "invalid",
            format!(
                "Invalid JSON payload received. Unknown name \"{prefix}{k}\": Cannot find field."
            ),
        )),
        None => Ok(()),
    }
}

pub(super) fn text<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

pub(super) fn required(field: &str) -> ApiError {
    ApiError::new(400, "required", format!("Missing required field: {field}"))
}

fn map_user_error(e: Error) -> ApiError {
    match e {
        Error::AlreadyExists(_) => ApiError::new(409, "duplicate", "Entity already exists."),
        Error::NotFound(what) if what.starts_with("org unit") => {
            ApiError::invalid("Invalid Input: INVALID_OU_ID")
        }
        Error::NotFound(_) => ApiError::not_found("userKey"),
        other => ApiError::new(500, "backendError", other.to_string()),
    }
}

/// What a `User` body sets, validated (keys, name, org unit path form, external ids, relations,
/// organizations).
fn user_patch(m: &Map<String, Value>) -> Result<UserPatch, ApiError> {
    unknown_keys(m, USER_KEYS, "")?;
    let mut patch = UserPatch {
        primary_email: text(m, "primaryEmail").map(str::to_owned),
        org_unit_path: text(m, "orgUnitPath").map(str::to_owned),
        suspended: m.get("suspended").and_then(Value::as_bool),
        ..UserPatch::default()
    };
    if let Some(name) = m.get("name") {
        let name = name
            .as_object()
            .ok_or_else(|| ApiError::invalid("Invalid Input: name"))?;
        unknown_keys(name, NAME_KEYS, "name.")?;
        patch.given_name = text(name, "givenName").map(str::to_owned);
        patch.family_name = text(name, "familyName").map(str::to_owned);
    }
    if let Some(ids) = m.get("externalIds") {
        let ids = ids
            .as_array()
            .ok_or_else(|| ApiError::invalid("Invalid Input: externalIds"))?;
        let mut employee = None;
        let mut custom = Vec::new();
        for id in ids {
            let kind = id.get("type").and_then(Value::as_str).unwrap_or_default();
            let value = id.get("value").and_then(Value::as_str).unwrap_or_default();
            match kind {
                "organization" => employee = Some(value.to_owned()),
                "custom" => {
                    let custom_type = id
                        .get("customType")
                        .and_then(Value::as_str)
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| ApiError::invalid("Invalid Input: customType"))?;
                    custom.push((custom_type.to_owned(), value.to_owned()));
                }
                "account" | "customer" | "login_id" | "network" => {}
                _ => return Err(ApiError::invalid("Invalid Input: externalIds.type")),
            }
        }
        patch.employee_id = Some(employee);
        patch.custom_ids = Some(custom);
    }
    if let Some(relations) = m.get("relations") {
        let relations = relations
            .as_array()
            .ok_or_else(|| ApiError::invalid("Invalid Input: relations"))?;
        let manager = relations
            .iter()
            .find(|r| r.get("type").and_then(Value::as_str) == Some("manager"))
            .and_then(|r| r.get("value").and_then(Value::as_str))
            .map(str::to_owned);
        patch.manager_email = Some(manager);
    }
    if let Some(orgs) = m.get("organizations") {
        let orgs = orgs
            .as_array()
            .ok_or_else(|| ApiError::invalid("Invalid Input: organizations"))?;
        let description = orgs
            .iter()
            .find(|o| o.get("primary").and_then(Value::as_bool) == Some(true))
            .or_else(|| orgs.first())
            .and_then(|o| o.get("description").and_then(Value::as_str));
        patch.employment = match description {
            Some("contractor") => Some(EmploymentType::Contractor),
            Some(_) => Some(EmploymentType::Employee),
            None => None,
        };
    }
    Ok(patch)
}

impl super::Shared {
    /// The write faults for a write to `keys`: `Err` to answer now, `Ok(true)` to apply and then
    /// lose the answer.
    pub(super) fn write_fault(&self, keys: &[&str]) -> Result<bool, ApiError> {
        let decided = lock(&self.faults).decide_write(keys);
        match decided {
            Some(crate::faults::WriteFault::Fail(status)) => {
                lock(&self.stats).errors_injected += 1;
                Err(ApiError::injected(status))
            }
            Some(crate::faults::WriteFault::Lost) => {
                lock(&self.stats).errors_injected += 1;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

pub(super) fn lost() -> ApiError {
    ApiError::injected(504)
}

pub(super) async fn users_insert(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Query(p): Params,
    bytes: axum::body::Bytes,
) -> ApiResult {
    sh.gate(&headers, Op::UsersWrite, &route("POST", &mp), 0)?;
    let m = body(&bytes)?;
    let patch = user_patch(&m)?;
    let email = patch
        .primary_email
        .clone()
        .filter(|e| !e.is_empty())
        .ok_or_else(|| required("primaryEmail"))?;
    let given = patch
        .given_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| required("name.givenName"))?;
    let family = patch
        .family_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| required("name.familyName"))?;
    let password = text(&m, "password").ok_or_else(|| required("password"))?;
    if !(8..=100).contains(&password.chars().count()) {
        return Err(ApiError::invalid("Invalid Password"));
    }
    let lose = sh.write_fault(&[&email])?;
    let mut t = write(&sh.tenant);
    let domain_ok = email
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(t.domain()));
    if !domain_ok {
        return Err(ApiError::invalid("Domain not found."));
    }
    let mut new = NewUser::new(&email, &given, &family);
    if let Some(ou) = patch.org_unit_path.filter(|o| !o.is_empty()) {
        new.org_unit_path = ou;
    }
    new.employee_id = patch.employee_id.flatten();
    new.manager_email = patch.manager_email.flatten();
    new.employment = patch.employment.unwrap_or(EmploymentType::Employee);
    new.custom_ids = patch.custom_ids.unwrap_or_default();
    new.suspended = patch.suspended.unwrap_or(false);
    new.change_password_at_next_login = m
        .get("changePasswordAtNextLogin")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let user = t.add_user(new).map_err(map_user_error)?;
    sh.publish(watch::drain(&mut t));
    lock(&sh.stats).users_inserted += 1;
    if lose {
        return Err(lost());
    }
    ok(&p, render::user(&t, &user))
}

pub(super) async fn users_patch(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(p): Params,
    bytes: axum::body::Bytes,
) -> ApiResult {
    sh.gate(&headers, Op::UsersWrite, &route("PATCH", &mp), 0)?;
    let m = body(&bytes)?;
    let patch = user_patch(&m)?;
    if patch
        .given_name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        return Err(required("name.givenName"));
    }
    if patch
        .family_name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        return Err(required("name.familyName"));
    }
    let lose = sh.write_fault(&[&key])?;
    let mut t = write(&sh.tenant);
    let user = t.patch_user(&key, patch).map_err(map_user_error)?;
    sh.publish(watch::drain(&mut t));
    lock(&sh.stats).users_patched += 1;
    if lose {
        return Err(lost());
    }
    ok(&p, render::user(&t, &user))
}

pub(super) async fn users_delete(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> ApiResult {
    sh.gate(&headers, Op::UsersWrite, &route("DELETE", &mp), 0)?;
    let lose = sh.write_fault(&[&key])?;
    {
        let mut t = write(&sh.tenant);
        t.delete_user(&key).map_err(map_user_error)?;
        sh.publish(watch::drain(&mut t));
    }
    lock(&sh.stats).users_deleted += 1;
    if lose {
        return Err(lost());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn orgunits_insert(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(customer): Path<String>,
    Query(p): Params,
    bytes: axum::body::Bytes,
) -> ApiResult {
    sh.gate(&headers, Op::OrgUnitsWrite, &route("POST", &mp), 0)?;
    let m = body(&bytes)?;
    unknown_keys(&m, ORG_UNIT_KEYS, "")?;
    let name = text(&m, "name")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| required("name"))?
        .to_owned();
    if name.contains('/') {
        return Err(ApiError::invalid("Invalid Input: name"));
    }
    let parent = text(&m, "parentOrgUnitPath")
        .or_else(|| text(&m, "parentOrgUnitId"))
        .ok_or_else(|| required("parentOrgUnitPath"))?
        .to_owned();
    let description = text(&m, "description").unwrap_or_default().to_owned();
    let lose = sh.write_fault(&[&parent])?;
    let mut t = write(&sh.tenant);
    check_customer(&t, &customer)?;
    let ou = t.add_org_unit(&parent, &name).map_err(|e| match e {
        Error::AlreadyExists(_) => ApiError::new(409, "duplicate", "Invalid Ou Id"),
        Error::NotFound(_) => ApiError::invalid("Invalid Input: INVALID_PARENT_ORGUNIT_ID"),
        other => ApiError::new(500, "backendError", other.to_string()),
    })?;
    let ou = t
        .set_org_unit_description(&ou.path, description)
        .unwrap_or(ou);
    lock(&sh.stats).org_units_inserted += 1;
    if lose {
        return Err(lost());
    }
    ok(&p, render::org_unit(&t, &ou))
}
