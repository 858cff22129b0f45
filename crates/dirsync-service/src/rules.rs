//! Rules and the scheduler: what to sync, manual vs scheduled, and running the due ones.

use chrono::{DateTime, Utc};
use dirsync_core::{
    GroupAssignment, GroupProvisioning, GroupSource, IntegrationId, IntegrationState, ObjectKinds,
    RuleId, ScopeFilter, SyncRule, SyncRun, Trigger, UserProvisioning,
};
use futures::StreamExt;

use crate::progress::ProgressSink;
use crate::registry::synced_kinds;
use crate::{Error, Service};

/// A rule to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    /// A name for humans.
    pub name: String,
    /// What it syncs.
    pub kinds: ObjectKinds,
    /// Which part of the directory.
    pub scope: ScopeFilter,
    /// Run by the schedule, or only by hand.
    pub trigger: Trigger,
    /// Outbound integrations: the group the rule manages and who should be in it (then
    /// `kinds` and `scope` are ignored: the rule covers that group's memberships). Inbound
    /// rules leave it `None`.
    pub assignment: Option<GroupAssignment>,
    /// Outbound integrations: the directory users the rule provisions as remote accounts
    /// (then `kinds` and `scope` are ignored). `None` otherwise.
    pub provision_users: Option<UserProvisioning>,
    /// Outbound integrations: the directory groups the rule provisions as remote groups (then
    /// `kinds` and `scope` are ignored). `None` otherwise.
    pub provision_groups: Option<GroupProvisioning>,
}

impl NewRule {
    /// An inbound rule: these kinds, in this scope.
    pub fn sync(
        name: impl Into<String>,
        kinds: ObjectKinds,
        scope: ScopeFilter,
        trigger: Trigger,
    ) -> Self {
        Self {
            name: name.into(),
            kinds,
            scope,
            trigger,
            assignment: None,
            provision_users: None,
            provision_groups: None,
        }
    }

    /// An outbound rule provisioning the directory users `provisioning` selects as remote
    /// accounts.
    pub fn provision_users(
        name: impl Into<String>,
        provisioning: UserProvisioning,
        trigger: Trigger,
    ) -> Self {
        Self {
            provision_users: Some(provisioning),
            ..Self::sync(name, ObjectKinds::all(), ScopeFilter::everything(), trigger)
        }
    }

    /// An outbound rule managing `assignment.group`.
    pub fn assign(name: impl Into<String>, assignment: GroupAssignment, trigger: Trigger) -> Self {
        Self {
            name: name.into(),
            kinds: ObjectKinds::only(dirsync_core::ObjectKind::Memberships),
            scope: ScopeFilter::everything(),
            trigger,
            assignment: Some(assignment),
            provision_users: None,
            provision_groups: None,
        }
    }

    /// An outbound rule provisioning the directory groups `provisioning` selects as remote
    /// groups, with their members.
    pub fn provision_groups(
        name: impl Into<String>,
        provisioning: GroupProvisioning,
        trigger: Trigger,
    ) -> Self {
        Self {
            provision_groups: Some(provisioning),
            ..Self::sync(name, ObjectKinds::all(), ScopeFilter::everything(), trigger)
        }
    }
}

/// One rule that [`Service::run_due`] ran, and how it went.
#[derive(Debug)]
#[non_exhaustive]
pub struct DueRun {
    /// The integration.
    pub integration: IntegrationId,
    /// The rule.
    pub rule: RuleId,
    /// The run's record, or why none could be made (e.g. another runner holds the lease).
    pub result: Result<SyncRun, Error>,
}

impl DueRun {
    /// Whether another scheduler sharing the store runs or ran this rule: its integration was
    /// leased ([`dirsync_store::Error::Leased`]), or the rule was no longer due once the lease
    /// was taken ([`dirsync_engine::Error::NotDue`]). Not a failure.
    pub fn is_another_schedulers(&self) -> bool {
        matches!(
            self.result,
            Err(Error::Engine(dirsync_engine::Error::NotDue { .. })
                | Error::Store(dirsync_store::Error::Leased { .. }))
        )
    }
}

impl Service {
    /// Adds a rule to an integration and returns it.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad rule; a store error.
    pub async fn add_rule(&self, id: IntegrationId, rule: NewRule) -> Result<SyncRule, Error> {
        let mut any = self.store.integration(id).await?;
        let now = self.clock.now();
        // Groups provisioned from an integration: an inbound one of this directory.
        if let Some(GroupSource::AllOf(of)) = rule.provision_groups.as_ref().map(|g| &g.source) {
            let source = self.store.integration(*of).await?;
            if source.direction() != dirsync_core::DirectionKind::Inbound {
                return Err(Error::Invalid(dirsync_core::Error::InvalidValue {
                    kind: "rule",
                    value: rule.name,
                    reason: format!(
                        "groups are provisioned from an inbound integration; {of} is not one"
                    ),
                }));
            }
        }
        // A rule with more than one purpose is made as asked and refused by the integration.
        let (assignment, users, groups) =
            (rule.assignment, rule.provision_users, rule.provision_groups);
        let mut made = match (&assignment, &users, &groups) {
            (Some(a), _, _) => SyncRule::assigning(rule.name, a.clone(), rule.trigger, now),
            (None, Some(p), _) => {
                SyncRule::provisioning_users(rule.name, p.clone(), rule.trigger, now)
            }
            (None, None, Some(g)) => {
                SyncRule::provisioning_groups(rule.name, g.clone(), rule.trigger, now)
            }
            (None, None, None) => {
                SyncRule::new(rule.name, rule.kinds, rule.scope, rule.trigger, now)
            }
        };
        made.assignment = assignment;
        made.provision_users = users;
        made.provision_groups = groups;
        let rule = made;
        let kind = self.registry.get(any.settings().system())?;
        let kinds = |any: &dirsync_core::AnyIntegration| {
            synced_kinds(
                kind.as_ref(),
                any.direction(),
                any.settings(),
                &any.record().rules,
            )
        };
        let before = kinds(&any)?;
        any.add_rule(rule.clone())?;
        // A rule of an active integration that syncs kinds it did not (and so may need new
        // scopes) is verified now: a missing scope refuses the rule, naming it, and the
        // integration stays as it was; the scopes granted are recorded with the authorization.
        if *any.state() == IntegrationState::Active {
            let after = kinds(&any)?;
            if after.iter().any(|k| !before.contains(k)) {
                let authorization = self.verify(&any, any.settings()).await?;
                let settings = any.settings().clone();
                any.reauthorize(settings, authorization)?;
            }
        }
        self.store.save_integration(&any).await?;
        Ok(rule)
    }

    /// The integration's rules, in the order they were added.
    ///
    /// # Errors
    /// A store error.
    pub async fn rules(&self, id: IntegrationId) -> Result<Vec<SyncRule>, Error> {
        Ok(self.store.integration(id).await?.record().rules.clone())
    }

    /// Removes a rule and returns it.
    ///
    /// # Errors
    /// [`Error::UnknownRule`]; a store error.
    pub async fn remove_rule(&self, id: IntegrationId, rule: RuleId) -> Result<SyncRule, Error> {
        let mut any = self.store.integration(id).await?;
        let removed = any.remove_rule(rule).map_err(|_| Error::UnknownRule {
            integration: id,
            rule,
        })?;
        self.store.save_integration(&any).await?;
        Ok(removed)
    }

    /// Runs one rule now, manual or scheduled, and returns the run's record.
    ///
    /// # Errors
    /// [`Error::UnknownRule`]; otherwise as [`Service::sync`].
    pub async fn run_rule(
        &self,
        id: IntegrationId,
        rule: RuleId,
        progress: &dyn ProgressSink,
    ) -> Result<SyncRun, Error> {
        let any = self.store.integration(id).await?;
        if any.record().rules.iter().all(|r| r.id != rule) {
            return Err(Error::UnknownRule {
                integration: id,
                rule,
            });
        }
        self.run(id, Some(rule), progress).await
    }

    /// Runs every scheduled rule that is due at `now` on every active integration — never a
    /// manual rule, never a rule of a staged, inactive or failed integration. Integrations run
    /// concurrently (see [`Service::with_concurrency`]); the rules of one integration run one
    /// after the other. For cron: call it every few minutes. Several schedulers may share one
    /// store (PostgreSQL): each due rule runs once — the others find its integration leased
    /// ([`dirsync_store::Error::Leased`]) or, once they hold the lease, the rule no longer due
    /// ([`dirsync_engine::Error::NotDue`]) — and a rule whose run died with its scheduler runs
    /// again once the dead run's lease expires.
    ///
    /// # Errors
    /// Only when the integrations cannot be listed; each rule's own result is in its
    /// [`DueRun`].
    pub async fn run_due(
        &self,
        now: DateTime<Utc>,
        progress: &dyn ProgressSink,
    ) -> Result<Vec<DueRun>, Error> {
        let due: Vec<(IntegrationId, Vec<RuleId>)> = self
            .store
            .integrations()
            .await?
            .iter()
            .map(|any| {
                let rules = any.due_rules(now).iter().map(|r| r.id).collect::<Vec<_>>();
                (any.id(), rules)
            })
            .filter(|(_, rules)| !rules.is_empty())
            .collect();
        let per_integration = futures::stream::iter(due)
            .map(|(integration, rules)| async move {
                let mut runs = Vec::with_capacity(rules.len());
                for rule in rules {
                    let due = DueRun {
                        integration,
                        rule,
                        result: self.run_scheduled(integration, rule, now, progress).await,
                    };
                    if due.is_another_schedulers() {
                        tracing::debug!(%integration, %rule, "another scheduler runs or ran the rule");
                    } else if let Err(e) = &due.result {
                        tracing::warn!(%integration, %rule, error = %e, "scheduled rule did not run");
                    }
                    runs.push(due);
                }
                runs
            })
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>()
            .await;
        Ok(per_integration.into_iter().flatten().collect())
    }
}
