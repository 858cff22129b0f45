//! The request timeout: a request that takes too long is stopped and answered 503 with the
//! kind `timeout`, in the API's error shape.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Error;

/// Runs the request for at most `limit` until its answer's head (a streamed body is not timed). A stopped handler is dropped, as a cancelled run is:
/// the store writes nothing half-way and leases are released.
pub(crate) async fn limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Timeout { after: limit }.into_response(),
    }
}
