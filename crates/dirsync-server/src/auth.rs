//! Access: every `/api/v1` request carries an API token (`Authorization: Bearer …`); a
//! read-only token may only read.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::{AppState, Error};

/// Who is calling: the name of the token they presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name.
    pub token: String,
    /// Whether it may only read.
    pub read_only: bool,
}

/// The middleware: checks the token, refuses a read-only one anything but GET and HEAD, and
/// hands the [`Caller`] to the handlers.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, Error> {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(Error::Unauthenticated)?;
    let token = state
        .service
        .authenticate(presented)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if token.read_only && !reads {
        return Err(Error::ReadOnly { token: token.name });
    }
    request.extensions_mut().insert(Caller {
        token: token.name,
        read_only: token.read_only,
    });
    Ok(next.run(request).await)
}
