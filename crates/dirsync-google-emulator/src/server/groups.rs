//! `groups.list` and `groups.get`.

use axum::extract::{MatchedPath, Path, Query, State};
use axum::http::HeaderMap;

use super::gate::Op;
use super::listing::Listing;
use super::paging::{encode_token, fingerprint, max_results};
use super::response::{ApiError, ApiResult, ok, ok_text};
use super::{Params, S, check_customer, read, route};
use crate::render::{self, GroupJson, ListJson};
use crate::tenant::Resolved;

pub(super) async fn groups_list(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Query(p): Params,
) -> ApiResult {
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let fp = fingerprint(&[
        "groups",
        get("customer"),
        get("domain"),
        get("userKey"),
        get("sortOrder"),
    ]);
    let (page, after) = sh.gate_page(&headers, Op::GroupsRead, &route("GET", &mp), &p, &fp)?;
    let size = max_results(&p, 200, 200)?;
    if p.contains_key("query") {
        return Err(
            ApiError::invalid("Invalid Input: query (not supported by the emulator)")
                .at("query", "parameter"),
        );
    }
    let t = read(&sh.tenant);
    let domain = match (p.get("userKey"), p.get("customer"), p.get("domain")) {
        (None, None, Some(d)) => Some(format!("@{}", d.to_ascii_lowercase())),
        _ => None,
    };
    let member_id = match (p.get("userKey"), p.get("customer"), p.get("domain")) {
        (Some(u), _, _) => {
            let id = match t.resolve(u) {
                Some(Resolved::User(i)) => t.users().get(i).map(|u| u.id.clone()),
                Some(Resolved::Group(i)) => t.groups().get(i).map(|g| g.id.clone()),
                None => None,
            };
            Some(id.ok_or_else(|| ApiError::not_found("userKey"))?)
        }
        (None, Some(c), _) => {
            check_customer(&t, c)?;
            None
        }
        (None, None, Some(d)) if t.owns_domain(d) => None,
        (None, None, Some(_)) => return Err(ApiError::forbidden()),
        (None, None, None) => return Err(ApiError::bad_request()),
    };
    let descending = match get("sortOrder") {
        "" | "ASCENDING" => false,
        "DESCENDING" => true,
        o => {
            return Err(
                ApiError::invalid(format!("Invalid value '{o}'")).at("sortOrder", "parameter")
            );
        }
    };
    let keep = |i: usize| {
        t.groups().get(i).is_some_and(|g| {
            member_id
                .as_ref()
                .is_none_or(|id| g.members.iter().any(|m| &m.id == id))
                && super::users::in_domain(&g.email, domain.as_deref())
        })
    };
    let index = t.index(Listing::Groups);
    let (groups, next) = index.page(after.as_deref(), descending, size, keep);
    let prefix = render::etag_prefix(&t);
    let groups = groups.iter().filter_map(|&i| t.groups().get(i));
    let groups = groups.map(|g| GroupJson::new(&prefix, g)).collect();
    let next = next.map(|k| encode_token(&fp, page + 1, &k));
    let list = ListJson::new(&t, "admin#directory#groups", "groups", groups, next);
    ok_text(&p, &list)
}

/// `domains.list`: the customer's domains, the primary first.
pub(super) async fn domains_list(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(customer): Path<String>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::DomainsRead, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    check_customer(&t, &customer)?;
    ok(&p, render::domains(&t))
}

pub(super) async fn groups_get(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::GroupsRead, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    let g = t
        .group(&key)
        .ok_or_else(|| ApiError::not_found("groupKey"))?;
    ok(&p, render::group(&t, g))
}
