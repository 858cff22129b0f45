//! Adding the registry's other systems, with their own fields, as `dirsync
//! file-integration:create` and `scim-integration:create` make them:
//! - an HR export (`POST /console/integrations/file`): a folder on the server, its format,
//!   the kinds it provides and column mappings, a sync interval; created staged, then
//!   activated on the Authorize page (which checks the folder);
//! - SCIM 2.0 (`POST /console/integrations/scim`): inbound, an identity provider pushes to
//!   our endpoints — the page answering the form shows the base URL and the bearer token,
//!   this once (only its hash is kept); outbound, we provision an application's endpoint with
//!   its token (kept sealed in the secret store).

use axum::Extension;
use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use dirsync_core::{DirectionKind, ObjectKind, ObjectKinds, RemoteSettings, Secret};
use dirsync_file::{ColumnMapping, FileSettings, Format};
use dirsync_scim::ScimEndpoint;
use dirsync_service::{CreateIntegration, Service};
use maud::{Markup, html};
use serde::Deserialize;

use crate::layout::{csrf, render, shown};
use crate::schedule_form;
use crate::session::Session;
use crate::{Console, Error};

/// The kinds an HR export may provide: (form field, kind, label).
const FILE_KINDS: [(&str, ObjectKind, &str); 4] = [
    ("kind_users", ObjectKind::Users, "Users"),
    ("kind_groups", ObjectKind::Groups, "Groups"),
    ("kind_memberships", ObjectKind::Memberships, "Memberships"),
    ("kind_org_units", ObjectKind::OrgUnits, "Org units"),
];

/// The Add page's fields for `system` (not Google).
pub(crate) fn fields(system: &str, session: &Session, zone: &str) -> Result<Markup, Error> {
    if system == dirsync_file::SYSTEM.as_str() {
        Ok(file_fields(session, zone))
    } else if system == dirsync_scim::SYSTEM.as_str() {
        Ok(scim_fields(session))
    } else {
        Ok(html! {
            p { "This system is added through the command line or the JSON API (" code { "POST /api/v1/integrations" } ")." }
        })
    }
}

fn file_fields(session: &Session, zone: &str) -> Markup {
    html! {
        form.stack #file-form method="post" action="/console/integrations/file" {
            (csrf(session))
            div {
                label for="title" { "Title" }
                input type="text" id="title" name="title" required maxlength="200" placeholder="e.g. HR export";
            }
            p.muted { "Type: from the files to the directory (it cannot be changed later)." }
            div {
                label for="path" { "Folder on this server the export is written to" }
                input type="text" id="path" name="path" required placeholder="/srv/hr-export";
            }
            div {
                label for="format" { "Format" }
                select id="format" name="format" {
                    option value="csv" selected { "CSV (users.csv, groups.csv, …)" }
                    option value="jsonl" { "JSON Lines (users.jsonl, …)" }
                }
            }
            fieldset {
                legend { "What the folder provides" }
                @for (field, _, text) in FILE_KINDS {
                    label { input type="checkbox" name=(field) value="on" checked; " " (text) }
                }
            }
            div {
                label for="map" { "Column mappings, one COLUMN=FIELD a line (e.g. Work Email=email)" }
                textarea id="map" name="map" rows="3" {}
            }
            (schedule_form::fields(None, zone))
            div { button type="submit" { "Add integration" } }
        }
    }
}

fn scim_fields(session: &Session) -> Markup {
    html! {
        form.stack #scim-form method="post" action="/console/integrations/scim" {
            (csrf(session))
            div {
                label for="title" { "Title" }
                input type="text" id="title" name="title" required maxlength="200" placeholder="e.g. Okta";
            }
            fieldset {
                legend { "Type " span.muted { "(it cannot be changed later)" } }
                label { input type="radio" name="direction" value="inbound" checked; " An identity provider pushes users and groups to the directory (we show its base URL and token)" }
                label { input type="radio" name="direction" value="outbound"; " From the directory to an application's SCIM endpoint" }
            }
            fieldset {
                legend { "The application (outbound only)" }
                div {
                    label for="base-url" { "Its SCIM base URL" }
                    input type="url" id="base-url" name="base_url" placeholder="https://app.example.com/scim/v2";
                }
                div {
                    label for="token" { "Its bearer token (kept sealed; never shown again)" }
                    input type="password" id="token" name="token" autocomplete="off";
                }
                div {
                    label for="rpm" { "At most this many requests a minute (0: unpaced; empty: 6,000)" }
                    input type="number" id="rpm" name="requests_per_minute" min="0" inputmode="numeric";
                }
            }
            div { button type="submit" { "Add integration" } }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct FileForm {
    title: String,
    path: String,
    #[serde(default)]
    format: String,
    kind_users: Option<String>,
    kind_groups: Option<String>,
    kind_memberships: Option<String>,
    kind_org_units: Option<String>,
    #[serde(default)]
    map: String,
    interval: String,
    #[serde(default)]
    at: String,
    #[serde(default)]
    zone: String,
}

impl FileForm {
    fn settings(&self) -> Result<FileSettings, Error> {
        let path = std::path::PathBuf::from(self.path.trim());
        if !path.is_absolute() {
            return Err(Error::BadRequest(
                "give the folder's absolute path on this server".to_owned(),
            ));
        }
        let bad = |e: dirsync_file::Error| Error::BadRequest(e.to_string());
        let mut settings =
            FileSettings::new(path)
                .map_err(bad)?
                .with_format(match self.format.as_str() {
                    "jsonl" => Format::Jsonl,
                    _ => Format::Csv,
                });
        for line in self.map.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let mapping = line.parse::<ColumnMapping>().map_err(bad)?;
            settings = settings.with_mapping(mapping).map_err(bad)?;
        }
        let chosen = [
            &self.kind_users,
            &self.kind_groups,
            &self.kind_memberships,
            &self.kind_org_units,
        ];
        let kinds = ObjectKinds::new(
            FILE_KINDS
                .iter()
                .zip(chosen)
                .filter(|(_, on)| on.is_some())
                .map(|((_, kind, _), _)| *kind),
        )
        .map_err(|_| Error::BadRequest("choose what the folder provides".to_owned()))?;
        settings.with_kinds(kinds).map_err(bad)
    }
}

/// `POST /console/integrations/file`: created staged; on to Authorize, whose Activate checks
/// the folder.
pub(crate) async fn create_file(
    State(console): State<Console>,
    Form(form): Form<FileForm>,
) -> Result<Redirect, Error> {
    let settings = RemoteSettings::from_typed(&form.settings()?)?;
    let schedule = schedule_form::parse(&form.interval, &form.at, &form.zone)?
        .unwrap_or(dirsync_core::Schedule::Manual);
    let created = console
        .service
        .create(CreateIntegration::new(
            form.title.trim(),
            DirectionKind::Inbound,
            settings,
            schedule,
        ))
        .await?;
    let id = created.integration.id();
    tracing::info!(integration = %id, "file integration added in the console");
    Ok(Redirect::to(&format!(
        "/console/integrations/{id}/authorize"
    )))
}

#[derive(Deserialize)]
pub(crate) struct ScimForm {
    title: String,
    direction: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    requests_per_minute: String,
}

/// `POST /console/integrations/scim`: inbound answers the page with its base URL and token
/// (shown this once); outbound checks the endpoint and goes to the new integration's page.
pub(crate) async fn create_scim(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Form(form): Form<ScimForm>,
) -> Result<Response, Error> {
    let title = form.title.trim();
    if form.direction == "outbound" {
        let token = form.token.trim();
        if form.base_url.trim().is_empty() || token.is_empty() {
            return Err(Error::BadRequest(
                "an outbound SCIM integration needs the application's base URL and token"
                    .to_owned(),
            ));
        }
        let mut endpoint = ScimEndpoint::new(form.base_url.trim(), Service::new_scim_token_name());
        if !form.requests_per_minute.trim().is_empty() {
            let n = form
                .requests_per_minute
                .trim()
                .parse::<u32>()
                .map_err(|_| Error::BadRequest("requests a minute is a whole number".to_owned()))?;
            endpoint = endpoint.with_requests_per_minute(n);
        }
        let made = console
            .service
            .create_scim_outbound(title, endpoint, &Secret::new(token))
            .await?;
        let id = made.integration.id();
        tracing::info!(integration = %id, "outbound SCIM integration added in the console");
        return Ok(
            Redirect::to(&format!("/console/integrations/{id}?created=1#rules")).into_response(),
        );
    }
    let made = console.service.create_scim_integration(title).await?;
    let id = made.created.integration.id();
    tracing::info!(integration = %id, "inbound SCIM integration added in the console");
    let url = format!("{}{}", console.config.public_url, made.scim_base_path);
    let token = made.token.expose_secret();
    let status = console.service.status().await?;
    let frame = super::frame(&session, &headers, &status);
    let content = html! {
        p.notice role="status" { "Added " strong { (shown(title)) } ", active: its identity provider can push now." }
        section aria-labelledby="scim-secret" {
            h2 #scim-secret { "Give these to the identity provider" }
            p.error role="alert" { strong { "The token is shown this once." } " Only its hash is kept; copy it now (a new one can be made later, replacing it)." }
            dl.facts {
                dt { "SCIM base URL" }
                dd { code #scim-url { (url) } " " button.secondary type="button" data-copy=(url) aria-label="Copy the base URL" { "Copy" } }
                dt { "Bearer token" }
                dd { code #scim-token { (token) } " " button.secondary type="button" data-copy=(token) aria-label="Copy the token" { "Copy" } }
            }
        }
        p { a href={ "/console/integrations/" (id) } { "Manage " (shown(title)) } }
    };
    Ok(render("SCIM integration added", &frame, content))
}
