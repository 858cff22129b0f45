//! Fault injection and request statistics.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::rng::Rng;

/// A page that fails every time it is requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingPage {
    /// Route label as in [`Stats::requests_by_route`], e.g. `GET /admin/directory/v1/users`.
    pub route: String,
    /// Zero-based page index in its page chain (0 = the request without `pageToken`).
    pub page_index: usize,
    /// HTTP status to answer: 500 (`backendError`), 502 (`badGateway`), 503 (`backendError`)
    /// or 504 (`gatewayTimeout`); anything else is answered as 503.
    pub status: u16,
}

/// A group every write (`members.insert`, `members.patch`, `members.delete`) to which fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingGroup {
    /// The group's email or id (case-insensitive); either key of the request matches.
    pub group: String,
    /// HTTP status to answer: 400 (`badRequest`), 403 (`userRateLimitExceeded`), 429
    /// (`rateLimitExceeded`), 500, 502, 503 or 504 as for [`FailingPage`]; anything else is 503.
    pub status: u16,
}

/// How an injected token-endpoint fault answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFault {
    /// This status (500, 503, 429, ...) with an RFC 6749 `temporarily_unavailable` JSON body.
    Status(u16),
    /// 502 with an HTML body, as a front end's error page.
    Html,
    /// No answer for [`TOKEN_HANG`]: the client's timeout decides.
    Timeout,
}

/// How long a [`TokenFault::Timeout`] keeps the request waiting.
pub const TOKEN_HANG: Duration = Duration::from_secs(30);

/// Faults of the token endpoint (`POST /token`), decided before the assertion is checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenFaults {
    /// The next this-many token requests fail with [`kind`](Self::kind) (counted down).
    pub next: u64,
    /// Probability in `[0, 1]` that a later token request fails with [`kind`](Self::kind).
    pub rate: f64,
    /// How the failing requests are answered.
    pub kind: TokenFault,
}

impl Default for TokenFaults {
    fn default() -> Self {
        Self {
            next: 0,
            rate: 0.0,
            kind: TokenFault::Status(503),
        }
    }
}

/// Faults applied to Directory API requests, and to the token endpoint (`latency` and
/// [`token`](Self::token)).
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Added before every request (token endpoint included).
    pub latency: Duration,
    /// Probability in `[0, 1]` that an API request fails with a transient error, chosen uniformly
    /// from 503 `backendError`, 429 `rateLimitExceeded` and 403 `userRateLimitExceeded`.
    pub error_rate: f64,
    /// Seed of the RNG that decides transient errors (reset whenever faults are set).
    pub seed: u64,
    /// Pages that always fail.
    pub failing_pages: Vec<FailingPage>,
    /// Per-subject quota in requests per minute (sliding 60 s window) answered with 403
    /// `userRateLimitExceeded`; `None` = unlimited.
    pub quota_per_minute: Option<u32>,
    /// The sliding window [`quota_per_minute`](Self::quota_per_minute) counts over: 60 s, as
    /// Google's; a test may shorten it to check pacing in seconds (the quota then allows that
    /// many requests per window).
    pub quota_window: Duration,
    /// Groups whose writes always fail (after authorization, quota and transient faults).
    pub failing_groups: Vec<FailingGroup>,
    /// Zero-based indices of write requests that fail once with 503 `backendError`. Writes are
    /// counted from when the faults were last set, among those that passed authorization, quota
    /// and transient faults (a retry of a failed write is the next index).
    pub failing_writes: Vec<u64>,
    /// Faults of the token endpoint.
    pub token: TokenFaults,
    /// Probability in `[0, 1]` that a write (member, user, group or org unit) that passed
    /// authorization, quota and transient faults fails with 503 `backendError`, not applied.
    pub write_error_rate: f64,
    /// Probability in `[0, 1]` that a write is applied and its answer then lost: answered 504
    /// `gatewayTimeout` (a lost acknowledgement).
    pub lost_write_rate: f64,
    /// A front end shedding load: a Directory API request that arrives while this many are
    /// being served already is answered 503 `backendError` (after [`latency`](Self::latency),
    /// a round trip like any answer), before authorization; `None` = no bound.
    pub max_in_flight: Option<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            error_rate: 0.0,
            seed: 1,
            failing_pages: Vec::new(),
            quota_per_minute: None,
            quota_window: Duration::from_secs(60),
            failing_groups: Vec::new(),
            failing_writes: Vec::new(),
            token: TokenFaults::default(),
            write_error_rate: 0.0,
            lost_write_rate: 0.0,
            max_in_flight: None,
        }
    }
}

/// The route label of `members.insert` in [`Stats::requests_by_route`].
pub const INSERT_MEMBER_ROUTE: &str = "POST /admin/directory/v1/groups/{group_key}/members";
/// The route label of `members.delete` in [`Stats::requests_by_route`].
pub const DELETE_MEMBER_ROUTE: &str =
    "DELETE /admin/directory/v1/groups/{group_key}/members/{member_key}";

/// The route label of `members.patch` in [`Stats::requests_by_route`].
pub const PATCH_MEMBER_ROUTE: &str =
    "PATCH /admin/directory/v1/groups/{group_key}/members/{member_key}";

/// The route label of `users.insert` in [`Stats::requests_by_route`].
pub const INSERT_USER_ROUTE: &str = "POST /admin/directory/v1/users";
/// The route label of `users.patch` in [`Stats::requests_by_route`].
pub const PATCH_USER_ROUTE: &str = "PATCH /admin/directory/v1/users/{user_key}";
/// The route label of `users.delete` in [`Stats::requests_by_route`].
pub const DELETE_USER_ROUTE: &str = "DELETE /admin/directory/v1/users/{user_key}";
/// The route label of `orgunits.insert` in [`Stats::requests_by_route`].
pub const INSERT_ORG_UNIT_ROUTE: &str = "POST /admin/directory/v1/customer/{customer}/orgunits";
/// The route label of `groups.insert` in [`Stats::requests_by_route`].
pub const INSERT_GROUP_ROUTE: &str = "POST /admin/directory/v1/groups";
/// The route label of `groups.patch` in [`Stats::requests_by_route`].
pub const PATCH_GROUP_ROUTE: &str = "PATCH /admin/directory/v1/groups/{group_key}";
/// The route label of `groups.delete` in [`Stats::requests_by_route`].
pub const DELETE_GROUP_ROUTE: &str = "DELETE /admin/directory/v1/groups/{group_key}";

/// A snapshot of the emulator's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests per route label (`METHOD /path/template`, e.g.
    /// `GET /admin/directory/v1/groups/{group_key}/members`, `POST /token`).
    pub requests_by_route: BTreeMap<String, u64>,
    /// All requests.
    pub requests_total: u64,
    /// Requests being served now.
    pub in_flight: u64,
    /// Highest `in_flight` seen.
    pub max_in_flight: u64,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Token requests refused.
    pub token_requests_refused: u64,
    /// Injected errors (transient + failing pages).
    pub errors_injected: u64,
    /// Injected token-endpoint faults ([`Faults::token`]).
    pub token_faults_injected: u64,
    /// Requests refused by the per-subject quota.
    pub quota_rejections: u64,
    /// Requests refused for load ([`Faults::max_in_flight`]).
    pub overload_rejections: u64,
    /// Members added through the API (`members.insert` answered 200).
    pub members_inserted: u64,
    /// Members removed through the API (`members.delete` answered 204).
    pub members_deleted: u64,
    /// Member roles set through the API (`members.patch` answered 200).
    pub members_patched: u64,
    /// Users created through the API (`users.insert` applied, whatever the answer).
    pub users_inserted: u64,
    /// Users changed through the API (`users.patch` applied).
    pub users_patched: u64,
    /// Users deleted through the API (`users.delete` applied).
    pub users_deleted: u64,
    /// Org units created through the API (`orgunits.insert` applied).
    pub org_units_inserted: u64,
    /// Groups created through the API (`groups.insert` applied, whatever the answer).
    pub groups_inserted: u64,
    /// Groups changed through the API (`groups.patch` applied).
    pub groups_patched: u64,
    /// Groups deleted through the API (`groups.delete` applied).
    pub groups_deleted: u64,
}

impl Stats {
    /// Requests counted for one route label (0 if none).
    pub fn requests(&self, route: &str) -> u64 {
        self.requests_by_route.get(route).copied().unwrap_or(0)
    }

    /// Write requests (`members.insert`, `members.patch`, `members.delete`, `users.insert`,
    /// `users.patch`, `users.delete`, `groups.insert`, `groups.patch`, `groups.delete` and
    /// `orgunits.insert`), whatever their answer.
    pub fn write_requests(&self) -> u64 {
        [
            INSERT_MEMBER_ROUTE,
            DELETE_MEMBER_ROUTE,
            PATCH_MEMBER_ROUTE,
            INSERT_USER_ROUTE,
            PATCH_USER_ROUTE,
            DELETE_USER_ROUTE,
            INSERT_GROUP_ROUTE,
            PATCH_GROUP_ROUTE,
            DELETE_GROUP_ROUTE,
            INSERT_ORG_UNIT_ROUTE,
        ]
        .iter()
        .map(|r| self.requests(r))
        .sum()
    }
}

/// Mutable fault state: config, RNG, quota windows.
pub(crate) struct FaultState {
    pub(crate) faults: Faults,
    pub(crate) rng: Rng,
    pub(crate) windows: HashMap<String, VecDeque<Instant>>,
    /// Writes counted for [`Faults::failing_writes`].
    pub(crate) writes: u64,
}

/// What to inject for one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteFault {
    /// Answer this status; nothing is applied.
    Fail(u16),
    /// Apply, then answer 504 (the acknowledgement is lost).
    Lost,
}

/// What to inject for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    Quota,
    Page(u16),
    Transient(u16),
}

impl FaultState {
    pub(crate) fn new(faults: Faults) -> Self {
        let rng = Rng::new(faults.seed);
        Self {
            faults,
            rng,
            windows: HashMap::new(),
            writes: 0,
        }
    }

    pub(crate) fn set(&mut self, faults: Faults) {
        self.rng = Rng::new(faults.seed);
        self.faults = faults;
        self.writes = 0;
    }

    /// Decides the write fault (if any) for a write to the object with these keys (a group's,
    /// for member writes); counts the write.
    pub(crate) fn decide_write(&mut self, keys: &[&str]) -> Option<WriteFault> {
        let index = self.writes;
        self.writes += 1;
        if let Some(g) = self
            .faults
            .failing_groups
            .iter()
            .find(|g| keys.iter().any(|k| k.eq_ignore_ascii_case(&g.group)))
        {
            return Some(WriteFault::Fail(g.status));
        }
        if self.faults.failing_writes.contains(&index) {
            return Some(WriteFault::Fail(503));
        }
        let (fail, lose) = (self.faults.write_error_rate, self.faults.lost_write_rate);
        if fail > 0.0 && self.rng.chance(fail) {
            return Some(WriteFault::Fail(503));
        }
        (lose > 0.0 && self.rng.chance(lose)).then_some(WriteFault::Lost)
    }

    /// Decides the fault (if any) of one token request; counts [`TokenFaults::next`] down.
    pub(crate) fn decide_token(&mut self) -> Option<TokenFault> {
        let t = &mut self.faults.token;
        if t.next > 0 {
            t.next -= 1;
            return Some(t.kind);
        }
        let (rate, kind) = (t.rate, t.kind);
        (rate > 0.0 && self.rng.chance(rate)).then_some(kind)
    }

    /// Decides the fault (if any) for an authorized request of `subject` on `route`/`page`.
    pub(crate) fn decide(&mut self, subject: &str, route: &str, page: usize) -> Option<Injected> {
        if let Some(limit) = self.faults.quota_per_minute {
            let now = Instant::now();
            let window = self.windows.entry(subject.to_owned()).or_default();
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.faults.quota_window)
            {
                window.pop_front();
            }
            if window.len() >= limit as usize {
                return Some(Injected::Quota);
            }
            window.push_back(now);
        }
        if let Some(p) = self
            .faults
            .failing_pages
            .iter()
            .find(|p| p.route == route && p.page_index == page)
        {
            return Some(Injected::Page(p.status));
        }
        if self.faults.error_rate > 0.0 && self.rng.chance(self.faults.error_rate) {
            let status = [503, 429, 403][self.rng.below(3)];
            return Some(Injected::Transient(status));
        }
        None
    }
}
