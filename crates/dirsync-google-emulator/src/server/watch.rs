//! Push notifications: `users.watch`, `channels.stop`, and the delivery of notifications to the
//! channels' addresses with Google's headers (reference §6).
//!
//! Every user mutation records an event in the tenant ([`Tenant::take_user_events`]); whoever
//! changed the tenant drains them with [`drain`] and hands them to [`Shared::publish`], which
//! numbers one message per live channel and delivers each from its own task: after
//! [`PushDelivery::delay`], retried on a non-2xx answer, dropped at [`PushDelivery::drop_rate`],
//! never after the channel expired or was stopped.

use std::sync::Arc;

use axum::extract::{MatchedPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::gate::Op;
use super::response::{ApiError, ApiResult, ok};
use super::{Params, S, Shared, check_customer, lock, read, route};
use crate::push::{Notification, Outcome, PushDelivery, WatchChannel};
use crate::render;
use crate::rng::Rng;
use crate::tenant::Tenant;

/// The path of `channels.stop` (note `directory_v1`, as Google's discovery document has it).
pub(super) const STOP_PATH: &str = "/admin/directory_v1/channels/stop";

/// The events `users.watch` accepts in `event=`.
const EVENTS: &[&str] = &["add", "delete", "makeAdmin", "undelete", "update"];

/// The channels, the delivery settings and the log of what was delivered.
pub(crate) struct WatchState {
    channels: Vec<Channel>,
    delivery: PushDelivery,
    rng: Rng,
    log: Vec<Notification>,
}

struct Channel {
    public: WatchChannel,
    token: Option<String>,
    resource_uri: String,
}

impl WatchState {
    pub(crate) fn new(delivery: PushDelivery) -> Self {
        Self {
            rng: Rng::new(delivery.seed),
            delivery,
            channels: Vec::new(),
            log: Vec::new(),
        }
    }

    pub(crate) fn set_delivery(&mut self, delivery: PushDelivery) {
        self.rng = Rng::new(delivery.seed);
        self.delivery = delivery;
    }

    pub(crate) fn channels(&self) -> Vec<WatchChannel> {
        self.channels.iter().map(|c| c.public.clone()).collect()
    }

    pub(crate) fn log(&self) -> Vec<Notification> {
        self.log.clone()
    }

    /// Moves a channel's expiration (to let a test expire it without waiting); false if unknown.
    pub(crate) fn set_expiration(&mut self, id: &str, at: DateTime<Utc>) -> bool {
        match self.channels.iter_mut().find(|c| c.public.id == id) {
            Some(c) => {
                c.public.expiration = at;
                true
            }
            None => false,
        }
    }

    fn live(&self, id: &str, now: DateTime<Utc>) -> bool {
        self.channels
            .iter()
            .any(|c| c.public.id == id && !c.public.stopped && c.public.expiration > now)
    }
}

/// A user event ready to be sent: its state and the JSON stub Google posts as the body.
pub(crate) struct Pending {
    state: &'static str,
    user_id: String,
    /// The user's domain (lower case): a channel watching one domain hears only its users.
    domain: String,
    body: Value,
}

/// Takes the tenant's recorded user events and renders their bodies (`kind`, `id`, `etag`,
/// `primaryEmail`), under the caller's write lock.
pub(crate) fn drain(t: &mut Tenant) -> Vec<Pending> {
    let events = t.take_user_events();
    events
        .into_iter()
        .filter_map(|e| {
            let u = t.users().get(e.user)?;
            let full = render::user(t, u);
            let body = json!({
                "kind": "admin#directory#user",
                "id": u.id,
                "etag": full.get("etag").cloned().unwrap_or(Value::Null),
                "primaryEmail": u.primary_email,
            });
            let domain = u
                .primary_email
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .unwrap_or_default();
            Some(Pending {
                state: e.kind.as_str(),
                user_id: u.id.clone(),
                domain,
                body,
            })
        })
        .collect()
}

/// One message to one channel.
struct Message {
    channel_id: String,
    token: Option<String>,
    resource_id: String,
    resource_uri: String,
    expiration: DateTime<Utc>,
    address: String,
    number: u64,
    state: &'static str,
    user_id: String,
    body: Option<Value>,
    dropped: bool,
}

impl Shared {
    /// Numbers one message per live channel for each event and starts delivering them.
    pub(crate) fn publish(self: &Arc<Self>, events: Vec<Pending>) {
        if events.is_empty() {
            return;
        }
        let now = Utc::now();
        let mut messages = Vec::new();
        {
            let mut w = lock(&self.watch);
            let WatchState {
                channels,
                delivery,
                rng,
                ..
            } = &mut *w;
            for e in &events {
                for c in channels.iter_mut() {
                    let p = &mut c.public;
                    if p.stopped
                        || p.expiration <= now
                        || p.event.as_deref().is_some_and(|f| f != e.state)
                        || p.domain.as_deref().is_some_and(|d| d != e.domain)
                    {
                        continue;
                    }
                    p.messages += 1;
                    messages.push(Message {
                        channel_id: p.id.clone(),
                        token: c.token.clone(),
                        resource_id: p.resource_id.clone(),
                        resource_uri: c.resource_uri.clone(),
                        expiration: p.expiration,
                        address: p.address.clone(),
                        number: p.messages,
                        state: e.state,
                        user_id: e.user_id.clone(),
                        body: Some(e.body.clone()),
                        dropped: rng.chance(delivery.drop_rate),
                    });
                }
            }
        }
        for m in messages {
            self.spawn_delivery(m);
        }
    }

    fn spawn_delivery(self: &Arc<Self>, m: Message) {
        let shared = Arc::clone(self);
        self.runtime.spawn(async move {
            let outcome = shared.deliver(&m).await;
            lock(&shared.watch).log.push(Notification {
                channel_id: m.channel_id.clone(),
                message_number: m.number,
                state: m.state.to_owned(),
                user_id: m.user_id.clone(),
                attempts: outcome.1,
                outcome: outcome.0,
            });
        });
    }

    async fn deliver(&self, m: &Message) -> (Outcome, u32) {
        let delivery = lock(&self.watch).delivery.clone();
        if !delivery.delay.is_zero() {
            tokio::time::sleep(delivery.delay).await;
        }
        if m.dropped {
            return (Outcome::Dropped, 0);
        }
        let mut last = 0;
        let mut backoff = delivery.retry_backoff;
        for attempt in 1..=delivery.max_attempts.max(1) {
            if !lock(&self.watch).live(&m.channel_id, Utc::now()) {
                return (Outcome::ChannelGone, attempt - 1);
            }
            let mut req = self
                .http
                .post(&m.address)
                .header("X-Goog-Channel-ID", &m.channel_id)
                .header(
                    "X-Goog-Channel-Expiration",
                    m.expiration.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
                )
                .header("X-Goog-Message-Number", m.number.to_string())
                .header("X-Goog-Resource-ID", &m.resource_id)
                .header("X-Goog-Resource-URI", &m.resource_uri)
                .header("X-Goog-Resource-State", m.state);
            if let Some(token) = &m.token {
                req = req.header("X-Goog-Channel-Token", token);
            }
            if let Some(body) = &m.body {
                req = req.json(body);
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => {
                    return (Outcome::Delivered(r.status().as_u16()), attempt);
                }
                Ok(r) => last = r.status().as_u16(),
                Err(_) => last = 0,
            }
            if attempt < delivery.max_attempts {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
        }
        (Outcome::Failed(last), delivery.max_attempts.max(1))
    }
}

/// Google accepts https addresses only; the emulator also loopback http (reference §6).
fn address_allowed(address: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(address) else {
        return false;
    };
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

fn ttl_of(body: &Value) -> Result<Option<u64>, ApiError> {
    match body.get("params").and_then(|p| p.get("ttl")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ApiError::invalid(format!("Invalid value for ttl: {s}"))),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("Invalid value for ttl: {n}"))),
        Some(_) => Err(ApiError::invalid("Invalid value for ttl")),
    }
}

/// `POST /admin/directory/v1/users/watch`.
pub(super) async fn users_watch(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Query(p): Params,
    bytes: axum::body::Bytes,
) -> ApiResult {
    sh.gate(&headers, Op::UsersWatch, &route("POST", &mp), 0)?;
    let (customer, domain) = {
        let t = read(&sh.tenant);
        match (p.get("customer"), p.get("domain")) {
            (Some(c), _) => {
                check_customer(&t, c)?;
                (format!("customer={c}"), None)
            }
            (None, Some(d)) if t.owns_domain(d) => {
                (format!("domain={d}"), Some(d.to_ascii_lowercase()))
            }
            (None, Some(_)) => return Err(ApiError::forbidden()),
            (None, None) => return Err(ApiError::bad_request()),
        }
    };
    let event = p.get("event").cloned();
    if let Some(e) = &event
        && !EVENTS.contains(&e.as_str())
    {
        return Err(ApiError::invalid(format!("Invalid value '{e}'")).at("event", "parameter"));
    }
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::new(400, "parseError", "Parse Error"))?;
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let id = text("id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::new(400, "required", "Missing required field: id"))?;
    if text("type").as_deref() != Some("web_hook") {
        return Err(ApiError::invalid("Invalid value for type").at("type", "body"));
    }
    let address = text("address").unwrap_or_default();
    if !address_allowed(&address) {
        return Err(ApiError::new(
            400,
            "push.webhookUrlNotHttps",
            format!("WebHook callback must be HTTPS: {address}"),
        ));
    }
    let token = text("token");
    let ttl = ttl_of(&body)?;
    let now = Utc::now();
    let resource_uri = format!(
        "{}/admin/directory/v1/users?{customer}{}&alt=json",
        sh.base_url,
        event
            .as_deref()
            .map(|e| format!("&event={e}"))
            .unwrap_or_default()
    );
    let channel = {
        let mut w = lock(&sh.watch);
        if w.channels
            .iter()
            .any(|c| c.public.id == id && !c.public.stopped)
        {
            return Err(ApiError::new(
                400,
                "push.channelIdNotUnique",
                "Channel id not unique",
            ));
        }
        let max = w.delivery.max_ttl;
        let life = ttl
            .map(std::time::Duration::from_secs)
            .map_or(max, |t| t.min(max));
        let expiration = now + chrono::Duration::from_std(life).unwrap_or(chrono::Duration::zero());
        let public = WatchChannel {
            id: id.clone(),
            resource_id: format!("emu-{}", uuid::Uuid::new_v4().simple()),
            address: address.clone(),
            expiration,
            event: event.clone(),
            domain,
            stopped: false,
            messages: 1,
        };
        w.channels.push(Channel {
            public: public.clone(),
            token: token.clone(),
            resource_uri: resource_uri.clone(),
        });
        public
    };
    sh.spawn_delivery(Message {
        channel_id: channel.id.clone(),
        token: token.clone(),
        resource_id: channel.resource_id.clone(),
        resource_uri: resource_uri.clone(),
        expiration: channel.expiration,
        address,
        number: 1,
        state: "sync",
        user_id: String::new(),
        body: None,
        dropped: false,
    });
    let mut answer = json!({
        "kind": "api#channel",
        "id": channel.id,
        "resourceId": channel.resource_id,
        "resourceUri": resource_uri,
        "expiration": channel.expiration.timestamp_millis().to_string(),
    });
    if let (Some(t), Value::Object(m)) = (token, &mut answer) {
        m.insert("token".to_owned(), Value::String(t));
    }
    ok(&p, answer)
}

/// `POST /admin/directory_v1/channels/stop`: 204, or 404 for a channel (id and resource id)
/// the emulator does not know.
pub(super) async fn channels_stop(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> ApiResult {
    sh.gate(&headers, Op::ChannelsStop, &route("POST", &mp), 0)?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::new(400, "parseError", "Parse Error"))?;
    let id = body.get("id").and_then(Value::as_str).unwrap_or_default();
    let resource = body
        .get("resourceId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut w = lock(&sh.watch);
    let channel = w
        .channels
        .iter_mut()
        .find(|c| c.public.id == id && c.public.resource_id == resource && !c.public.stopped)
        .ok_or_else(|| ApiError::not_found("channel"))?;
    channel.public.stopped = true;
    Ok(StatusCode::NO_CONTENT.into_response())
}
