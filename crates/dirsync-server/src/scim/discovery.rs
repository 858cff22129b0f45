//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`.

use axum::Extension;
use axum::extract::Path;
use axum::response::Response;
use dirsync_scim::schema;
use serde_json::{Value, json};

use super::resources::MAX_COUNT;
use super::{Refusal, SCIM_BODY_LIMIT, ScimIntegration, scim_json};

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [schema::LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub(super) async fn config(Extension(scim): Extension<ScimIntegration>) -> Response {
    scim_json(&schema::service_provider_config(
        &scim.base,
        MAX_COUNT,
        SCIM_BODY_LIMIT,
    ))
}

pub(super) async fn resource_types(Extension(scim): Extension<ScimIntegration>) -> Response {
    scim_json(&list(schema::resource_types(&scim.base)))
}

pub(super) async fn resource_type(
    Extension(scim): Extension<ScimIntegration>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, Refusal> {
    schema::resource_types(&scim.base)
        .into_iter()
        .find(|t| t["id"].as_str() == Some(name.as_str()))
        .map(|t| scim_json(&t))
        .ok_or_else(|| {
            Refusal(dirsync_scim::Error::NotFound(format!(
                "resource type {name:?}"
            )))
        })
}

pub(super) async fn schemas(Extension(scim): Extension<ScimIntegration>) -> Response {
    scim_json(&list(schema::schemas(&scim.base)))
}

pub(super) async fn schema(
    Extension(scim): Extension<ScimIntegration>,
    Path((_, urn)): Path<(String, String)>,
) -> Result<Response, Refusal> {
    schema::schemas(&scim.base)
        .into_iter()
        .find(|s| s["id"].as_str() == Some(urn.as_str()))
        .map(|s| scim_json(&s))
        .ok_or_else(|| Refusal(dirsync_scim::Error::NotFound(format!("schema {urn:?}"))))
}
