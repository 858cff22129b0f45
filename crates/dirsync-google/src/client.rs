//! The HTTP side: request building (pure), the send loop with retries, pacing, timeouts and the
//! 401 token refresh, counted into [`Counters`]. Reads (`GET`) and writes (`POST` with
//! a JSON body, `DELETE`) share the loop, so they share its retries, pacer and concurrency bound.

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use dirsync_core::{AccessDenied, Scope};
use rand::SeedableRng;
use rand::rngs::StdRng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;
use url::Url;

use crate::auth::TokenSource;
use crate::config::RetryConfig;
use crate::counters::{Counters, InFlight};
use crate::error::Error;
use crate::limit::{Answer, Limit};
use crate::pacer::Pacer;
use crate::retry::{self, Decision};
use crate::wire;

/// One call of the Directory API, ready to send: the route template for errors and stats, the
/// method, the URL with every query parameter, the JSON body of a write, and the scope whose
/// token authorizes it. Its `Debug` never shows a body's `password`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiRequest {
    /// `GET /admin/directory/v1/groups/{groupKey}/members` (templated, no ids).
    pub(crate) route: &'static str,
    /// The method (`GET` unless [`with_method`](Self::with_method) changed it).
    pub(crate) method: reqwest::Method,
    /// The full URL.
    pub(crate) url: Url,
    /// The JSON body, for writes.
    pub(crate) body: Option<Value>,
    /// The scope to request a token for.
    pub(crate) scope: Scope,
}

impl fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = self.body.as_ref().map(|b| {
            let mut b = b.clone();
            if let Some(p) = b.get_mut("password") {
                *p = Value::String("[redacted]".to_owned());
            }
            b
        });
        f.debug_struct("ApiRequest")
            .field("route", &self.route)
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("body", &body)
            .field("scope", &self.scope)
            .finish()
    }
}

impl ApiRequest {
    /// Builds a `GET`: `base` + `/admin/directory/v1` + `segments` (each percent-encoded) +
    /// `query` (in order).
    pub(crate) fn new(
        base: &Url,
        route: &'static str,
        segments: &[&str],
        query: &[(&str, &str)],
        scope: &Scope,
    ) -> Result<Self, Error> {
        let mut url = base.clone();
        if url.cannot_be_a_base() {
            return Err(Error::Config {
                reason: "api_base cannot be a base URL".into(),
            });
        }
        let mut path = url.path().trim_end_matches('/').to_owned();
        path.push_str("/admin/directory/v1");
        for segment in segments {
            path.push('/');
            path.push_str(&encode_segment(segment));
        }
        url.set_path(&path);
        url.set_query(None);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(Self {
            route,
            method: reqwest::Method::GET,
            url,
            body: None,
            scope: scope.clone(),
        })
    }

    /// The same request at another absolute path below the base (for the few routes outside
    /// `/admin/directory/v1`, such as `channels.stop`).
    pub(crate) fn set_path(&mut self, path: &str) {
        let base = self
            .url
            .path()
            .split("/admin/directory/v1")
            .next()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        self.url.set_path(&format!("{base}{path}"));
    }

    /// The same request with another method and an optional JSON body.
    pub(crate) fn with_method(mut self, method: reqwest::Method, body: Option<Value>) -> Self {
        self.method = method;
        self.body = body;
        self
    }
}

/// Percent-encodes one path segment the way Google's client libraries expand `{groupKey}`:
/// everything but `A-Z a-z 0-9 - . _ *` is encoded, so `@` is `%40`, `+` is `%2B` (never read
/// as a space) and `/` is `%2F` (never a path separator).
pub(crate) fn encode_segment(segment: &str) -> String {
    // `byte_serialize` writes a space as `+` and a literal `+` as `%2B`: every `+` left is a space.
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// What one attempt produced.
enum Attempt {
    Ok(bytes::Bytes),
    Status {
        status: u16,
        body: bytes::Bytes,
        retry_after: Option<Duration>,
    },
    Transport(String),
}

/// The Directory API client: one per connector (one subject), shared by all fetch tasks.
pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) tokens: Arc<dyn TokenSource>,
    pub(crate) token_timeout: Duration,
    pub(crate) pacer: Pacer,
    pub(crate) retry: RetryConfig,
    /// The bound on requests in flight, adapting to Google's answers.
    pub(crate) limit: Limit,
    pub(crate) rng: Mutex<StdRng>,
    /// The largest response body read; a larger one is [`Error::TooLarge`].
    pub(crate) max_body: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("tokens", &self.tokens)
            .field("pace", &self.pacer.interval())
            .field("retry", &self.retry)
            .field("concurrency", &self.limit.bound())
            .finish_non_exhaustive()
    }
}

/// A transport error as text: its kind and source chain (no URL, which is in the route anyway).
pub(crate) fn transport_message(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    let e = e.without_url();
    let mut out = format!("{kind}: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

impl Client {
    pub(crate) fn new(
        http: reqwest::Client,
        tokens: Arc<dyn TokenSource>,
        token_timeout: Duration,
        pacer: Pacer,
        retry: RetryConfig,
        concurrency: usize,
        max_body: usize,
    ) -> Self {
        Self {
            http,
            tokens,
            token_timeout,
            pacer,
            retry,
            limit: Limit::new(concurrency),
            rng: Mutex::new(StdRng::from_os_rng()),
            max_body,
        }
    }

    /// What to do after failed attempt number `attempt` (0 for the first retry): the retry
    /// policy's decision (at least `retry_after`, up to the longest wait), refused when its wait
    /// would end past the budget of `counters`.
    fn decide(
        &self,
        status: Option<u16>,
        reason: Option<&str>,
        attempt: u32,
        retry_after: Option<Duration>,
        counters: &Counters,
    ) -> Decision {
        let decision = match self.rng.lock() {
            Ok(mut rng) => retry::decide(status, reason, attempt, &self.retry, &mut *rng),
            Err(_) => Decision::GiveUp,
        };
        let decision = match (decision, retry_after) {
            (Decision::Retry(wait), Some(after)) => {
                Decision::Retry(after.min(self.retry.max_delay).max(wait))
            }
            (other, _) => other,
        };
        match decision {
            Decision::Retry(wait) if counters.started().elapsed() + wait > self.retry.budget => {
                tracing::warn!(budget = ?self.retry.budget, "retry budget spent");
                Decision::GiveUp
            }
            other => other,
        }
    }

    /// A token for `scope`: each request within the token timeout, weather (a transient
    /// [`Error::Token`]) retried by the retry policy within the budget.
    pub(crate) async fn token(
        &self,
        scope: &Scope,
        counters: &Counters,
    ) -> Result<dirsync_core::AccessToken, Error> {
        let mut attempt = 0u32;
        loop {
            let error =
                match tokio::time::timeout(self.token_timeout, self.tokens.token(scope)).await {
                    Ok(Ok(token)) => return Ok(token),
                    Ok(Err(e)) => e,
                    Err(_) => Error::Token {
                        message: format!(
                            "the token endpoint is unavailable: no token within {:?}",
                            self.token_timeout
                        ),
                        transient: true,
                    },
                };
            if !matches!(
                error,
                Error::Token {
                    transient: true,
                    ..
                }
            ) {
                return Err(error);
            }
            match self.decide(None, None, attempt, None, counters) {
                Decision::Retry(wait) => {
                    tracing::warn!(scope = scope.as_str(), error = %error, attempt, ?wait, "token request: retrying");
                    counters.retry("token", None);
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp => {
                    return Err(match error {
                        Error::Token { message, .. } => Error::Token {
                            message: format!("{message} (after {} attempts)", attempt + 1),
                            transient: true,
                        },
                        other => other,
                    });
                }
            }
        }
    }

    /// Reads a response body of at most [`max_body`](Self::max_body) bytes.
    async fn body(
        &self,
        route: &str,
        mut response: reqwest::Response,
    ) -> Result<Result<bytes::Bytes, String>, Error> {
        let too_large = || Error::TooLarge {
            route: route.to_owned(),
            limit: self.max_body,
        };
        if response
            .content_length()
            .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > self.max_body))
        {
            return Err(too_large());
        }
        let mut body = bytes::BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.max_body {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(Ok(body.freeze())),
                Err(e) => return Ok(Err(transport_message(e))),
            }
        }
    }

    async fn attempt(&self, req: &ApiRequest, counters: &Counters) -> Result<Attempt, Error> {
        let token = self.token(&req.scope, counters).await?;
        let ticket = self.limit.acquire().await?;
        self.pacer.acquire().await;
        counters.request(req.route);
        let _gauge = InFlight::start(counters);
        tracing::debug!(route = req.route, url = %req.url, "request");
        let mut builder = self
            .http
            .request(req.method.clone(), req.url.clone())
            .bearer_auth(token.expose_secret());
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        let sent = builder.send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                counters.answer(req.route, "error");
                return Ok(Attempt::Transport(transport_message(e)));
            }
        };
        let status = response.status().as_u16();
        counters.answer(req.route, response.status().as_str());
        let after = retry_after(response.headers());
        let body = match self.body(req.route, response).await? {
            Ok(b) => b,
            Err(message) => return Ok(Attempt::Transport(message)),
        };
        counters.received(body.len());
        // Only a 403's reason tells a rate limit from a refusal: the others need no parse.
        ticket.answered(if status == 403 {
            Answer::of(status, wire::parse_error(&body).reason.as_deref())
        } else {
            Answer::of(status, None)
        });
        if (200..300).contains(&status) {
            Ok(Attempt::Ok(body))
        } else {
            Ok(Attempt::Status {
                status,
                body,
                retry_after: after,
            })
        }
    }

    /// [`get`](Self::get) as untyped JSON.
    pub(crate) async fn get_json(
        &self,
        req: &ApiRequest,
        counters: &Counters,
    ) -> Result<Value, Error> {
        self.get(req, counters).await
    }

    /// [`get`](Self::get) for one record: its JSON text, checked to be JSON, for a mapper to
    /// read (`mapping::map_*` take a record's text).
    pub(crate) async fn get_record(
        &self,
        req: &ApiRequest,
        counters: &Counters,
    ) -> Result<String, Error> {
        let body = self.send(req, counters).await?;
        let raw: &serde_json::value::RawValue = decode(req.route, &body)?;
        Ok(raw.get().to_owned())
    }

    /// Sends `req` until it succeeds, the retry policy gives up, or a 401 repeats after one
    /// token refresh; parses the JSON body straight into `T`.
    pub(crate) async fn get<T: serde::de::DeserializeOwned>(
        &self,
        req: &ApiRequest,
        counters: &Counters,
    ) -> Result<T, Error> {
        let body = self.send(req, counters).await?;
        decode(req.route, &body)
    }

    /// Sends `req` until it succeeds (any 2xx; the body is returned unparsed), the retry policy
    /// gives up, or a 401 repeats after one token refresh.
    pub(crate) async fn send(
        &self,
        req: &ApiRequest,
        counters: &Counters,
    ) -> Result<bytes::Bytes, Error> {
        self.send_traced(req, counters, &mut false).await
    }

    /// [`send`](Self::send), setting `uncertain` when an attempt before the last one may have
    /// been applied without us seeing the answer — no response at all (a timeout, a dropped
    /// connection) or a gateway's 502/504 — so a retried write may find its own effect. Any other
    /// error response (429, 403 rate limits, 500, 503) is taken as "not applied".
    pub(crate) async fn send_traced(
        &self,
        req: &ApiRequest,
        counters: &Counters,
        uncertain: &mut bool,
    ) -> Result<bytes::Bytes, Error> {
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            let (status, reason, message, after) = match self.attempt(req, counters).await? {
                Attempt::Ok(body) => return Ok(body),
                Attempt::Status {
                    status: 401, body, ..
                } => {
                    let api = wire::parse_error(&body);
                    if refreshed {
                        return Err(Error::Access(AccessDenied::Unauthorized {
                            reason: format!(
                                "{} answered 401 ({}) twice, with a fresh token: {}",
                                req.route,
                                api.reason.as_deref().unwrap_or("no reason"),
                                api.message
                            ),
                        }));
                    }
                    tracing::info!(
                        route = req.route,
                        "401: dropping the cached token and retrying once"
                    );
                    refreshed = true;
                    self.tokens.invalidate(&req.scope).await;
                    counters.retry(req.route, Some(401));
                    continue;
                }
                Attempt::Status {
                    status,
                    body,
                    retry_after,
                } => {
                    let api = wire::parse_error(&body);
                    (Some(status), api.reason, api.message, retry_after)
                }
                Attempt::Transport(message) => (None, None, message, None),
            };
            if status == Some(403) && reason.as_deref() == Some("insufficientPermissions") {
                return Err(Error::Access(AccessDenied::MissingScopes {
                    scopes: vec![req.scope.clone()],
                }));
            }
            match self.decide(status, reason.as_deref(), attempt, after, counters) {
                Decision::Retry(wait) => {
                    *uncertain |= matches!(status, None | Some(502 | 504));
                    tracing::warn!(route = req.route, ?status, reason = ?reason, attempt, ?wait, "retrying");
                    counters.retry(req.route, status);
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp => {
                    return Err(Error::Http {
                        route: req.route.to_owned(),
                        transient: retry::is_transient(status, reason.as_deref()),
                        status,
                        reason,
                        message,
                    });
                }
            }
        }
    }
}

/// Parses a response body of `route` as `T`, which may borrow from the body (a list page keeps
/// its items as raw text).
pub(crate) fn decode<'a, T: serde::Deserialize<'a>>(
    route: &str,
    body: &'a [u8],
) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Decode {
        route: route.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_built_with_encoded_segments_and_ordered_query() {
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        let scope = Scope::new(crate::scopes::GROUP_READONLY).unwrap();
        let r = ApiRequest::new(
            &base,
            "GET /admin/directory/v1/groups/{groupKey}/members",
            &["groups", "a b/c@x.com", "members"],
            &[("maxResults", "200"), ("pageToken", "t+1")],
            &scope,
        )
        .unwrap();
        assert_eq!(
            r.url.as_str(),
            "http://127.0.0.1:9/admin/directory/v1/groups/a%20b%2Fc%40x.com/members?maxResults=200&pageToken=t%2B1"
        );
        let base = Url::parse("https://proxy.example.com/google").unwrap();
        let r = ApiRequest::new(
            &base,
            "GET /admin/directory/v1/users",
            &["users"],
            &[],
            &scope,
        )
        .unwrap();
        assert_eq!(
            r.url.as_str(),
            "https://proxy.example.com/google/admin/directory/v1/users"
        );
    }

    #[test]
    fn segments_are_encoded_like_googles_clients() {
        assert_eq!(encode_segment("a+b@x.com"), "a%2Bb%40x.com");
        assert_eq!(encode_segment("o'neil/x y%"), "o%27neil%2Fx%20y%25");
        assert_eq!(encode_segment("03x8tuzt1a-_.z"), "03x8tuzt1a-_.z");
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
