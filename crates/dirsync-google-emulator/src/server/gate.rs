//! The authorization gate: which scopes a method needs, then authentication, scope, subject,
//! quota and injected faults, in Google's order; and the write faults.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};

use super::paging::page_of;
use super::response::ApiError;
use super::{Shared, lock, read};
use crate::auth::{SCOPE_PREFIX, TokenInfo};
use crate::faults::Injected;

/// Which scopes authorize a method (reference §7).
#[derive(Debug, Clone, Copy)]
pub(super) enum Op {
    UsersList,
    UsersGet,
    GroupsRead,
    GroupsWrite,
    MembersRead,
    MembersWrite,
    OrgUnitsRead,
    OrgUnitsWrite,
    UsersWrite,
    CustomersGet,
    DomainsRead,
    UsersWatch,
    ChannelsStop,
    ReportsRead,
}

impl Op {
    pub(super) fn scopes(self) -> &'static [&'static str] {
        match self {
            Op::UsersList => &[
                "admin.directory.user",
                "admin.directory.user.readonly",
                "cloud-platform",
            ],
            Op::UsersGet => &["admin.directory.user", "admin.directory.user.readonly"],
            Op::GroupsRead => &["admin.directory.group", "admin.directory.group.readonly"],
            Op::GroupsWrite => &["admin.directory.group"],
            Op::MembersRead => &[
                "admin.directory.group",
                "admin.directory.group.readonly",
                "admin.directory.group.member",
                "admin.directory.group.member.readonly",
            ],
            Op::MembersWrite => &["admin.directory.group", "admin.directory.group.member"],
            Op::OrgUnitsRead => &[
                "admin.directory.orgunit",
                "admin.directory.orgunit.readonly",
            ],
            Op::OrgUnitsWrite => &["admin.directory.orgunit"],
            Op::UsersWrite => &["admin.directory.user"],
            Op::UsersWatch => &[
                "admin.directory.user",
                "admin.directory.user.readonly",
                "cloud-platform",
            ],
            Op::ChannelsStop => &[
                "admin.directory.user",
                "admin.directory.user.readonly",
                "admin.directory.user.alias",
                "admin.directory.user.alias.readonly",
                "cloud-platform",
            ],
            Op::CustomersGet => &[
                "admin.directory.customer",
                "admin.directory.customer.readonly",
            ],
            Op::DomainsRead => &["admin.directory.domain", "admin.directory.domain.readonly"],
            Op::ReportsRead => &["admin.reports.audit.readonly"],
        }
    }
}

impl Shared {
    /// [`Shared::gate`] for a list request: the page the token asks for counts for quota and
    /// faults, and a bad token is reported only after the credentials were checked, as Google
    /// does. Returns the page index and the sort key to continue after.
    pub(super) fn gate_page(
        &self,
        headers: &HeaderMap,
        op: Op,
        route: &str,
        params: &HashMap<String, String>,
        fingerprint: &str,
    ) -> Result<(usize, Option<String>), ApiError> {
        let requested = page_of(params, fingerprint);
        let page = requested.as_ref().map_or(0, |(index, _)| *index);
        self.gate(headers, op, route, page)?;
        requested
    }

    /// Authentication, scope, subject, quota and injected faults — in Google's order.
    pub(super) fn gate(
        &self,
        headers: &HeaderMap,
        op: Op,
        route: &str,
        page: usize,
    ) -> Result<TokenInfo, ApiError> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        let Some(token) = bearer else {
            return Err(
                ApiError::new(401, "required", "Login Required.").at("Authorization", "header")
            );
        };
        let info = lock(&self.auth).lookup(token.trim()).ok_or_else(|| {
            ApiError::new(401, "authError", "Invalid Credentials").at("Authorization", "header")
        })?;
        let allowed = op.scopes();
        let has_scope = info.scopes.iter().any(|s| {
            s.strip_prefix(SCOPE_PREFIX)
                .is_some_and(|s| allowed.contains(&s))
        });
        if !has_scope {
            return Err(ApiError::new(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
            ));
        }
        let Some(subject) = info.subject.clone() else {
            return Err(ApiError::forbidden());
        };
        // A person's consent reaches the Directory API only if that person is an admin.
        if self.require_admin_subject || info.refresh.is_some() {
            let t = read(&self.tenant);
            match t.user(&subject) {
                Some(u) if u.is_admin && !u.suspended => {}
                _ => return Err(ApiError::forbidden()),
            }
        }
        let decided = lock(&self.faults).decide(&subject, route, page);
        if let Some(f) = decided {
            let mut stats = lock(&self.stats);
            let err = match f {
                Injected::Quota => {
                    stats.quota_rejections += 1;
                    ApiError::new(
                        403,
                        "userRateLimitExceeded",
                        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com'.",
                    )
                }
                Injected::Page(s) | Injected::Transient(s) => {
                    stats.errors_injected += 1;
                    ApiError::injected(s)
                }
            };
            return Err(err);
        }
        Ok(info)
    }
}

impl Shared {
    /// The write faults ([`crate::Faults::failing_groups`], [`crate::Faults::failing_writes`],
    /// the write rates) for a write to `group_key`, after [`Shared::gate`]: `Err` to answer
    /// now, `Ok(true)` to apply and then lose the answer.
    pub(super) fn gate_write(&self, group_key: &str) -> Result<bool, ApiError> {
        let keys: Vec<String> = {
            let t = read(&self.tenant);
            match t.group(group_key) {
                Some(g) => vec![g.id.clone(), g.email.clone(), group_key.to_owned()],
                None => vec![group_key.to_owned()],
            }
        };
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.write_fault(&keys)
    }
}
