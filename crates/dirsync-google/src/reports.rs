//! Groups and memberships by polling (issue 19 point 3; reference §6): Google has no push for
//! them, so the Reports API's activities of the applications `groups_enterprise` and `admin`
//! are read for a window (every page), each naming a group (`group_id` / `GROUP_EMAIL`); the
//! groups named are then re-read with `groups.get` and every page of `members.list` — a
//! complete per-group snapshot. Needs the optional scope `admin.reports.audit.readonly`; an
//! integration granted it says so in its authorization (its scopes), one without it has push
//! for users only.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use dirsync_core::{Activity, Authorization, GroupRead, Scope};
use serde_json::Value;

use crate::GoogleConnector;
use crate::client::ApiRequest;
use crate::counters::Counters;
use crate::error::Error;
use crate::fetch::{GROUP_GET_FIELDS, MEMBER_FIELDS, routes as fetch_routes};
use crate::mapping;
use crate::settings::scopes;
use crate::wire::Page;

/// The route label of the activities listing.
pub(crate) const ACTIVITIES: &str =
    "GET /admin/reports/v1/activity/users/all/applications/{applicationName}";

/// The applications whose activities name groups, and the parameter naming the group in each.
const APPLICATIONS: [(&str, &str); 2] =
    [("groups_enterprise", "group_id"), ("admin", "GROUP_EMAIL")];

impl GoogleConnector {
    /// Whether `authorization` includes the Reports scope (so activities can be polled).
    pub(crate) fn reports_granted(authorization: &Authorization) -> bool {
        authorization
            .scopes
            .iter()
            .any(|s| s.as_str() == scopes::REPORTS_AUDIT_READONLY)
    }

    /// Every activity of both applications between `start` and `end`.
    pub(crate) async fn activities(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Activity>, Error> {
        let scope = Scope::new(scopes::REPORTS_AUDIT_READONLY)?;
        let start = start.to_rfc3339_opts(SecondsFormat::Millis, true);
        let end = end.to_rfc3339_opts(SecondsFormat::Millis, true);
        let counters = Counters::default();
        let mut out = Vec::new();
        for (application, parameter) in APPLICATIONS {
            let mut token: Option<String> = None;
            loop {
                let mut query = vec![
                    ("startTime", start.as_str()),
                    ("endTime", end.as_str()),
                    ("maxResults", "1000"),
                    ("prettyPrint", "false"),
                ];
                if let Some(t) = &token {
                    query.push(("pageToken", t));
                }
                let mut req = ApiRequest::new(&self.api_base, ACTIVITIES, &[], &query, &scope)?;
                req.set_path(&format!(
                    "/admin/reports/v1/activity/users/all/applications/{application}"
                ));
                let page = self.client.get_json(&req, &counters).await?;
                for item in page
                    .get("items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    out.extend(activity(application, parameter, item)?);
                }
                match page.get("nextPageToken").and_then(Value::as_str) {
                    Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                    _ => break,
                }
            }
        }
        Ok(out)
    }

    /// One group and every member it has; [`GroupRead::Deleted`] when `groups.get` answers 404.
    /// A member that cannot be read fails the whole read (a partial member list would look like
    /// removals).
    pub(crate) async fn group_snapshot(&self, key: &str) -> Result<GroupRead, Error> {
        let counters = Counters::default();
        let scope = self.read_scope(scopes::GROUP_READONLY)?;
        let req = ApiRequest::new(
            &self.api_base,
            fetch_routes::GROUP,
            &["groups", key],
            &[("fields", GROUP_GET_FIELDS), ("prettyPrint", "false")],
            &scope,
        )?;
        let raw = match self.client.get_record(&req, &counters).await {
            Ok(v) => v,
            Err(Error::Http {
                status: Some(404), ..
            }) => return Ok(GroupRead::Deleted),
            Err(e) => return Err(e),
        };
        let unusable = |route: &str, label: &str, reason: &str| Error::Decode {
            route: route.to_owned(),
            message: format!("{label} is unusable: {reason}"),
        };
        let group = mapping::map_group(&raw)
            .map_err(|q| unusable(fetch_routes::GROUP, &q.label, &q.reason))?;
        let mut members = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                ("maxResults", "200"),
                ("fields", MEMBER_FIELDS),
                ("prettyPrint", "false"),
            ];
            if let Some(t) = &token {
                query.push(("pageToken", t));
            }
            let req = ApiRequest::new(
                &self.api_base,
                fetch_routes::MEMBERS,
                &["groups", group.external_id.as_str(), "members"],
                &query,
                &scope,
            )?;
            let body = self.client.send(&req, &counters).await?;
            let page = Page::parse(req.route, &body)?;
            for v in &page.members {
                members.push(
                    mapping::map_member(&group.external_id, v.get())
                        .map_err(|q| unusable(fetch_routes::MEMBERS, &q.label, &q.reason))?,
                );
            }
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(GroupRead::Present {
            group: Box::new(group),
            members,
        })
    }
}

/// The activities of one item: one per distinct group its events name (an item naming none
/// gives none).
fn activity(application: &str, parameter: &str, item: &Value) -> Result<Vec<Activity>, Error> {
    let decode = |message: &str| Error::Decode {
        route: ACTIVITIES.to_owned(),
        message: message.to_owned(),
    };
    let id = item
        .get("id")
        .ok_or_else(|| decode("an activity has no id"))?;
    let qualifier = match id.get("uniqueQualifier") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(decode("an activity has no id.uniqueQualifier")),
    };
    let time = id
        .get("time")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| decode("an activity has no id.time in RFC 3339"))?;
    let groups: BTreeSet<String> = item
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|e| {
            e.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|p| p.get("name").and_then(Value::as_str) == Some(parameter))
        .filter_map(|p| p.get("value").and_then(Value::as_str))
        .filter(|v| !v.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let base = format!("{application}:{qualifier}");
    Ok(groups
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let id = if i == 0 {
                base.clone()
            } else {
                format!("{base}#{i}")
            };
            Activity::new(id, time, g)
        })
        .collect())
}
