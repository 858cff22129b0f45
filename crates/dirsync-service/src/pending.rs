//! Consents under way, kept by the service for a server whose consent page is opened in one
//! request and answered by Google's redirect in another: [`PendingConsents`], keyed by the
//! consent's `state`, each for a limited time and for one use.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use dirsync_core::AccessDenied;

use crate::{ConsentStart, Error};

/// How long a consent waits for Google's redirect by default (Google's authorization codes
/// live about as long).
pub const DEFAULT_CONSENT_EXPIRY: Duration = Duration::from_secs(10 * 60);

/// At most this many consents wait at once; beyond, the oldest is dropped.
const MOST_PENDING: usize = 1024;

/// Consents started ([`Service::start_consent`](crate::Service::start_consent)) and waiting
/// for Google's redirect, keyed by their `state`: [`keep`](Self::keep) one when sending the
/// admin to Google, [`take`](Self::take) it back when the redirect arrives, then complete it
/// with [`Service::finish_consent`](crate::Service::finish_consent). A consent can be taken
/// once, and only until it expires. Held in memory: the redirect must come back to the
/// process that started the consent.
pub struct PendingConsents {
    expiry: Duration,
    waiting: Mutex<HashMap<String, (Instant, ConsentStart)>>,
}

impl fmt::Debug for PendingConsents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The states are not shown: each is the key to a consent.
        f.debug_struct("PendingConsents")
            .field("expiry", &self.expiry)
            .field("waiting", &self.len())
            .finish()
    }
}

impl Default for PendingConsents {
    fn default() -> Self {
        Self::new(DEFAULT_CONSENT_EXPIRY)
    }
}

impl PendingConsents {
    /// An empty store whose consents wait `expiry` for their redirect.
    pub fn new(expiry: Duration) -> Self {
        Self {
            expiry,
            waiting: Mutex::new(HashMap::new()),
        }
    }

    /// Keeps `start` until its redirect arrives or it expires; returns its consent URL.
    pub fn keep(&self, start: ConsentStart) -> String {
        let url = start.url.clone();
        let now = Instant::now();
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.retain(|_, (since, _)| now.duration_since(*since) < self.expiry);
        if waiting.len() >= MOST_PENDING {
            let oldest = waiting
                .iter()
                .min_by_key(|(_, (since, _))| *since)
                .map(|(state, _)| state.clone());
            if let Some(oldest) = oldest {
                waiting.remove(&oldest);
            }
        }
        waiting.insert(start.state().to_owned(), (now, start));
        url
    }

    /// Takes back the consent whose `state` Google's redirect carries: it cannot be taken again.
    ///
    /// # Errors
    /// [`Error::Access`] (`unauthorized`) when no consent waits with this state: forged,
    /// already used, or expired. Nothing is stored.
    pub fn take(&self, state: Option<&str>) -> Result<ConsentStart, Error> {
        let refused = |reason: String| Error::Access(AccessDenied::Unauthorized { reason });
        let state = state.ok_or_else(|| refused("the redirect carried no state".to_owned()))?;
        let taken = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(state);
        match taken {
            Some((since, start)) if since.elapsed() < self.expiry => Ok(start),
            Some(_) => Err(refused(format!(
                "the consent expired (a consent waits {} min for Google's redirect); start it again",
                self.expiry.as_secs() / 60
            ))),
            None => Err(refused(
                "no consent under way has this state (forged, or already used); start it again"
                    .to_owned(),
            )),
        }
    }

    /// How many consents wait (expired ones included until the next [`keep`](Self::keep)).
    pub fn len(&self) -> usize {
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
