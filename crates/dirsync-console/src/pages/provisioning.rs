//! `GET /console`: every integration, its state, schedule, last and next run, with badges for
//! held plans and failures.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use crate::access::Role;
use crate::layout::{badge, render, shown};
use crate::session::Session;
use crate::{Console, Error};

#[derive(Debug, Deserialize)]
pub(crate) struct Notice {
    removed: Option<String>,
}

pub(crate) async fn page(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Query(notice): Query<Notice>,
) -> Result<Response, Error> {
    let status = console.service.status().await?;
    let all = console.service.integrations().await?;
    let live = console.service.live_runs(None);
    let frame = super::frame(&session, &headers, &status);
    let zone = frame.zone;
    let content = html! {
        @if let Some(title) = &notice.removed {
            p.notice role="status" { "Removed " strong { (shown(title)) } "." }
        }
        @if session.role == Role::Operator {
            div.actions { a.button href="/console/integrations/new" { "Add integration" } }
        }
        @if status.integrations.is_empty() {
            p { "No integration yet." }
        } @else {
            div.table {
                table {
                    thead { tr {
                        th scope="col" { "Integration" } th scope="col" { "System" }
                        th scope="col" { "Direction" } th scope="col" { "State" }
                        th scope="col" { "Schedule" } th scope="col" { "Last run" }
                        th scope="col" { "Next run" }
                    } }
                    tbody {
                        @for s in &status.integrations {
                            @let any = all.iter().find(|a| a.id() == s.id);
                            @let system = any.map(|a| console.service.registry().name(a.settings().system())).unwrap_or_default();
                            tr {
                                td { a href={ "/console/integrations/" (s.id) } { (shown(&s.title)) } }
                                td { (system) }
                                td { (super::direction_text(s.direction, &system)) }
                                td {
                                    (badge(s.state.name()))
                                    @if !s.held_plans.is_empty() { " " span.badge.held { (s.held_plans.len()) " held" } }
                                    @if s.last_run_failed { " " span.badge.failed { "last run failed" } }
                                    @if live.iter().any(|r| r.integration == s.id) { " " span.badge.running { "running" } }
                                }
                                td { (any.map(|a| a.record().schedule.to_string()).unwrap_or_default()) }
                                td {
                                    @match (&s.last_success, &s.last_failure) {
                                        (Some(ok), Some(bad)) if bad.at > ok.at => { "failed " (zone.time(bad.at)) }
                                        (Some(ok), _) => { "succeeded " (zone.time(ok.at)) }
                                        (None, Some(bad)) => { "failed " (zone.time(bad.at)) }
                                        (None, None) => span.muted { "never" }
                                    }
                                }
                                td {
                                    @match s.next_run {
                                        Some(at) => (zone.time(at)),
                                        None => span.muted { "—" },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(render("Provisioning", &frame, content))
}
