//! `users.list` (with `query=`) and `users.get`.

use axum::extract::{MatchedPath, Path, Query, State};
use axum::http::HeaderMap;

use super::gate::Op;
use super::listing::Listing;
use super::paging::{encode_token, fingerprint, max_results};
use super::response::{ApiError, ApiResult, ok, ok_text};
use super::{Params, S, check_customer, read, route};
use crate::render::{self, ListJson, UserJson};
use crate::tenant::User;

/// One term of a users.list `query`.
pub(super) type UserFilter = Box<dyn Fn(&User) -> bool + Send>;

pub(super) fn query_filter(query: &str) -> Result<Vec<UserFilter>, ApiError> {
    let mut terms = Vec::new();
    let mut cur = String::new();
    let mut quote = false;
    for c in query.chars() {
        match c {
            '\'' | '"' => quote = !quote,
            c if c.is_whitespace() && !quote => {
                if !cur.is_empty() {
                    terms.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        terms.push(cur);
    }
    let bad = || ApiError::invalid("Invalid Input");
    let mut filters: Vec<UserFilter> = Vec::new();
    for term in terms {
        let (field, op, value) = match (term.find('='), term.find(':')) {
            (Some(i), c) if c.is_none_or(|c| i < c) => (&term[..i], '=', term[i + 1..].to_owned()),
            (_, Some(i)) => (&term[..i], ':', term[i + 1..].to_owned()),
            _ => return Err(bad()),
        };
        let boolean = |v: &str| match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(bad()),
        };
        match field {
            "orgUnitPath" => {
                let path = value.trim_end_matches('/').to_ascii_lowercase();
                filters.push(Box::new(move |u: &User| {
                    let p = u.org_unit_path.to_ascii_lowercase();
                    path.is_empty() || p == path || p.starts_with(&format!("{path}/"))
                }));
            }
            "isSuspended" => {
                let b = boolean(&value)?;
                filters.push(Box::new(move |u: &User| u.suspended == b));
            }
            "isAdmin" => {
                let b = boolean(&value)?;
                filters.push(Box::new(move |u: &User| u.is_admin == b));
            }
            "email" => {
                let v = value.to_ascii_lowercase();
                if op == ':' {
                    let prefix = v.trim_end_matches('*').to_owned();
                    filters.push(Box::new(move |u: &User| {
                        u.primary_email.starts_with(&prefix)
                    }));
                } else {
                    filters.push(Box::new(move |u: &User| u.primary_email == v));
                }
            }
            _ => return Err(bad()),
        }
    }
    Ok(filters)
}

pub(super) async fn users_list(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Query(p): Params,
) -> ApiResult {
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let fp = fingerprint(&[
        "users",
        get("customer"),
        get("domain"),
        get("query"),
        get("showDeleted"),
        get("orderBy"),
        get("sortOrder"),
    ]);
    let (page, after) = sh.gate_page(&headers, Op::UsersList, &route("GET", &mp), &p, &fp)?;
    let size = max_results(&p, 100, 500)?;
    let t = read(&sh.tenant);
    let domain = match (p.get("customer"), p.get("domain")) {
        (Some(c), _) => {
            check_customer(&t, c)?;
            None
        }
        (None, Some(d)) if t.owns_domain(d) => Some(format!("@{}", d.to_ascii_lowercase())),
        (None, Some(_)) => return Err(ApiError::forbidden()),
        (None, None) => return Err(ApiError::bad_request()),
    };
    let show_deleted = get("showDeleted") == "true";
    let filters = query_filter(get("query"))?;
    let order = match get("orderBy") {
        "" | "email" => Listing::UsersByEmail,
        "givenName" => Listing::UsersByGivenName,
        "familyName" => Listing::UsersByFamilyName,
        o => {
            return Err(
                ApiError::invalid(format!("Invalid value '{o}'")).at("orderBy", "parameter")
            );
        }
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
        t.users().get(i).is_some_and(|u| {
            u.is_deleted() == show_deleted
                && filters.iter().all(|f| f(u))
                && in_domain(&u.primary_email, domain.as_deref())
        })
    };
    let index = t.index(order);
    let (users, next) = index.page(after.as_deref(), descending, size, keep);
    let prefix = render::etag_prefix(&t);
    let users = users.iter().filter_map(|&i| t.users().get(i));
    let users = users.map(|u| UserJson::new(&t, &prefix, u)).collect();
    let next = next.map(|k| encode_token(&fp, page + 1, &k));
    let list = ListJson::new(&t, "admin#directory#users", "users", users, next);
    ok_text(&p, &list)
}

/// Whether `email` is in the domain (`@domain`, lower case) a listing's `domain=` names.
pub(super) fn in_domain(email: &str, at_domain: Option<&str>) -> bool {
    at_domain.is_none_or(|d| email.to_ascii_lowercase().ends_with(d))
}

pub(super) async fn users_get(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::UsersGet, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    let u = t.user(&key).ok_or_else(|| ApiError::not_found("userKey"))?;
    ok(&p, render::user(&t, u))
}
