//! Google's consent endpoints: the authorization page (an account chooser among the tenant's
//! people, the scopes asked, Allow and Cancel) or an automatic consent, revoke, JWKS and
//! userinfo. The token endpoint's `authorization_code` and `refresh_token` grants are in
//! `token.rs`, answered by [`crate::consent`].

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;

use super::response::json_response;
use super::token::url_decode_form;
use super::{Params, S, lock, read};
use crate::consent::{AuthRequest, OAUTH_CLIENT_ID};

/// The authorization endpoint (the client file's `auth_uri`).
pub(crate) const AUTH_PATH: &str = "/o/oauth2/v2/auth";
const DECISION_PATH: &str = "/o/oauth2/v2/auth/decision";

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Google's error page for a request it cannot send back to any client.
fn error_page(error: &str, detail: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!DOCTYPE html><title>Error 400: {0}</title><h1>Access blocked: authorization error</h1><p>Error 400: {0}</p><p>{1}</p>",
            escape(error),
            escape(detail)
        )),
    )
        .into_response()
}

/// Back to the client: `?code=…&state=…&scope=…` or `?error=…&state=…`.
fn back(request: &AuthRequest, pairs: &[(&str, &str)]) -> Response {
    let mut url = request.redirect_uri.clone();
    url.push(if url.contains('?') { '&' } else { '?' });
    let mut pairs: Vec<(&str, &str)> = pairs.to_vec();
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    url.push_str(&query.join("&"));
    Redirect::to(&url).into_response()
}

fn loopback(uri: &str) -> bool {
    [
        "http://127.0.0.1:",
        "http://127.0.0.1/",
        "http://localhost:",
        "http://[::1]:",
    ]
    .iter()
    .any(|p| uri.starts_with(p))
}

/// `GET /o/oauth2/v2/auth`: checks the request as Google does (client, loopback redirect,
/// PKCE S256), then consents automatically when an account is set for that, or shows the page.
pub(super) async fn authorize(State(shared): S, Query(q): Params) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != OAUTH_CLIENT_ID {
        return error_page("invalid_client", "The OAuth client was not found.");
    }
    let redirect_uri = get("redirect_uri");
    if !loopback(redirect_uri) {
        return error_page(
            "redirect_uri_mismatch",
            "Only loopback redirect URIs are allowed.",
        );
    }
    let request = AuthRequest {
        client_id: get("client_id").to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scopes: get("scope").split_whitespace().map(str::to_owned).collect(),
        state: q.get("state").cloned(),
        challenge: get("code_challenge").to_owned(),
        nonce: q.get("nonce").cloned(),
    };
    if get("response_type") != "code" {
        return back(&request, &[("error", "unsupported_response_type")]);
    }
    if get("code_challenge_method") != "S256" || request.challenge.is_empty() {
        return back(
            &request,
            &[
                ("error", "invalid_request"),
                ("error_description", "PKCE with S256 is required"),
            ],
        );
    }
    if request.scopes.is_empty() {
        return back(&request, &[("error", "invalid_scope")]);
    }
    let auto = lock(&shared.auth).consent.auto_consent.clone();
    if let Some(account) = auto {
        return decide(&shared, request, &account);
    }
    let tenant = read(&shared.tenant);
    let mut page = String::from(
        "<!DOCTYPE html><html><head><title>Sign in - Google Accounts</title></head><body>\
         <h1>Choose an account</h1>",
    );
    let scopes: String = request
        .scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    let id = lock(&shared.auth).consent.park(request);
    let _ = write!(
        page,
        "<form method=\"post\" action=\"{DECISION_PATH}\"><input type=\"hidden\" name=\"request\" value=\"{}\">",
        escape(&id)
    );
    for (i, user) in tenant.live_users().filter(|u| !u.suspended).enumerate() {
        let _ = write!(
            page,
            "<p><label><input type=\"radio\" name=\"account\" value=\"{0}\"{1}> {2} {3} &lt;{0}&gt;</label></p>",
            escape(&user.primary_email),
            if i == 0 { " checked" } else { "" },
            escape(&user.given_name),
            escape(&user.family_name),
        );
    }
    let _ = write!(
        page,
        "<h2>directory-sync wants to access your Google Account</h2><ul>{scopes}</ul>\
         <button name=\"decision\" value=\"allow\">Allow</button> \
         <button name=\"decision\" value=\"cancel\">Cancel</button></form></body></html>"
    );
    Html(page).into_response()
}

/// `POST /o/oauth2/v2/auth/decision` (the page's form): Allow or Cancel as the chosen account.
pub(super) async fn decision(State(shared): S, body: axum::body::Bytes) -> Response {
    let form = url_decode_form(&body);
    let id = form.get("request").map(String::as_str).unwrap_or("");
    let Some(request) = lock(&shared.auth).consent.take(id) else {
        return error_page("invalid_request", "This authorization request has expired.");
    };
    match form.get("decision").map(String::as_str) {
        Some("allow") => {
            let account = form.get("account").cloned().unwrap_or_default();
            decide(&shared, request, &account)
        }
        _ => back(&request, &[("error", "access_denied")]),
    }
}

fn decide(shared: &super::Shared, request: AuthRequest, account: &str) -> Response {
    let tenant = read(&shared.tenant);
    let mut auth = lock(&shared.auth);
    let denied = auth.denied_scopes.clone();
    let scopes = request.scopes.join(" ");
    match auth
        .consent
        .consent(request.clone(), account, &tenant, &denied)
    {
        Ok(code) => back(&request, &[("code", &code), ("scope", &scopes)]),
        Err(_) => back(&request, &[("error", "access_denied")]),
    }
}

/// `POST /revoke` (`token=…`): 200, or 400 `invalid_token` for a token it does not know.
pub(super) async fn revoke(State(shared): S, body: axum::body::Bytes) -> Response {
    let form = url_decode_form(&body);
    let token = form.get("token").map(String::as_str).unwrap_or("");
    if lock(&shared.auth).revoke_consent_token(token) {
        StatusCode::OK.into_response()
    } else {
        json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_token", "error_description": "Token expired or revoked"}),
            true,
        )
    }
}

/// `GET /oauth2/v3/certs`: the JWKS id_tokens are verified against.
pub(super) async fn certs() -> Response {
    match crate::consent::jwks() {
        Ok(jwks) => json_response(StatusCode::OK, &jwks, false),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET /oauth2/v3/userinfo` with a consent's access token.
pub(super) async fn userinfo(State(shared): S, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let tenant = read(&shared.tenant);
    match lock(&shared.auth).userinfo(token, &tenant) {
        Some(info) => json_response(StatusCode::OK, &info, false),
        None => json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_request", "error_description": "Invalid Credentials"}),
            true,
        ),
    }
}
