//! `Users` and `Groups`: create, read, list (filter, paging, attribute selection), search,
//! replace, patch and delete. Writes are checked whole, then pushed through the service, so a
//! refused write changes nothing.

use axum::Extension;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dirsync_core::MemberKind;
use dirsync_engine::{Push, PushOutcome};
use dirsync_scim::mapping::{to_remote_group, to_remote_user};
use dirsync_scim::patch;
use dirsync_scim::schema::{ENTERPRISE_SCHEMA, LIST_SCHEMA, ResourceType};
use dirsync_scim::{Error as ScimError, Filter};
use serde_json::{Value, json};

use super::directory::{Directory, Served};
use super::projection::project;
use super::{Refusal, ScimIntegration, json_body, scim_json};
use crate::AppState;

/// The most resources one list answer holds.
pub(crate) const MAX_COUNT: usize = 1000;

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// What a list or search asks for.
#[derive(Debug, Default)]
struct ListRequest {
    filter: Option<String>,
    start: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    excluded: Option<String>,
}

impl ListRequest {
    fn from_query(params: Params) -> Result<Self, Refusal> {
        let Query(params) = params.map_err(|e| Refusal(ScimError::InvalidValue(e.body_text())))?;
        let mut request = Self::default();
        for (k, v) in params {
            match k.to_ascii_lowercase().as_str() {
                "filter" => request.filter = Some(v),
                "startindex" => request.start = Some(v),
                "count" => request.count = Some(v),
                "attributes" => request.attributes = Some(v),
                "excludedattributes" => request.excluded = Some(v),
                _ => {}
            }
        }
        Ok(request)
    }

    fn from_body(body: &Value) -> Result<Self, Refusal> {
        let text = |k: &str| -> Option<String> {
            let v = body
                .as_object()?
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))?
                .1;
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Array(items) => Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                _ => None,
            }
        };
        if !body.is_object() {
            return Err(Refusal(ScimError::InvalidSyntax(
                "a search must be a JSON object".to_owned(),
            )));
        }
        Ok(Self {
            filter: text("filter"),
            start: text("startIndex"),
            count: text("count"),
            attributes: text("attributes"),
            excluded: text("excludedAttributes"),
        })
    }

    fn answer(&self, all: Vec<(ResourceType, Served)>, base: &str) -> Result<Response, Refusal> {
        let number = |v: &Option<String>, default: i64| -> Result<i64, Refusal> {
            v.as_deref().map_or(Ok(default), |s| {
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| Refusal(ScimError::InvalidValue(format!("{s:?} is not a number"))))
            })
        };
        let start = number(&self.start, 1)?.max(1) as usize;
        let count = number(&self.count, 100)?.clamp(0, MAX_COUNT as i64) as usize;
        let filter = self.filter.as_deref().map(Filter::parse).transpose()?;
        let matching: Vec<(ResourceType, Served)> = all
            .into_iter()
            .filter(|(_, s)| filter.as_ref().is_none_or(|f| f.matches(&s.resource)))
            .collect();
        let total = matching.len();
        let page: Vec<Value> = matching
            .into_iter()
            .skip(start - 1)
            .take(count)
            .map(|(kind, s)| self.project(s.render(kind, base)))
            .collect::<Result<_, _>>()?;
        Ok(scim_json(&json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        })))
    }

    fn project(&self, resource: Value) -> Result<Value, Refusal> {
        project(
            resource,
            self.attributes.as_deref(),
            self.excluded.as_deref(),
        )
    }
}

/// Refuses with 412 unless `If-Match` is absent, `*`, or names `current`'s version.
fn check_if_match(headers: &HeaderMap, current: &Served) -> Result<(), Refusal> {
    let Some(wanted) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let version = current.etag();
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let ok = wanted
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == bare(&version));
    if ok {
        Ok(())
    } else {
        Err(Refusal(ScimError::PreconditionFailed))
    }
}

/// Refuses a `userName` another live user has.
fn check_unique(
    kind: ResourceType,
    dir: &Directory,
    id: &str,
    resource: &Value,
) -> Result<(), Refusal> {
    if kind != ResourceType::User {
        return Ok(());
    }
    let name = resource
        .get("userName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let taken = dir.user_name_taken(id, name);
    if taken {
        return Err(Refusal(ScimError::Uniqueness(format!(
            "userName {name:?} is taken"
        ))));
    }
    Ok(())
}

/// The push a written resource becomes.
fn push_of(
    kind: ResourceType,
    dir: &Directory,
    id: &str,
    resource: &Value,
) -> Result<Push, Refusal> {
    Ok(match kind {
        ResourceType::User => {
            let manager = resource
                .get(ENTERPRISE_SCHEMA)
                .and_then(|e| e.get("manager"))
                .and_then(|m| m.get("value"))
                .and_then(Value::as_str)
                .and_then(|m| dir.email_of(m));
            Push::User(to_remote_user(id, resource, manager)?)
        }
        ResourceType::Group => {
            let (group, members) = to_remote_group(
                id,
                resource,
                |m| {
                    if dir.is_group(m) {
                        MemberKind::Group
                    } else {
                        MemberKind::User
                    }
                },
                |m| dir.email_of(m),
            )?;
            Push::Group { group, members }
        }
    })
}

/// Pushes a change through the service; a hold is answered 503 with `Retry-After`.
async fn push(state: &AppState, scim: &ScimIntegration, push: &Push) -> Result<(), Refusal> {
    match state
        .service()
        .apply_push(scim.integration.id(), push)
        .await?
    {
        PushOutcome::Held {
            retry_after, plan, ..
        } => Err(Refusal(ScimError::Held {
            reason: format!("the users safeguard holds this change for approval (plan {plan})"),
            retry_after_seconds: u64::try_from(retry_after.num_seconds()).unwrap_or(60),
        })),
        _ => Ok(()),
    }
}

/// Answers with the resource as stored now: a user as written (its stored resource is exactly
/// that, and a user write changes no group), a group read back.
async fn answer(
    state: &AppState,
    scim: &ScimIntegration,
    kind: ResourceType,
    written: (&Directory, &str, &Value),
    status: StatusCode,
) -> Result<Response, Refusal> {
    let (dir, id, resource) = written;
    let served = match kind {
        ResourceType::User => dir.as_written(id, resource),
        ResourceType::Group => Directory::load(state, scim).await?.find(kind, id)?,
    };
    let rendered = served.render(kind, &scim.base);
    let mut response = scim_json(&rendered);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&served.etag()) {
        headers.insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Some(loc) = rendered["meta"]["location"].as_str()
        && let Ok(v) = HeaderValue::from_str(loc)
    {
        headers.insert(header::LOCATION, v);
    }
    Ok(response)
}

async fn create(
    state: AppState,
    scim: ScimIntegration,
    kind: ResourceType,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let resource = dirsync_scim::normalize(kind, &json_body(&headers, body).await?)?;
    let dir = Directory::load(&state, &scim).await?;
    let id = uuid::Uuid::new_v4().to_string();
    check_unique(kind, &dir, &id, &resource)?;
    push(&state, &scim, &push_of(kind, &dir, &id, &resource)?).await?;
    answer(
        &state,
        &scim,
        kind,
        (&dir, &id, &resource),
        StatusCode::CREATED,
    )
    .await
}

async fn read(
    state: AppState,
    scim: ScimIntegration,
    kind: ResourceType,
    id: String,
    params: Params,
) -> Result<Response, Refusal> {
    let request = ListRequest::from_query(params)?;
    let served = Directory::load(&state, &scim).await?.find(kind, &id)?;
    let mut response = scim_json(&request.project(served.render(kind, &scim.base))?);
    if let Ok(v) = HeaderValue::from_str(&served.etag()) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

async fn list(
    state: AppState,
    scim: ScimIntegration,
    kinds: &[ResourceType],
    request: ListRequest,
) -> Result<Response, Refusal> {
    let dir = Directory::load(&state, &scim).await?;
    let mut all = Vec::new();
    for kind in kinds {
        let served = match kind {
            ResourceType::User => dir.users(),
            ResourceType::Group => dir.groups(),
        };
        all.extend(served.into_iter().map(|s| (*kind, s)));
    }
    request.answer(all, &scim.base)
}

async fn replace(
    state: AppState,
    scim: ScimIntegration,
    kind: ResourceType,
    id: String,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let resource = dirsync_scim::normalize(kind, &json_body(&headers, body).await?)?;
    let dir = Directory::load(&state, &scim).await?;
    check_if_match(&headers, &dir.find(kind, &id)?)?;
    check_unique(kind, &dir, &id, &resource)?;
    push(&state, &scim, &push_of(kind, &dir, &id, &resource)?).await?;
    answer(&state, &scim, kind, (&dir, &id, &resource), StatusCode::OK).await
}

async fn modify(
    state: AppState,
    scim: ScimIntegration,
    kind: ResourceType,
    id: String,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let operations = patch::parse(&json_body(&headers, body).await?)?;
    let dir = Directory::load(&state, &scim).await?;
    let current = dir.find(kind, &id)?;
    check_if_match(&headers, &current)?;
    let resource = patch::apply(kind, &current.writable(kind)?, &operations)?;
    check_unique(kind, &dir, &id, &resource)?;
    push(&state, &scim, &push_of(kind, &dir, &id, &resource)?).await?;
    answer(&state, &scim, kind, (&dir, &id, &resource), StatusCode::OK).await
}

async fn remove(
    state: AppState,
    scim: ScimIntegration,
    kind: ResourceType,
    id: String,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let dir = Directory::load(&state, &scim).await?;
    let current = dir.find(kind, &id)?;
    check_if_match(&headers, &current)?;
    let external_id = dirsync_core::ExternalId::new(id)
        .map_err(|e| Refusal(ScimError::InvalidValue(e.to_string())))?;
    let change = match kind {
        ResourceType::User => Push::UserDeleted(external_id),
        ResourceType::Group => Push::GroupDeleted(external_id),
    };
    push(&state, &scim, &change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

type Scim = Extension<ScimIntegration>;
type Id = Path<(String, String)>;

pub(super) async fn create_user(
    State(s): State<AppState>,
    Extension(c): Scim,
    h: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    create(s, c, ResourceType::User, h, body).await
}
pub(super) async fn create_group(
    State(s): State<AppState>,
    Extension(c): Scim,
    h: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    create(s, c, ResourceType::Group, h, body).await
}
pub(super) async fn get_user(
    State(s): State<AppState>,
    Extension(c): Scim,
    Path((_, id)): Id,
    q: Params,
) -> Result<Response, Refusal> {
    read(s, c, ResourceType::User, id, q).await
}
pub(super) async fn get_group(
    State(s): State<AppState>,
    Extension(c): Scim,
    Path((_, id)): Id,
    q: Params,
) -> Result<Response, Refusal> {
    read(s, c, ResourceType::Group, id, q).await
}
pub(super) async fn list_users(
    State(s): State<AppState>,
    Extension(c): Scim,
    q: Params,
) -> Result<Response, Refusal> {
    list(s, c, &[ResourceType::User], ListRequest::from_query(q)?).await
}
pub(super) async fn list_groups(
    State(s): State<AppState>,
    Extension(c): Scim,
    q: Params,
) -> Result<Response, Refusal> {
    list(s, c, &[ResourceType::Group], ListRequest::from_query(q)?).await
}
pub(super) async fn search_users(
    State(s): State<AppState>,
    Extension(c): Scim,
    h: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    list(
        s,
        c,
        &[ResourceType::User],
        ListRequest::from_body(&json_body(&h, body).await?)?,
    )
    .await
}
pub(super) async fn search_groups(
    State(s): State<AppState>,
    Extension(c): Scim,
    h: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    list(
        s,
        c,
        &[ResourceType::Group],
        ListRequest::from_body(&json_body(&h, body).await?)?,
    )
    .await
}
pub(super) async fn search_all(
    State(s): State<AppState>,
    Extension(c): Scim,
    h: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let kinds = [ResourceType::User, ResourceType::Group];
    list(
        s,
        c,
        &kinds,
        ListRequest::from_body(&json_body(&h, body).await?)?,
    )
    .await
}
pub(super) async fn replace_user(
    State(s): State<AppState>,
    Extension(c): Scim,
    Path((_, id)): Id,
    h: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    replace(s, c, ResourceType::User, id, h, body).await
}
pub(super) async fn replace_group(
    State(s): State<AppState>,
    Extension(c): Scim,
    Path((_, id)): Id,
    h: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    replace(s, c, ResourceType::Group, id, h, body).await
}
pub(super) async fn patch_user(
    State(s): State<AppState>,
    Extension(c): Scim,
    Path((_, id)): Id,
    h: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    modify(s, c, ResourceType::User, id, h, body).await
}
pub(super) async fn patch_group(
    State(s): State<AppState>,
    Extension(c): Scim,
    Path((_, id)): Id,
    h: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    modify(s, c, ResourceType::Group, id, h, body).await
}
pub(super) async fn delete_user(
    State(s): State<AppState>,
    Extension(c): Scim,
    Path((_, id)): Id,
    h: HeaderMap,
) -> Result<Response, Refusal> {
    remove(s, c, ResourceType::User, id, h).await
}
pub(super) async fn delete_group(
    State(s): State<AppState>,
    Extension(c): Scim,
    Path((_, id)): Id,
    h: HeaderMap,
) -> Result<Response, Refusal> {
    remove(s, c, ResourceType::Group, id, h).await
}
