//! The stable JSON shapes of what the service returns, for command-line tools and HTTP APIs to
//! print the same way (`dirsync --format json` and `dirsync serve` use them). Fields may be
//! added; none is renamed or removed. Times are RFC 3339 in UTC; absent values are `null`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use dirsync_core::{
    AnyIntegration, Authorization, AuthorizationMethod, DirectionKind, DirectoryAttribute,
    DirectoryAttributes, DirectoryUser, EmploymentType, Grant, Group, GroupAssignment,
    GroupProvisioning, HeldPlan, IntegrationState, KeyOwnership, Manager, MemberKind, MemberRole,
    Membership, ObjectKinds, OrgUnit, RemoteSettings, RunOutcome, Safeguards, Schedule, Scope,
    ScopeFilter, SyncRule, SyncRun, Trigger, UserId, UserProvisioning, UserStatus,
};
use serde::Serialize;

use crate::{AdminInstructions, DryRun, PlannedChange, Service};

/// A directory user (`users:list`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct UserView {
    /// The directory's id.
    pub id: String,
    /// The primary email.
    pub primary_email: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Display name.
    pub display_name: String,
    /// Employee id.
    pub employee_id: Option<String>,
    /// Employee or contractor.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub employment_type: Option<EmploymentType>,
    /// The manager's email (resolved to the directory user when known).
    pub manager_email: Option<String>,
    /// The org unit path.
    pub org_unit_path: Option<String>,
    /// A directory administrator.
    pub is_admin: bool,
    /// `active`, `suspended` or `deprovisioned`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: UserStatus,
    /// When provisioned.
    pub provisioned_at: Option<DateTime<Utc>>,
    /// When last suspended.
    pub suspended_at: Option<DateTime<Utc>>,
    /// When deprovisioned.
    pub deprovisioned_at: Option<DateTime<Utc>>,
    /// Directory attributes enriched by the integrations (department, cost center, ...), each
    /// with the integration it came from and since when.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: BTreeMap<String, DirectoryAttribute>,
}

impl UserView {
    /// Views of `users`, managers resolved to emails among them, with their directory
    /// `attributes` ([`Service::directory_attributes`](crate::Service::directory_attributes)).
    pub fn list(
        users: &[DirectoryUser],
        attributes: &HashMap<UserId, DirectoryAttributes>,
    ) -> Vec<Self> {
        let emails: HashMap<UserId, &str> = users
            .iter()
            .map(|u| (u.id, u.profile.primary_email.as_str()))
            .collect();
        users
            .iter()
            .map(|u| {
                let p = &u.profile;
                Self {
                    id: u.id.to_string(),
                    primary_email: p.primary_email.to_string(),
                    given_name: p.name.given.clone(),
                    family_name: p.name.family.clone(),
                    display_name: p.name.display.clone(),
                    employee_id: p.employee_id.clone(),
                    employment_type: p.employment_type,
                    manager_email: match &p.manager {
                        Some(Manager::Resolved(id)) => emails.get(id).map(|e| (*e).to_owned()),
                        Some(Manager::Unresolved(email)) => Some(email.to_string()),
                        None => None,
                    },
                    org_unit_path: p.org_unit.as_ref().map(ToString::to_string),
                    is_admin: p.is_admin,
                    status: u.status,
                    provisioned_at: u.lifecycle.provisioned_at,
                    suspended_at: u.lifecycle.suspended_at,
                    deprovisioned_at: u.lifecycle.deprovisioned_at,
                    attributes: attributes.get(&u.id).cloned().unwrap_or_default(),
                }
            })
            .collect()
    }
}

/// A group with its direct members (`groups:list`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct GroupView {
    /// The group's address.
    pub email: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// How many direct members.
    pub member_count: usize,
    /// Its direct members.
    pub members: Vec<MemberView>,
}

/// A direct member of a group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct MemberView {
    /// The member's address (`null` for the whole customer).
    pub email: Option<String>,
    /// `owner`, `manager` or `member`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: MemberRole,
    /// `user`, `group` or `customer`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: MemberKind,
}

impl GroupView {
    /// Views of `groups` with their members among `memberships`.
    pub fn list(groups: &[Group], memberships: &[Membership]) -> Vec<Self> {
        let mut by_group: HashMap<&str, Vec<&Membership>> = HashMap::new();
        for m in memberships {
            by_group.entry(m.group.as_str()).or_default().push(m);
        }
        groups
            .iter()
            .map(|g| {
                let members: Vec<MemberView> = by_group
                    .get(g.external_id.as_str())
                    .map(|ms| {
                        ms.iter()
                            .map(|m| MemberView {
                                email: m.member.email.as_ref().map(ToString::to_string),
                                role: m.role,
                                kind: m.member.kind,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Self {
                    email: g.email.to_string(),
                    name: g.name.clone(),
                    description: g.description.clone(),
                    member_count: members.len(),
                    members,
                }
            })
            .collect()
    }
}

/// An org unit (`orgunits:list`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct OrgUnitView {
    /// Its path.
    pub path: String,
    /// Its name.
    pub name: String,
    /// Its parent's path (`null` under the root).
    pub parent_path: Option<String>,
}

impl From<&OrgUnit> for OrgUnitView {
    fn from(o: &OrgUnit) -> Self {
        Self {
            path: o.path.to_string(),
            name: o.name.clone(),
            parent_path: o.path.parent().map(|p| p.to_string()),
        }
    }
}

/// An integration's state: its name, and why it failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct StateView {
    /// `staged`, `active`, `inactive` or `failed`.
    pub name: &'static str,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Who authorized an integration, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct AuthorizationView {
    /// How it was authorized: `oauth` (a person's consent) or `service_account` (records
    /// written before methods were recorded: `service_account` when a client is named).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub method: Option<AuthorizationMethod>,
    /// Who authorized it: the consenting person, or the delegated admin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_by: Option<String>,
    /// When it was authorized (verified).
    pub authorized_at: DateTime<Utc>,
    /// Whom the integration acts as (Google: the delegated admin), if anyone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The client the grant was made to (Google: the service account's client id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The client's email (Google: the service account's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_email: Option<String>,
    /// Who owns the credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ownership: Option<KeyOwnership>,
    /// The scopes verified.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub scopes: Vec<Scope>,
    /// The other access checks that passed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// When.
    pub verified_at: DateTime<Utc>,
}

impl From<&Authorization> for AuthorizationView {
    fn from(a: &Authorization) -> Self {
        Self {
            method: a.method.or_else(|| {
                a.client_email
                    .as_ref()
                    .map(|_| AuthorizationMethod::ServiceAccount)
            }),
            authorized_by: a.subject.as_ref().map(ToString::to_string),
            authorized_at: a.verified_at,
            subject: a.subject.as_ref().map(ToString::to_string),
            client_id: a.client_id.clone(),
            client_email: a.client_email.as_ref().map(ToString::to_string),
            ownership: a.ownership,
            scopes: a.scopes.iter().cloned().collect(),
            checks: a.checks.clone(),
            verified_at: a.verified_at,
        }
    }
}

/// An integration (`integration:show`, `integration:list`, and after each change).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct IntegrationView {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The system, for humans ("Google Workspace").
    pub system: String,
    /// The system's id (`google_workspace`), as in `settings`.
    pub system_id: String,
    /// `inbound` or `outbound`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub direction: DirectionKind,
    /// Whether it is the primary.
    pub primary: bool,
    /// Its state.
    pub state: StateView,
    /// The state's name alone (for tables).
    pub state_name: &'static str,
    /// When its scheduled rules run.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub schedule: Schedule,
    /// The schedule for humans.
    pub schedule_text: String,
    /// Whether its source pushes changes as they happen (a push channel kept open).
    #[serde(default)]
    pub push: bool,
    /// Its rules.
    pub rules: Vec<RuleView>,
    /// Who authorized it, and when.
    pub authorization: Option<AuthorizationView>,
    /// The authorizations it replaced, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorization_history: Vec<AuthorizationView>,
    /// How it connects (never a secret: keys are referenced, not included).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub settings: RemoteSettings,
    /// The safeguards in force: its own, or the service's policy.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub safeguards: Safeguards,
    /// Whether it has safeguards of its own.
    pub own_safeguards: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl IntegrationView {
    /// A view of `any`, with its system's name from `service`'s registry and the safeguards
    /// that apply to it under `service`'s policy.
    pub fn new(any: &AnyIntegration, service: &Service) -> Self {
        let policy = service.policy();
        let r = any.record();
        Self {
            id: r.id.to_string(),
            title: r.title.clone(),
            system: service.registry().name(r.settings.system()),
            system_id: r.settings.system().to_string(),
            direction: r.direction,
            primary: any.is_primary(),
            state: StateView {
                name: r.state.name(),
                reason: match &r.state {
                    IntegrationState::Failed { reason } => Some(reason.clone()),
                    _ => None,
                },
            },
            state_name: r.state.name(),
            schedule: r.schedule,
            schedule_text: r.schedule.to_string(),
            push: r.push,
            rules: r.rules.iter().map(RuleView::from).collect(),
            authorization: r.authorization.as_ref().map(AuthorizationView::from),
            authorization_history: r
                .authorization_history
                .iter()
                .map(AuthorizationView::from)
                .collect(),
            settings: r.settings.clone(),
            safeguards: *policy.safeguards_for(r),
            own_safeguards: r.safeguards.is_some(),
            created_at: r.created_at,
        }
    }
}

/// A rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RuleView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it syncs.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub kinds: ObjectKinds,
    /// In which scope.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub scope: ScopeFilter,
    /// `manual` or `scheduled`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub trigger: Trigger,
    /// Outbound: the group it manages and who belongs in it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub assignment: Option<GroupAssignment>,
    /// Outbound: the users it provisions as remote accounts.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provision_users: Option<UserProvisioning>,
    /// Outbound: the groups it provisions as remote groups.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provision_groups: Option<GroupProvisioning>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it last ran.
    pub last_run_at: Option<DateTime<Utc>>,
}

impl From<&SyncRule> for RuleView {
    fn from(r: &SyncRule) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.name.clone(),
            kinds: r.kinds.clone(),
            scope: r.scope.clone(),
            trigger: r.trigger,
            assignment: r.assignment.clone(),
            provision_users: r.provision_users.clone(),
            provision_groups: r.provision_groups.clone(),
            created_at: r.created_at,
            last_run_at: r.last_run_at,
        }
    }
}

/// A run's record (`sync`, `rule:run`, `plan:approve`, `runs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RunView {
    /// Its id.
    pub run_id: String,
    /// The integration.
    pub integration: String,
    /// The rule, when it ran one.
    pub rule: Option<String>,
    /// `succeeded`, `no_change`, `held` or `failed`.
    pub outcome: &'static str,
    /// The held plan's id, when held.
    pub held_plan: Option<String>,
    /// Why it failed, when it did.
    pub failure: Option<String>,
    /// Operations by kind, e.g. `users_created`.
    pub counts: BTreeMap<String, u64>,
    /// Records quarantined.
    pub quarantined: usize,
    /// Requests to the remote.
    pub requests: u64,
    /// Of which retries.
    pub retries: u64,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: DateTime<Utc>,
}

impl From<&SyncRun> for RunView {
    fn from(r: &SyncRun) -> Self {
        let (held_plan, failure) = match &r.outcome {
            RunOutcome::Held { plan } => (Some(plan.to_string()), None),
            RunOutcome::Failed { reason } => (None, Some(reason.clone())),
            _ => (None, None),
        };
        let outcome = crate::metrics::outcome_name(&r.outcome);
        let fetch = r.fetch.as_ref();
        Self {
            run_id: r.id.to_string(),
            integration: r.integration.to_string(),
            rule: r.rule.map(|x| x.to_string()),
            outcome,
            held_plan,
            failure,
            counts: r.counts.clone(),
            quarantined: r.quarantined.len(),
            requests: fetch.map_or(0, |f| f.total_requests()),
            retries: fetch.map_or(0, |f| f.retries),
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

/// A plan explained (`sync --dry-run`, `plan:show`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct PlanView {
    /// Its id.
    pub plan_id: String,
    /// The integration.
    pub integration: String,
    /// The data version it was planned against.
    pub based_on: u64,
    /// Whether a safeguard holds it.
    pub held: bool,
    /// The safeguards it trips, for humans.
    pub trips: Vec<String>,
    /// Operations by kind.
    pub counts: BTreeMap<String, u64>,
    /// Every operation, named for humans.
    pub changes: Vec<PlannedChange>,
    /// When it was held (held plans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_at: Option<DateTime<Utc>>,
    /// Why it was held (held plans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl PlanView {
    /// A view of `plan` with its explained `changes` (see [`Service::explain`](crate::Service::explain)).
    pub fn new(plan: &DryRun, changes: Vec<PlannedChange>) -> Self {
        Self {
            plan_id: plan.id().to_string(),
            integration: plan.integration().to_string(),
            based_on: plan.based_on().0,
            held: plan.is_held(),
            trips: plan.trips().iter().map(ToString::to_string).collect(),
            counts: plan.count_names(),
            changes,
            held_at: None,
            reason: None,
        }
    }

    /// The same view with when and why it was held.
    #[must_use]
    pub fn held(mut self, held: &HeldPlan) -> Self {
        self.held_at = Some(held.held_at);
        self.reason = Some(held.reason.clone());
        self
    }
}

/// A held plan in a list (`plan:list`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct HeldPlanView {
    /// Its id.
    pub plan_id: String,
    /// The integration.
    pub integration: String,
    /// When it was held.
    pub held_at: DateTime<Utc>,
    /// Which safeguard held it.
    pub reason: String,
}

impl From<&HeldPlan> for HeldPlanView {
    fn from(h: &HeldPlan) -> Self {
        Self {
            plan_id: h.id.to_string(),
            integration: h.integration.to_string(),
            held_at: h.held_at,
            reason: h.reason.clone(),
        }
    }
}

/// What an admin must grant (`google-integration:create`, `integration:instructions`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct InstructionsView {
    /// The system, for people.
    pub system: String,
    /// What kind of grant: `scopes`, `token` or `nothing`.
    pub grant: &'static str,
    /// The client to grant the scopes to (Google: the service account's client id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The client's email (Google: the service account's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_email: Option<String>,
    /// Whom the integration acts as (Google: the delegated admin).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The exact scopes.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub scopes: Vec<Scope>,
    /// For a token: the secret's name to store it under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The instructions as text, step by step.
    pub text: String,
}

impl From<&AdminInstructions> for InstructionsView {
    fn from(i: &AdminInstructions) -> Self {
        let mut view = Self {
            system: i.system.clone(),
            grant: "nothing",
            client_id: None,
            client_email: None,
            subject: None,
            scopes: i.scopes(),
            secret: None,
            text: i.to_string(),
        };
        match &i.grant {
            Grant::Scopes {
                client_id,
                client_email,
                subject,
                ..
            } => {
                view.grant = "scopes";
                view.client_id.clone_from(client_id);
                view.client_email = client_email.as_ref().map(ToString::to_string);
                view.subject = subject.as_ref().map(ToString::to_string);
            }
            Grant::Token { secret } => {
                view.grant = "token";
                view.secret = Some(secret.clone());
            }
            _ => {}
        }
        view
    }
}

/// A created integration with what the admin must grant (`google-integration:create`,
/// `POST /integrations`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct CreatedView {
    /// Its id.
    pub id: String,
    /// Its state (`staged`).
    pub state: &'static str,
    /// Whether the store made it the primary.
    pub primary: bool,
    /// `inbound` or `outbound`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub direction: DirectionKind,
    /// What the admin must grant.
    #[serde(flatten)]
    pub instructions: InstructionsView,
}

impl From<&crate::Created> for CreatedView {
    fn from(c: &crate::Created) -> Self {
        let any = &c.integration;
        Self {
            id: any.id().to_string(),
            state: any.state().name(),
            primary: any.is_primary(),
            direction: any.direction(),
            instructions: InstructionsView::from(&c.instructions),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_run_prints_its_documented_shape() {
        let at: DateTime<Utc> = "2026-06-01T02:00:00Z".parse().unwrap();
        let run = SyncRun {
            id: dirsync_core::RunId::random(),
            integration: dirsync_core::IntegrationId::random(),
            rule: None,
            started_at: at,
            finished_at: at,
            outcome: RunOutcome::Failed {
                reason: "no".into(),
            },
            counts: BTreeMap::from([("users_created".to_owned(), 2)]),
            quarantined: Vec::new(),
            fetch: None,
        };
        let json = serde_json::to_value(RunView::from(&run)).unwrap();
        assert_eq!(json["outcome"], "failed");
        assert_eq!(json["failure"], "no");
        assert_eq!(json["held_plan"], serde_json::Value::Null);
        assert_eq!(json["counts"], json!({"users_created": 2}));
        assert_eq!(json["started_at"], "2026-06-01T02:00:00Z");
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "counts",
                "failure",
                "finished_at",
                "held_plan",
                "integration",
                "outcome",
                "quarantined",
                "requests",
                "retries",
                "rule",
                "run_id",
                "started_at"
            ]
        );
    }
}
