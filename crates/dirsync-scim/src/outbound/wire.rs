//! What an outbound client writes and reads: a plan's [`UserFields`] and [`GroupFields`] as
//! SCIM resources and PATCH bodies, and the application's resources as the snapshot's
//! [`RemoteUser`] and [`RemoteGroup`].

use std::collections::HashMap;

use dirsync_core::{
    Email, EmploymentType, ExternalId, GroupFields, PersonName, ProvisioningMarker, RemoteGroup,
    RemoteUser, UserFields,
};
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::mapping::{group_email, user_email};
use crate::schema::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA};

fn text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

fn user_type(kind: EmploymentType) -> &'static str {
    match kind {
        EmploymentType::Contractor => "Contractor",
        _ => "Employee",
    }
}

fn display_name(name: &PersonName) -> String {
    if name.display.trim().is_empty() {
        format!("{} {}", name.given, name.family).trim().to_owned()
    } else {
        name.display.clone()
    }
}

/// The attributes a create and an update both set: `userName` and the primary work email
/// (the address), `externalId` (the marker), the name.
fn core_attributes(fields: &UserFields) -> Map<String, Value> {
    let email = fields.primary_email.as_str();
    let mut map = Map::new();
    map.insert("userName".to_owned(), json!(email));
    if let Some(marker) = fields.marker {
        map.insert("externalId".to_owned(), json!(marker.value()));
    }
    map.insert(
        "name".to_owned(),
        json!({"givenName": fields.name.given, "familyName": fields.name.family}),
    );
    map.insert("displayName".to_owned(), json!(display_name(&fields.name)));
    map.insert(
        "emails".to_owned(),
        json!([{"value": email, "type": "work", "primary": true}]),
    );
    map
}

/// The body of `POST /Users`: the user active, with the enterprise extension when there is an
/// employee number or a manager (`manager_id`: the manager's id in the application).
pub(crate) fn new_user(fields: &UserFields, manager_id: Option<&str>) -> Value {
    let mut map = core_attributes(fields);
    map.insert("active".to_owned(), json!(true));
    if let Some(kind) = fields.employment_type {
        map.insert("userType".to_owned(), json!(user_type(kind)));
    }
    let mut enterprise = Map::new();
    if let Some(n) = &fields.employee_id {
        enterprise.insert("employeeNumber".to_owned(), json!(n));
    }
    if let Some(id) = manager_id {
        enterprise.insert("manager".to_owned(), json!({"value": id}));
    }
    let mut schemas = vec![json!(USER_SCHEMA)];
    if !enterprise.is_empty() {
        schemas.push(json!(ENTERPRISE_SCHEMA));
        map.insert(ENTERPRISE_SCHEMA.to_owned(), Value::Object(enterprise));
    }
    map.insert("schemas".to_owned(), Value::Array(schemas));
    Value::Object(map)
}

/// A `PatchOp` body of `operations`.
pub(crate) fn patch(operations: Vec<Value>) -> Value {
    json!({"schemas": [PATCH_SCHEMA], "Operations": operations})
}

/// The PATCH that makes a user hold `fields`: the core attributes replaced, the employee
/// number and the manager replaced or removed (an absent one is cleared), `userType` set when
/// the plan has one.
pub(crate) fn update_user(fields: &UserFields, manager_id: Option<&str>) -> Value {
    let mut value = core_attributes(fields);
    if let Some(kind) = fields.employment_type {
        value.insert("userType".to_owned(), json!(user_type(kind)));
    }
    let mut ops = vec![json!({"op": "replace", "value": value})];
    let employee = format!("{ENTERPRISE_SCHEMA}:employeeNumber");
    ops.push(match &fields.employee_id {
        Some(n) => json!({"op": "replace", "path": employee, "value": n}),
        None => json!({"op": "remove", "path": employee}),
    });
    let manager = format!("{ENTERPRISE_SCHEMA}:manager");
    ops.push(match manager_id {
        Some(id) => json!({"op": "replace", "path": manager, "value": {"value": id}}),
        None => json!({"op": "remove", "path": manager}),
    });
    patch(ops)
}

/// The PATCH that sets the manager (by id).
pub(crate) fn set_manager(id: &str) -> Value {
    patch(vec![json!({
        "op": "replace",
        "path": format!("{ENTERPRISE_SCHEMA}:manager"),
        "value": {"value": id},
    })])
}

/// The PATCH that sets `active`.
pub(crate) fn set_active(active: bool) -> Value {
    patch(vec![
        json!({"op": "replace", "path": "active", "value": active}),
    ])
}

/// The body of `POST /Groups`: the name as `displayName`, the address as `externalId` (what
/// the snapshot reads its address from).
pub(crate) fn new_group(fields: &GroupFields) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": fields.name,
        "externalId": fields.email.as_str(),
    })
}

/// The PATCH that makes a group hold `fields`.
pub(crate) fn update_group(fields: &GroupFields) -> Value {
    patch(vec![json!({"op": "replace", "value": {
        "displayName": fields.name,
        "externalId": fields.email.as_str(),
    }})])
}

/// The PATCH that adds the users `ids` to a group.
pub(crate) fn add_members(ids: &[String]) -> Value {
    let value: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    patch(vec![
        json!({"op": "add", "path": "members", "value": value}),
    ])
}

/// The PATCH that removes the user `id` from a group.
pub(crate) fn remove_member(id: &str) -> Value {
    let path = format!("members[value eq {}]", json!(id));
    patch(vec![json!({"op": "remove", "path": path})])
}

/// A filter for one attribute's exact value (`externalId eq "…"`), quoted as JSON.
pub(crate) fn eq_filter(attribute: &str, value: &str) -> String {
    format!("{attribute} eq {}", json!(value))
}

/// A resource's `id`.
pub(crate) fn id_of(resource: &Value) -> Result<&str, Error> {
    text(resource.get("id"))
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Error::InvalidValue("a resource without an id".to_owned()))
}

/// The marker an account's `externalId` carries, when it is one (a value another system wrote
/// is not).
pub(crate) fn marker_of(resource: &Value) -> Option<ProvisioningMarker> {
    text(resource.get("externalId")).and_then(ProvisioningMarker::parse)
}

/// An application's user as the snapshot's account; `emails` gives the manager's address from
/// its id.
pub(crate) fn remote_user(
    resource: &Value,
    emails: &HashMap<String, Email>,
) -> Result<RemoteUser, Error> {
    let id = id_of(resource)?;
    let external_id = ExternalId::new(id).map_err(|e| Error::InvalidValue(e.to_string()))?;
    let mut user = RemoteUser::new(external_id, user_email(id, resource)?);
    let name = resource.get("name");
    user.name = PersonName {
        given: text(name.and_then(|n| n.get("givenName")))
            .unwrap_or_default()
            .to_owned(),
        family: text(name.and_then(|n| n.get("familyName")))
            .unwrap_or_default()
            .to_owned(),
        display: text(resource.get("displayName"))
            .unwrap_or_default()
            .to_owned(),
    };
    // SCIM's `active` defaults to true; a string boolean is read as some applications send it.
    user.suspended = match resource.get("active") {
        Some(Value::Bool(b)) => !b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("false"),
        _ => false,
    };
    let enterprise = resource.get(ENTERPRISE_SCHEMA);
    user.employee_id = text(enterprise.and_then(|e| e.get("employeeNumber")))
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    user.manager_email = text(
        enterprise
            .and_then(|e| e.get("manager"))
            .and_then(|m| m.get("value")),
    )
    .and_then(|m| emails.get(m).cloned());
    user.employment_type = match text(resource.get("userType")) {
        Some(t) if t.eq_ignore_ascii_case("contractor") => Some(EmploymentType::Contractor),
        Some(t) if t.eq_ignore_ascii_case("employee") => Some(EmploymentType::Employee),
        _ => None,
    };
    user.marker = marker_of(resource);
    Ok(user)
}

/// An application's group as the snapshot's group: its address is its `externalId` when that
/// is one (what this client writes), else its `displayName` when that is one, else
/// `<id>@scim.invalid`.
pub(crate) fn remote_group(resource: &Value) -> Result<RemoteGroup, Error> {
    let id = id_of(resource)?;
    let external_id = ExternalId::new(id).map_err(|e| Error::InvalidValue(e.to_string()))?;
    let name = text(resource.get("displayName")).unwrap_or_default();
    let email = [text(resource.get("externalId")), Some(name)]
        .into_iter()
        .flatten()
        .find_map(|v| Email::new(v).ok())
        .map_or_else(|| group_email(id), Ok)?;
    Ok(RemoteGroup {
        external_id,
        email,
        name: name.to_owned(),
        description: String::new(),
        direct_members_count: None,
    })
}

/// The ids of a group's members (`members[].value`).
pub(crate) fn member_ids(resource: &Value) -> Vec<&str> {
    resource
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| text(m.get("value")))
        .collect()
}

#[cfg(test)]
mod tests {
    use dirsync_core::{IntegrationId, UserId};

    use super::*;

    #[test]
    fn a_created_user_reads_back_as_the_same_fields_and_ours()
    -> Result<(), Box<dyn std::error::Error>> {
        let marker = ProvisioningMarker::created(IntegrationId::random(), UserId::random());
        let fields = UserFields::new(
            Email::new("ada@example.com")?,
            PersonName {
                given: "Ada".into(),
                family: "Lovelace".into(),
                display: String::new(),
            },
        )
        .with_employee_id("E-7")
        .with_manager(Email::new("boss@example.com")?)
        .with_employment_type(EmploymentType::Contractor)
        .with_marker(marker);
        let mut resource = new_user(&fields, Some("m1"));
        assert_eq!(resource["displayName"], "Ada Lovelace");
        assert_eq!(resource["schemas"][1], ENTERPRISE_SCHEMA);
        resource["id"] = json!("u1");
        let emails = HashMap::from([("m1".to_owned(), Email::new("boss@example.com")?)]);
        let user = remote_user(&resource, &emails)?;
        assert_eq!(user.primary_email, fields.primary_email);
        assert_eq!(
            (user.name.given.as_str(), user.name.family.as_str()),
            ("Ada", "Lovelace")
        );
        assert_eq!(user.employee_id.as_deref(), Some("E-7"));
        assert_eq!(user.manager_email, fields.manager_email);
        assert_eq!(user.employment_type, Some(EmploymentType::Contractor));
        assert_eq!(user.marker, Some(marker));
        assert!(!user.suspended);
        // Another system's externalId is not a marker.
        resource["externalId"] = json!("00u1abc");
        resource["active"] = json!("False");
        let stranger = remote_user(&resource, &emails)?;
        assert_eq!(stranger.marker, None);
        assert!(stranger.suspended);
        Ok(())
    }

    #[test]
    fn updates_clear_what_the_plan_leaves_out_and_filters_are_quoted() -> Result<(), Error> {
        let fields = UserFields::new(
            Email::new("ada@example.com").map_err(|e| Error::InvalidValue(e.to_string()))?,
            PersonName::default(),
        );
        let body = update_user(&fields, None);
        assert_eq!(body["schemas"][0], PATCH_SCHEMA);
        let ops = body["Operations"].as_array().map(Vec::len);
        assert_eq!(ops, Some(3));
        assert_eq!(body["Operations"][1]["op"], "remove");
        assert_eq!(eq_filter("externalId", r#"a"b"#), r#"externalId eq "a\"b""#);
        assert_eq!(
            remove_member("x\"y")["Operations"][0]["path"],
            r#"members[value eq "x\"y"]"#
        );
        Ok(())
    }

    #[test]
    fn a_group_is_known_by_its_address() -> Result<(), Error> {
        let g = remote_group(
            &json!({"id": "g1", "displayName": "Eng", "externalId": "eng@example.com"}),
        )?;
        assert_eq!(g.email.as_str(), "eng@example.com");
        let g = remote_group(&json!({"id": "g2", "displayName": "ops@example.com"}))?;
        assert_eq!(g.email.as_str(), "ops@example.com");
        let g = remote_group(&json!({"id": "g3", "displayName": "Sales"}))?;
        assert_eq!(g.email.as_str(), "g3@scim.invalid");
        assert!(remote_group(&json!({"displayName": "no id"})).is_err());
        Ok(())
    }
}
