//! The OpenAPI document of the API, generated from the handlers' `#[utoipa::path]` attributes
//! and the views' schemas, and served at `GET /api/v1/openapi.json`.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

/// The document's frame: title, version, the token scheme. The paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "directory-sync",
        description = "Identity provisioning as a service: integrations, rules, runs, held plans and the directory."
    ),
    modifiers(&TokenScheme),
    security(("api_token" = [])),
    components(schemas(ErrorBody))
)]
pub(crate) struct ApiDoc;

/// `Authorization: Bearer dst_…`, on every route but `/healthz` and `/readyz`.
struct TokenScheme;

impl Modify for TokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every refusal's body: `{"error": {"kind", "message"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// The stable kind, as the command line prints it (`not_found`, `busy`, ...).
    pub(crate) kind: &'static str,
    /// For people; never a secret.
    pub(crate) message: String,
}

/// The refusals any route may answer: 4XX and 5XX with an [`ErrorBody`].
pub(crate) struct Refusals;

impl IntoResponses for Refusals {
    fn responses() -> std::collections::BTreeMap<String, RefOr<Response>> {
        let refusal = |what: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(what)
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                "ErrorBody",
                            ))))
                            .build(),
                    )
                    .build(),
            )
        };
        [
            (
                "4XX".to_owned(),
                refusal(
                    "refused: 400 invalid, 401 no or unknown token, 403 read-only token, 404 not found, 409 wrong state, 422 refused by the remote, 423 busy",
                ),
            ),
            (
                "5XX".to_owned(),
                refusal("failed: 500, 503 store unavailable or request timed out"),
            ),
        ]
        .into()
    }
}

/// The document, serialized once when the router is built.
#[derive(Clone)]
pub(crate) struct Document(pub(crate) Arc<String>);

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI document of this API", content_type = "application/json", body = Object), Refusals)
)]
pub(crate) async fn document(Extension(doc): Extension<Document>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_owned(),
    )
}
