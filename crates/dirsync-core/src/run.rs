//! Sync-run records and held plans.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, clip};
use crate::{FetchStats, IntegrationId, QuarantinedRecord, RuleId, RunId};

/// Identifies a plan: the hex SHA-256 of its canonical content. An approval names it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlanId(String);

impl PlanId {
    /// The id of the given canonical bytes.
    pub fn digest(bytes: &[u8]) -> Self {
        let hash = Sha256::digest(bytes);
        Self(hash.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Parses a 64-character lowercase hex id.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] otherwise.
    pub fn parse(value: &str) -> Result<Self, Error> {
        if value.len() == 64
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(value.to_owned()))
        } else {
            Err(Error::InvalidValue {
                kind: "plan id",
                value: clip(value),
                reason: "expected 64 lowercase hex digits".to_owned(),
            })
        }
    }

    /// The hex form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PlanId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Self::parse(&value)
    }
}

impl From<PlanId> for String {
    fn from(id: PlanId) -> Self {
        id.0
    }
}

impl fmt::Debug for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlanId({})", self.0)
    }
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunOutcome {
    /// Changes were applied.
    Succeeded,
    /// Nothing had changed; nothing was written.
    NoChange,
    /// The run failed; nothing was applied.
    Failed {
        /// Why.
        reason: String,
    },
    /// A safeguard tripped; the plan is held until approved by id.
    Held {
        /// The held plan.
        plan: PlanId,
    },
}

/// The record of one sync run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRun {
    /// Identifier.
    pub id: RunId,
    /// The integration.
    pub integration: IntegrationId,
    /// The rule that ran, if the run was for one rule.
    pub rule: Option<RuleId>,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: DateTime<Utc>,
    /// Outcome.
    pub outcome: RunOutcome,
    /// Operations applied (or held), by kind (e.g. `users_created`).
    pub counts: BTreeMap<String, u64>,
    /// Records quarantined during the run.
    pub quarantined: Vec<QuarantinedRecord>,
    /// The connector's figures, when a fetch happened.
    pub fetch: Option<FetchStats>,
}

/// A plan held by a safeguard, waiting for an approval that names its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldPlan {
    /// The plan's id.
    pub id: PlanId,
    /// The integration.
    pub integration: IntegrationId,
    /// When it was held.
    pub held_at: DateTime<Utc>,
    /// Which safeguard tripped, for the admin.
    pub reason: String,
    /// The plan itself, serialized by the engine.
    pub plan: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_ids_are_hex_sha256() {
        let id = PlanId::digest(b"abc");
        assert_eq!(
            id.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(PlanId::parse(id.as_str()).ok(), Some(id));
        assert!(PlanId::parse("ABC").is_err());
    }
}
