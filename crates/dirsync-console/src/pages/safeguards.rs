//! An integration's safeguard thresholds — a run that removes more than these is held for
//! approval — as `dirsync integration:update --max-*-removals[-percent]` sets them:
//! `POST /console/integrations/{id}/safeguards` (or back to the service's defaults).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use dirsync_core::{DirectionKind, Safeguards, Threshold};
use dirsync_service::IntegrationUpdate;
use maud::{Markup, html};
use serde::Deserialize;

use super::integration_id;
use crate::layout::csrf;
use crate::session::Session;
use crate::{Console, Error};

/// The thresholds the form shows: (field name, what it counts).
const KINDS: [(&str, &str); 4] = [
    (
        "users",
        "Users suspended or deprovisioned (accounts, for a secondary)",
    ),
    ("groups", "Groups removed"),
    ("memberships", "Memberships removed"),
    (
        "members",
        "Members removed from one managed group (outbound)",
    ),
];

fn threshold(s: &Safeguards, kind: &str) -> Threshold {
    match kind {
        "users" => s.users,
        "groups" => s.groups,
        "memberships" => s.memberships,
        _ => s.remote_members,
    }
}

/// The Safeguards section: the thresholds in force (its own, or the defaults), editable by an
/// operator.
pub(crate) fn section(
    base: &str,
    session: &Session,
    safeguards: &Safeguards,
    own: bool,
    direction: DirectionKind,
    change: bool,
) -> Markup {
    let kinds: Vec<_> = KINDS
        .iter()
        .filter(|(k, _)| *k != "members" || direction == DirectionKind::Outbound)
        .collect();
    html! {
        section aria-labelledby="safeguards" {
            h2 #safeguards { "Safeguards" }
            p {
                "A run that would remove more than these is held for approval. "
                @if own { "This integration has its own thresholds." } @else { "These are the defaults." }
            }
            @if change {
                form.stack method="post" action={ (base) "/safeguards" } {
                    (csrf(session))
                    @for (kind, text) in &kinds {
                        @let t = threshold(safeguards, kind);
                        fieldset.pair {
                            legend { (text) }
                            div {
                                label for={ "sg-" (kind) "-count" } { "At most (count)" }
                                input type="number" id={ "sg-" (kind) "-count" } name={ (kind) "_count" } min="0" value=(t.max_count) inputmode="numeric" required;
                            }
                            div {
                                label for={ "sg-" (kind) "-percent" } { "At most (% of all)" }
                                input type="number" id={ "sg-" (kind) "-percent" } name={ (kind) "_percent" } min="0" max="100" step="any" value=(t.max_percent) required;
                            }
                        }
                    }
                    div.actions {
                        button type="submit" name="use" value="these" { "Save safeguards" }
                        @if own { button.secondary type="submit" name="use" value="defaults" { "Use the defaults again" } }
                    }
                }
            } @else {
                dl.facts {
                    @for (kind, text) in &kinds {
                        @let t = threshold(safeguards, kind);
                        dt { (text) } dd { (t.max_count) " or " (t.max_percent) " %" }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SafeguardsForm {
    #[serde(rename = "use", default)]
    choice: String,
    users_count: Option<u64>,
    users_percent: Option<f64>,
    groups_count: Option<u64>,
    groups_percent: Option<f64>,
    memberships_count: Option<u64>,
    memberships_percent: Option<f64>,
    members_count: Option<u64>,
    members_percent: Option<f64>,
}

/// `base` with the thresholds the form sets (a field left out keeps its value).
fn thresholds(form: &SafeguardsForm, base: Safeguards) -> Result<Safeguards, Error> {
    let mut out = base;
    for (t, count, percent) in [
        (&mut out.users, form.users_count, form.users_percent),
        (&mut out.groups, form.groups_count, form.groups_percent),
        (
            &mut out.memberships,
            form.memberships_count,
            form.memberships_percent,
        ),
        (
            &mut out.remote_members,
            form.members_count,
            form.members_percent,
        ),
    ] {
        if let Some(count) = count {
            t.max_count = count;
        }
        if let Some(percent) = percent {
            if !(0.0..=100.0).contains(&percent) {
                return Err(Error::BadRequest(format!(
                    "{percent} %: give a percentage from 0 to 100"
                )));
            }
            t.max_percent = percent;
        }
    }
    Ok(out)
}

/// `POST /console/integrations/{id}/safeguards`.
pub(crate) async fn save(
    State(console): State<Console>,
    Path(id): Path<String>,
    Form(form): Form<SafeguardsForm>,
) -> Result<Redirect, Error> {
    let id = integration_id(&id)?;
    let update = if form.choice == "defaults" {
        IntegrationUpdate::new().safeguards(None)
    } else {
        let any = console.service.integration(id).await?;
        let base = *console.service.policy().safeguards_for(any.record());
        IntegrationUpdate::new().safeguards(Some(thresholds(&form, base)?))
    };
    console.service.update(id, update).await?;
    Ok(Redirect::to(&format!(
        "/console/integrations/{id}?saved=1#safeguards"
    )))
}
