//! Whether an integration may reach its remote: the named checks a connector runs
//! ([`AccessReport`]) and the one definition of an access failure ([`AccessDenied`]) that every
//! crate reports.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Authorization, AuthorizationMethod, Email, Error, KeyOwnership, Scope};

/// One check of an integration's access: what was checked, whether it passed, and what to do
/// when it did not. Made with [`AccessCheck::passed`], [`AccessCheck::failed`] or, for an OAuth
/// scope, [`AccessCheck::scope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessCheck {
    /// What was checked, for people (`folder /srv/hr readable`, or the scope string).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What to do about a failure (or a detail of a success), without any secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    /// The OAuth scope this check is about, for scope checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

impl AccessCheck {
    /// A check named `name` that passed.
    pub fn passed(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: true,
            remedy: None,
            scope: None,
        }
    }

    /// A check named `name` that failed, and what to do about it.
    pub fn failed(name: impl Into<String>, remedy: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ok: false,
            remedy: Some(remedy.into()),
            scope: None,
        }
    }

    /// The check that a token for `scope` was issued (`granted`) or refused.
    pub fn scope(scope: Scope, granted: bool) -> Self {
        Self {
            name: scope.as_str().to_owned(),
            ok: granted,
            remedy: (!granted).then(|| format!("grant the scope {scope}")),
            scope: Some(scope),
        }
    }
}

impl fmt::Display for AccessCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.ok { "ok" } else { "FAILED" };
        write!(f, "{mark:<6} {}", self.name)?;
        match &self.remedy {
            Some(remedy) if !self.ok => write!(f, ": {remedy}"),
            _ => Ok(()),
        }
    }
}

/// The outcome of checking an integration's access, check by check, and who it acts as. Made
/// with [`AccessReport::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessReport {
    /// The person or account the integration acts as (Google: the delegated subject).
    pub subject: Option<Email>,
    /// The OAuth client's id (Google: the service account's client id).
    pub client_id: Option<String>,
    /// The OAuth client's email (Google: the service account's).
    pub client_email: Option<Email>,
    /// Who owns the credential, where that is known.
    pub ownership: Option<KeyOwnership>,
    /// How the integration is authorized, where that is known.
    #[serde(default)]
    pub method: Option<AuthorizationMethod>,
    /// Every check, in the order it ran.
    pub checks: Vec<AccessCheck>,
}

impl AccessReport {
    /// A report of `checks`.
    pub fn new(checks: Vec<AccessCheck>) -> Self {
        Self {
            subject: None,
            client_id: None,
            client_email: None,
            ownership: None,
            method: None,
            checks,
        }
    }

    /// The credential is owned by `ownership`.
    pub fn with_ownership(mut self, ownership: KeyOwnership) -> Self {
        self.ownership = Some(ownership);
        self
    }

    /// The integration is authorized by `method`.
    pub fn with_method(mut self, method: AuthorizationMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// The integration acts as `subject`.
    pub fn with_subject(mut self, subject: Email) -> Self {
        self.subject = Some(subject);
        self
    }

    /// The grants were made to the OAuth client `client_id` / `client_email`.
    pub fn with_client(mut self, client_id: impl Into<String>, client_email: Email) -> Self {
        self.client_id = Some(client_id.into());
        self.client_email = Some(client_email);
        self
    }

    /// The scopes whose check passed.
    pub fn granted(&self) -> BTreeSet<Scope> {
        self.scope_checks(true)
    }

    /// The scopes whose check failed.
    pub fn missing(&self) -> BTreeSet<Scope> {
        self.scope_checks(false)
    }

    fn scope_checks(&self, ok: bool) -> BTreeSet<Scope> {
        self.checks
            .iter()
            .filter(|c| c.ok == ok)
            .filter_map(|c| c.scope.clone())
            .collect()
    }

    /// Whether every check passed.
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The authorization record, if every check passed.
    ///
    /// # Errors
    /// [`AccessDenied::MissingScopes`] naming every missing scope when scope checks failed,
    /// otherwise [`AccessDenied::ChecksFailed`] naming every failed check.
    pub fn into_authorization(self, verified_at: DateTime<Utc>) -> Result<Authorization, Error> {
        let missing = self.missing();
        if !missing.is_empty() {
            return Err(AccessDenied::MissingScopes {
                scopes: missing.into_iter().collect(),
            }
            .into());
        }
        if !self.all_passed() {
            return Err(AccessDenied::ChecksFailed {
                checks: self.checks.into_iter().filter(|c| !c.ok).collect(),
            }
            .into());
        }
        Ok(Authorization {
            scopes: self.granted(),
            checks: self
                .checks
                .iter()
                .filter(|c| c.scope.is_none())
                .map(|c| c.name.clone())
                .collect(),
            subject: self.subject,
            client_id: self.client_id,
            client_email: self.client_email,
            ownership: self.ownership,
            method: self.method,
            verified_at,
        })
    }
}

/// Why an integration may not reach its remote: the one definition every crate reports (the
/// core [`Error::Access`], the connectors' and the service's errors wrap it). A configuration
/// error: never retried, never a reason to deprovision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessDenied {
    /// Some required OAuth scopes are not granted. The admin must grant exactly these scope
    /// strings (for Google: domain-wide delegation in the Admin console), then activate or
    /// reauthorize again; the integration is left as it was.
    #[error("missing scopes: {}; grant exactly these to the integration's client and try again",
        scopes.iter().map(Scope::as_str).collect::<Vec<_>>().join(", "))]
    MissingScopes {
        /// The scopes to grant.
        scopes: Vec<Scope>,
    },

    /// The remote refused our credentials: the key, the delegated subject or the delegation
    /// itself is wrong or was revoked. Fix it and reauthorize; the integration should go to
    /// `Failed` until then.
    #[error("not authorized: {reason}")]
    Unauthorized {
        /// What the remote said, without any secret.
        reason: String,
    },

    /// Checks other than scopes failed (a folder that cannot be read, a token refused).
    #[error("access checks failed: {}", checks.iter().map(|c| format!("{}{}", c.name, c.remedy.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())).collect::<Vec<_>>().join("; "))]
    ChecksFailed {
        /// The failed checks.
        checks: Vec<AccessCheck>,
    },
}

impl AccessDenied {
    /// A stable name for the kind of failure: `missing_scopes`, `unauthorized` or
    /// `access_checks`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingScopes { .. } => "missing_scopes",
            Self::Unauthorized { .. } => "unauthorized",
            Self::ChecksFailed { .. } => "access_checks",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(name: &str) -> Result<Scope, Error> {
        Scope::new(format!("https://www.googleapis.com/auth/{name}"))
    }

    #[test]
    fn missing_scopes_block_the_authorization_and_are_named() -> Result<(), Error> {
        let report = AccessReport::new(vec![
            AccessCheck::scope(scope("a")?, true),
            AccessCheck::scope(scope("b")?, false),
            AccessCheck::failed("folder readable", "create it"),
        ]);
        match report.into_authorization(Utc::now()) {
            Err(Error::Access(AccessDenied::MissingScopes { scopes })) => {
                assert_eq!(scopes, vec![scope("b")?]);
            }
            other => panic!("expected MissingScopes, got {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn other_failed_checks_are_named_with_their_remedy() {
        let report = AccessReport::new(vec![
            AccessCheck::passed("folder /srv/hr readable"),
            AccessCheck::failed("users.csv present", "export the users file"),
        ]);
        let err = report
            .into_authorization(Utc::now())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("access checks failed: users.csv present (export the users file)")
        );
    }

    #[test]
    fn a_passed_report_records_who_what_and_when() -> Result<(), Error> {
        let now = Utc::now();
        let admin = Email::new("admin@example.com")?;
        let client = Email::new("sa@p.iam.gserviceaccount.com")?;
        let auth = AccessReport::new(vec![
            AccessCheck::scope(scope("a")?, true),
            AccessCheck::passed("Directory API reachable"),
        ])
        .with_subject(admin.clone())
        .with_client("123", client.clone())
        .with_ownership(KeyOwnership::CustomerOwned)
        .into_authorization(now)?;
        assert_eq!(auth.subject, Some(admin));
        assert_eq!(auth.client_email, Some(client));
        assert_eq!(auth.scopes, BTreeSet::from([scope("a")?]));
        assert_eq!(auth.checks, vec!["Directory API reachable".to_owned()]);
        assert_eq!(auth.verified_at, now);
        Ok(())
    }
}
