//! Responses: the Google error envelope ([`ApiError`]) and success bodies (`fields=`,
//! `prettyPrint=`).

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::render::{self, FieldMask, Masked};

/// A Google API error (rendered as the `{"error":{code,message,errors[]}}` envelope).
#[derive(Debug)]
pub(crate) struct ApiError {
    code: u16,
    message: String,
    reason: &'static str,
    location: Option<(&'static str, &'static str)>,
}

impl ApiError {
    pub(super) fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            location: None,
        }
    }
    pub(super) fn at(mut self, location: &'static str, kind: &'static str) -> Self {
        self.location = Some((location, kind));
        self
    }
    pub(super) fn not_found(what: &str) -> Self {
        Self::new(404, "notFound", format!("Resource Not Found: {what}"))
    }
    pub(super) fn forbidden() -> Self {
        Self::new(
            403,
            "forbidden",
            "Not Authorized to access this resource/api",
        )
    }
    pub(super) fn bad_request() -> Self {
        Self::new(400, "badRequest", "Bad Request")
    }
    pub(super) fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "invalid", message)
    }
    pub(super) fn injected(status: u16) -> Self {
        match status {
            400 => Self::new(400, "badRequest", "Bad Request"),
            429 => Self::new(429, "rateLimitExceeded", "Rate Limit Exceeded"),
            403 => Self::new(403, "userRateLimitExceeded", "User Rate Limit Exceeded"),
            500 => Self::new(500, "backendError", "Backend Error"),
            502 => Self::new(502, "badGateway", "Bad Gateway"),
            504 => Self::new(504, "gatewayTimeout", "Gateway Timeout"),
            _ => Self::new(503, "backendError", "Service unavailable. Please try again"),
        }
    }
    pub(crate) fn envelope(&self) -> Value {
        let mut item = json!({"message": self.message, "domain": "global", "reason": self.reason});
        if let (Some((loc, kind)), Value::Object(m)) = (self.location, &mut item) {
            m.insert("location".into(), json!(loc));
            m.insert("locationType".into(), json!(kind));
        }
        json!({"error": {"code": self.code, "message": self.message, "errors": [item]}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(status, &self.envelope(), true)
    }
}

pub(super) fn json_response(status: StatusCode, v: &Value, pretty: bool) -> Response {
    let body = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    };
    with_json_type(status, body.unwrap_or_default().into())
}

fn with_json_type(status: StatusCode, body: Body) -> Response {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    r
}

pub(super) type ApiResult = Result<Response, ApiError>;

/// The `fields=` mask, if any (`invalid` when it does not parse).
fn mask(p: &HashMap<String, String>) -> Result<Option<FieldMask>, ApiError> {
    p.get("fields")
        .map(|f| {
            FieldMask::parse(f).ok_or_else(|| {
                ApiError::invalid(format!("Invalid field selection {f}")).at("fields", "parameter")
            })
        })
        .transpose()
}

fn pretty(p: &HashMap<String, String>) -> bool {
    p.get("prettyPrint").is_none_or(|v| v != "false")
}

/// Renders a success body honouring `fields=` and `prettyPrint=`.
pub(super) fn ok(p: &HashMap<String, String>, v: Value) -> ApiResult {
    let v = match mask(p)? {
        Some(m) => m.apply(&v),
        None => v,
    };
    Ok(json_response(StatusCode::OK, &v, pretty(p)))
}

/// [`ok`] for a body written straight to text (the listings): the same bytes.
pub(super) fn ok_text<T: Masked + ?Sized>(p: &HashMap<String, String>, v: &T) -> ApiResult {
    let body = render::to_body(v, mask(p)?.as_ref(), pretty(p)).unwrap_or_default();
    Ok(with_json_type(StatusCode::OK, body.into()))
}
