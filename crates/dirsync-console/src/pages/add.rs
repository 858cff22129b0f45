//! Add integration: `GET /console/integrations/new[?system=S]` (the system, chosen among the
//! registry's, then its own fields: for Google the title, type — which cannot be changed
//! later —, sync interval and how it is authorized) and `POST /console/integrations`, which
//! creates a Google integration staged and goes on to authorize it (the other systems are
//! [`super::add_other`]'s).

use axum::Extension;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Redirect, Response};
use dirsync_core::{DirectionKind, Email, KeyOwnership};
use dirsync_google::{GoogleSettings, KeyReference, OAuthSettings};
use dirsync_service::CreateGoogle;
use maud::html;
use serde::Deserialize;

use crate::layout::{csrf, render};
use crate::schedule_form;
use crate::session::Session;
use crate::{Console, Error};

/// Google Workspace's system id.
const GOOGLE: &str = "google_workspace";

/// Which system the Add page shows the fields of.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Choice {
    system: Option<String>,
}

pub(crate) async fn page(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Query(choice): Query<Choice>,
) -> Result<Response, Error> {
    let status = console.service.status().await?;
    let frame = super::frame(&session, &headers, &status);
    let mut systems: Vec<(String, String)> = console
        .service
        .registry()
        .kinds()
        .map(|k| (k.system().to_string(), k.name().to_owned()))
        .collect();
    // Google first, as AppsCo's walk expects; the rest by name.
    systems.sort_by_key(|(id, name)| (id != GOOGLE, name.clone()));
    let chosen = choice
        .system
        .filter(|s| systems.iter().any(|(id, _)| id == s))
        .unwrap_or_else(|| GOOGLE.to_owned());
    let chooser = html! {
        form.stack.choose method="get" action="/console/integrations/new" {
            div {
                label for="system" { "System" }
                select id="system" name="system" {
                    @for (id, name) in &systems {
                        option value=(id) selected[*id == chosen] { (name) }
                    }
                }
            }
            div { button.secondary type="submit" { "Show its fields" } }
        }
    };
    if chosen != GOOGLE {
        let content = html! {
            (chooser)
            (super::add_other::fields(&chosen, &session, frame.zone.0.name())?)
        };
        return Ok(render("Add integration", &frame, content));
    }
    let setup = &console.config.new_google;
    let consent = setup.consent_client.is_some();
    let managed = setup.managed_key.is_some();
    let google = console
        .service
        .registry()
        .name(&dirsync_core::System::new(GOOGLE)?);
    let content = html! {
        @if !consent && !managed {
            p.error role="alert" {
                "No way to authorize Google integrations is configured: start the server with "
                code { "--console-oidc-client FILE" } " (consent) or " code { "--console-google-key FILE" }
                " (a service account)."
            }
        }
        (chooser)
        form.stack #google-form method="post" action="/console/integrations" {
            (csrf(&session))
            input type="hidden" name="system" value=(GOOGLE);
            div {
                label for="title" { "Title" }
                input type="text" id="title" name="title" required maxlength="200" placeholder="e.g. Acme Google Workspace";
            }
            fieldset {
                legend { "Type " span.muted { "(it cannot be changed later)" } }
                label { input type="radio" name="direction" value="inbound" checked; " From " (google) " to the directory" }
                label { input type="radio" name="direction" value="outbound"; " From the directory to " (google) }
            }
            (schedule_form::fields(None, frame.zone.0.name()))
            fieldset {
                legend { "How it is authorized" }
                @if consent {
                    label { input type="radio" name="method" value="consent" checked; " An admin's consent (Authorize with Google)" }
                }
                @if managed {
                    label { input type="radio" name="method" value="service_account" checked[!consent]; " Our service account, by domain-wide delegation" }
                    div {
                        label for="subject" { "Super admin it acts as (service account only)" }
                        input type="text" id="subject" name="subject" inputmode="email" placeholder="admin@example.com";
                    }
                }
            }
            div { button type="submit" { "Add integration" } }
        }
    };
    Ok(render("Add integration", &frame, content))
}

#[derive(Debug, Deserialize)]
pub(crate) struct AddForm {
    system: String,
    title: String,
    direction: String,
    interval: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    zone: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    subject: String,
}

pub(crate) async fn create(
    State(console): State<Console>,
    Form(form): Form<AddForm>,
) -> Result<Redirect, Error> {
    if form.system != GOOGLE {
        return Err(Error::BadRequest(
            "only Google Workspace integrations are added here".to_owned(),
        ));
    }
    let direction = match form.direction.as_str() {
        "inbound" => DirectionKind::Inbound,
        "outbound" => DirectionKind::Outbound,
        _ => {
            return Err(Error::BadRequest(
                "choose the integration's type".to_owned(),
            ));
        }
    };
    let schedule = schedule_form::parse(&form.interval, &form.at, &form.zone)?
        .unwrap_or(dirsync_core::Schedule::Manual);
    let setup = &console.config.new_google;
    let mut settings = match (
        form.method.as_str(),
        &setup.consent_client,
        &setup.managed_key,
    ) {
        ("consent", Some(client), _) => {
            let mut oauth = OAuthSettings::new(KeyReference::File(client.clone()));
            oauth.oauth_base.clone_from(&setup.oauth_base);
            GoogleSettings::oauth(oauth)
        }
        ("service_account", _, Some(key)) => {
            let subject = Email::new(form.subject.trim()).map_err(|_| {
                Error::BadRequest(
                    "give the super admin's email the service account acts as".to_owned(),
                )
            })?;
            GoogleSettings::new(
                subject,
                KeyReference::File(key.clone()),
                KeyOwnership::ProviderManaged,
            )
        }
        _ => {
            return Err(Error::BadRequest(
                "choose how the integration is authorized".to_owned(),
            ));
        }
    };
    settings.api_base.clone_from(&setup.api_base);
    let created = console
        .service
        .create_google(CreateGoogle::new(
            form.title.trim(),
            direction,
            settings,
            schedule,
        ))
        .await?;
    let id = created.integration.id();
    tracing::info!(integration = %id, "integration added in the console");
    Ok(Redirect::to(&format!(
        "/console/integrations/{id}/authorize"
    )))
}
