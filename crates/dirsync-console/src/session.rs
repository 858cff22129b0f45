//! Signed-in operators: sessions kept in memory, named by a random id in an HttpOnly,
//! SameSite=Lax cookie (Secure when the console is served over https), each with its CSRF
//! token; and the sign-ins under way.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;

use crate::access::Role;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "dirsync_console";
/// The cookie that ties a sign-in under way to this browser.
pub(crate) const SIGNIN_COOKIE: &str = "dirsync_console_signin";
/// How long a session lasts from its sign-in.
const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// How long a sign-in may take at Google.
const SIGNIN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// At most this many sign-ins under way at once (the oldest is dropped past it).
const MAX_PENDING: usize = 1000;

/// 32 random bytes, URL-safe.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Equality whose timing does not depend on where the two differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed-in operator.
#[derive(Clone)]
pub(crate) struct Session {
    /// Who: a verified email, or "bootstrap link".
    pub(crate) operator: String,
    pub(crate) role: Role,
    /// The token every changing form carries.
    pub(crate) csrf: String,
    expires: Instant,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("operator", &self.operator)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The sessions, and the sign-ins under way (by their cookie's value).
pub(crate) struct Sessions<P> {
    sessions: Mutex<HashMap<String, Session>>,
    pending: Mutex<HashMap<String, (P, Instant)>>,
}

impl<P> Default for Sessions<P> {
    fn default() -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<P> Sessions<P> {
    /// Starts a session for `operator`: its id, for the cookie.
    pub(crate) fn start(&self, operator: String, role: Role) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(
            id.clone(),
            Session {
                operator,
                role,
                csrf: random_token(),
                expires: now + LIFETIME,
            },
        );
        id
    }

    /// The live session named by `id`.
    pub(crate) fn get(&self, id: &str) -> Option<Session> {
        let sessions = lock(&self.sessions);
        sessions
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    /// Ends the session named by `id`.
    pub(crate) fn end(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    /// Keeps a sign-in under way: the value for its cookie.
    pub(crate) fn begin_sign_in(&self, pending: P) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut all = lock(&self.pending);
        all.retain(|_, (_, at)| now.duration_since(*at) < SIGNIN_LIFETIME);
        if all.len() >= MAX_PENDING
            && let Some(oldest) = all
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
        {
            all.remove(&oldest);
        }
        all.insert(id.clone(), (pending, now));
        id
    }

    /// Takes the sign-in under way named by `id` (once), if it is recent.
    pub(crate) fn take_sign_in(&self, id: &str) -> Option<P> {
        lock(&self.pending)
            .remove(id)
            .filter(|(_, at)| at.elapsed() < SIGNIN_LIFETIME)
            .map(|(p, _)| p)
    }
}

/// The value of cookie `name` in a request's headers.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for `name=value` under `/console`, HttpOnly, SameSite=Lax, Secure when
/// `secure`; `max_age` 0 deletes it.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/console; Max-Age={}; HttpOnly; SameSite=Lax{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The session cookie's lifetime.
pub(crate) const SESSION_MAX_AGE: Duration = LIFETIME;
/// The sign-in cookie's lifetime.
pub(crate) const SIGNIN_MAX_AGE: Duration = SIGNIN_LIFETIME;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_sign_ins_are_found_by_id_once() {
        let sessions = Sessions::<u8>::default();
        let id = sessions.start("ada@example.com".to_owned(), Role::ReadOnly);
        let s = sessions.get(&id).map(|s| (s.operator, s.role));
        assert_eq!(s, Some(("ada@example.com".to_owned(), Role::ReadOnly)));
        assert!(sessions.get("other").is_none());
        sessions.end(&id);
        assert!(sessions.get(&id).is_none());
        let pending = sessions.begin_sign_in(7);
        assert_eq!(sessions.take_sign_in(&pending), Some(7));
        assert_eq!(sessions.take_sign_in(&pending), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }

    #[test]
    fn cookies_are_read_from_any_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            "a=1; dirsync_console=xyz"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        headers.append(
            header::COOKIE,
            "tz=Europe/Paris".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(cookie(&headers, COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "tz"), Some("Europe/Paris"));
        assert_eq!(cookie(&headers, "b"), None);
        let set = set_cookie(COOKIE, "v", SESSION_MAX_AGE, true);
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.ends_with("Secure")
        );
    }
}
