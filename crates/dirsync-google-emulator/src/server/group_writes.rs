//! The write side of groups: `groups.insert`, `groups.patch` and `groups.delete`, with Google's
//! validation and errors:
//!
//! - a body key the `Group` resource does not have → 400 `invalid` (`Invalid JSON payload
//!   received. Unknown name "…"`); `groups.insert` without `email` → 400 `required`
//!   (`Missing required field: email`); a description longer than 4,096 characters → 400
//!   `invalid`;
//! - an email in use (by a user, an alias or a group) → 409 `duplicate` (`Entity already
//!   exists.`); an email outside the tenant's domain → 400 `invalid` (`Domain not found.`);
//! - a missing group → 404 `notFound` `groupKey`.
//!
//! A group inserted without a name is named by its email. Each write passes the authorization
//! gate (`admin.directory.group`) and then the write faults, like every other write.

use axum::extract::{MatchedPath, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Map, Value};

use super::gate::Op;
use super::response::{ApiError, ApiResult, ok};
use super::user_writes::{body, lost, required, text, unknown_keys};
use super::{Params, S, lock, route, write};
use crate::error::Error;
use crate::render;

/// The keys of Google's `Group` resource a client may send.
const GROUP_KEYS: &[&str] = &[
    "kind",
    "id",
    "etag",
    "email",
    "name",
    "description",
    "directMembersCount",
    "adminCreated",
    "aliases",
    "nonEditableAliases",
];

/// The longest description Google accepts.
const MAX_DESCRIPTION: usize = 4_096;

fn map_group_error(e: Error) -> ApiError {
    match e {
        Error::AlreadyExists(_) => ApiError::new(409, "duplicate", "Entity already exists."),
        Error::NotFound(_) => ApiError::not_found("groupKey"),
        other => ApiError::new(500, "backendError", other.to_string()),
    }
}

/// The body's keys and description, validated.
fn checked(m: &Map<String, Value>) -> Result<(), ApiError> {
    unknown_keys(m, GROUP_KEYS, "")?;
    if text(m, "description").is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        return Err(ApiError::invalid("Invalid Input: description"));
    }
    Ok(())
}

pub(super) async fn groups_insert(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Query(p): Params,
    bytes: axum::body::Bytes,
) -> ApiResult {
    sh.gate(&headers, Op::GroupsWrite, &route("POST", &mp), 0)?;
    let m = body(&bytes)?;
    checked(&m)?;
    let email = text(&m, "email")
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| required("email"))?
        .to_owned();
    let name = text(&m, "name")
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&email)
        .to_owned();
    let description = text(&m, "description").unwrap_or_default().to_owned();
    let lose = sh.write_fault(&[&email])?;
    let mut t = write(&sh.tenant);
    let domain_ok = email
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(t.domain()));
    if !domain_ok {
        return Err(ApiError::invalid("Domain not found."));
    }
    let group = t.add_group(&email, &name).map_err(map_group_error)?;
    let group = t
        .set_group_fields(&group.id, &group.email, &name, &description)
        .map_err(map_group_error)?;
    lock(&sh.stats).groups_inserted += 1;
    if lose {
        return Err(lost());
    }
    ok(&p, render::group(&t, &group))
}

pub(super) async fn groups_patch(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(p): Params,
    bytes: axum::body::Bytes,
) -> ApiResult {
    sh.gate(&headers, Op::GroupsWrite, &route("PATCH", &mp), 0)?;
    let m = body(&bytes)?;
    checked(&m)?;
    let lose = sh.write_fault(&[&key])?;
    let mut t = write(&sh.tenant);
    let current = t
        .group(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found("groupKey"))?;
    let email = text(&m, "email").unwrap_or(&current.email).to_owned();
    let domain_ok = email
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(t.domain()));
    if !domain_ok {
        return Err(ApiError::invalid("Domain not found."));
    }
    let name = text(&m, "name").unwrap_or(&current.name).to_owned();
    let description = text(&m, "description")
        .unwrap_or(&current.description)
        .to_owned();
    let group = t
        .set_group_fields(&current.id, &email, &name, &description)
        .map_err(map_group_error)?;
    lock(&sh.stats).groups_patched += 1;
    if lose {
        return Err(lost());
    }
    ok(&p, render::group(&t, &group))
}

pub(super) async fn groups_delete(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> ApiResult {
    sh.gate(&headers, Op::GroupsWrite, &route("DELETE", &mp), 0)?;
    let lose = sh.write_fault(&[&key])?;
    write(&sh.tenant)
        .remove_group(&key)
        .map_err(map_group_error)?;
    lock(&sh.stats).groups_deleted += 1;
    if lose {
        return Err(lost());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
