//! `orgunits.list`, `orgunits.get` and `customers.get`.

use axum::extract::{MatchedPath, Path, Query, State};
use axum::http::HeaderMap;
use serde_json::Value;

use super::gate::Op;
use super::response::{ApiError, ApiResult, ok};
use super::{Params, S, check_customer, read, route};
use crate::render::{self};

pub(super) async fn orgunits_list(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(customer): Path<String>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::OrgUnitsRead, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    check_customer(&t, &customer)?;
    let base = match p.get("orgUnitPath").filter(|s| !s.is_empty()) {
        None => t.org_units().first(),
        Some(k) => t.org_unit(k),
    }
    .ok_or_else(|| ApiError::new(404, "notFound", "Org unit not found"))?;
    let base_path = base.path.clone();
    let prefix = if base_path == "/" {
        "/".to_owned()
    } else {
        format!("{base_path}/")
    };
    let kind = p.get("type").map(String::as_str).unwrap_or("children");
    let units: Vec<Value> = t
        .org_units()
        .iter()
        .filter(|o| match kind {
            "children" => o.parent_path.as_deref() == Some(base_path.as_str()),
            "all" => o.path != base_path && o.path.starts_with(&prefix),
            "allIncludingParent" => o.path == base_path || o.path.starts_with(&prefix),
            _ => false,
        })
        .map(|o| render::org_unit(&t, o))
        .collect();
    if !matches!(kind, "children" | "all" | "allIncludingParent") {
        return Err(ApiError::invalid(format!("Invalid value '{kind}'")).at("type", "parameter"));
    }
    let mut v = render::list(
        &t,
        "admin#directory#orgUnits",
        "organizationUnits",
        units,
        None,
    );
    if let Value::Object(m) = &mut v {
        m.remove("nextPageToken");
    }
    ok(&p, v)
}

pub(super) async fn orgunits_get(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path((customer, path)): Path<(String, String)>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::OrgUnitsRead, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    check_customer(&t, &customer)?;
    let o = t
        .org_unit(&path)
        .ok_or_else(|| ApiError::new(404, "notFound", "Org unit not found"))?;
    ok(&p, render::org_unit(&t, o))
}

pub(super) async fn customers_get(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(customer): Path<String>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::CustomersGet, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    check_customer(&t, &customer)?;
    ok(&p, render::customer(&t))
}
