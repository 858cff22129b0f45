//! The axum app: routes, authorization gate, pagination and error envelopes.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::auth::{AuthState, SCOPE_PREFIX, TokenInfo};
use crate::error::Error;
use crate::faults::{FaultState, Injected, Stats, TOKEN_HANG, TokenFault};
use crate::render::{self, FieldMask};
use crate::tenant::{MemberType, Membership, Resolved, Role, Tenant, User};

pub(crate) const API: &str = "/admin/directory/v1";

/// Shared server state.
pub(crate) struct Shared {
    pub(crate) tenant: RwLock<Tenant>,
    pub(crate) auth: Mutex<AuthState>,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) stats: Mutex<Stats>,
    pub(crate) in_flight: AtomicU64,
    pub(crate) token_uri: String,
    pub(crate) require_admin_subject: bool,
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

/// A Google API error (rendered as the `{"error":{code,message,errors[]}}` envelope).
#[derive(Debug)]
pub(crate) struct ApiError {
    code: u16,
    message: String,
    reason: &'static str,
    location: Option<(&'static str, &'static str)>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            location: None,
        }
    }
    fn at(mut self, location: &'static str, kind: &'static str) -> Self {
        self.location = Some((location, kind));
        self
    }
    fn not_found(what: &str) -> Self {
        Self::new(404, "notFound", format!("Resource Not Found: {what}"))
    }
    fn forbidden() -> Self {
        Self::new(
            403,
            "forbidden",
            "Not Authorized to access this resource/api",
        )
    }
    fn bad_request() -> Self {
        Self::new(400, "badRequest", "Bad Request")
    }
    fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "invalid", message)
    }
    fn injected(status: u16) -> Self {
        match status {
            400 => Self::new(400, "badRequest", "Bad Request"),
            429 => Self::new(429, "rateLimitExceeded", "Rate Limit Exceeded"),
            403 => Self::new(403, "userRateLimitExceeded", "User Rate Limit Exceeded"),
            500 => Self::new(500, "backendError", "Backend Error"),
            502 => Self::new(502, "badGateway", "Bad Gateway"),
            504 => Self::new(504, "gatewayTimeout", "Gateway Timeout"),
            _ => Self::new(503, "backendError", "Service unavailable. Please try again"),
        }
    }
    pub(crate) fn envelope(&self) -> Value {
        let mut item = json!({"message": self.message, "domain": "global", "reason": self.reason});
        if let (Some((loc, kind)), Value::Object(m)) = (self.location, &mut item) {
            m.insert("location".into(), json!(loc));
            m.insert("locationType".into(), json!(kind));
        }
        json!({"error": {"code": self.code, "message": self.message, "errors": [item]}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(status, &self.envelope(), true)
    }
}

fn json_response(status: StatusCode, v: &Value, pretty: bool) -> Response {
    let body = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    };
    let body = body.unwrap_or_default();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    r
}

type ApiResult = Result<Response, ApiError>;

/// Renders a success body honouring `fields=` and `prettyPrint=`.
fn ok(p: &HashMap<String, String>, v: Value) -> ApiResult {
    let v = match p.get("fields") {
        Some(f) => FieldMask::parse(f)
            .ok_or_else(|| {
                ApiError::invalid(format!("Invalid field selection {f}")).at("fields", "parameter")
            })?
            .apply(&v),
        None => v,
    };
    let pretty = p.get("prettyPrint").is_none_or(|v| v != "false");
    Ok(json_response(StatusCode::OK, &v, pretty))
}

/// Which scopes authorize a method (reference §7).
#[derive(Debug, Clone, Copy)]
enum Op {
    UsersList,
    UsersGet,
    GroupsRead,
    MembersRead,
    MembersWrite,
    OrgUnitsRead,
    CustomersGet,
}

impl Op {
    fn scopes(self) -> &'static [&'static str] {
        match self {
            Op::UsersList => &[
                "admin.directory.user",
                "admin.directory.user.readonly",
                "cloud-platform",
            ],
            Op::UsersGet => &["admin.directory.user", "admin.directory.user.readonly"],
            Op::GroupsRead => &["admin.directory.group", "admin.directory.group.readonly"],
            Op::MembersRead => &[
                "admin.directory.group",
                "admin.directory.group.readonly",
                "admin.directory.group.member",
                "admin.directory.group.member.readonly",
            ],
            Op::MembersWrite => &["admin.directory.group", "admin.directory.group.member"],
            Op::OrgUnitsRead => &[
                "admin.directory.orgunit",
                "admin.directory.orgunit.readonly",
            ],
            Op::CustomersGet => &[
                "admin.directory.customer",
                "admin.directory.customer.readonly",
            ],
        }
    }
}

fn route_label(method: &Method, path: Option<&MatchedPath>) -> String {
    match path {
        Some(p) => format!("{method} {}", p.as_str()),
        None => format!("{method} (unmatched)"),
    }
}

impl Shared {
    /// [`Shared::gate`] for a list request: the page the token asks for counts for quota and
    /// faults, and a bad token is reported only after the credentials were checked, as Google
    /// does. Returns the page index and the sort key to continue after.
    fn gate_page(
        &self,
        headers: &HeaderMap,
        op: Op,
        route: &str,
        params: &HashMap<String, String>,
        fingerprint: &str,
    ) -> Result<(usize, Option<String>), ApiError> {
        let requested = page_of(params, fingerprint);
        let page = requested.as_ref().map_or(0, |(index, _)| *index);
        self.gate(headers, op, route, page)?;
        requested
    }

    /// Authentication, scope, subject, quota and injected faults — in Google's order.
    fn gate(
        &self,
        headers: &HeaderMap,
        op: Op,
        route: &str,
        page: usize,
    ) -> Result<TokenInfo, ApiError> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        let Some(token) = bearer else {
            return Err(
                ApiError::new(401, "required", "Login Required.").at("Authorization", "header")
            );
        };
        let info = lock(&self.auth).lookup(token.trim()).ok_or_else(|| {
            ApiError::new(401, "authError", "Invalid Credentials").at("Authorization", "header")
        })?;
        let allowed = op.scopes();
        let has_scope = info.scopes.iter().any(|s| {
            s.strip_prefix(SCOPE_PREFIX)
                .is_some_and(|s| allowed.contains(&s))
        });
        if !has_scope {
            return Err(ApiError::new(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
            ));
        }
        let Some(subject) = info.subject.clone() else {
            return Err(ApiError::forbidden());
        };
        if self.require_admin_subject {
            let t = read(&self.tenant);
            match t.user(&subject) {
                Some(u) if u.is_admin && !u.suspended => {}
                _ => return Err(ApiError::forbidden()),
            }
        }
        let decided = lock(&self.faults).decide(&subject, route, page);
        if let Some(f) = decided {
            let mut stats = lock(&self.stats);
            let err = match f {
                Injected::Quota => {
                    stats.quota_rejections += 1;
                    ApiError::new(
                        403,
                        "userRateLimitExceeded",
                        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com'.",
                    )
                }
                Injected::Page(s) | Injected::Transient(s) => {
                    stats.errors_injected += 1;
                    ApiError::injected(s)
                }
            };
            return Err(err);
        }
        Ok(info)
    }
}

impl Shared {
    /// The write faults ([`crate::Faults::failing_groups`], [`crate::Faults::failing_writes`])
    /// for a write to `group_key`, after [`Shared::gate`].
    fn gate_write(&self, group_key: &str) -> Result<(), ApiError> {
        let keys: Vec<String> = {
            let t = read(&self.tenant);
            match t.group(group_key) {
                Some(g) => vec![g.id.clone(), g.email.clone(), group_key.to_owned()],
                None => vec![group_key.to_owned()],
            }
        };
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let decided = lock(&self.faults).decide_write(&keys);
        match decided {
            Some(status) => {
                lock(&self.stats).errors_injected += 1;
                Err(ApiError::injected(status))
            }
            None => Ok(()),
        }
    }
}

/// Middleware: stats, in-flight tracking and injected latency.
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
    let latency = lock(&shared.faults).faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let resp = next.run(req).await;
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    resp
}

pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route(&format!("{API}/users"), get(users_list))
        .route(&format!("{API}/users/{{user_key}}"), get(users_get))
        .route(&format!("{API}/groups"), get(groups_list))
        .route(&format!("{API}/groups/{{group_key}}"), get(groups_get))
        .route(
            &format!("{API}/groups/{{group_key}}/members"),
            get(members_list).post(members_insert),
        )
        .route(
            &format!("{API}/groups/{{group_key}}/members/{{member_key}}"),
            get(members_get).delete(members_delete),
        )
        .route(
            &format!("{API}/groups/{{group_key}}/hasMember/{{member_key}}"),
            get(has_member),
        )
        .route(
            &format!("{API}/customer/{{customer}}/orgunits"),
            get(orgunits_list),
        )
        .route(
            &format!("{API}/customer/{{customer}}/orgunits/{{*path}}"),
            get(orgunits_get),
        )
        .route(&format!("{API}/customers/{{customer}}"), get(customers_get))
        .fallback(|| async { ApiError::new(404, "notFound", "Not Found") })
        .layer(axum::middleware::from_fn_with_state(shared.clone(), track))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .with_state(shared)
}

// ---------------------------------------------------------------- token endpoint

/// The answer of an injected token-endpoint fault.
async fn token_fault(fault: TokenFault) -> Response {
    match fault {
        TokenFault::Html => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            "<!DOCTYPE html><html><head><title>Error 502 (Server Error)!!1</title></head>\
             <body><p><b>502.</b> That's an error.</p></body></html>",
        )
            .into_response(),
        TokenFault::Timeout => {
            tokio::time::sleep(TOKEN_HANG).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        TokenFault::Status(status) => json_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            &json!({"error": "temporarily_unavailable", "error_description": "injected fault"}),
            false,
        ),
    }
}

async fn token(State(shared): S, body: axum::body::Bytes) -> Response {
    let fault = lock(&shared.faults).decide_token();
    if let Some(fault) = fault {
        lock(&shared.stats).token_faults_injected += 1;
        return token_fault(fault).await;
    }
    let form: HashMap<String, String> = url_decode_form(&body);
    let now = chrono::Utc::now().timestamp();
    let result = {
        let tenant = read(&shared.tenant);
        lock(&shared.auth).exchange(&form, &shared.token_uri, &tenant, now)
    };
    match result {
        Ok((token, expires_in)) => {
            lock(&shared.stats).tokens_issued += 1;
            json_response(
                StatusCode::OK,
                &json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}),
                false,
            )
        }
        Err(e) => {
            lock(&shared.stats).token_requests_refused += 1;
            tracing::debug!(error = e.error, "token request refused");
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            json_response(status, &e.body(), true)
        }
    }
}

fn url_decode_form(body: &[u8]) -> HashMap<String, String> {
    fn dec(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(kv), String::new()),
        })
        .collect()
}

// ---------------------------------------------------------------- paging helpers

fn fingerprint(parts: &[&str]) -> String {
    let d = Sha256::digest(parts.join("\u{1}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d[..9])
}

fn encode_token(fp: &str, page: usize, last_key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1\n{fp}\n{page}\n{last_key}"))
}

/// Decodes a page token into (page index, last key). `Err` = not a token of this listing.
fn decode_token(token: &str, fp: &str) -> Result<(usize, String), ApiError> {
    let bad = || ApiError::invalid("Invalid Input: pageToken").at("pageToken", "parameter");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let mut it = raw.splitn(4, '\n');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some("v1"), Some(f), Some(page), Some(key)) if f == fp => {
            Ok((page.parse().map_err(|_| bad())?, key.to_owned()))
        }
        _ => Err(bad()),
    }
}

/// Page index and "after" key from `pageToken` (page 0 without a token).
fn page_of(p: &HashMap<String, String>, fp: &str) -> Result<(usize, Option<String>), ApiError> {
    match p.get("pageToken").filter(|t| !t.is_empty()) {
        None => Ok((0, None)),
        Some(t) => decode_token(t, fp).map(|(i, k)| (i, Some(k))),
    }
}

fn max_results(p: &HashMap<String, String>, default: usize, max: usize) -> Result<usize, ApiError> {
    match p.get("maxResults") {
        None => Ok(default),
        Some(s) => {
            let n: i64 = s.parse().map_err(|_| {
                ApiError::invalid(format!("Invalid value '{s}'. Values must be an integer."))
                    .at("maxResults", "parameter")
            })?;
            if n < 1 || n > max as i64 {
                return Err(ApiError::invalid(format!(
                    "Invalid value '{n}'. Values must be within the range: [1, {max}]"
                ))
                .at("maxResults", "parameter"));
            }
            Ok(n as usize)
        }
    }
}

/// Takes the page after `after` of items ordered by their (unique) key, descending when
/// asked; returns the page and the key to continue after. Linear in the items (a selection,
/// not a sort of them all), so that paging through a big listing is not quadratic.
fn take_page<T>(
    items: Vec<(Cow<'_, str>, T)>,
    after: Option<&str>,
    descending: bool,
    size: usize,
) -> (Vec<T>, Option<String>) {
    let order = |a: &(Cow<'_, str>, T), b: &(Cow<'_, str>, T)| {
        let o = a.0.cmp(&b.0);
        if descending { o.reverse() } else { o }
    };
    let mut rest: Vec<(Cow<'_, str>, T)> = items
        .into_iter()
        .filter(|(k, _)| match after {
            None => true,
            Some(a) if descending => k.as_ref() < a,
            Some(a) => k.as_ref() > a,
        })
        .collect();
    let more = rest.len() > size;
    if more {
        rest.select_nth_unstable_by(size, order);
        rest.truncate(size);
    }
    rest.sort_by(order);
    let last = if more {
        rest.last().map(|(k, _)| k.clone().into_owned())
    } else {
        None
    };
    (rest.into_iter().map(|(_, v)| v).collect(), last)
}

/// `s` ASCII-lowercased, borrowed when it already is (listing keys, built for every item of
/// every page).
fn lowercase(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
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

// ---------------------------------------------------------------- users

/// One term of a users.list `query`.
type UserFilter = Box<dyn Fn(&User) -> bool + Send>;

fn query_filter(query: &str) -> Result<Vec<UserFilter>, ApiError> {
    let mut terms = Vec::new();
    let mut cur = String::new();
    let mut quote = false;
    for c in query.chars() {
        match c {
            '\'' | '"' => quote = !quote,
            c if c.is_whitespace() && !quote => {
                if !cur.is_empty() {
                    terms.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        terms.push(cur);
    }
    let bad = || ApiError::invalid("Invalid Input");
    let mut filters: Vec<UserFilter> = Vec::new();
    for term in terms {
        let (field, op, value) = match (term.find('='), term.find(':')) {
            (Some(i), c) if c.is_none_or(|c| i < c) => (&term[..i], '=', term[i + 1..].to_owned()),
            (_, Some(i)) => (&term[..i], ':', term[i + 1..].to_owned()),
            _ => return Err(bad()),
        };
        let boolean = |v: &str| match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(bad()),
        };
        match field {
            "orgUnitPath" => {
                let path = value.trim_end_matches('/').to_ascii_lowercase();
                filters.push(Box::new(move |u: &User| {
                    let p = u.org_unit_path.to_ascii_lowercase();
                    path.is_empty() || p == path || p.starts_with(&format!("{path}/"))
                }));
            }
            "isSuspended" => {
                let b = boolean(&value)?;
                filters.push(Box::new(move |u: &User| u.suspended == b));
            }
            "isAdmin" => {
                let b = boolean(&value)?;
                filters.push(Box::new(move |u: &User| u.is_admin == b));
            }
            "email" => {
                let v = value.to_ascii_lowercase();
                if op == ':' {
                    let prefix = v.trim_end_matches('*').to_owned();
                    filters.push(Box::new(move |u: &User| {
                        u.primary_email.starts_with(&prefix)
                    }));
                } else {
                    filters.push(Box::new(move |u: &User| u.primary_email == v));
                }
            }
            _ => return Err(bad()),
        }
    }
    Ok(filters)
}

async fn users_list(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Query(p): Params,
) -> ApiResult {
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let fp = fingerprint(&[
        "users",
        get("customer"),
        get("domain"),
        get("query"),
        get("showDeleted"),
        get("orderBy"),
        get("sortOrder"),
    ]);
    let (page, after) = sh.gate_page(&headers, Op::UsersList, &route("GET", &mp), &p, &fp)?;
    let size = max_results(&p, 100, 500)?;
    let t = read(&sh.tenant);
    match (p.get("customer"), p.get("domain")) {
        (Some(c), _) => check_customer(&t, c)?,
        (None, Some(d)) if d.eq_ignore_ascii_case(t.domain()) => {}
        (None, Some(_)) => return Err(ApiError::forbidden()),
        (None, None) => return Err(ApiError::bad_request()),
    }
    let show_deleted = get("showDeleted") == "true";
    let filters = query_filter(get("query"))?;
    let order = match get("orderBy") {
        "" | "email" => 0,
        "givenName" => 1,
        "familyName" => 2,
        o => {
            return Err(
                ApiError::invalid(format!("Invalid value '{o}'")).at("orderBy", "parameter")
            );
        }
    };
    let descending = match get("sortOrder") {
        "" | "ASCENDING" => false,
        "DESCENDING" => true,
        o => {
            return Err(
                ApiError::invalid(format!("Invalid value '{o}'")).at("sortOrder", "parameter")
            );
        }
    };
    let items: Vec<(Cow<'_, str>, &User)> = t
        .users()
        .iter()
        .filter(|u| u.is_deleted() == show_deleted && filters.iter().all(|f| f(u)))
        .map(|u| {
            let email = lowercase(&u.primary_email);
            let key = match order {
                1 => Cow::Owned(format!("{}\u{1}{email}", u.given_name.to_lowercase())),
                2 => Cow::Owned(format!("{}\u{1}{email}", u.family_name.to_lowercase())),
                _ => email,
            };
            (key, u)
        })
        .collect();
    let (users, next) = take_page(items, after.as_deref(), descending, size);
    let users: Vec<Value> = users.into_iter().map(|u| render::user(&t, u)).collect();
    let next = next.map(|k| encode_token(&fp, page + 1, &k));
    ok(
        &p,
        render::list(&t, "admin#directory#users", "users", users, next),
    )
}

async fn users_get(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::UsersGet, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    let u = t.user(&key).ok_or_else(|| ApiError::not_found("userKey"))?;
    ok(&p, render::user(&t, u))
}

// ---------------------------------------------------------------- groups

async fn groups_list(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Query(p): Params,
) -> ApiResult {
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let fp = fingerprint(&[
        "groups",
        get("customer"),
        get("domain"),
        get("userKey"),
        get("sortOrder"),
    ]);
    let (page, after) = sh.gate_page(&headers, Op::GroupsRead, &route("GET", &mp), &p, &fp)?;
    let size = max_results(&p, 200, 200)?;
    if p.contains_key("query") {
        return Err(
            ApiError::invalid("Invalid Input: query (not supported by the emulator)")
                .at("query", "parameter"),
        );
    }
    let t = read(&sh.tenant);
    let member_id = match (p.get("userKey"), p.get("customer"), p.get("domain")) {
        (Some(u), _, _) => {
            let id = match t.resolve(u) {
                Some(Resolved::User(i)) => t.users().get(i).map(|u| u.id.clone()),
                Some(Resolved::Group(i)) => t.groups().get(i).map(|g| g.id.clone()),
                None => None,
            };
            Some(id.ok_or_else(|| ApiError::not_found("userKey"))?)
        }
        (None, Some(c), _) => {
            check_customer(&t, c)?;
            None
        }
        (None, None, Some(d)) if d.eq_ignore_ascii_case(t.domain()) => None,
        (None, None, Some(_)) => return Err(ApiError::forbidden()),
        (None, None, None) => return Err(ApiError::bad_request()),
    };
    let descending = match get("sortOrder") {
        "" | "ASCENDING" => false,
        "DESCENDING" => true,
        o => {
            return Err(
                ApiError::invalid(format!("Invalid value '{o}'")).at("sortOrder", "parameter")
            );
        }
    };
    let items: Vec<(Cow<'_, str>, _)> = t
        .groups()
        .iter()
        .filter(|g| {
            member_id
                .as_ref()
                .is_none_or(|id| g.members.iter().any(|m| &m.id == id))
        })
        .map(|g| (lowercase(&g.email), g))
        .collect();
    let (groups, next) = take_page(items, after.as_deref(), descending, size);
    let groups: Vec<Value> = groups.into_iter().map(|g| render::group(&t, g)).collect();
    let next = next.map(|k| encode_token(&fp, page + 1, &k));
    ok(
        &p,
        render::list(&t, "admin#directory#groups", "groups", groups, next),
    )
}

async fn groups_get(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::GroupsRead, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    let g = t
        .group(&key)
        .ok_or_else(|| ApiError::not_found("groupKey"))?;
    ok(&p, render::group(&t, g))
}

// ---------------------------------------------------------------- members

fn derived_members(t: &Tenant, gi: usize) -> Vec<Membership> {
    let mut out: Vec<Membership> = Vec::new();
    let mut seen_ids: HashSet<String> = HashSet::new();
    let mut seen_groups: HashSet<usize> = HashSet::new();
    let mut queue = vec![gi];
    while let Some(g) = queue.pop() {
        if !seen_groups.insert(g) {
            continue;
        }
        let Some(group) = t.groups().get(g) else {
            continue;
        };
        for m in &group.members {
            if seen_ids.insert(m.id.clone()) {
                out.push(m.clone());
            }
            if m.member_type == MemberType::Group
                && let Some(c) = t.group_index_of(&m.id)
            {
                queue.push(c);
            }
        }
    }
    out
}

async fn members_list(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(group_key): Path<String>,
    Query(p): Params,
) -> ApiResult {
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let fp = fingerprint(&[
        "members",
        &group_key.to_ascii_lowercase(),
        get("roles"),
        get("includeDerivedMembership"),
    ]);
    let (page, after) = sh.gate_page(&headers, Op::MembersRead, &route("GET", &mp), &p, &fp)?;
    let size = max_results(&p, 200, 200)?;
    let t = read(&sh.tenant);
    let gi = t
        .group_index_of(&group_key)
        .ok_or_else(|| ApiError::not_found("groupKey"))?;
    let roles: Option<Vec<Role>> = match p.get("roles").filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(
            r.split(',')
                .map(|s| {
                    Role::parse(s.trim()).ok_or_else(|| {
                        ApiError::invalid("Invalid Input: roles").at("roles", "parameter")
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let members: Cow<'_, [Membership]> = if get("includeDerivedMembership") == "true" {
        derived_members(&t, gi).into()
    } else {
        t.groups()
            .get(gi)
            .map_or(&[][..], |g| &g.members[..])
            .into()
    };
    let items: Vec<(Cow<'_, str>, &Membership)> = members
        .iter()
        .filter(|m| roles.as_ref().is_none_or(|r| r.contains(&m.role)))
        .map(|m| (lowercase(&m.id), m))
        .collect();
    let (members, next) = take_page(items, after.as_deref(), false, size);
    let members: Vec<Value> = members.iter().map(|m| render::member(&t, m)).collect();
    let next = next.map(|k| encode_token(&fp, page + 1, &k));
    ok(
        &p,
        render::list(&t, "admin#directory#members", "members", members, next),
    )
}

async fn members_get(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path((group_key, member_key)): Path<(String, String)>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::MembersRead, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    let gi = t
        .group_index_of(&group_key)
        .ok_or_else(|| ApiError::not_found("groupKey"))?;
    let pos = t
        .member_position(gi, &member_key)
        .ok_or_else(|| ApiError::not_found("memberKey"))?;
    let m = t
        .groups()
        .get(gi)
        .and_then(|g| g.members.get(pos))
        .ok_or_else(|| ApiError::not_found("memberKey"))?;
    ok(&p, render::member(&t, m))
}

async fn has_member(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path((group_key, member_key)): Path<(String, String)>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::MembersRead, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    let gi = t
        .group_index_of(&group_key)
        .ok_or_else(|| ApiError::not_found("groupKey"))?;
    let user_id = match t.resolve(&member_key) {
        Some(Resolved::User(u)) => t.users().get(u).map(|u| u.id.clone()),
        Some(Resolved::Group(_)) => return Err(ApiError::invalid("Invalid Input: memberKey")),
        None => None,
    };
    let user_id = user_id.ok_or_else(|| ApiError::not_found("memberKey"))?;
    let is_member = derived_members(&t, gi).iter().any(|m| m.id == user_id);
    ok(&p, json!({"isMember": is_member}))
}

fn map_mutation(e: Error) -> ApiError {
    match e {
        Error::NotFound(what) => ApiError::not_found(&what),
        Error::AlreadyExists(_) => ApiError::new(409, "duplicate", "Member already exists."),
        Error::Invalid(msg) => ApiError::new(400, "conditionNotMet", msg),
        other => ApiError::new(500, "backendError", other.to_string()),
    }
}

async fn members_insert(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(group_key): Path<String>,
    Query(p): Params,
    body: axum::body::Bytes,
) -> ApiResult {
    sh.gate(&headers, Op::MembersWrite, &route("POST", &mp), 0)?;
    sh.gate_write(&group_key)?;
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let key = v
        .get("email")
        .and_then(Value::as_str)
        .or_else(|| v.get("id").and_then(Value::as_str))
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::new(400, "required", "Missing required field: member"))?;
    let role = match v.get("role").and_then(Value::as_str) {
        None => Role::Member,
        Some(r) => Role::parse(r).ok_or_else(|| ApiError::invalid("Invalid Input: role"))?,
    };
    let mut t = write(&sh.tenant);
    if t.group_index_of(&group_key).is_none() {
        return Err(ApiError::not_found("groupKey"));
    }
    let m = t.add_member(&group_key, key, role).map_err(map_mutation)?;
    lock(&sh.stats).members_inserted += 1;
    ok(&p, render::member(&t, &m))
}

async fn members_delete(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path((group_key, member_key)): Path<(String, String)>,
) -> ApiResult {
    sh.gate(&headers, Op::MembersWrite, &route("DELETE", &mp), 0)?;
    sh.gate_write(&group_key)?;
    write(&sh.tenant)
        .remove_member(&group_key, &member_key)
        .map_err(map_mutation)?;
    lock(&sh.stats).members_deleted += 1;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- org units, customers

async fn orgunits_list(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(customer): Path<String>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::OrgUnitsRead, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    check_customer(&t, &customer)?;
    let base = match p.get("orgUnitPath").filter(|s| !s.is_empty()) {
        None => t.org_units().first(),
        Some(k) => t.org_unit(k),
    }
    .ok_or_else(|| ApiError::new(404, "notFound", "Org unit not found"))?;
    let base_path = base.path.clone();
    let prefix = if base_path == "/" {
        "/".to_owned()
    } else {
        format!("{base_path}/")
    };
    let kind = p.get("type").map(String::as_str).unwrap_or("children");
    let units: Vec<Value> = t
        .org_units()
        .iter()
        .filter(|o| match kind {
            "children" => o.parent_path.as_deref() == Some(base_path.as_str()),
            "all" => o.path != base_path && o.path.starts_with(&prefix),
            "allIncludingParent" => o.path == base_path || o.path.starts_with(&prefix),
            _ => false,
        })
        .map(|o| render::org_unit(&t, o))
        .collect();
    if !matches!(kind, "children" | "all" | "allIncludingParent") {
        return Err(ApiError::invalid(format!("Invalid value '{kind}'")).at("type", "parameter"));
    }
    let mut v = render::list(
        &t,
        "admin#directory#orgUnits",
        "organizationUnits",
        units,
        None,
    );
    if let Value::Object(m) = &mut v {
        m.remove("nextPageToken");
    }
    ok(&p, v)
}

async fn orgunits_get(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path((customer, path)): Path<(String, String)>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::OrgUnitsRead, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    check_customer(&t, &customer)?;
    let o = t
        .org_unit(&path)
        .ok_or_else(|| ApiError::new(404, "notFound", "Org unit not found"))?;
    ok(&p, render::org_unit(&t, o))
}

async fn customers_get(
    State(sh): S,
    mp: MatchedPath,
    headers: HeaderMap,
    Path(customer): Path<String>,
    Query(p): Params,
) -> ApiResult {
    sh.gate(&headers, Op::CustomersGet, &route("GET", &mp), 0)?;
    let t = read(&sh.tenant);
    check_customer(&t, &customer)?;
    ok(&p, render::customer(&t))
}
