//! The page layout (navigation, banner, footer naming the time zone), the embedded assets,
//! the security headers, and how values and times are shown.

use std::borrow::Cow;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{DOCTYPE, Markup, html};

use crate::access::Role;
use crate::session::{Session, cookie};

const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");

/// The Content-Security-Policy of every console answer: nothing but this origin's own style
/// sheet and script; no inline script or style, no framing; forms post only here, and may be
/// redirected only to the consent client's authorization origin ("Authorize with Google").
pub(crate) fn csp(config: &crate::ConsoleConfig) -> String {
    let consent = config
        .new_google
        .consent_client
        .as_ref()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| dirsync_google::oauth::OAuthClient::parse(&text).ok())
        .and_then(|client| url::Url::parse(&client.auth_uri).ok())
        .map(|url| format!(" {}", url.origin().ascii_serialization()))
        .unwrap_or_default();
    format!(
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'{consent}; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// `GET /console/assets/console.css`.
pub(crate) async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

/// `GET /console/assets/console.js`.
pub(crate) async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    (headers, body).into_response()
}

/// `text` with control characters shown as U+FFFD (names may hold them); the template escapes
/// markup.
pub(crate) fn shown(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(
            text.chars()
                .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// The operator's time zone: the `tz` cookie the script sets, UTC without it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Zone(pub(crate) Tz);

impl Zone {
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        Self(
            cookie(headers, "tz")
                .and_then(|z| z.parse::<Tz>().ok())
                .unwrap_or(Tz::UTC),
        )
    }

    /// `at` in this zone, to the second (a run under way).
    pub(crate) fn time_exact(self, at: DateTime<Utc>) -> Markup {
        let local = at.with_timezone(&self.0);
        html! {
            time datetime=(at.to_rfc3339()) { (local.format("%Y-%m-%d %H:%M:%S")) }
        }
    }

    /// `at` in this zone, to the minute.
    pub(crate) fn time(self, at: DateTime<Utc>) -> Markup {
        let local = at.with_timezone(&self.0);
        html! {
            time datetime=(at.to_rfc3339()) { (local.format("%Y-%m-%d %H:%M")) }
        }
    }
}

/// What every signed-in page shows around its content.
pub(crate) struct Frame<'a> {
    pub(crate) session: &'a Session,
    pub(crate) zone: Zone,
    /// The banner: integrations failed and plans held.
    pub(crate) attention: (usize, usize),
    /// Reload the page (this path and query: a fragment would make the reload a jump within
    /// the page) after this many seconds: a run under way; no script needed.
    pub(crate) refresh: Option<(u32, String)>,
}

/// A signed-in page.
pub(crate) fn render(title: &str, frame: &Frame<'_>, content: Markup) -> Response {
    let (failed, held) = frame.attention;
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, frame.refresh.as_ref()))
            body {
                header.top {
                    a.brand href="/console" { "directory-sync" }
                    nav aria-label="Main" {
                        a href="/console" { "Provisioning" }
                        a href="/console/users" { "Users" }
                        a href="/console/groups" { "Groups" }
                        a href="/console/org-units" { "Org units" }
                    }
                    div.who {
                        span { (shown(&frame.session.operator)) @if frame.session.role == Role::ReadOnly { " (read-only)" } }
                        form.inline method="post" action="/console/signout" {
                            (csrf(frame.session))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                @if failed > 0 || held > 0 {
                    div.banner role="status" {
                        @if failed > 0 { strong { (failed) " integration(s) failing." } " " }
                        @if held > 0 { strong { (held) " plan(s) held for approval." } " " }
                        a href="/console" { "See Provisioning" }
                    }
                }
                main { h1 { (shown(title)) } (content) }
                footer { "Times are shown in " (frame.zone.0.name()) "." }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// A page without a session (sign-in, errors).
pub(crate) fn bare(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, None))
            body {
                header.top { a.brand href="/console" { "directory-sync" } }
                main { h1 { (shown(title)) } (content) }
            }
        }
    }
}

fn head(title: &str, refresh: Option<&(u32, String)>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            @if let Some((seconds, url)) = refresh { meta http-equiv="refresh" content={ (seconds) "; url=" (url) }; }
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (shown(title)) " · directory-sync" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/console.js" defer {}
        }
    }
}

/// The hidden CSRF field of a form that changes something.
pub(crate) fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A state's badge.
pub(crate) fn badge(name: &str) -> Markup {
    html! { span class={ "badge " (name) } { (name) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_as_replacements() {
        assert_eq!(shown("Ada"), "Ada");
        assert_eq!(
            shown("A\u{0}d\u{1b}[31ma\n"),
            "A\u{FFFD}d\u{FFFD}[31ma\u{FFFD}"
        );
    }
}
