//! The token endpoint: the JWT-bearer grant, and the injected token faults.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::response::json_response;
use super::{S, lock, read};
use crate::faults::{TOKEN_HANG, TokenFault};

/// The answer of an injected token-endpoint fault.
pub(super) async fn token_fault(fault: TokenFault) -> Response {
    match fault {
        TokenFault::Html => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            "<!DOCTYPE html><html><head><title>Error 502 (Server Error)!!1</title></head>\
             <body><p><b>502.</b> That's an error.</p></body></html>",
        )
            .into_response(),
        TokenFault::Timeout => {
            tokio::time::sleep(TOKEN_HANG).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        TokenFault::Status(status) => json_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            &json!({"error": "temporarily_unavailable", "error_description": "injected fault"}),
            false,
        ),
    }
}

pub(super) async fn token(State(shared): S, body: axum::body::Bytes) -> Response {
    let fault = lock(&shared.faults).decide_token();
    if let Some(fault) = fault {
        lock(&shared.stats).token_faults_injected += 1;
        return token_fault(fault).await;
    }
    let form: HashMap<String, String> = url_decode_form(&body);
    let now = chrono::Utc::now().timestamp();
    let result = {
        let tenant = read(&shared.tenant);
        let mut auth = lock(&shared.auth);
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let issuer = shared.token_uri.trim_end_matches("/token");
                auth.exchange_code(&form, issuer, now)
            }
            Some("refresh_token") => auth.exchange_refresh(&form, &tenant),
            _ => auth
                .exchange(&form, &shared.token_uri, &tenant, now)
                .map(|(token, expires_in)| {
                    json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"})
                }),
        }
    };
    match result {
        Ok(answer) => {
            lock(&shared.stats).tokens_issued += 1;
            json_response(StatusCode::OK, &answer, false)
        }
        Err(e) => {
            lock(&shared.stats).token_requests_refused += 1;
            tracing::debug!(error = e.error, "token request refused");
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            json_response(status, &e.body(), true)
        }
    }
}

pub(super) fn url_decode_form(body: &[u8]) -> HashMap<String, String> {
    fn dec(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(kv), String::new()),
        })
        .collect()
}
