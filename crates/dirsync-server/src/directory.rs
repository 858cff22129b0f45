//! The directory: users (filtered and paged), one user with their history and accounts,
//! groups with their members, org units.

use axum::Json;
use axum::extract::{Path, State};
use dirsync_core::{Email, IntegrationId, OrgUnitPath, UserId, UserStatus};
use dirsync_service::UserQuery;
use dirsync_service::views::{GroupView, OrgUnitView, UserView};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::extract::Params;
use crate::integrations::id;
use crate::openapi::Refusals;
use crate::{AppState, Error};

/// The most users one page holds.
const MAX_PAGE: usize = 1_000;

/// `GET /users?query=&status=&org_unit=&limit=&page_token=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct UsersQuery {
    /// Words to find in emails and names.
    query: Option<String>,
    /// `active`, `suspended` or `deprovisioned`.
    #[param(value_type = Option<String>)]
    status: Option<UserStatus>,
    org_unit: Option<String>,
    /// Default 100, at most 1,000.
    limit: Option<usize>,
    page_token: Option<String>,
}

/// A page of users.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct UsersPage {
    users: Vec<UserView>,
    /// The token of the next page; `null` on the last.
    next_page_token: Option<String>,
}

/// `?integration=` on groups and org units: whose (default: the primary's).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ViewQuery {
    /// Whose groups or org units (an integration id; default: the primary's).
    integration: Option<String>,
}

#[utoipa::path(
    get,
    path = "/users",
    tag = "directory",
    params(UsersQuery),
    responses((status = 200, description = "A page of users", body = UsersPage), Refusals)
)]
pub(crate) async fn users(
    State(state): State<AppState>,
    Params(q): Params<UsersQuery>,
) -> Result<Json<UsersPage>, Error> {
    let mut query = UserQuery::new();
    if let Some(status) = q.status {
        query = query.status(status);
    }
    if let Some(ou) = &q.org_unit {
        query = query.org_unit(OrgUnitPath::new(ou)?);
    }
    if let Some(text) = q.query {
        query = query.text(text);
    }
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    // The page token is the position of the page's first user in the sorted listing.
    let start = match &q.page_token {
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| Error::BadRequest(format!("{token:?} is not a page token")))?,
        None => 0,
    };
    let mut users = state.service.store().users().await.map_err(service)?;
    users.retain(|u| query.matches(u));
    let next = (start + limit < users.len()).then(|| (start + limit).to_string());
    let attributes = state.service.directory_attributes().await?;
    let views = UserView::list(&users, &attributes);
    Ok(Json(UsersPage {
        users: views.into_iter().skip(start).take(limit).collect(),
        next_page_token: next,
    }))
}

#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "directory",
    params(("id" = String, Path, description = "The user's directory id")),
    responses((status = 200, description = "The user (as in the list) with `lifecycle_history` and `accounts`", body = Object), Refusals)
)]
pub(crate) async fn user(
    State(state): State<AppState>,
    Path(user): Path<String>,
) -> Result<Json<Value>, Error> {
    let id = UserId::parse(&user)
        .map_err(|_| Error::BadRequest(format!("{user:?} is not a user id")))?;
    let store = state.service.store();
    let found = store.user(id).await.map_err(service)?.ok_or_else(|| {
        service(dirsync_store::Error::NotFound {
            kind: "user",
            id: user.clone(),
        })
    })?;
    // Resolve the manager against the whole directory, as the list does.
    let all = store.users().await.map_err(service)?;
    let attributes = state.service.directory_attributes().await?;
    let view = UserView::list(&all, &attributes)
        .into_iter()
        .find(|v| v.id == user)
        .unwrap_or_else(|| UserView::list(std::slice::from_ref(&found), &attributes).remove(0));
    let accounts = store.accounts_of(id).await.map_err(service)?;
    let mut json = serde_json::to_value(view).unwrap_or(Value::Null);
    json["lifecycle_history"] = json!(found.lifecycle.history);
    json["accounts"] = json!(accounts);
    Ok(Json(json))
}

async fn whose(state: &AppState, integration: Option<&str>) -> Result<IntegrationId, Error> {
    match integration {
        Some(text) => id(text),
        None => match state.service.store().primary().await.map_err(service)? {
            Some(primary) => Ok(primary.id()),
            None => Err(service(dirsync_store::Error::NotFound {
                kind: "primary integration",
                id: "(none yet)".to_owned(),
            })),
        },
    }
}

#[utoipa::path(
    get,
    path = "/groups",
    tag = "directory",
    params(ViewQuery),
    responses((status = 200, description = "Groups with their members", body = Vec<GroupView>), Refusals)
)]
pub(crate) async fn groups(
    State(state): State<AppState>,
    Params(q): Params<ViewQuery>,
) -> Result<Json<Vec<GroupView>>, Error> {
    let integration = whose(&state, q.integration.as_deref()).await?;
    let view = state
        .service
        .store()
        .view(integration)
        .await
        .map_err(service)?;
    Ok(Json(GroupView::list(&view.groups, &view.memberships)))
}

#[utoipa::path(
    get,
    path = "/groups/{email}",
    tag = "directory",
    params(("email" = String, Path, description = "The group's address"), ViewQuery),
    responses((status = 200, description = "The group", body = GroupView), Refusals)
)]
pub(crate) async fn group(
    State(state): State<AppState>,
    Path(email): Path<String>,
    Params(q): Params<ViewQuery>,
) -> Result<Json<GroupView>, Error> {
    let wanted = Email::new(&email)?;
    let integration = whose(&state, q.integration.as_deref()).await?;
    let view = state
        .service
        .store()
        .view(integration)
        .await
        .map_err(service)?;
    GroupView::list(&view.groups, &view.memberships)
        .into_iter()
        .find(|g| Email::new(&g.email).is_ok_and(|e| e == wanted))
        .map(Json)
        .ok_or_else(|| {
            service(dirsync_store::Error::NotFound {
                kind: "group",
                id: email,
            })
        })
}

#[utoipa::path(
    get,
    path = "/org-units",
    tag = "directory",
    params(ViewQuery),
    responses((status = 200, description = "Org units", body = Vec<OrgUnitView>), Refusals)
)]
pub(crate) async fn org_units(
    State(state): State<AppState>,
    Params(q): Params<ViewQuery>,
) -> Result<Json<Vec<OrgUnitView>>, Error> {
    let integration = whose(&state, q.integration.as_deref()).await?;
    let mut units = state
        .service
        .store()
        .view(integration)
        .await
        .map_err(service)?
        .org_units;
    units.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Json(units.iter().map(OrgUnitView::from).collect()))
}

/// A store error, as the service reports it.
fn service(e: dirsync_store::Error) -> Error {
    Error::Service(e.into())
}
