//! The signed-in pages, and the forms that change things (each a POST that answers 303 to the
//! page that shows the result).

pub(crate) mod actions;
mod add;
mod add_other;
mod authorize;
mod directory;
mod integration;
mod outbound_rule;
mod provisioning;
mod push;
mod safeguards;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use dirsync_core::IntegrationId;
use dirsync_service::StatusReport;

use crate::layout::{Frame, Zone};
use crate::session::Session;
use crate::{Console, Error};

pub(crate) fn routes() -> Router<Console> {
    Router::new()
        .route("/console", get(provisioning::page))
        .route("/console/integrations/new", get(add::page))
        .route("/console/integrations", post(add::create))
        .route("/console/integrations/file", post(add_other::create_file))
        .route("/console/integrations/scim", post(add_other::create_scim))
        .route("/console/integrations/{id}", get(integration::page))
        .route("/console/integrations/{id}/authorize", get(authorize::page))
        .route(
            "/console/integrations/{id}/consent",
            post(authorize::consent),
        )
        .route(
            "/console/integrations/{id}/activate",
            post(authorize::activate),
        )
        .route(
            "/console/integrations/{id}/settings",
            post(actions::settings),
        )
        .route("/console/integrations/{id}/remove", post(actions::remove))
        .route("/console/integrations/{id}/rules", post(actions::add_rule))
        .route(
            "/console/integrations/{id}/outbound-rules",
            post(outbound_rule::add),
        )
        .route("/console/integrations/{id}/push", post(push::toggle))
        .route(
            "/console/integrations/{id}/reauthorize",
            post(authorize::reauthorize),
        )
        .route(
            "/console/integrations/{id}/safeguards",
            post(safeguards::save),
        )
        .route(
            "/console/integrations/{id}/rules/{rule}/run",
            post(actions::run_rule),
        )
        .route(
            "/console/integrations/{id}/rules/{rule}/remove",
            post(actions::remove_rule),
        )
        .route("/console/plans/{plan}/approve", post(actions::approve))
        .route("/console/plans/{plan}/discard", post(actions::discard))
        .route("/console/users", get(directory::users))
        .route("/console/users/{id}", get(directory::user))
        .route("/console/groups", get(directory::groups))
        .route("/console/org-units", get(directory::org_units))
        .route("/console/signout", post(crate::signin::sign_out))
}

/// The frame of a page for `session`: the banner's counts from `status`.
pub(crate) fn frame<'a>(
    session: &'a Session,
    headers: &HeaderMap,
    status: &StatusReport,
) -> Frame<'a> {
    Frame {
        session,
        zone: Zone::of(headers),
        attention: (status.failing(), status.held()),
        refresh: None,
    }
}

pub(crate) fn integration_id(text: &str) -> Result<IntegrationId, Error> {
    IntegrationId::parse(text).map_err(|_| {
        Error::BadRequest(format!(
            "{:?} is not an integration id",
            crate::layout::shown(text)
        ))
    })
}

/// "From Google to the directory" / "From the directory to Google".
pub(crate) fn direction_text(direction: dirsync_core::DirectionKind, system: &str) -> String {
    match direction {
        dirsync_core::DirectionKind::Outbound => format!("From the directory to {system}"),
        _ => format!("From {system} to the directory"),
    }
}
