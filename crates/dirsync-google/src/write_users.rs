//! The provisioning writes: users and org units (reference §3, §4.2); groups are in
//! `write_groups.rs`.
//!
//! - `users.insert` (`POST /admin/directory/v1/users`) with the primary email, the name, the org
//!   unit path, `externalIds` (the employee id as type `organization`; our
//!   [`ProvisioningMarker`] as type `custom`, custom type [`MARKER_TYPE`]), the manager as
//!   `relations[type=manager]`, the employment type as the primary organization's
//!   `description` (what the inbound mapping reads by default), and a random 32-character
//!   password that is never logged, stored or returned, with `changePasswordAtNextLogin`
//!   unless the user signs in only through single sign-on.
//! - `users.patch` with the same fields (no password) for an update (`externalIds` is
//!   replaced whole, so the marker is sent again), and `{"suspended": …}` to suspend or
//!   reactivate; `users.delete`; `orgunits.insert` with the name and the parent's path.
//! - A `users.insert` answered 409 `duplicate` is read back (`users.get` by email): carrying
//!   our marker for the same integration and user, it is our own insert whose answer was lost
//!   (a timeout, a 5xx, a killed run): done. Otherwise it is someone else's account: the
//!   operation fails, nothing is adopted.
//! - `orgunits.insert` answered 409 and `users.delete` answered 404 count as already done.

use dirsync_core::{
    Email, EmploymentType, MARKER_TYPE, ProvisioningMarker, RemoteOp, Scope, UserFields,
};
use rand::distr::{Alphanumeric, SampleString as _};
use serde_json::{Value, json};

use crate::GoogleConnector;
use crate::client::ApiRequest;
use crate::counters::Counters;
use crate::error::Error;
use crate::settings::scopes;

/// Routes, as recorded in [`dirsync_core::RemoteApplyReport::stats`].
pub(crate) mod routes {
    /// users.insert
    pub(crate) const INSERT_USER: &str = "POST /admin/directory/v1/users";
    /// users.patch
    pub(crate) const PATCH_USER: &str = "PATCH /admin/directory/v1/users/{userKey}";
    /// users.delete
    pub(crate) const DELETE_USER: &str = "DELETE /admin/directory/v1/users/{userKey}";
    /// users.get (reading back an account that already exists)
    pub(crate) const GET_USER: &str = "GET /admin/directory/v1/users/{userKey}";
    /// orgunits.insert
    pub(crate) const INSERT_ORG_UNIT: &str =
        "POST /admin/directory/v1/customer/{customerId}/orgunits";
}

/// The scope that authorizes `op`; `None` for the member operations (see `write.rs`).
pub(crate) fn scope_name(op: &RemoteOp) -> Option<&'static str> {
    match op {
        RemoteOp::CreateUser { .. }
        | RemoteOp::UpdateUser { .. }
        | RemoteOp::SuspendUser { .. }
        | RemoteOp::ReactivateUser { .. }
        | RemoteOp::DeleteUser { .. } => Some(scopes::USER),
        RemoteOp::CreateOrgUnit { .. } => Some(scopes::ORGUNIT),
        RemoteOp::CreateGroup { .. }
        | RemoteOp::UpdateGroup { .. }
        | RemoteOp::DeleteGroup { .. } => Some(scopes::GROUP),
        _ => None,
    }
}

/// A random initial password: 32 letters and digits (about 190 bits), which nobody is told.
fn random_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// The `User` body of a create (with `password`) or an update.
pub(crate) fn user_body(fields: &UserFields, password: Option<String>) -> Value {
    let mut ids: Vec<Value> = fields
        .employee_id
        .iter()
        .map(|e| json!({"type": "organization", "value": e}))
        .collect();
    ids.extend(
        fields
            .marker
            .iter()
            .map(|m| json!({"type": "custom", "customType": MARKER_TYPE, "value": m.value()})),
    );
    let relations: Vec<Value> = fields
        .manager_email
        .iter()
        .map(|m| json!({"type": "manager", "value": m.as_str()}))
        .collect();
    let mut body = json!({
        "primaryEmail": fields.primary_email.as_str(),
        "name": {"givenName": fields.name.given, "familyName": fields.name.family},
        "orgUnitPath": fields.org_unit.as_ref().map_or("/", |o| o.as_str()),
        "externalIds": ids,
        "relations": relations,
    });
    if let (Some(kind), Value::Object(m)) = (fields.employment_type, &mut body) {
        let description = match kind {
            EmploymentType::Contractor => "contractor",
            _ => "employee",
        };
        m.insert(
            "organizations".into(),
            json!([{"primary": true, "description": description}]),
        );
    }
    if let (Some(password), Value::Object(m)) = (password, &mut body) {
        m.insert("password".into(), Value::String(password));
        m.insert(
            "changePasswordAtNextLogin".into(),
            Value::Bool(!fields.sso_only),
        );
    }
    body
}

impl GoogleConnector {
    /// The request for a user, group or org-unit operation; `None` for any other.
    pub(crate) fn provisioning_request(&self, op: &RemoteOp) -> Result<Option<ApiRequest>, Error> {
        let Some(scope) = scope_name(op) else {
            return Ok(None);
        };
        let scope = Scope::new(scope)?;
        if let Some(req) = self.group_request(op, &scope)? {
            return Ok(Some(req));
        }
        let base = &self.api_base;
        let patch = |user: &str, body: Value| -> Result<ApiRequest, Error> {
            Ok(
                ApiRequest::new(base, routes::PATCH_USER, &["users", user], &[], &scope)?
                    .with_method(reqwest::Method::PATCH, Some(body)),
            )
        };
        Ok(Some(match op {
            RemoteOp::CreateUser { fields } => {
                ApiRequest::new(base, routes::INSERT_USER, &["users"], &[], &scope)?.with_method(
                    reqwest::Method::POST,
                    Some(user_body(fields, Some(random_password()))),
                )
            }
            RemoteOp::UpdateUser { user, fields } => patch(user.as_str(), user_body(fields, None))?,
            RemoteOp::SuspendUser { user } => patch(user.as_str(), json!({"suspended": true}))?,
            RemoteOp::ReactivateUser { user } => patch(user.as_str(), json!({"suspended": false}))?,
            RemoteOp::DeleteUser { user } => ApiRequest::new(
                base,
                routes::DELETE_USER,
                &["users", user.as_str()],
                &[],
                &scope,
            )?
            .with_method(reqwest::Method::DELETE, None),
            RemoteOp::CreateOrgUnit { fields } => {
                let parent = fields
                    .path
                    .parent()
                    .map_or_else(|| "/".to_owned(), |p| p.to_string());
                ApiRequest::new(
                    base,
                    routes::INSERT_ORG_UNIT,
                    &["customer", self.customer.as_str(), "orgunits"],
                    &[],
                    &scope,
                )?
                .with_method(
                    reqwest::Method::POST,
                    Some(json!({
                        "name": fields.path.name(),
                        "parentOrgUnitPath": parent,
                        "description": fields.description,
                    })),
                )
            }
            _ => return Ok(None),
        }))
    }

    /// The marker the account with this email carries (`users.get`), if any.
    ///
    /// # Errors
    /// Any failure of the read (a missing account is `notFound`).
    pub(crate) async fn account_marker(
        &self,
        email: &Email,
        counters: &Counters,
    ) -> Result<Option<ProvisioningMarker>, Error> {
        let scope = Scope::new(scopes::USER)?;
        let req = ApiRequest::new(
            &self.api_base,
            routes::GET_USER,
            &["users", email.as_str()],
            &[("fields", "id,externalIds")],
            &scope,
        )?;
        let account = self.client.get_json(&req, counters).await?;
        Ok(account
            .get("externalIds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|x| {
                x.get("type").and_then(Value::as_str) == Some("custom")
                    && x.get("customType").and_then(Value::as_str) == Some(MARKER_TYPE)
            })
            .find_map(|x| {
                x.get("value")
                    .and_then(Value::as_str)
                    .and_then(ProvisioningMarker::parse)
            }))
    }
}

#[cfg(test)]
mod tests {
    use dirsync_core::{IntegrationId, OrgUnitPath, PersonName, UserId};

    use super::*;

    #[test]
    fn a_create_carries_the_marker_and_a_random_password_an_update_none()
    -> Result<(), dirsync_core::Error> {
        let marker = ProvisioningMarker::created(IntegrationId::random(), UserId::random());
        let fields = UserFields::new(
            Email::new("ada@example.com")?,
            PersonName {
                given: "Ada".into(),
                family: "Lovelace".into(),
                display: String::new(),
            },
        )
        .with_org_unit(OrgUnitPath::new("/Eng")?)
        .with_employee_id("E-1")
        .with_manager(Email::new("boss@example.com")?)
        .with_employment_type(EmploymentType::Contractor)
        .with_marker(marker)
        .with_sso_only(true);
        let create = user_body(&fields, Some(random_password()));
        assert_eq!(create["externalIds"][1]["value"], marker.value());
        assert_eq!(create["externalIds"][0]["type"], "organization");
        assert_eq!(create["organizations"][0]["description"], "contractor");
        assert_eq!(create["changePasswordAtNextLogin"], false);
        let password = create["password"].as_str().unwrap_or_default();
        assert_eq!(password.len(), 32);
        assert_ne!(password, random_password());
        let update = user_body(&fields, None);
        assert!(update.get("password").is_none());
        assert!(update.get("changePasswordAtNextLogin").is_none());
        assert_eq!(update["orgUnitPath"], "/Eng");
        Ok(())
    }
}
