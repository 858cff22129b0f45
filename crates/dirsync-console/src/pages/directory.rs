//! The directory: users (search and paging), a user's page (profile, lifecycle history,
//! accounts in each integration), groups with their members, org units.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use dirsync_core::{IntegrationId, UserId};
use dirsync_service::UserQuery;
use dirsync_service::views::{GroupView, OrgUnitView, UserView};
use maud::html;
use serde::Deserialize;

use crate::layout::{badge, render, shown};
use crate::session::Session;
use crate::{Console, Error};

/// Users per page.
const PAGE: usize = 50;

fn store(e: dirsync_store::Error) -> Error {
    Error::Service(e.into())
}

#[derive(Debug, Deserialize)]
pub(crate) struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: usize,
}

/// `GET /console/users[?q=&page=]`.
pub(crate) async fn users(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Query(query): Query<UsersQuery>,
) -> Result<Response, Error> {
    let status = console.service.status().await?;
    let frame = super::frame(&session, &headers, &status);
    let mut all = console.service.store().users().await.map_err(store)?;
    let text = query.q.trim();
    if !text.is_empty() {
        let filter = UserQuery::new().text(text);
        all.retain(|u| filter.matches(u));
    }
    let attributes = console.service.directory_attributes().await?;
    let total = all.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page = query.page.min(pages - 1);
    let views: Vec<UserView> = UserView::list(&all, &attributes)
        .into_iter()
        .skip(page * PAGE)
        .take(PAGE)
        .collect();
    let link = |p: usize| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", text)
            .append_pair("page", &p.to_string())
            .finish()
    };
    let content = html! {
        form.stack method="get" action="/console/users" role="search" {
            div {
                label for="q" { "Search by name, email or employee id" }
                input type="search" id="q" name="q" value=(shown(text));
            }
            div { button type="submit" { "Search" } }
        }
        p.muted { (total) " user(s)" @if pages > 1 { ", page " (page + 1) " of " (pages) } "." }
        div.table { table {
            thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Org unit" } th scope="col" { "Status" } } }
            tbody {
                @for u in &views {
                    tr {
                        td { a href={ "/console/users/" (u.id) } { (shown(&u.display_name)) } }
                        td { (shown(&u.primary_email)) }
                        td { (u.org_unit_path.as_deref().map(shown).unwrap_or_default()) }
                        td { (badge(&u.status.to_string())) }
                    }
                }
            }
        } }
        nav.actions aria-label="Pages" {
            @if page > 0 { a href={ "/console/users?" (link(page - 1)) } rel="prev" { "Previous page" } }
            @if page + 1 < pages { a href={ "/console/users?" (link(page + 1)) } rel="next" { "Next page" } }
        }
    };
    Ok(render("Users", &frame, content))
}

/// `GET /console/users/{id}`.
pub(crate) async fn user(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let user_id = UserId::parse(&id)
        .map_err(|_| Error::BadRequest(format!("{:?} is not a user id", shown(&id))))?;
    let status = console.service.status().await?;
    let frame = super::frame(&session, &headers, &status);
    let zone = frame.zone;
    let s = console.service.store();
    let found = s.user(user_id).await.map_err(store)?.ok_or_else(|| {
        store(dirsync_store::Error::NotFound {
            kind: "user",
            id: id.clone(),
        })
    })?;
    let all = s.users().await.map_err(store)?;
    let attributes = console.service.directory_attributes().await?;
    let view = UserView::list(&all, &attributes)
        .into_iter()
        .find(|v| v.id == id)
        .or_else(|| UserView::list(std::slice::from_ref(&found), &attributes).pop())
        .ok_or_else(|| Error::BadRequest("the user has no view".to_owned()))?;
    let accounts = s.accounts_of(user_id).await.map_err(store)?;
    let integrations = console.service.integrations().await?;
    let title_of = |i: IntegrationId| {
        integrations
            .iter()
            .find(|a| a.id() == i)
            .map_or_else(|| i.to_string(), |a| a.record().title.clone())
    };
    let content = html! {
        section aria-labelledby="profile" {
            h2 #profile { "Profile" }
            dl.facts {
                dt { "Email" } dd { (shown(&view.primary_email)) }
                dt { "Given name" } dd { (shown(&view.given_name)) }
                dt { "Family name" } dd { (shown(&view.family_name)) }
                dt { "Status" } dd { (badge(&view.status.to_string())) }
                @if let Some(ou) = &view.org_unit_path { dt { "Org unit" } dd { (shown(ou)) } }
                @if let Some(manager) = &view.manager_email { dt { "Manager" } dd { (shown(manager)) } }
                @if let Some(e) = &view.employee_id { dt { "Employee id" } dd { (shown(e)) } }
                @if view.is_admin { dt { "Administrator" } dd { "yes" } }
                @for (name, a) in &view.attributes {
                    dt { (shown(name)) } dd { (shown(&attribute(&a.value))) }
                }
            }
        }
        section aria-labelledby="history" {
            h2 #history { "Lifecycle" }
            @if found.lifecycle.history.is_empty() { p { "No event yet." } }
            ul {
                @for e in &found.lifecycle.history {
                    li { (zone.time(e.at)) " " (e.kind.to_string()) }
                }
            }
        }
        section aria-labelledby="accounts" {
            h2 #accounts { "Accounts" }
            @if accounts.is_empty() { p { "No account in any integration." } }
            div.table { table {
                thead { tr { th scope="col" { "Integration" } th scope="col" { "Email" } th scope="col" { "Since" } } }
                tbody {
                    @for a in &accounts {
                        tr {
                            td { a href={ "/console/integrations/" (a.integration) } { (shown(&title_of(a.integration))) } }
                            td { (shown(&a.email.to_string())) }
                            td { (zone.time(a.first_seen)) }
                        }
                    }
                }
            } }
        }
    };
    Ok(render(&view.display_name, &frame, content))
}

/// An attribute's value in words.
fn attribute(value: &dirsync_core::AttributeValue) -> String {
    use dirsync_core::AttributeValue as V;
    match value {
        V::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        V::Int(n) => n.to_string(),
        V::Text(t) => t.clone(),
        V::List(items) => items.join(", "),
        _ => String::new(),
    }
}

/// The primary integration, whose directory the group and org unit pages show.
async fn primary(console: &Console) -> Result<Option<IntegrationId>, Error> {
    Ok(console
        .service
        .store()
        .primary()
        .await
        .map_err(store)?
        .map(|p| p.id()))
}

/// `GET /console/groups`.
pub(crate) async fn groups(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let status = console.service.status().await?;
    let frame = super::frame(&session, &headers, &status);
    let groups = match primary(&console).await? {
        Some(id) => {
            let view = console.service.store().view(id).await.map_err(store)?;
            GroupView::list(&view.groups, &view.memberships)
        }
        None => Vec::new(),
    };
    let content = html! {
        @if groups.is_empty() { p { "No group yet." } }
        @for g in &groups {
            details {
                summary { strong { (shown(&g.name)) } " " span.muted { (shown(&g.email)) " · " (g.member_count) " member(s)" } }
                @if !g.description.is_empty() { p { (shown(&g.description)) } }
                ul {
                    @for m in &g.members {
                        li { (m.email.as_deref().map(shown).unwrap_or_default()) " " span.muted { "(" (m.role.to_string()) ")" } }
                    }
                }
            }
        }
    };
    Ok(render("Groups", &frame, content))
}

/// `GET /console/org-units`.
pub(crate) async fn org_units(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let status = console.service.status().await?;
    let frame = super::frame(&session, &headers, &status);
    let mut units = match primary(&console).await? {
        Some(id) => {
            console
                .service
                .store()
                .view(id)
                .await
                .map_err(store)?
                .org_units
        }
        None => Vec::new(),
    };
    units.sort_by(|a, b| a.path.cmp(&b.path));
    let views: Vec<OrgUnitView> = units.iter().map(OrgUnitView::from).collect();
    let content = html! {
        @if views.is_empty() { p { "No org unit yet." } }
        div.table { table {
            thead { tr { th scope="col" { "Path" } th scope="col" { "Name" } } }
            tbody { @for o in &views { tr { td { code { (shown(&o.path)) } } td { (shown(&o.name)) } } } }
        } }
    };
    Ok(render("Org units", &frame, content))
}
