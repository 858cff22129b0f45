//! Signing in: OpenID Connect at Google (the consent flow asking only `openid email`, whose
//! verified id_token names the operator; the refresh token it brings is revoked at once), or
//! a one-time bootstrap link; and signing out.

use std::collections::BTreeSet;

use axum::Extension;
use axum::Form;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use dirsync_google::oauth::{CallbackParams, PendingConsent};
use maud::html;
use serde::Deserialize;

use crate::access::Role;
use crate::guard::{SessionId, safe_next};
use crate::layout::{bare, shown};
use crate::session::{COOKIE, SESSION_MAX_AGE, SIGNIN_COOKIE, SIGNIN_MAX_AGE, cookie, set_cookie};
use crate::{Console, Error};

/// A sign-in under way at Google: what checks its answer, and where to go after.
pub(crate) struct SignIn {
    pending: PendingConsent,
    next: String,
}

/// The path Google sends the operator back to.
const CALLBACK: &str = "/console/signin/callback";

#[derive(Debug, Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

/// `GET /console/signin`.
pub(crate) async fn page(
    State(console): State<Console>,
    Query(q): Query<NextQuery>,
) -> Html<String> {
    let next = safe_next(q.next.as_deref());
    let start: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", &next)
        .finish();
    Html(
        bare(
            "Sign in",
            html! {
                @if console.flow.is_some() {
                    p { "Sign in with your Google account to manage provisioning." }
                    p { a.button href={ "/console/signin/google?" (start) } { "Sign in with Google" } }
                } @else {
                    p { "No sign-in with Google is configured (" code { "dirsync serve --console-oidc-client FILE" } ")." }
                }
                p.muted { "First setup? Run " code { "dirsync console:login" } " on the server for a one-time link." }
            },
        )
        .into_string(),
    )
}

/// `GET /console/signin/google`: to Google, with this browser's sign-in in a cookie.
pub(crate) async fn google(
    State(console): State<Console>,
    Query(q): Query<NextQuery>,
) -> Result<Response, Error> {
    let Some((flow, _)) = &console.flow else {
        return Err(Error::SignIn(
            "no sign-in with Google is configured".to_owned(),
        ));
    };
    let redirect = format!("{}{CALLBACK}", console.config.public_url);
    let pending = flow
        .start(&redirect, &BTreeSet::new(), None)
        .map_err(|e| Error::Config(e.to_string()))?;
    let url = pending.url.clone();
    let id = console.sessions.begin_sign_in(SignIn {
        pending,
        next: safe_next(q.next.as_deref()),
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        header_value(&set_cookie(
            SIGNIN_COOKIE,
            &id,
            SIGNIN_MAX_AGE,
            console.secure(),
        ))?,
    );
    Ok((headers, Redirect::to(&url)).into_response())
}

fn header_value(text: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(text).map_err(|_| Error::BadRequest("not a header value".to_owned()))
}

/// `GET /console/signin/callback`: Google's answer; a session for an allowed, verified email.
pub(crate) async fn callback(
    State(console): State<Console>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Error> {
    let Some((flow, endpoints)) = &console.flow else {
        return Err(Error::SignIn(
            "no sign-in with Google is configured".to_owned(),
        ));
    };
    let sign_in = cookie(&headers, SIGNIN_COOKIE)
        .and_then(|id| console.sessions.take_sign_in(id))
        .ok_or_else(|| {
            Error::SignIn("this sign-in is unknown or too old: start again".to_owned())
        })?;
    let params = CallbackParams::from_query(query.as_deref().unwrap_or_default());
    let consent = flow
        .finish(sign_in.pending, &params)
        .await
        .map_err(|e| Error::SignIn(e.to_string()))?;
    // Signing in needs no offline access: give back the refresh token at once.
    if let Err(e) = dirsync_google::oauth::revoke(endpoints, &consent.stored).await {
        tracing::warn!(error = %e, "revoking the sign-in's refresh token failed");
    }
    let email = consent.stored.authorized_by.to_string();
    let Some(role) = console.config.access.role(&email) else {
        tracing::warn!(%email, "console sign-in refused: not an allowed operator");
        return Err(Error::SignIn(format!(
            "{email} is not allowed to use this console"
        )));
    };
    tracing::info!(%email, ?role, "operator signed in");
    signed_in(&console, email, role, &sign_in.next)
}

/// The answer that starts a session and goes to `next`.
fn signed_in(
    console: &Console,
    operator: String,
    role: Role,
    next: &str,
) -> Result<Response, Error> {
    let id = console.sessions.start(operator, role);
    let mut headers = HeaderMap::new();
    headers.append(
        header::SET_COOKIE,
        header_value(&set_cookie(COOKIE, &id, SESSION_MAX_AGE, console.secure()))?,
    );
    headers.append(
        header::SET_COOKIE,
        header_value(&set_cookie(
            SIGNIN_COOKIE,
            "",
            std::time::Duration::ZERO,
            console.secure(),
        ))?,
    );
    Ok((headers, Redirect::to(next)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    token: String,
}

/// `GET /console/bootstrap?token=…`: a button, so that a link preview cannot spend the token.
pub(crate) async fn bootstrap_page(Query(q): Query<TokenForm>) -> Html<String> {
    Html(
        bare(
            "Sign in with a one-time link",
            html! {
                p { "This link signs you in once, as a full operator. It stops working after use." }
                form.stack method="post" action="/console/bootstrap" {
                    input type="hidden" name="token" value=(shown(&q.token));
                    div { button type="submit" { "Sign in" } }
                }
            },
        )
        .into_string(),
    )
}

/// `POST /console/bootstrap`: redeems the token once.
pub(crate) async fn bootstrap(
    State(console): State<Console>,
    Form(form): Form<TokenForm>,
) -> Result<Response, Error> {
    if !console
        .service
        .redeem_console_bootstrap(&form.token)
        .await?
    {
        return Err(Error::SignIn(
            "this one-time link was used already, has expired or is wrong: run `dirsync console:login` again"
                .to_owned(),
        ));
    }
    tracing::info!("operator signed in with a bootstrap link");
    signed_in(
        &console,
        "bootstrap link".to_owned(),
        Role::Operator,
        "/console",
    )
}

/// `POST /console/signout`.
pub(crate) async fn sign_out(
    State(console): State<Console>,
    Extension(id): Extension<SessionId>,
) -> Result<Response, Error> {
    console.sessions.end(&id.0);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        header_value(&set_cookie(
            COOKIE,
            "",
            std::time::Duration::ZERO,
            console.secure(),
        ))?,
    );
    Ok((headers, Redirect::to("/console/signin")).into_response())
}
