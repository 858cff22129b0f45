//! The axum app: shared state, routes and request tracking. One file per resource (users, groups,
//! members, org units; writes of users, org units and groups apart) and for the token endpoint, the authorization gate, paging and responses.

mod gate;
mod group_writes;
mod groups;
mod listing;
#[cfg(test)]
mod listing_tests;
mod members;
mod oauth;
mod org_units;
mod paging;
mod reports;
mod response;
mod token;
mod user_writes;
mod users;
pub(crate) mod watch;

pub(crate) use reports::ReportsLag;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::auth::AuthState;
use crate::faults::{FaultState, Stats};
use crate::tenant::Tenant;

use self::group_writes::{groups_delete, groups_insert, groups_patch};
use self::groups::{domains_list, groups_get, groups_list};
pub(crate) use self::listing::TenantState;
use self::members::{
    has_member, members_delete, members_get, members_insert, members_list, members_patch,
};
use self::org_units::{customers_get, orgunits_get, orgunits_list};
pub(crate) use self::response::ApiError;
use self::token::token;
use self::user_writes::{orgunits_insert, users_delete, users_insert, users_patch};
use self::users::{users_get, users_list};

pub(crate) const API: &str = "/admin/directory/v1";

/// Shared server state.
pub(crate) struct Shared {
    pub(crate) tenant: RwLock<TenantState>,
    pub(crate) auth: Mutex<AuthState>,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) stats: Mutex<Stats>,
    pub(crate) in_flight: AtomicU64,
    pub(crate) token_uri: String,
    pub(crate) require_admin_subject: bool,
    /// How late the Reports API shows activities.
    pub(crate) reports_lag: Mutex<reports::ReportsLag>,
    /// Push channels (`users.watch`) and their deliveries.
    pub(crate) watch: Mutex<watch::WatchState>,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    /// Delivers notifications.
    pub(crate) http: reqwest::Client,
    /// Where deliveries run (captured at start: mutations may come from outside a task).
    pub(crate) runtime: tokio::runtime::Handle,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
pub(crate) fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}
pub(crate) fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

type S = State<Arc<Shared>>;
type Params = Query<HashMap<String, String>>;

fn route_label(method: &Method, path: Option<&MatchedPath>) -> String {
    match path {
        Some(p) => format!("{method} {}", p.as_str()),
        None => format!("{method} (unmatched)"),
    }
}

/// Middleware: stats, in-flight tracking, injected latency and load shedding.
async fn track(State(shared): S, req: Request, next: Next) -> Response {
    let label = route_label(req.method(), req.extensions().get::<MatchedPath>());
    {
        let mut s = lock(&shared.stats);
        *s.requests_by_route.entry(label).or_default() += 1;
        s.requests_total += 1;
    }
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    {
        let mut s = lock(&shared.stats);
        s.max_in_flight = s.max_in_flight.max(now);
    }
    let (latency, bound) = {
        let f = lock(&shared.faults);
        (f.faults.latency, f.faults.max_in_flight)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let shed = bound.is_some_and(|max| now > max) && req.uri().path().starts_with(API);
    let resp = if shed {
        lock(&shared.stats).overload_rejections += 1;
        ApiError::injected(503).into_response()
    } else {
        next.run(req).await
    };
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    resp
}

pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route(oauth::AUTH_PATH, get(oauth::authorize))
        .route("/o/oauth2/v2/auth/decision", post(oauth::decision))
        .route("/revoke", post(oauth::revoke))
        .route("/oauth2/v3/certs", get(oauth::certs))
        .route("/oauth2/v3/userinfo", get(oauth::userinfo))
        .route(&format!("{API}/users"), get(users_list).post(users_insert))
        .route(&format!("{API}/users/watch"), post(watch::users_watch))
        .route(watch::STOP_PATH, post(watch::channels_stop))
        .route(reports::PATH, get(reports::activities))
        .route(
            &format!("{API}/users/{{user_key}}"),
            get(users_get).patch(users_patch).delete(users_delete),
        )
        .route(
            &format!("{API}/groups"),
            get(groups_list).post(groups_insert),
        )
        .route(
            &format!("{API}/groups/{{group_key}}"),
            get(groups_get).patch(groups_patch).delete(groups_delete),
        )
        .route(
            &format!("{API}/groups/{{group_key}}/members"),
            get(members_list).post(members_insert),
        )
        .route(
            &format!("{API}/groups/{{group_key}}/members/{{member_key}}"),
            get(members_get).delete(members_delete).patch(members_patch),
        )
        .route(
            &format!("{API}/groups/{{group_key}}/hasMember/{{member_key}}"),
            get(has_member),
        )
        .route(
            &format!("{API}/customer/{{customer}}/orgunits"),
            get(orgunits_list).post(orgunits_insert),
        )
        .route(
            &format!("{API}/customer/{{customer}}/orgunits/{{*path}}"),
            get(orgunits_get),
        )
        .route(&format!("{API}/customers/{{customer}}"), get(customers_get))
        .route(
            &format!("{API}/customer/{{customer}}/domains"),
            get(domains_list),
        )
        .fallback(|| async { ApiError::new(404, "notFound", "Not Found") })
        .layer(axum::middleware::from_fn_with_state(shared.clone(), track))
        // The fastest gzip level: the emulator shares the cores of the program it serves, and
        // its CPU is not what a benchmark measures (Google's servers compress on their own).
        .layer(
            tower_http::compression::CompressionLayer::new()
                .gzip(true)
                .quality(tower_http::CompressionLevel::Fastest),
        )
        .with_state(shared)
}

fn check_customer(t: &Tenant, customer: &str) -> Result<(), ApiError> {
    if customer == "my_customer" || customer == t.customer_id() {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

fn route(method: &str, path: &MatchedPath) -> String {
    format!("{method} {}", path.as_str())
}
