//! TEMPORARY stand-in, replaced by the rule module.
#![allow(missing_docs)]
use crate::{Email, OrgUnitPath, RuleId, Schedule};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    OrgUnits,
    Users,
    Groups,
    Memberships,
}
impl ObjectKind {
    pub const ALL: [ObjectKind; 4] = [Self::OrgUnits, Self::Users, Self::Groups, Self::Memberships];
}
impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectKinds(BTreeSet<ObjectKind>);
impl ObjectKinds {
    pub fn new(k: impl IntoIterator<Item = ObjectKind>) -> Result<Self, crate::Error> {
        Ok(Self(k.into_iter().collect()))
    }
    pub fn all() -> Self {
        Self(ObjectKind::ALL.into_iter().collect())
    }
    pub fn contains(&self, k: ObjectKind) -> bool {
        self.0.contains(&k)
    }
    pub fn iter(&self) -> impl Iterator<Item = ObjectKind> + '_ {
        self.0.iter().copied()
    }
}
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeFilter {
    pub org_unit: Option<OrgUnitPath>,
    pub groups: Option<BTreeSet<Email>>,
}
impl ScopeFilter {
    pub fn everything() -> Self {
        Self::default()
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trigger {
    Manual,
    Scheduled,
}
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRule {
    pub id: RuleId,
    pub name: String,
    pub kinds: ObjectKinds,
    pub scope: ScopeFilter,
    pub trigger: Trigger,
    pub created_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
}
impl SyncRule {
    pub fn new(
        name: impl Into<String>,
        kinds: ObjectKinds,
        scope: ScopeFilter,
        trigger: Trigger,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: RuleId::random(),
            name: name.into(),
            kinds,
            scope,
            trigger,
            created_at,
            last_run_at: None,
        }
    }
}
pub fn due_rules<'a>(s: &Schedule, rules: &'a [SyncRule], now: DateTime<Utc>) -> Vec<&'a SyncRule> {
    rules
        .iter()
        .filter(|r| {
            r.trigger == Trigger::Scheduled
                && s.next_after(r.last_run_at.unwrap_or(r.created_at))
                    .is_some_and(|t| t <= now)
        })
        .collect()
}
