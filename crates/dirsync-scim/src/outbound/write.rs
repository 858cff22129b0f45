//! The write side of an outbound client: a plan's operations as SCIM requests, one at a time
//! in the plan's order (accounts before the memberships that name them), each reported.

use async_trait::async_trait;
use dirsync_core::{
    DirectoryTarget, Email, Error as CoreError, ExternalId, GroupTraits, RemoteApplyReport,
    RemoteChanges, RemoteOp, RemoteOpKinds, RemoteOpOutcome, UserFields,
};
use reqwest::Method;
use serde_json::Value;

use super::http::{Request, Try};
use super::{ScimClient, supported_operations, wire};
use crate::error::Error;

fn failed(reason: impl Into<String>) -> RemoteOpOutcome {
    RemoteOpOutcome::Failed {
        reason: reason.into(),
    }
}

/// The most members one PATCH adds.
const MEMBERS_PER_PATCH: usize = 500;

/// What a create resolved to: its outcome and the new (or found) resource's id.
struct Created {
    outcome: RemoteOpOutcome,
    id: Option<String>,
}

impl ScimClient {
    /// The id of the one resource under `path` whose `attribute` is `value`, if there is one.
    async fn find(
        &self,
        route: &'static str,
        path: &str,
        attribute: &str,
        value: &str,
    ) -> Result<Option<String>, Error> {
        let request = Request::new(Method::GET, route, path)
            .query("filter", wire::eq_filter(attribute, value))
            .query("count", "2");
        let answer = self.http.call(&request).await?;
        if !answer.is_success() {
            return Err(Error::Remote {
                route: route.to_owned(),
                status: Some(answer.status),
                message: answer.detail(),
                transient: false,
            });
        }
        let first = answer
            .body
            .get("Resources")
            .and_then(Value::as_array)
            .and_then(|r| r.first());
        Ok(first.and_then(|r| wire::id_of(r).ok()).map(str::to_owned))
    }

    /// `POST path` with `body`, never making a duplicate: after a transient failure (the
    /// application may have stored it and lost the answer) and on `409 uniqueness`, the
    /// resource is first looked for by `attribute eq value` (our marker); found, it is
    /// already done.
    async fn create(
        &self,
        path: &str,
        body: &Value,
        attribute: &str,
        value: &str,
    ) -> Result<Created, Error> {
        let route = if path == "/Users" {
            "POST /Users"
        } else {
            "POST /Groups"
        };
        let find_route = if path == "/Users" {
            "GET /Users?filter"
        } else {
            "GET /Groups?filter"
        };
        let found = |id: Option<String>| {
            id.map(|id| Created {
                outcome: RemoteOpOutcome::AlreadyDone,
                id: Some(id),
            })
        };
        let mut attempt = 1;
        loop {
            let request = Request::new(Method::POST, route, path).body(body);
            match self.http.once(&request).await? {
                Try::Answer(answer) if answer.is_success() => {
                    return Ok(Created {
                        outcome: RemoteOpOutcome::Done,
                        id: wire::id_of(&answer.body).ok().map(str::to_owned),
                    });
                }
                Try::Answer(answer) if answer.status == 409 => {
                    let id = self.find(find_route, path, attribute, value).await?;
                    return Ok(found(id).unwrap_or_else(|| Created {
                        outcome: failed(format!(
                            "the application holds another resource with this name, not \
                             ours ({})",
                            answer.detail()
                        )),
                        id: None,
                    }));
                }
                Try::Answer(answer) => {
                    return Ok(Created {
                        outcome: failed(answer.detail()),
                        id: None,
                    });
                }
                Try::Transient {
                    status,
                    retry_after,
                    message,
                } => {
                    if attempt >= self.http.config().attempts {
                        return Err(Error::Remote {
                            route: route.to_owned(),
                            status,
                            message: format!("{message} (after {attempt} tries)"),
                            transient: true,
                        });
                    }
                    self.http.pause(route, attempt, status, retry_after).await;
                    attempt += 1;
                    if let Some(done) = found(self.find(find_route, path, attribute, value).await?)
                    {
                        return Ok(done);
                    }
                }
            }
        }
    }

    /// The application's id of the user or group with `email`: known from the snapshot or a
    /// write, else asked for by `userName` (users), then by `externalId` (groups).
    async fn member_id(&self, email: &Email) -> Result<Option<String>, Error> {
        if let Some(id) = self.known_id(&email.key()) {
            return Ok(Some(id));
        }
        if self.indexed.load(std::sync::atomic::Ordering::Relaxed) {
            // The index holds the complete snapshot and every write since: not there, not in
            // the application.
            return Ok(None);
        }
        let mut id = self
            .find("GET /Users?filter", "/Users", "userName", email.as_str())
            .await?;
        if id.is_none() {
            id = self
                .find(
                    "GET /Groups?filter",
                    "/Groups",
                    "externalId",
                    email.as_str(),
                )
                .await?;
        }
        if let Some(id) = &id {
            self.remember(email.key(), id.clone());
        }
        Ok(id)
    }

    /// The application's id of a group the plan names: its id, or, for a group created in the
    /// same run, its email (known once the create answered).
    fn group_id(&self, group: &ExternalId) -> String {
        Email::new(group.as_str())
            .ok()
            .and_then(|email| self.known_id(&email.key()))
            .unwrap_or_else(|| group.as_str().to_owned())
    }

    /// The manager's id, when the plan names one the application holds.
    async fn manager_id(&self, fields: &UserFields) -> Result<Option<String>, Error> {
        match &fields.manager_email {
            Some(email) => self.member_id(email).await,
            None => Ok(None),
        }
    }

    /// A request whose answer says it all: 2xx done, 404 `when_missing`, else failed.
    async fn simple(
        &self,
        request: Request<'_>,
        when_missing: RemoteOpOutcome,
    ) -> Result<RemoteOpOutcome, Error> {
        let answer = self.http.call(&request).await?;
        Ok(match answer.status {
            200..=299 => RemoteOpOutcome::Done,
            404 => when_missing,
            _ => failed(answer.detail()),
        })
    }

    /// Adds the members of `inserts` (insertions into `group`) with one PATCH; each member the
    /// application holds no user or group for fails alone.
    async fn add_members(
        &self,
        group: &ExternalId,
        inserts: &[RemoteOp],
    ) -> Result<Vec<RemoteOpOutcome>, Error> {
        let mut outcomes = Vec::with_capacity(inserts.len());
        let mut ids = Vec::new();
        for op in inserts {
            let RemoteOp::InsertMember { member, .. } = op else {
                outcomes.push(Some(failed("not an insertion")));
                continue;
            };
            match self.member_id(member).await? {
                Some(id) => {
                    ids.push(id);
                    outcomes.push(None);
                }
                None => outcomes.push(Some(failed(format!(
                    "the application holds no user or group {member}"
                )))),
            }
        }
        let together = if ids.is_empty() {
            RemoteOpOutcome::Done
        } else {
            let body = wire::add_members(&ids);
            let path = format!("/Groups/{}", self.group_id(group));
            let request = Request::new(Method::PATCH, "PATCH /Groups/{id}", path).body(&body);
            self.simple(request, failed("the application no longer holds it"))
                .await?
        };
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| together.clone()))
            .collect())
    }

    /// Applies one operation. A user created before their manager is noted in `later`, to
    /// get the manager once the whole plan is applied.
    async fn apply_one(
        &self,
        op: &RemoteOp,
        later: &mut Vec<(String, Email)>,
    ) -> Result<RemoteOpOutcome, Error> {
        let gone = || failed("the application no longer holds it");
        let user_path = |id: &ExternalId| format!("/Users/{}", id.as_str());
        let group_path = |id: &ExternalId| format!("/Groups/{}", self.group_id(id));
        Ok(match op {
            RemoteOp::CreateUser { fields } => {
                let Some(marker) = fields.marker else {
                    return Ok(failed("a create without our marker is never sent"));
                };
                let manager = self.manager_id(fields).await?;
                let body = wire::new_user(fields, manager.as_deref());
                let created = self
                    .create("/Users", &body, "externalId", &marker.value())
                    .await?;
                if let Some(id) = created.id {
                    self.remember(fields.primary_email.key(), id.clone());
                    if let (None, Some(email)) = (&manager, &fields.manager_email) {
                        later.push((id, email.clone()));
                    }
                }
                created.outcome
            }
            RemoteOp::UpdateUser { user, fields } => {
                let manager = self.manager_id(fields).await?;
                let body = wire::update_user(fields, manager.as_deref());
                let request =
                    Request::new(Method::PATCH, "PATCH /Users/{id}", user_path(user)).body(&body);
                let outcome = self.simple(request, gone()).await?;
                if outcome == RemoteOpOutcome::Done {
                    // A rename: the old address no longer names this account.
                    self.rename(fields.primary_email.key(), user.as_str());
                }
                outcome
            }
            RemoteOp::SuspendUser { user } | RemoteOp::ReactivateUser { user } => {
                let body = wire::set_active(matches!(op, RemoteOp::ReactivateUser { .. }));
                let request =
                    Request::new(Method::PATCH, "PATCH /Users/{id}", user_path(user)).body(&body);
                self.simple(request, gone()).await?
            }
            RemoteOp::DeleteUser { user } => {
                let request = Request::new(Method::DELETE, "DELETE /Users/{id}", user_path(user));
                self.simple(request, RemoteOpOutcome::AlreadyDone).await?
            }
            RemoteOp::CreateGroup { fields } => {
                let body = wire::new_group(fields);
                let created = self
                    .create("/Groups", &body, "externalId", fields.email.as_str())
                    .await?;
                if let Some(id) = created.id {
                    // The run's member operations name the new group by its email.
                    self.remember(fields.email.key(), id);
                }
                created.outcome
            }
            RemoteOp::UpdateGroup { group, fields } => {
                let body = wire::update_group(fields);
                let request = Request::new(Method::PATCH, "PATCH /Groups/{id}", group_path(group))
                    .body(&body);
                self.simple(request, gone()).await?
            }
            RemoteOp::DeleteGroup { group } => {
                let request =
                    Request::new(Method::DELETE, "DELETE /Groups/{id}", group_path(group));
                self.simple(request, RemoteOpOutcome::AlreadyDone).await?
            }
            RemoteOp::InsertMember { group, member, .. } => {
                let Some(id) = self.member_id(member).await? else {
                    return Ok(failed(format!(
                        "the application holds no user or group {member}"
                    )));
                };
                let body = wire::add_members(&[id]);
                let request = Request::new(Method::PATCH, "PATCH /Groups/{id}", group_path(group))
                    .body(&body);
                self.simple(request, gone()).await?
            }
            RemoteOp::DeleteMember { group, member } => {
                let Some(id) = self.member_id(member).await? else {
                    return Ok(RemoteOpOutcome::AlreadyDone);
                };
                let body = wire::remove_member(&id);
                let request = Request::new(Method::PATCH, "PATCH /Groups/{id}", group_path(group))
                    .body(&body);
                let answer = self.http.call(&request).await?;
                let no_target =
                    answer.body.get("scimType").and_then(Value::as_str) == Some("noTarget");
                match answer.status {
                    200..=299 => RemoteOpOutcome::Done,
                    400 if no_target => RemoteOpOutcome::AlreadyDone,
                    404 => gone(),
                    _ => failed(answer.detail()),
                }
            }
            other => failed(format!("SCIM has no {}", other.kind())),
        })
    }
}

#[async_trait]
impl DirectoryTarget for ScimClient {
    async fn apply(&self, changes: &RemoteChanges) -> Result<RemoteApplyReport, CoreError> {
        let mut outcomes = Vec::with_capacity(changes.ops().len());
        let mut later = Vec::new();
        let ops = changes.ops();
        let mut next = 0;
        while next < ops.len() {
            // Consecutive insertions into one group: one PATCH.
            if let RemoteOp::InsertMember { group, .. } = &ops[next] {
                let run = ops[next..]
                    .iter()
                    .take(MEMBERS_PER_PATCH)
                    .take_while(
                        |op| matches!(op, RemoteOp::InsertMember { group: g, .. } if g == group),
                    )
                    .count();
                if run > 1 {
                    match self.add_members(group, &ops[next..next + run]).await {
                        Ok(done) => outcomes.extend(done),
                        Err(e @ Error::Refused { .. }) => return Err(e.into()),
                        Err(e) => outcomes.extend(std::iter::repeat_n(failed(e.to_string()), run)),
                    }
                    next += run;
                    continue;
                }
            }
            let op = &ops[next];
            next += 1;
            let outcome = match self.apply_one(op, &mut later).await {
                Ok(outcome) => outcome,
                // A refused token refuses every write: stop here.
                Err(e @ Error::Refused { .. }) => return Err(e.into()),
                Err(e) => failed(e.to_string()),
            };
            if let RemoteOpOutcome::Failed { reason } = &outcome {
                tracing::warn!(integration = %self.integration, %op, %reason, "SCIM write failed");
            }
            outcomes.push(outcome);
        }
        // Managers created after their reports (a failure here is left to the next run, which
        // plans the manager as an update).
        for (id, email) in later {
            if let Ok(Some(manager)) = self.member_id(&email).await {
                let body = wire::set_manager(&manager);
                let request =
                    Request::new(Method::PATCH, "PATCH /Users/{id}", format!("/Users/{id}"))
                        .body(&body);
                if let Err(e @ Error::Refused { .. }) = self.http.call(&request).await {
                    return Err(e.into());
                }
            }
        }
        Ok(RemoteApplyReport::new(outcomes, self.take_stats()))
    }

    fn supported_operations(&self) -> RemoteOpKinds {
        supported_operations()
    }

    fn group_traits(&self) -> GroupTraits {
        GroupTraits::NAMES_AND_MEMBERS
    }
}
