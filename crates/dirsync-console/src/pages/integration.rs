//! `GET /console/integrations/{id}`: Manage integration — the facts, who authorized it and
//! when (and the history), Settings, Rules with Run now, Runs, Held plans, Remove.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use dirsync_core::{DirectionKind, RuleId, RunId};
use dirsync_service::views::{AuthorizationView, IntegrationView, RunView};
use maud::{Markup, html};
use serde::Deserialize;

use crate::access::Role;
use crate::layout::{Zone, badge, csrf, render, shown};
use crate::schedule_form;
use crate::session::Session;
use crate::{Console, Error};

/// How many runs the page lists.
const RUNS_SHOWN: usize = 20;

/// How often the page reloads while a run is under way.
const REFRESH_SECONDS: u32 = 2;

/// What the last action said, by the redirect that came back here.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Notice {
    authorized: Option<String>,
    authorization_error: Option<String>,
    saved: Option<String>,
    /// A run started from this page ("Run now").
    run: Option<String>,
    approved: Option<String>,
    discarded: Option<String>,
    rule_removed: Option<String>,
    rule_added: Option<String>,
    activated: Option<String>,
    created: Option<String>,
}

pub(crate) async fn page(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Result<Response, Error> {
    let id = super::integration_id(&id)?;
    let any = console.service.integration(id).await?;
    let view = IntegrationView::new(&any, &console.service);
    // Read before the runs: a run no longer listed has its record (or refusal) already.
    let live = console.service.live_runs(Some(id));
    let runs = console.service.runs(id, RUNS_SHOWN).await?;
    let held = console.service.held_plans(id).await?;
    let status = console.service.status().await?;
    // Where an outbound rule may take groups from.
    let inbound: Vec<(String, String)> = if view.direction == DirectionKind::Outbound {
        console
            .service
            .integrations()
            .await?
            .iter()
            .filter(|a| a.direction() == DirectionKind::Inbound)
            .map(|a| (a.id().to_string(), a.record().title.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let mut frame = super::frame(&session, &headers, &status);
    if !live.is_empty() {
        let here = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        frame.refresh = Some((REFRESH_SECONDS, here.to_owned()));
    }
    let zone = frame.zone;
    let change = session.role == Role::Operator;
    let base = format!("/console/integrations/{id}");
    // The run "Run now" started, once it is no longer under way: its record, or its refusal.
    let started = notice
        .run
        .as_deref()
        .and_then(|r| RunId::parse(r).ok())
        .filter(|r| live.iter().all(|l| l.run != *r));
    let ended = started.and_then(|r| match runs.iter().find(|x| x.id == r) {
        Some(run) => Some(Ok(run)),
        None => console.service.run_refusal(r).map(Err),
    });
    let rule_name = |rule: Option<RuleId>| {
        rule.and_then(|r| view.rules.iter().find(|x| x.id == r.to_string()))
            .map_or_else(
                || "The whole directory".to_owned(),
                |x| shown(&x.name).into_owned(),
            )
    };
    let content = html! {
        (notices(&notice))
        @match &ended {
            Some(Ok(run)) => p.notice role="status" {
                "Run finished: " (super::actions::outcome(run)) "." @let c = changes(&RunView::from(*run)); @if !c.is_empty() { " Changes: " (c) "." }
            },
            Some(Err(why)) => p.error role="alert" { "The run did not start: " (shown(why)) },
            None => {},
        }
        @if !live.is_empty() {
            section #running aria-labelledby="running-heading" {
                h2 #running-heading { "Running now" }
                @for r in &live {
                    div.running {
                        p {
                            strong { (rule_name(r.rule)) } " — running since " (zone.time_exact(r.started_at))
                            ": " span.phase { (r.phase()) }
                        }
                        @if !r.fetched.is_empty() {
                            dl.facts {
                                @for (kind, n) in &r.fetched {
                                    dt { (kind.as_str().replace('_', " ")) } dd { (n) " read so far" }
                                }
                            }
                        }
                    }
                }
                p.muted { "This page reloads every " (REFRESH_SECONDS) " seconds while a run is under way." }
            }
        }
        section aria-labelledby="facts" {
            h2 #facts { "Facts" }
            dl.facts {
                dt { "System" } dd { (view.system) }
                dt { "Type" } dd { (super::direction_text(view.direction, &view.system)) " " span.muted { "(cannot be changed)" } }
                dt { "State" } dd {
                    (badge(view.state_name))
                    @if let Some(reason) = &view.state.reason { " " (shown(reason)) }
                }
                dt { "Sync interval" } dd { (view.schedule_text) }
                dt { "Created" } dd { (zone.time(view.created_at)) }
                dt { "Id" } dd { code { (view.id) } }
            }
        }
        section aria-labelledby="authorization" {
            h2 #authorization { "Authorization" }
            @match &view.authorization {
                Some(a) => (authorization(a, zone)),
                None => p { "Not authorized yet." },
            }
            @if change {
                p { a href={ (base) "/authorize" } {
                    @if view.state_name == "staged" { "Authorize and activate" } @else { "Reauthorize" }
                } }
            }
            @if !view.authorization_history.is_empty() {
                details {
                    summary { "Earlier authorizations (" (view.authorization_history.len()) ")" }
                    @for a in view.authorization_history.iter().rev() { (authorization(a, zone)) }
                }
            }
        }
        @if change {
            section aria-labelledby="settings" {
                h2 #settings { "Settings" }
                form.stack method="post" action={ (base) "/settings" } {
                    (csrf(&session))
                    div {
                        label for="title" { "Title" }
                        input type="text" id="title" name="title" value=(shown(&view.title)) required maxlength="200";
                    }
                    (schedule_form::fields(Some(&view.schedule), zone.0.name()))
                    div {
                        label for="active" {
                            input type="checkbox" id="active" name="active" value="on" checked[matches!(view.state_name, "active" | "failed")] disabled[view.state_name == "staged"];
                            " Active (runs on its interval)"
                        }
                        @if view.state_name == "staged" { p.muted { "Activate it after authorizing it." } }
                    }
                    div { button type="submit" { "Save settings" } }
                }
            }
        }
        section aria-labelledby="rules" {
            h2 #rules { "Rules" }
            @if view.rules.is_empty() {
                p { "No rule: nothing is synced." }
            } @else {
                div.table { table {
                    thead { tr { th scope="col" { "Rule" } th scope="col" { "What" } th scope="col" { "Trigger" } th scope="col" { "Last run" } @if change { th scope="col" { span.muted { "Actions" } } } } }
                    tbody {
                        @for r in &view.rules {
                            tr {
                                td { (shown(&r.name)) }
                                td { (shown(&super::outbound_rule::what(r))) }
                                td { (r.trigger.to_string()) }
                                td { @match r.last_run_at { Some(at) => (zone.time(at)), None => span.muted { "never" } } }
                                @if change {
                                    td { div.actions {
                                        form.inline method="post" action={ (base) "/rules/" (r.id) "/run" } {
                                            (csrf(&session))
                                            button type="submit" aria-label={ "Run " (shown(&r.name)) " now" } { "Run now" }
                                        }
                                        form.inline method="post" action={ (base) "/rules/" (r.id) "/remove" } {
                                            (csrf(&session))
                                            button.secondary type="submit" aria-label={ "Remove rule " (shown(&r.name)) } { "Remove" }
                                        }
                                    } }
                                }
                            }
                        }
                    }
                } }
            }
        }
        @if change && view.direction == DirectionKind::Inbound {
            details {
                summary { "Add a rule" }
                form.stack method="post" action={ (base) "/rules" } {
                    (csrf(&session))
                    div {
                        label for="rule-name" { "Rule name" }
                        input type="text" id="rule-name" name="name" required maxlength="100";
                    }
                    fieldset {
                        legend { "What it syncs" }
                        label { input type="checkbox" name="kind_users" value="on" checked; " Users" }
                        label { input type="checkbox" name="kind_groups" value="on" checked; " Groups" }
                        label { input type="checkbox" name="kind_memberships" value="on" checked; " Memberships" }
                        label { input type="checkbox" name="kind_org_units" value="on" checked; " Org units" }
                    }
                    div {
                        label for="rule-trigger" { "Runs" }
                        select id="rule-trigger" name="trigger" {
                            option value="scheduled" selected { "On the sync interval" }
                            option value="manual" { "Only when run by hand" }
                        }
                    }
                    div { button type="submit" { "Add rule" } }
                }
            }
        }
        @if change && view.direction == DirectionKind::Outbound {
            (super::outbound_rule::form(&base, &session, &inbound))
        }
        @if view.direction == DirectionKind::Inbound && view.system_id == "google_workspace" {
            (super::push::section(&base, &session, &super::push::PushView {
                on: view.push,
                summary: status.integrations.iter().find(|s| s.id == id).and_then(|s| s.push.as_ref()),
                served: console.service.push_settings().is_some(),
            }, zone, change))
        }
        (super::safeguards::section(&base, &session, &view.safeguards, view.own_safeguards, view.direction, change))
        section aria-labelledby="held" {
            h2 #held { "Held plans" }
            @if held.is_empty() {
                p { "None waiting for approval." }
            } @else {
                div.table { table {
                    thead { tr { th scope="col" { "Held" } th scope="col" { "Why" } @if change { th scope="col" { span.muted { "Actions" } } } } }
                    tbody {
                        @for h in &held {
                            tr {
                                td { (zone.time(h.held_at)) }
                                td { (shown(&h.reason)) }
                                @if change {
                                    td { div.actions {
                                        form.inline method="post" action={ "/console/plans/" (h.id.as_str()) "/approve" } {
                                            (csrf(&session))
                                            input type="hidden" name="integration" value=(id);
                                            button type="submit" { "Approve" }
                                        }
                                        form.inline method="post" action={ "/console/plans/" (h.id.as_str()) "/discard" } {
                                            (csrf(&session))
                                            input type="hidden" name="integration" value=(id);
                                            button.secondary type="submit" { "Discard" }
                                        }
                                    } }
                                }
                            }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="runs" {
            h2 #runs { "Runs" }
            @if runs.is_empty() {
                p { "No run yet." }
            } @else {
                div.table { table {
                    thead { tr { th scope="col" { "Finished" } th scope="col" { "Outcome" } th scope="col" { "Changes" } th scope="col" { "Failure" } } }
                    tbody { @for r in &runs { (run_row(&RunView::from(r), zone)) } }
                } }
            }
        }
        @if change {
            section aria-labelledby="remove" {
                h2 #remove { "Remove" }
                p { "Removing it stops its syncs and forgets its accounts. Type its title to confirm." }
                form.stack method="post" action={ (base) "/remove" } {
                    (csrf(&session))
                    div {
                        label for="confirm" { "Title of the integration to remove" }
                        input type="text" id="confirm" name="confirm" autocomplete="off" required;
                    }
                    div { button.danger type="submit" { "Remove integration" } }
                }
            }
        }
    };
    Ok(render(&view.title, &frame, content))
}

fn notices(n: &Notice) -> Markup {
    html! {
        @if n.authorized.is_some() { p.notice role="status" { "Authorized." } }
        @if let Some(code) = &n.authorization_error {
            p.error role="alert" { "Authorization failed: " (shown(code)) }
        }
        @if n.saved.is_some() { p.notice role="status" { "Settings saved." } }
        @if n.created.is_some() { p.notice role="status" { "Added and active. Add a rule to say what it provisions." } }
        @if let Some(outcome) = &n.approved { p.notice role="status" { "Plan approved; run " (shown(outcome)) "." } }
        @if n.discarded.is_some() { p.notice role="status" { "Plan discarded." } }
        @if n.rule_removed.is_some() { p.notice role="status" { "Rule removed." } }
        @if n.rule_added.is_some() { p.notice role="status" { "Rule added." } }
        @if let Some(outcome) = &n.activated { p.notice role="status" { "Activated; first sync: " (shown(outcome)) "." } }
    }
}

fn authorization(a: &AuthorizationView, zone: Zone) -> Markup {
    html! {
        dl.facts {
            dt { "By" } dd { (a.authorized_by.as_deref().map(shown).unwrap_or_default()) }
            dt { "When" } dd { (zone.time(a.authorized_at)) }
            @if let Some(method) = a.method { dt { "How" } dd { (method_text(method)) } }
            @if let Some(client) = &a.client_id { dt { "Client" } dd { code { (shown(client)) } } }
            dt { "Scopes" } dd { @for s in &a.scopes { code { (s.to_string()) } " " } }
        }
    }
}

fn method_text(method: dirsync_core::AuthorizationMethod) -> &'static str {
    match method {
        dirsync_core::AuthorizationMethod::OAuth => "an admin's consent",
        dirsync_core::AuthorizationMethod::ServiceAccount => {
            "a service account (domain-wide delegation)"
        }
        _ => "another method",
    }
}

/// A run's changes in words ("users created 3, memberships removed 1"); empty for none.
fn changes(r: &RunView) -> String {
    r.counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{} {n}", k.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn run_row(r: &RunView, zone: Zone) -> Markup {
    let changes = changes(r);
    html! {
        tr {
            td { (zone.time(r.finished_at)) }
            td { (badge(r.outcome)) }
            td { @if changes.is_empty() { span.muted { "none" } } @else { (changes) } }
            td { (r.failure.as_deref().map(shown).unwrap_or_default()) }
        }
    }
}
