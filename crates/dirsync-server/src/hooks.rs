//! Google's push callback: `POST /hooks/google/{integration}` (issue 19). Not behind an API
//! token — Google calls it — but verified instead by the service against the stored live
//! channel (channel id, resource id, and the token's digest in constant time): a forged or
//! stale notification is answered 403 and triggers nothing. A verified one is answered 200 at
//! once; the user it names is queued, re-read and applied in the background.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use dirsync_core::{ChannelToken, IntegrationId};
use dirsync_service::{Notice, Received};
use serde_json::Value;

use crate::{AppState, Error};

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A Google push notification.
#[utoipa::path(
    post,
    path = "/hooks/google/{integration}",
    tag = "hooks",
    security(()),
    params(
        ("integration" = String, Path, description = "The integration the channel notifies"),
        ("X-Goog-Channel-ID" = String, Header, description = "Our channel id"),
        ("X-Goog-Channel-Token" = String, Header, description = "The channel's token"),
        ("X-Goog-Resource-ID" = String, Header, description = "Google's id of the watched resource"),
        ("X-Goog-Resource-State" = String, Header, description = "`sync`, `add`, `update`, `delete`, ..."),
        ("X-Goog-Message-Number" = Option<u64>, Header, description = "Google's message number")
    ),
    responses(
        (status = 200, description = "Accepted (queued or nothing to do)"),
        (status = 403, description = "Not a live channel of this integration: nothing triggered")
    )
)]
pub(crate) async fn google(
    State(state): State<AppState>,
    Path(integration): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, Error> {
    let Ok(integration) = IntegrationId::parse(&integration) else {
        return Ok(StatusCode::FORBIDDEN);
    };
    // Only the user's id is taken from the body, to know whom to re-read.
    let user_id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
    let notice = Notice::new(
        header(&headers, "x-goog-channel-id"),
        header(&headers, "x-goog-resource-id"),
        ChannelToken::new(header(&headers, "x-goog-channel-token")),
        header(&headers, "x-goog-resource-state"),
    )
    .about(
        header(&headers, "x-goog-message-number").parse().ok(),
        user_id,
    );
    Ok(
        match state.service.receive_push(integration, notice).await? {
            Received::Refused => StatusCode::FORBIDDEN,
            _ => StatusCode::OK,
        },
    )
}
