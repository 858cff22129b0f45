//! Authorize an integration: `GET /console/integrations/{id}/authorize` — "Authorize with
//! Google" (consent) or the service account's instructions (client id and scopes, with copy
//! buttons) — then Activate, which checks each scope and shows the result.

use axum::Extension;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use dirsync_core::{AccessDenied, Grant, Scope};
use dirsync_service::{Reauthorize, Silent};
use maud::{Markup, html};

use super::integration_id;
use crate::layout::{csrf, render, shown};
use crate::session::Session;
use crate::{Console, Error};

/// The path Google's consent comes back to (served by the OAuth callback beside the API).
pub(crate) const CONSENT_CALLBACK: &str = "/oauth/google/callback";

pub(crate) async fn page(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    show(&console, &session, &headers, &id, None).await
}

/// The page, with the last activation's refusal if any (answered 422 then).
async fn show(
    console: &Console,
    session: &Session,
    headers: &HeaderMap,
    id: &str,
    refused: Option<&AccessDenied>,
) -> Result<Response, Error> {
    let id = integration_id(id)?;
    let any = console.service.integration(id).await?;
    let status = console.service.status().await?;
    let frame = super::frame(session, headers, &status);
    let consent = any
        .settings()
        .typed::<dirsync_google::GoogleSettings>()
        .is_ok_and(|g| g.oauth_settings().is_some());
    let authorized = any.record().authorization.is_some();
    let base = format!("/console/integrations/{id}");
    let instructions = if consent {
        None
    } else {
        Some(console.service.instructions(id).await?)
    };
    let content = html! {
        p { a href=(base) { "Manage " (shown(&any.record().title)) } }
        @if let Some(refused) = refused { (refusal(refused, instructions.as_ref().map(|i| i.scopes()).unwrap_or_default())) }
        @if consent {
            section aria-labelledby="consent" {
                h2 #consent { "Authorize with Google" }
                p { "A super admin of the Google Workspace signs in at Google and allows the access this integration needs. You come back here afterwards." }
                form.stack method="post" action={ (base) "/consent" } {
                    (csrf(session))
                    div { button type="submit" { @if authorized { "Authorize again with Google" } @else { "Authorize with Google" } } }
                }
            }
        }
        @if let Some(i) = &instructions {
            @if let Grant::Scopes { client_id, client_email, subject, console: steps, .. } = &i.grant {
                section aria-labelledby="delegation" {
                    h2 #delegation { "Grant domain-wide delegation" }
                    p { "A super admin grants these scopes to our service account once, in the Google Admin console"
                        @if let Some(steps) = steps { ": " (steps) } "." }
                    dl.facts {
                        dt { "Client id" }
                        dd { code #client-id { (client_id.as_deref().unwrap_or("")) } " "
                             button.secondary type="button" data-copy=(client_id.as_deref().unwrap_or("")) aria-label="Copy the client id" { "Copy" } }
                        dt { "Scopes" }
                        dd { code #scopes { (i.scopes_csv()) } " "
                             button.secondary type="button" data-copy=(i.scopes_csv()) aria-label="Copy the scopes" { "Copy" } }
                        @if let Some(email) = client_email { dt { "Service account" } dd { (email.to_string()) } }
                        @if let Some(subject) = subject { dt { "Acts as" } dd { (subject.to_string()) } }
                    }
                }
            }
        }
        @if *any.state() == dirsync_core::IntegrationState::Staged && (authorized || !consent) {
            section aria-labelledby="activate" {
                h2 #activate { "Activate" }
                p { "Activating checks each scope, then runs the first sync." }
                form.stack method="post" action={ (base) "/activate" } {
                    (csrf(session))
                    div { button type="submit" { "Activate" } }
                }
            }
        }
    };
    let google = any.settings().system().as_str() == "google_workspace";
    let content = html! {
        (content)
        @if *any.state() != dirsync_core::IntegrationState::Staged && !consent && session.role == crate::access::Role::Operator {
            (reauthorize_form(&base, session, google))
        }
    };
    let mut response = render("Authorize", &frame, content);
    if refused.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// The per-scope check's result: each required scope, granted or not.
fn refusal(refused: &AccessDenied, required: Vec<Scope>) -> Markup {
    html! {
        div.error role="alert" {
            p { strong { "Not activated. " } (shown(&refused.to_string())) }
            @if let AccessDenied::MissingScopes { scopes } = refused {
                ul {
                    @for scope in &required {
                        @let missing = scopes.contains(scope);
                        li { (if missing { "✗ missing: " } else { "✓ granted: " }) code { (scope.as_str()) } }
                    }
                }
            }
        }
    }
}

/// `POST /console/integrations/{id}/consent`: to Google's consent page.
pub(crate) async fn consent(
    State(console): State<Console>,
    Path(id): Path<String>,
) -> Result<Redirect, Error> {
    let id = integration_id(&id)?;
    let redirect = format!("{}{CONSENT_CALLBACK}", console.config.public_url);
    let start = console.service.start_consent(id, &redirect, None).await?;
    // The OAuth callback beside the API (`/oauth/google/callback`) completes it from the
    // consents the service keeps, and sends the browser back to the Manage page.
    let url = console.service.pending_consents().keep(start);
    Ok(Redirect::to(&url))
}

/// `POST /console/integrations/{id}/activate`: the per-scope check, then the first sync.
pub(crate) async fn activate(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let integration = integration_id(&id)?;
    match console.service.activate(integration, &Silent).await {
        Ok(activated) => {
            let outcome = activated
                .initial_run
                .as_ref()
                .map_or_else(|| "activated".to_owned(), super::actions::outcome);
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("activated", &outcome)
                .finish();
            Ok(
                Redirect::to(&format!("/console/integrations/{integration}?{query}"))
                    .into_response(),
            )
        }
        Err(dirsync_service::Error::Access(refused)) => {
            show(&console, &session, &headers, &id, Some(&refused)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// New settings for the authorization, verified before they are kept (as `dirsync
/// integration:reauthorize` takes them): for a service account a new key file and/or admin;
/// for any system, settings by name.
fn reauthorize_form(base: &str, session: &Session, google: bool) -> Markup {
    html! {
        section aria-labelledby="reauthorize" {
            h2 #reauthorize { "Reauthorize" }
            p { "New settings are checked before they are kept; a failed integration comes back. Leave a field empty to keep it; submit with none to check access again." }
            form.stack method="post" action={ (base) "/reauthorize" } {
                (csrf(session))
                @if google {
                    div {
                        label for="key" { "New service-account key file (its absolute path on this server)" }
                        input type="text" id="key" name="key" placeholder="/etc/dirsync/new-key.json";
                    }
                    div {
                        label for="subject" { "Super admin it acts as" }
                        input type="text" id="subject" name="subject" inputmode="email";
                    }
                }
                div {
                    label for="settings" { "Other settings, one NAME=VALUE a line (as integration:show prints them)" }
                    textarea id="settings" name="settings" rows="2" {}
                }
                div { button type="submit" { "Reauthorize" } }
            }
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ReauthorizeForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    settings: String,
}

impl ReauthorizeForm {
    fn change(&self) -> Result<Reauthorize, Error> {
        let mut change = Reauthorize::default();
        let key = self.key.trim();
        if !key.is_empty() {
            let path = std::path::PathBuf::from(key);
            if !path.is_absolute() {
                return Err(Error::BadRequest(
                    "give the key file's absolute path on this server".to_owned(),
                ));
            }
            change = change.with_key(dirsync_google::KeyReference::File(path));
        }
        let subject = self.subject.trim();
        if !subject.is_empty() {
            change = change.with_subject(dirsync_core::Email::new(subject)?);
        }
        for line in self
            .settings
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| Error::BadRequest(format!("{:?}: write NAME=VALUE", shown(line))))?;
            let value = value.trim();
            let value = serde_json::from_str(value)
                .unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
            change = change.with_setting(name.trim(), value);
        }
        Ok(change)
    }
}

/// `POST /console/integrations/{id}/reauthorize`: verified, then kept; a refusal is shown
/// on the page (422), scope by scope.
pub(crate) async fn reauthorize(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ReauthorizeForm>,
) -> Result<Response, Error> {
    let integration = integration_id(&id)?;
    match console
        .service
        .reauthorize(integration, form.change()?)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/console/integrations/{integration}?authorized=1#authorization"
        ))
        .into_response()),
        Err(dirsync_service::Error::Access(refused)) => {
            show(&console, &session, &headers, &id, Some(&refused)).await
        }
        Err(e) => Err(e.into()),
    }
}
