//! The write side: [`RemoteChanges`] applied with `members.insert`, `members.patch` and
//! `members.delete` (reference §0.13, §0.15, §3 members, §4.2), and the provisioning writes of
//! users, groups and org units (`write_users.rs`, `write_groups.rs`): exactly the operations of
//! [`supported_operations`]; any other is refused by the engine before anything is applied.
//!
//! - `POST /admin/directory/v1/groups/{groupKey}/members` with `{"email": …, "role": …}`,
//!   `PATCH /admin/directory/v1/groups/{groupKey}/members/{memberKey}` with `{"role": …}` and
//!   `DELETE /admin/directory/v1/groups/{groupKey}/members/{memberKey}` (any 2xx, body ignored);
//!   `groupKey` is the group's immutable id, `memberKey` the member's email; both are
//!   percent-encoded. Setting a role has no "already done": patching a non-member fails.
//! - Idempotent: 409 `duplicate` on an insert and 404 `notFound` naming `memberKey` on a delete
//!   are [`RemoteOpOutcome::AlreadyDone`]; a 404 naming `groupKey` is a per-operation failure.
//!   When an earlier attempt of the same call may have been applied unseen (no response: a
//!   timeout or a dropped connection; or a gateway's 502/504) and the retry then answers 409/404,
//!   the outcome is [`RemoteOpOutcome::Done`]: our own first attempt most likely wrote it (so an
//!   engine that records ownership of what it wrote keeps it). After any other error answer
//!   (429, 403 rate limits, 500, 503: not applied) a 409/404 is
//!   [`RemoteOpOutcome::AlreadyDone`]: someone else made the change, and it is not ours.
//! - Tokens for `admin.directory.group.member` (and the provisioning scopes), the same retry
//!   policy and pacer as reads, and at most [`WRITE_CONCURRENCY`] writes in flight, phase by
//!   phase: org units (parents first), users, groups, members, group deletions. Operations on
//!   the same (group, member) run in their given order; different ones run concurrently. After
//!   an operation on a (group, member) fails, the later ones on it are not attempted (they
//!   would act on a state we do not know).
//! - A configuration failure ([`Error::is_configuration`]: 401 twice, 403 `forbidden` or
//!   `insufficientPermissions`, a refused or unavailable token) stops the whole apply with an
//!   error; every other failure after retries is [`RemoteOpOutcome::Failed`] for its operation
//!   and the others go on.

use std::collections::HashMap;
use std::time::Instant;

use dirsync_core::{
    ExternalId, MemberRole, RemoteApplyReport, RemoteChanges, RemoteOp, RemoteOpKind,
    RemoteOpKinds, RemoteOpOutcome, Scope,
};
use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::json;

use crate::GoogleConnector;
use crate::client::ApiRequest;
use crate::counters::Counters;
use crate::error::Error;
use crate::settings::scopes;

/// Routes, as recorded in [`RemoteApplyReport::stats`].
pub(crate) mod routes {
    /// members.insert
    pub(crate) const INSERT_MEMBER: &str = "POST /admin/directory/v1/groups/{groupKey}/members";
    /// members.delete
    pub(crate) const DELETE_MEMBER: &str =
        "DELETE /admin/directory/v1/groups/{groupKey}/members/{memberKey}";
    /// members.patch
    pub(crate) const PATCH_MEMBER: &str =
        "PATCH /admin/directory/v1/groups/{groupKey}/members/{memberKey}";
}

/// The operations the Google connector applies: inserting and deleting members and setting a
/// member's role; creating, updating, suspending, reactivating and deleting users; creating,
/// updating and deleting groups; creating org units.
pub(crate) fn supported_operations() -> RemoteOpKinds {
    RemoteOpKinds::new([
        RemoteOpKind::InsertMember,
        RemoteOpKind::DeleteMember,
        RemoteOpKind::SetMemberRole,
        RemoteOpKind::CreateUser,
        RemoteOpKind::UpdateUser,
        RemoteOpKind::SuspendUser,
        RemoteOpKind::ReactivateUser,
        RemoteOpKind::DeleteUser,
        RemoteOpKind::CreateGroup,
        RemoteOpKind::UpdateGroup,
        RemoteOpKind::DeleteGroup,
        RemoteOpKind::CreateOrgUnit,
    ])
}

/// The most writes in flight at once (or the connector's concurrency, if lower): Google
/// counts writes against a per-user quota and answers concurrent writes to one group with
/// transient errors, so writes are kept to fewer than reads.
pub(crate) const WRITE_CONCURRENCY: usize = 8;

/// When `op` runs: org units by depth (parents first), then users, then groups, then members,
/// then group deletions. Operations of one phase run concurrently (up to the connector's
/// concurrency); a phase starts when the one before it has finished.
fn phase(op: &RemoteOp) -> usize {
    match op {
        RemoteOp::CreateOrgUnit { fields } => fields.path.segments().count(),
        RemoteOp::CreateUser { .. }
        | RemoteOp::UpdateUser { .. }
        | RemoteOp::SuspendUser { .. }
        | RemoteOp::ReactivateUser { .. }
        | RemoteOp::DeleteUser { .. } => 1_000,
        RemoteOp::CreateGroup { .. } | RemoteOp::UpdateGroup { .. } => 2_000,
        RemoteOp::DeleteGroup { .. } => 4_000,
        _ => 3_000,
    }
}

/// Google's role name.
fn role_name(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Owner => "OWNER",
        MemberRole::Manager => "MANAGER",
        MemberRole::Member => "MEMBER",
    }
}

/// Whether a delete's answer is 404 `notFound`: the group or the member is missing, which only
/// a read of the group can tell (Google's message names the key, but that is human text).
fn is_not_found(answer: &Result<(), Error>) -> bool {
    matches!(
        answer,
        Err(Error::Http {
            status: Some(404),
            reason: Some(reason),
            ..
        }) if reason == "notFound"
    )
}

/// What one operation's final answer means (pure). `uncertain`: an earlier attempt may have been
/// applied unseen. `group_exists`: for a delete answered 404 `notFound`, whether a read of the
/// group found it (then the member is what is missing: already done); `false` otherwise.
///
/// # Errors
/// The failure itself when it stops the whole apply (see the module documentation).
pub(crate) fn outcome(
    op: &RemoteOp,
    answer: Result<(), Error>,
    uncertain: bool,
    group_exists: bool,
) -> Result<RemoteOpOutcome, Error> {
    let e = match answer {
        Ok(()) => return Ok(RemoteOpOutcome::Done),
        Err(e) if e.is_configuration() || matches!(e, Error::Token { .. }) => return Err(e),
        Err(e) => e,
    };
    let already = match (&e, op) {
        (
            Error::Http {
                status: Some(409),
                reason: Some(reason),
                ..
            },
            RemoteOp::InsertMember { .. },
        ) => reason == "duplicate",
        (
            Error::Http {
                status: Some(404),
                reason: Some(reason),
                ..
            },
            RemoteOp::DeleteMember { .. },
        ) => reason == "notFound" && group_exists,
        (
            Error::Http {
                status: Some(409),
                reason: Some(reason),
                ..
            },
            RemoteOp::CreateOrgUnit { .. },
        ) => reason == "duplicate",
        (
            Error::Http {
                status: Some(404),
                reason: Some(reason),
                ..
            },
            RemoteOp::DeleteUser { .. } | RemoteOp::DeleteGroup { .. },
        ) => reason == "notFound",
        (
            Error::Http {
                status: Some(409),
                reason: Some(reason),
                ..
            },
            RemoteOp::CreateGroup { .. },
        ) => reason == "duplicate",
        _ => false,
    };
    Ok(match (already, uncertain) {
        (true, true) => RemoteOpOutcome::Done,
        (true, false) => RemoteOpOutcome::AlreadyDone,
        (false, _) => RemoteOpOutcome::Failed {
            reason: e.to_string(),
        },
    })
}

/// Whether an answer is 409 `duplicate`.
fn is_duplicate(answer: &Result<(), Error>) -> bool {
    matches!(
        answer,
        Err(Error::Http {
            status: Some(409),
            reason: Some(reason),
            ..
        }) if reason == "duplicate"
    )
}

/// The outcome of the operations after a failed one on the same (group, member).
fn skipped(index: usize) -> RemoteOpOutcome {
    RemoteOpOutcome::Failed {
        reason: format!(
            "not attempted: operation {index} on the same group member failed before it"
        ),
    }
}

impl GoogleConnector {
    /// The request for `op`; `None` for an operation this connector does not support, which
    /// then fails alone.
    fn write_request(&self, op: &RemoteOp, scope: &Scope) -> Result<Option<ApiRequest>, Error> {
        Ok(Some(match op {
            RemoteOp::InsertMember {
                group,
                member,
                role,
            } => ApiRequest::new(
                &self.api_base,
                routes::INSERT_MEMBER,
                &["groups", group.as_str(), "members"],
                &[],
                scope,
            )?
            .with_method(
                reqwest::Method::POST,
                Some(json!({"email": member.as_str(), "role": role_name(*role)})),
            ),
            RemoteOp::DeleteMember { group, member } => ApiRequest::new(
                &self.api_base,
                routes::DELETE_MEMBER,
                &["groups", group.as_str(), "members", member.as_str()],
                &[],
                scope,
            )?
            .with_method(reqwest::Method::DELETE, None),
            RemoteOp::SetMemberRole {
                group,
                member,
                role,
            } => ApiRequest::new(
                &self.api_base,
                routes::PATCH_MEMBER,
                &["groups", group.as_str(), "members", member.as_str()],
                &[],
                scope,
            )?
            .with_method(
                reqwest::Method::PATCH,
                Some(json!({"role": role_name(*role)})),
            ),
            other => return self.provisioning_request(other),
        }))
    }

    /// Whether the group exists, by `groups.get`: 200 yes, 404 `notFound` no.
    ///
    /// # Errors
    /// Any other failure of the read.
    async fn group_exists(&self, group: &ExternalId, counters: &Counters) -> Result<bool, Error> {
        let scope = Scope::new(scopes::GROUP_READONLY)?;
        let req = ApiRequest::new(
            &self.api_base,
            crate::fetch::routes::GROUP,
            &["groups", group.as_str()],
            &[("fields", "id")],
            &scope,
        )?;
        let answer = self.client.send(&req, counters).await.map(drop);
        if is_not_found(&answer) {
            return Ok(false);
        }
        answer.map(|()| true)
    }

    /// Applies one (group, member)'s operations in order; stops attempting after a failure.
    async fn apply_chain(
        &self,
        ops: &[RemoteOp],
        chain: Vec<usize>,
        scope: &Scope,
        counters: &Counters,
    ) -> Result<Vec<(usize, RemoteOpOutcome)>, Error> {
        let mut out = Vec::with_capacity(chain.len());
        let mut failed: Option<usize> = None;
        for i in chain {
            let Some(op) = ops.get(i) else { continue };
            if let Some(first) = failed {
                out.push((i, skipped(first)));
                continue;
            }
            let Some(req) = self.write_request(op, scope)? else {
                out.push((
                    i,
                    RemoteOpOutcome::Failed {
                        reason: "not supported by the Google connector".to_owned(),
                    },
                ));
                failed = Some(i);
                continue;
            };
            let mut uncertain = false;
            let answer = self
                .client
                .send_traced(&req, counters, &mut uncertain)
                .await
                .map(drop);
            let group_exists = match op {
                RemoteOp::DeleteMember { group, .. } if is_not_found(&answer) => {
                    self.group_exists(group, counters).await?
                }
                _ => false,
            };
            let result = match op {
                RemoteOp::CreateUser { fields } if is_duplicate(&answer) => {
                    // Ours (an insert whose answer was lost) only if it carries our marker.
                    let marker = self.account_marker(&fields.primary_email, counters).await?;
                    if marker.is_some() && marker == fields.marker {
                        RemoteOpOutcome::Done
                    } else {
                        RemoteOpOutcome::Failed {
                            reason: "an account with this email exists and is not ours".to_owned(),
                        }
                    }
                }
                _ => outcome(op, answer, uncertain, group_exists)?,
            };
            match &result {
                RemoteOpOutcome::Failed { reason } => {
                    tracing::warn!(route = req.route, op = i, %reason, "write failed");
                    failed = Some(i);
                }
                done => tracing::debug!(route = req.route, op = i, ?done, "write"),
            }
            out.push((i, result));
        }
        Ok(out)
    }

    /// Applies `changes` (see the module documentation).
    pub(crate) async fn apply_changes(
        &self,
        changes: &RemoteChanges,
    ) -> Result<RemoteApplyReport, Error> {
        let started = Instant::now();
        let ops = changes.ops();
        if ops.is_empty() {
            return Ok(RemoteApplyReport::default());
        }
        let scope = Scope::new(scopes::GROUP_MEMBER)?;
        let counters = Counters::default();
        // One token per scope the operations need before any write: a scope that is not
        // delegated stops here, having written nothing.
        let mut needed: Vec<&str> = ops
            .iter()
            .map(|op| crate::write_users::scope_name(op).unwrap_or(scopes::GROUP_MEMBER))
            .collect();
        needed.sort_unstable();
        needed.dedup();
        for name in needed {
            self.client.token(&Scope::new(name)?, &counters).await?;
        }
        // Chains: one per (group, member) for member operations, one per user, one per org
        // unit; grouped by phase.
        let mut phases: std::collections::BTreeMap<usize, Vec<Vec<usize>>> =
            std::collections::BTreeMap::new();
        let mut by_key: HashMap<(usize, String, String), (usize, usize)> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            let key = match op {
                RemoteOp::InsertMember { group, member, .. }
                | RemoteOp::DeleteMember { group, member }
                | RemoteOp::SetMemberRole { group, member, .. } => {
                    Some((group.as_str().to_owned(), member.key()))
                }
                RemoteOp::UpdateUser { user, .. }
                | RemoteOp::SuspendUser { user }
                | RemoteOp::ReactivateUser { user }
                | RemoteOp::DeleteUser { user } => Some(("user".to_owned(), user.to_string())),
                // A create, or an operation this connector does not know: its own chain.
                _ => None,
            };
            let p = phase(op);
            let chains = phases.entry(p).or_default();
            match key {
                None => chains.push(vec![i]),
                Some((a, b)) => {
                    let (_, slot) = *by_key.entry((p, a, b)).or_insert_with(|| {
                        chains.push(Vec::new());
                        (p, chains.len() - 1)
                    });
                    if let Some(chain) = chains.get_mut(slot) {
                        chain.push(i);
                    }
                }
            }
        }
        let (scope, counters_ref) = (&scope, &counters);
        let mut done: Vec<Vec<(usize, RemoteOpOutcome)>> = Vec::new();
        for (_, chains) in phases {
            let finished: Vec<Vec<(usize, RemoteOpOutcome)>> = futures::stream::iter(chains)
                .map(|chain| self.apply_chain(ops, chain, scope, counters_ref))
                .buffer_unordered(self.concurrency.clamp(1, WRITE_CONCURRENCY))
                .try_collect()
                .await?;
            done.extend(finished);
        }
        let mut outcomes: Vec<Option<RemoteOpOutcome>> = vec![None; ops.len()];
        for (i, o) in done.into_iter().flatten() {
            if let Some(slot) = outcomes.get_mut(i) {
                *slot = Some(o);
            }
        }
        let outcomes: Vec<RemoteOpOutcome> = outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| RemoteOpOutcome::Failed {
                    reason: "not attempted".to_owned(),
                })
            })
            .collect();
        let stats = counters.stats(started.elapsed());
        let count = |f: fn(&RemoteOpOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
        tracing::info!(
            done = count(|o| matches!(o, RemoteOpOutcome::Done)),
            already_done = count(|o| matches!(o, RemoteOpOutcome::AlreadyDone)),
            failed = count(|o| matches!(o, RemoteOpOutcome::Failed { .. })),
            requests = stats.total_requests(),
            retries = stats.retries,
            "applied remote changes"
        );
        Ok(RemoteApplyReport::new(outcomes, stats))
    }
}

#[cfg(test)]
mod tests {
    use dirsync_core::{AccessDenied, Email};

    use super::*;

    fn http(status: u16, reason: &str, message: &str) -> Error {
        Error::Http {
            route: "r".into(),
            status: Some(status),
            reason: Some(reason.into()),
            message: message.into(),
            transient: false,
        }
    }

    #[test]
    fn every_answer_maps_to_its_outcome() {
        let group = ExternalId::new("03x").unwrap();
        let member = Email::new("a@example.com").unwrap();
        let insert = RemoteOp::InsertMember {
            group: group.clone(),
            member: member.clone(),
            role: MemberRole::Member,
        };
        let delete = RemoteOp::DeleteMember { group, member };
        let failed = |o: &RemoteOpOutcome| matches!(o, RemoteOpOutcome::Failed { .. });
        let decided = |op: &RemoteOp, e: Error, uncertain: bool| {
            outcome(op, Err(e), uncertain, true).unwrap()
        };
        assert_eq!(
            outcome(&insert, Ok(()), false, false).unwrap(),
            RemoteOpOutcome::Done
        );
        let dup = || http(409, "duplicate", "Member already exists.");
        assert_eq!(decided(&insert, dup(), false), RemoteOpOutcome::AlreadyDone);
        assert_eq!(decided(&insert, dup(), true), RemoteOpOutcome::Done);
        let gone = || http(404, "notFound", "Resource Not Found: memberKey");
        assert_eq!(
            decided(&delete, gone(), false),
            RemoteOpOutcome::AlreadyDone
        );
        assert_eq!(decided(&delete, gone(), true), RemoteOpOutcome::Done);
        // The message is never read: a 404 whose text names the member, while a read of the
        // group found none, is a failure; one whose text names the group, while the group
        // exists, is done.
        assert!(failed(
            &outcome(&delete, Err(gone()), false, false).unwrap()
        ));
        let no_group = http(404, "notFound", "Resource Not Found: groupKey");
        assert_eq!(
            decided(&delete, no_group.clone(), false),
            RemoteOpOutcome::AlreadyDone
        );
        assert!(failed(&decided(
            &delete,
            http(404, "other", "memberKey"),
            false
        )));
        // A 409 on a delete, a 404 on an insert, exhausted retries: failed.
        assert!(failed(&decided(&insert, no_group, false)));
        assert!(failed(&decided(&delete, dup(), false)));
        assert!(failed(&decided(&insert, gone(), false)));
        assert!(failed(&decided(
            &insert,
            http(504, "gatewayTimeout", "m"),
            true
        )));
        assert!(failed(&decided(&insert, http(400, "invalid", "m"), false)));
        // Configuration failures stop the apply.
        for e in [
            http(
                403,
                "forbidden",
                "Not Authorized to access this resource/api",
            ),
            Error::Access(AccessDenied::Unauthorized { reason: "x".into() }),
            Error::Access(AccessDenied::MissingScopes { scopes: vec![] }),
            Error::Token {
                message: "t".into(),
                transient: true,
            },
        ] {
            assert_eq!(outcome(&insert, Err(e.clone()), false, false), Err(e));
        }
    }
}
