//! Members: `members.list`, `members.get`, `members.hasMember`, `members.insert` and
//! `members.delete`.

use std::collections::HashSet;

use axum::extract::{MatchedPath, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::gate::Op;
use super::listing::Listing;
use super::paging::{encode_token, fingerprint, lowercase, max_results, take_page};
use super::response::{ApiError, ApiResult, ok, ok_text};
use super::{Params, S, lock, read, route, write};
use crate::error::Error;
use crate::render::{self, ListJson, MemberJson};
use crate::tenant::{MemberType, Membership, Resolved, Role, Tenant};

pub(super) fn derived_members(t: &Tenant, gi: usize) -> Vec<Membership> {
    let mut out: Vec<Membership> = Vec::new();
    let mut seen_ids: HashSet<String> = HashSet::new();
    let mut seen_groups: HashSet<usize> = HashSet::new();
    let mut queue = vec![gi];
    while let Some(g) = queue.pop() {
        if !seen_groups.insert(g) {
            continue;
        }
        let Some(group) = t.groups().get(g) else {
            continue;
        };
        for m in &group.members {
            if seen_ids.insert(m.id.clone()) {
                out.push(m.clone());
            }
            if m.member_type == MemberType::Group
                && let Some(c) = t.group_index_of(&m.id)
            {
                queue.push(c);
            }
        }
    }
    out
}

pub(super) async fn members_list(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(group_key): Path<String>,
    Query(p): Params,
) -> ApiResult {
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let fp = fingerprint(&[
        "members",
        &group_key.to_ascii_lowercase(),
        get("roles"),
        get("includeDerivedMembership"),
    ]);
    let (page, after) = sh.gate_page(&headers, Op::MembersRead, &route("GET", &mp), &p, &fp)?;
    let size = max_results(&p, 200, 200)?;
    let t = read(&sh.tenant);
    let gi = t
        .group_index_of(&group_key)
        .ok_or_else(|| ApiError::not_found("groupKey"))?;
    let roles: Option<Vec<Role>> = match p.get("roles").filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(
            r.split(',')
                .map(|s| {
                    Role::parse(s.trim()).ok_or_else(|| {
                        ApiError::invalid("Invalid Input: roles").at("roles", "parameter")
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let keep = |m: &Membership| roles.as_ref().is_none_or(|r| r.contains(&m.role));
    let derived = (get("includeDerivedMembership") == "true").then(|| derived_members(&t, gi));
    let prefix = render::etag_prefix(&t);
    let (members, next): (Vec<MemberJson<'_>>, _) = match (&derived, t.groups().get(gi)) {
        (Some(derived), _) => {
            let items = derived.iter().filter(|m| keep(m));
            let items = items.map(|m| (lowercase(&m.id), m)).collect();
            let (page, next) = take_page(items, after.as_deref(), false, size);
            let page = page.into_iter();
            let json = |m| MemberJson::new(&prefix, m, render::member_status(&t, m));
            (page.map(json).collect(), next)
        }
        (None, None) => (Vec::new(), None),
        (None, Some(g)) => {
            let index = t.index(Listing::Members(gi));
            let keep = |i: usize| g.members.get(i).is_some_and(keep);
            let (page, next) = index.page(after.as_deref(), false, size, keep);
            let json = |&i: &usize| {
                let m = g.members.get(i)?;
                Some(MemberJson::new(&prefix, m, index.status(i)))
            };
            (page.iter().filter_map(json).collect(), next)
        }
    };
    let next = next.map(|k| encode_token(&fp, page + 1, &k));
    let list = ListJson::new(&t, "admin#directory#members", "members", members, next);
    ok_text(&p, &list)
}

pub(super) async fn members_get(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path((group_key, member_key)): Path<(String, String)>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::MembersRead, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    let gi = t
        .group_index_of(&group_key)
        .ok_or_else(|| ApiError::not_found("groupKey"))?;
    let pos = t
        .member_position(gi, &member_key)
        .ok_or_else(|| ApiError::not_found("memberKey"))?;
    let m = t
        .groups()
        .get(gi)
        .and_then(|g| g.members.get(pos))
        .ok_or_else(|| ApiError::not_found("memberKey"))?;
    ok(&p, render::member(&t, m))
}

pub(super) async fn has_member(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path((group_key, member_key)): Path<(String, String)>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::MembersRead, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    let gi = t
        .group_index_of(&group_key)
        .ok_or_else(|| ApiError::not_found("groupKey"))?;
    let user_id = match t.resolve(&member_key) {
        Some(Resolved::User(u)) => t.users().get(u).map(|u| u.id.clone()),
        Some(Resolved::Group(_)) => return Err(ApiError::invalid("Invalid Input: memberKey")),
        None => None,
    };
    let user_id = user_id.ok_or_else(|| ApiError::not_found("memberKey"))?;
    let is_member = derived_members(&t, gi).iter().any(|m| m.id == user_id);
    ok(&p, json!({"isMember": is_member}))
}

pub(super) fn map_mutation(e: Error) -> ApiError {
    match e {
        Error::NotFound(what) => ApiError::not_found(&what),
        Error::AlreadyExists(_) => ApiError::new(409, "duplicate", "Member already exists."),
        Error::Invalid(msg) => ApiError::new(400, "conditionNotMet", msg),
        other => ApiError::new(500, "backendError", other.to_string()),
    }
}

pub(super) async fn members_insert(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(group_key): Path<String>,
    Query(p): Params,
    body: axum::body::Bytes,
) -> ApiResult {
    sh.gate(&headers, Op::MembersWrite, &route("POST", &mp), 0)?;
    let lose = sh.gate_write(&group_key)?;
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let key = v
        .get("email")
        .and_then(Value::as_str)
        .or_else(|| v.get("id").and_then(Value::as_str))
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::new(400, "required", "Missing required field: member"))?;
    let role = match v.get("role").and_then(Value::as_str) {
        None => Role::Member,
        Some(r) => Role::parse(r).ok_or_else(|| ApiError::invalid("Invalid Input: role"))?,
    };
    let mut t = write(&sh.tenant);
    if t.group_index_of(&group_key).is_none() {
        return Err(ApiError::not_found("groupKey"));
    }
    let m = t.add_member(&group_key, key, role).map_err(map_mutation)?;
    lock(&sh.stats).members_inserted += 1;
    if lose {
        return Err(super::user_writes::lost());
    }
    ok(&p, render::member(&t, &m))
}

pub(super) async fn members_delete(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path((group_key, member_key)): Path<(String, String)>,
) -> ApiResult {
    sh.gate(&headers, Op::MembersWrite, &route("DELETE", &mp), 0)?;
    let lose = sh.gate_write(&group_key)?;
    write(&sh.tenant)
        .remove_member(&group_key, &member_key)
        .map_err(map_mutation)?;
    lock(&sh.stats).members_deleted += 1;
    if lose {
        return Err(super::user_writes::lost());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `members.patch`: changes a member's role (the only member field a client sets); a body
/// without `role` leaves it as it is.
pub(super) async fn members_patch(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path((group_key, member_key)): Path<(String, String)>,
    Query(p): Params,
    body: axum::body::Bytes,
) -> ApiResult {
    sh.gate(&headers, Op::MembersWrite, &route("PATCH", &mp), 0)?;
    let lose = sh.gate_write(&group_key)?;
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let role = match v.get("role").and_then(Value::as_str) {
        None => None,
        Some(r) => Some(Role::parse(r).ok_or_else(|| ApiError::invalid("Invalid Input: role"))?),
    };
    let mut t = write(&sh.tenant);
    let gi = t
        .group_index_of(&group_key)
        .ok_or_else(|| ApiError::not_found("groupKey"))?;
    let current = t
        .member_position(gi, &member_key)
        .and_then(|pos| t.groups().get(gi)?.members.get(pos))
        .map(|m| m.role)
        .ok_or_else(|| ApiError::not_found("memberKey"))?;
    let m = t
        .set_member_role(&group_key, &member_key, role.unwrap_or(current))
        .map_err(map_mutation)?;
    lock(&sh.stats).members_patched += 1;
    if lose {
        return Err(super::user_writes::lost());
    }
    ok(&p, render::member(&t, &m))
}
