//! An inbound Google integration's push notifications: whether push is on, its channel (id,
//! expiry, last notification; never its token), and `POST /console/integrations/{id}/push`,
//! the service's push toggle (as `dirsync integration:push ID on|off`).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use dirsync_service::PushSummary;
use maud::{Markup, html};
use serde::Deserialize;

use super::integration_id;
use crate::layout::{Zone, csrf, shown};
use crate::session::Session;
use crate::{Console, Error};

/// What the Push section shows.
pub(crate) struct PushView<'a> {
    pub(crate) on: bool,
    pub(crate) summary: Option<&'a PushSummary>,
    /// Whether this server keeps channels (it has a public URL for them).
    pub(crate) served: bool,
}

pub(crate) fn section(
    base: &str,
    session: &Session,
    push: &PushView<'_>,
    zone: Zone,
    change: bool,
) -> Markup {
    html! {
        section aria-labelledby="push" {
            h2 #push { "Push" }
            p {
                @if push.on { "On: Google notifies this server of user changes as they happen; the sync interval stays the backstop." }
                @else { "Off: changes arrive with the scheduled syncs." }
            }
            @if push.on {
                @let s = push.summary;
                dl.facts {
                    dt { "Channel" } dd { @match s.and_then(|s| s.channel.as_deref()) { Some(c) => code { (shown(c)) }, None => span.muted { "none open yet (the scheduler opens one)" } } }
                    dt { "Expires" } dd { @match s.and_then(|s| s.expires_at) { Some(at) => { (zone.time(at)) " " span.muted { "(replaced before)" } }, None => span.muted { "—" } } }
                    dt { "Last notification" } dd { @match s.and_then(|s| s.last_notification) { Some(at) => (zone.time(at)), None => span.muted { "none yet" } } }
                }
            }
            @if !push.served {
                p.muted { "This server opens no channels: start it with " code { "--public-url" } " (the URL Google reaches it at)." }
            }
            @if change {
                form.inline method="post" action={ (base) "/push" } {
                    (csrf(session))
                    @if push.on {
                        input type="hidden" name="on" value="false";
                        button.secondary type="submit" { "Turn push off" }
                    } @else {
                        input type="hidden" name="on" value="true";
                        button type="submit" { "Turn push on" }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PushForm {
    on: bool,
}

/// `POST /console/integrations/{id}/push`: on opens a channel (when the server has a public
/// URL), off stops it.
pub(crate) async fn toggle(
    State(console): State<Console>,
    Path(id): Path<String>,
    Form(form): Form<PushForm>,
) -> Result<Redirect, Error> {
    let id = integration_id(&id)?;
    console.service.set_push(id, form.on).await?;
    Ok(Redirect::to(&format!(
        "/console/integrations/{id}?saved=1#push"
    )))
}
