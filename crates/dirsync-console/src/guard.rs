//! The gate of every signed-in page: a live session, or a redirect to sign in; on a form that
//! changes something (any POST), the session's CSRF token, and an operator who may change.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::access::Role;
use crate::session::{COOKIE, cookie, same};
use crate::{Console, Error};

/// The largest form accepted.
const FORM_LIMIT: usize = 64 * 1024;

/// The session's id, for signing out.
#[derive(Debug, Clone)]
pub(crate) struct SessionId(pub(crate) String);

/// Where to come back to after signing in: a console path, nothing else (no open redirect).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/console")
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/console".to_owned(),
    }
}

pub(crate) async fn require_session(
    State(console): State<Console>,
    request: Request,
    next: Next,
) -> Response {
    let found = cookie(request.headers(), COOKIE)
        .and_then(|id| console.sessions.get(id).map(|s| (id.to_owned(), s)));
    let Some((id, session)) = found else {
        let back = if request.method() == Method::GET {
            request.uri().path_and_query().map(|p| p.as_str())
        } else {
            None
        };
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &safe_next(back))
            .finish();
        return Redirect::to(&format!("/console/signin?{query}")).into_response();
    };
    let mut request = request;
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let signing_out = request.uri().path() == "/console/signout";
        if session.role == Role::ReadOnly && !signing_out {
            return Error::Forbidden(
                "you are a read-only operator: you can see, not change".to_owned(),
            )
            .into_response();
        }
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
            return Error::BadRequest("the form is too large".to_owned()).into_response();
        };
        let presented = url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned());
        if !presented.is_some_and(|p| same(&p, &session.csrf)) {
            return Error::Forbidden(
                "the form's CSRF token is missing or wrong: reload the page and try again"
                    .to_owned(),
            )
            .into_response();
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(session);
    request.extensions_mut().insert(SessionId(id));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_are_come_back_to() {
        for (given, kept) in [
            (
                Some("/console/integrations/x?authorized=1"),
                "/console/integrations/x?authorized=1",
            ),
            (Some("https://evil.example/console"), "/console"),
            (Some("//evil.example/console"), "/console"),
            (Some("/console\\..\\x"), "/console"),
            (Some("/api/v1/integrations"), "/console"),
            (None, "/console"),
        ] {
            assert_eq!(safe_next(given), kept, "{given:?}");
        }
    }
}
