//! The Reports API's activities for groups (reference §6): `GET
//! /admin/reports/v1/activity/users/all/applications/{groups_enterprise|admin}` with
//! `startTime`, `endTime`, `maxResults` (≤ 1000) and `pageToken`, newest first. Every group or
//! membership change of the tenant is one activity in each application, each with its own
//! `id.uniqueQualifier`, and shows only once it is [`ReportsLag`] old (Google's audit log is
//! "near real time", minutes late).

use std::time::Duration;

use axum::extract::{MatchedPath, Path, Query, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::gate::Op;
use super::paging::{encode_token, fingerprint, max_results};
use super::response::{ApiError, ApiResult, ok};
use super::{Params, S, lock, read, route};
use crate::tenant::{GroupActivity, Tenant};

/// The path of the activities listing.
pub(super) const PATH: &str = "/admin/reports/v1/activity/users/all/applications/{application}";

/// How late activities show (settable while running).
#[derive(Debug, Default)]
pub(crate) struct ReportsLag(pub(crate) Duration);

#[derive(Clone, Copy)]
enum App {
    GroupsEnterprise,
    Admin,
}

fn time_param(
    p: &std::collections::HashMap<String, String>,
    name: &'static str,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    match p.get(name) {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::invalid(format!("Invalid value '{s}' for {name}")).at(name, "parameter")
            }),
    }
}

fn render(t: &Tenant, a: &GroupActivity, app: App, admin: &str) -> Value {
    let (name, qualifier, parameters) = match app {
        App::GroupsEnterprise => {
            let mut params = vec![json!({"name": "group_id", "value": a.group_email})];
            if let Some(m) = &a.member {
                params.push(json!({"name": "member_id", "value": m}));
                params.push(json!({"name": "member_type", "value": "user"}));
            }
            if let Some(r) = &a.role {
                params.push(json!({"name": "member_role", "value": r}));
            }
            (a.event.groups_enterprise_name(), a.seq * 2, params)
        }
        App::Admin => {
            let mut params = vec![json!({"name": "GROUP_EMAIL", "value": a.group_email})];
            if let Some(m) = &a.member {
                params.push(json!({"name": "USER_EMAIL", "value": m}));
            }
            (a.event.admin_name(), a.seq * 2 + 1, params)
        }
    };
    let application = match app {
        App::GroupsEnterprise => "groups_enterprise",
        App::Admin => "admin",
    };
    json!({
        "kind": "admin#reports#activity",
        "id": {
            "time": a.time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "uniqueQualifier": (4_000_000_000_000_000_000u64 + qualifier).to_string(),
            "applicationName": application,
            "customerId": t.customer_id(),
        },
        "actor": {"email": admin, "profileId": "100000000000000000001"},
        "events": [{"type": "GROUP_SETTINGS", "name": name, "parameters": parameters}],
    })
}

/// `GET /admin/reports/v1/activity/users/all/applications/{application}`.
pub(super) async fn activities(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(application): Path<String>,
    Query(p): Params,
) -> ApiResult {
    let app = match application.as_str() {
        "groups_enterprise" => App::GroupsEnterprise,
        "admin" => App::Admin,
        other => {
            return Err(
                ApiError::invalid(format!("Invalid value '{other}' for applicationName"))
                    .at("applicationName", "parameter"),
            );
        }
    };
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let fp = fingerprint(&["activities", &application, get("startTime"), get("endTime")]);
    let (_, after) = sh.gate_page(&headers, Op::ReportsRead, &route("GET", &mp), &p, &fp)?;
    let size = max_results(&p, 1000, 1000)?;
    let start = time_param(&p, "startTime")?;
    let end = time_param(&p, "endTime")?;
    let now = Utc::now();
    let lag = chrono::Duration::from_std(lock(&sh.reports_lag).0).unwrap_or_default();
    let after: Option<u64> = after.and_then(|k| k.parse().ok());
    let t = read(&sh.tenant);
    let admin = t
        .live_users()
        .find(|u| u.is_admin)
        .map(|u| u.primary_email.clone())
        .unwrap_or_default();
    let visible: Vec<&GroupActivity> = t
        .group_activities()
        .iter()
        .rev()
        .filter(|a| a.time + lag <= now)
        .filter(|a| start.is_none_or(|s| a.time >= s) && end.is_none_or(|e| a.time <= e))
        .filter(|a| after.is_none_or(|k| a.seq < k))
        .collect();
    let page: Vec<Value> = visible
        .iter()
        .take(size)
        .map(|a| render(&t, a, app, &admin))
        .collect();
    let mut answer = json!({"kind": "admin#reports#activities"});
    if let Value::Object(m) = &mut answer {
        if visible.len() > size
            && let Some(last) = visible.get(size - 1)
        {
            let (index, _) = super::paging::page_of(&p, &fp).unwrap_or((0, None));
            m.insert(
                "nextPageToken".to_owned(),
                Value::String(encode_token(&fp, index + 1, &last.seq.to_string())),
            );
        }
        if !page.is_empty() {
            m.insert("items".to_owned(), Value::Array(page));
        }
    }
    ok(&p, answer)
}
