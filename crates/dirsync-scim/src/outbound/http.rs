//! One outbound client's HTTP: the bearer token, the pacer, retries honouring `Retry-After`,
//! and the request figures for the run record.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dirsync_core::{FetchStats, Secret};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use serde_json::Value;

use super::ClientConfig;
use super::pacer::Pacer;
use crate::error::{Error, clip};

/// The media type of SCIM messages (RFC 7644 §3.1).
const SCIM_JSON: &str = "application/scim+json";

/// One request: `route` names it in the figures (`PATCH /Users/{id}`), `path` is below the
/// base URL.
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) route: &'static str,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<&'a Value>,
}

impl<'a> Request<'a> {
    pub(crate) fn new(method: Method, route: &'static str, path: impl Into<String>) -> Self {
        Self {
            method,
            route,
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    pub(crate) fn body(mut self, body: &'a Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// An answer that is not a failure to retry: its status and its JSON body (`Null` for none).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

impl Answer {
    /// The application's `detail` (or the status), shortened, for an error or a report.
    pub(crate) fn detail(&self) -> String {
        match self.body.get("detail").and_then(Value::as_str) {
            Some(d) => clip(d),
            None => format!("status {}", self.status),
        }
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One try's result: an answer, or a transient failure worth another try.
pub(crate) enum Try {
    Answer(Answer),
    Transient {
        status: Option<u16>,
        retry_after: Option<Duration>,
        message: String,
    },
}

/// The wait before try `attempt + 1`: what `Retry-After` asked, else `backoff · 2^(attempt-1)`,
/// never more than `max`.
pub(crate) fn wait_before_retry(
    config: &ClientConfig,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let backoff = config
        .backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    retry_after.unwrap_or(backoff).min(config.max_wait)
}

/// `Retry-After` in seconds (an HTTP date is not honoured: the backoff applies).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

struct Counts {
    stats: FetchStats,
    since: Instant,
}

pub(crate) struct Http {
    client: reqwest::Client,
    base: String,
    token: Secret,
    pacer: Pacer,
    config: ClientConfig,
    counts: Mutex<Counts>,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("base", &self.base)
            .field("token", &self.token)
            .field("pacer", &self.pacer)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Http {
    pub(crate) fn new(
        base: &str,
        token: Secret,
        per_minute: u32,
        config: ClientConfig,
    ) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| Error::Internal(format!("no HTTP client: {e}")))?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token,
            pacer: Pacer::per_minute(per_minute),
            config,
            counts: Mutex::new(Counts {
                stats: FetchStats::default(),
                since: Instant::now(),
            }),
        })
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn count(&self, f: impl FnOnce(&mut FetchStats)) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut counts.stats);
    }

    /// The figures since the last call (wall time included), and a fresh count from here.
    pub(crate) fn take_stats(&self) -> FetchStats {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut stats = std::mem::take(&mut counts.stats);
        stats.elapsed_ms = u64::try_from(counts.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        stats.max_in_flight = stats
            .max_in_flight
            .max(u32::from(stats.total_requests() > 0));
        counts.since = Instant::now();
        stats
    }

    /// Sends `request` once (after the pacer). A refused token is an error; 429, 5xx and no
    /// answer are [`Try::Transient`]; anything else is the answer.
    pub(crate) async fn once(&self, request: &Request<'_>) -> Result<Try, Error> {
        self.pacer.acquire().await;
        let route = request.route;
        let mut url = reqwest::Url::parse(&format!("{}{}", self.base, request.path))
            .map_err(|e| Error::InvalidValue(format!("a SCIM URL: {e}")))?;
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&request.query);
        }
        let mut builder = self
            .client
            .request(request.method.clone(), url)
            .bearer_auth(self.token.expose_secret())
            .header(ACCEPT, SCIM_JSON);
        if let Some(body) = request.body {
            builder = builder
                .header(CONTENT_TYPE, SCIM_JSON)
                .body(body.to_string());
        }
        self.count(|s| *s.requests.entry(route.to_owned()).or_default() += 1);
        let answered = |s: &mut FetchStats, status: &str| {
            *s.responses
                .entry(route.to_owned())
                .or_default()
                .entry(status.to_owned())
                .or_default() += 1;
        };
        let response = match builder.send().await {
            Ok(r) => r,
            Err(e) => {
                self.count(|s| answered(s, "error"));
                return Ok(Try::Transient {
                    status: None,
                    retry_after: None,
                    message: format!("no answer: {}", e.without_url()),
                });
            }
        };
        let status = response.status().as_u16();
        self.count(|s| answered(s, &status.to_string()));
        let after = retry_after(response.headers());
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Ok(Try::Transient {
                    status: Some(status),
                    retry_after: after,
                    message: format!("the answer broke off: {}", e.without_url()),
                });
            }
        };
        self.count(|s| s.bytes += bytes.len() as u64);
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let answer = Answer { status, body };
        match status {
            401 | 403 => Err(Error::Refused {
                route: route.to_owned(),
                status,
            }),
            429 | 500..=599 => Ok(Try::Transient {
                status: Some(status),
                retry_after: after,
                message: answer.detail(),
            }),
            _ => Ok(Try::Answer(answer)),
        }
    }

    /// Waits before try `attempt + 1` of `route` after a transient `status`, and counts the
    /// retry.
    pub(crate) async fn pause(
        &self,
        route: &str,
        attempt: u32,
        status: Option<u16>,
        retry_after: Option<Duration>,
    ) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.count(|s| {
            s.retries += 1;
            *s.retries_by
                .entry(route.to_owned())
                .or_insert_with(BTreeMap::new)
                .entry(status)
                .or_default() += 1;
        });
        tokio::time::sleep(wait_before_retry(&self.config, attempt, retry_after)).await;
    }

    /// Sends `request` until it is answered, retrying transient failures up to the configured
    /// tries. For requests that may be repeated safely (reads, PATCHes, DELETEs).
    ///
    /// # Errors
    /// [`Error::Refused`] for a refused token; [`Error::Remote`] (transient) when every try
    /// failed.
    pub(crate) async fn call(&self, request: &Request<'_>) -> Result<Answer, Error> {
        let mut attempt = 1;
        loop {
            match self.once(request).await? {
                Try::Answer(answer) => return Ok(answer),
                Try::Transient {
                    status,
                    retry_after,
                    message,
                } => {
                    if attempt >= self.config.attempts {
                        return Err(Error::Remote {
                            route: request.route.to_owned(),
                            status,
                            message: format!("{message} (after {attempt} tries)"),
                            transient: true,
                        });
                    }
                    self.pause(request.route, attempt, status, retry_after)
                        .await;
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_up_to_the_cap_and_backoff_doubles() {
        let config = ClientConfig::default();
        let wait = |attempt, after| wait_before_retry(&config, attempt, after);
        assert_eq!(
            wait(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(wait(1, Some(Duration::from_secs(3_600))), config.max_wait);
        assert_eq!(wait(1, None), config.backoff);
        assert_eq!(wait(3, None), config.backoff * 4);
        assert_eq!(wait(40, None), config.max_wait);
    }

    #[test]
    fn the_token_is_not_in_debug() -> Result<(), Error> {
        let http = Http::new(
            "http://127.0.0.1:9/scim",
            Secret::new("tok-SECRET"),
            0,
            ClientConfig::default(),
        )?;
        assert!(!format!("{http:?}").contains("SECRET"));
        Ok(())
    }
}
