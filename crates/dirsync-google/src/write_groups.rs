//! The group provisioning writes (reference §3; Google's `groups.insert`, `groups.patch`,
//! `groups.delete`), with the `admin.directory.group` scope:
//!
//! - `POST /admin/directory/v1/groups` with `{"email", "name", "description"}`;
//! - `PATCH /admin/directory/v1/groups/{groupKey}` with the same three fields;
//! - `DELETE /admin/directory/v1/groups/{groupKey}` (any 2xx, body ignored).
//!
//! `groupKey` is the group's id, or its email for a group this apply has just created (Google
//! accepts either), so that its members can be inserted in the same apply.
//!
//! A `groups.insert` answered 409 `duplicate` after an attempt that may have been applied
//! unseen (a timeout, a dropped connection, a gateway's 502/504) is our own insert: done. A
//! 409 with no such attempt before it is someone else's group (made since the snapshot): already
//! there, not ours. A `groups.delete` answered 404 `notFound` is already done.

use dirsync_core::{GroupFields, RemoteOp, Scope};
use serde_json::{Value, json};

use crate::GoogleConnector;
use crate::client::ApiRequest;
use crate::error::Error;

/// Routes, as recorded in [`dirsync_core::RemoteApplyReport::stats`].
pub(crate) mod routes {
    /// groups.insert
    pub(crate) const INSERT_GROUP: &str = "POST /admin/directory/v1/groups";
    /// groups.patch
    pub(crate) const PATCH_GROUP: &str = "PATCH /admin/directory/v1/groups/{groupKey}";
    /// groups.delete
    pub(crate) const DELETE_GROUP: &str = "DELETE /admin/directory/v1/groups/{groupKey}";
}

/// The `Group` body of an insert or a patch.
fn group_body(fields: &GroupFields) -> Value {
    json!({
        "email": fields.email.as_str(),
        "name": fields.name,
        "description": fields.description,
    })
}

impl GoogleConnector {
    /// The request for a group operation; `None` for any other.
    pub(crate) fn group_request(
        &self,
        op: &RemoteOp,
        scope: &Scope,
    ) -> Result<Option<ApiRequest>, Error> {
        let base = &self.api_base;
        Ok(Some(match op {
            RemoteOp::CreateGroup { fields } => {
                ApiRequest::new(base, routes::INSERT_GROUP, &["groups"], &[], scope)?
                    .with_method(reqwest::Method::POST, Some(group_body(fields)))
            }
            RemoteOp::UpdateGroup { group, fields } => ApiRequest::new(
                base,
                routes::PATCH_GROUP,
                &["groups", group.as_str()],
                &[],
                scope,
            )?
            .with_method(reqwest::Method::PATCH, Some(group_body(fields))),
            RemoteOp::DeleteGroup { group } => ApiRequest::new(
                base,
                routes::DELETE_GROUP,
                &["groups", group.as_str()],
                &[],
                scope,
            )?
            .with_method(reqwest::Method::DELETE, None),
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use dirsync_core::Email;

    use super::*;

    #[test]
    fn a_group_body_carries_its_three_fields() -> Result<(), dirsync_core::Error> {
        let body = group_body(&GroupFields::new(
            Email::new("team@example.com")?,
            "Team",
            "",
        ));
        assert_eq!(
            body,
            json!({"email": "team@example.com", "name": "Team", "description": ""})
        );
        Ok(())
    }
}
