//! Between SCIM resources and the directory: a User becomes a `RemoteUser` (its SCIM resource
//! kept whole in the account's `scim` attribute, the attributes rules select on beside it); a
//! Group becomes a `RemoteGroup` and its members; and back, for answers.

use dirsync_core::{
    AttributeValue, Attributes, Email, ExternalId, Member, MemberKind, MemberRole, PersonName,
    RemoteGroup, RemoteMember, RemoteUser,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::filter::get_ci;
use crate::schema::{ENTERPRISE_SCHEMA, GROUP_SCHEMA};

/// The account attribute that keeps a user's SCIM resource as the source sent it.
pub const RESOURCE_ATTRIBUTE: &str = "scim";

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

/// The email a user is known by: the primary (else first) of `emails`, else `userName`, else
/// (neither is an address: SCIM does not require one) `<id>@scim.invalid`, a reserved domain
/// that reaches no one.
///
/// # Errors
/// [`Error::InvalidValue`] when even the reserved address cannot be made from `id`.
pub fn user_email(id: &str, resource: &Value) -> Result<Email, Error> {
    let emails = resource.get("emails").and_then(Value::as_array);
    let primary = emails.and_then(|e| {
        e.iter()
            .find(|m| m.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| e.first())
    });
    let candidates = [
        text(primary.and_then(|m| m.get("value"))),
        text(resource.get("userName")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|c| Email::new(c).ok())
        .map_or_else(|| reserved_email(id), Ok)
}

/// A normalized User resource with SCIM id `id` as the directory's `RemoteUser`;
/// `manager_email` is the email of the user its enterprise `manager.value` names, when known.
///
/// # Errors
/// [`Error::InvalidValue`] for an id or email that the directory cannot keep.
pub fn to_remote_user(
    id: &str,
    resource: &Value,
    manager_email: Option<Email>,
) -> Result<RemoteUser, Error> {
    let external_id = ExternalId::new(id).map_err(|e| Error::InvalidValue(e.to_string()))?;
    let mut user = RemoteUser::new(external_id, user_email(id, resource)?);
    let name = resource.get("name");
    user.name = PersonName {
        given: text(name.and_then(|n| n.get("givenName"))).unwrap_or_default(),
        family: text(name.and_then(|n| n.get("familyName"))).unwrap_or_default(),
        display: text(resource.get("displayName"))
            .or_else(|| text(name.and_then(|n| n.get("formatted"))))
            .unwrap_or_default(),
    };
    user.suspended = resource.get("active") == Some(&Value::Bool(false));
    let ext = resource.get(ENTERPRISE_SCHEMA);
    user.employee_id = text(ext.and_then(|e| e.get("employeeNumber")));
    user.manager_email = manager_email;
    let mut attributes = Attributes::new();
    for (key, from) in [
        ("userName", resource.get("userName")),
        ("externalId", resource.get("externalId")),
        ("title", resource.get("title")),
        ("userType", resource.get("userType")),
        ("department", ext.and_then(|e| e.get("department"))),
        ("organization", ext.and_then(|e| e.get("organization"))),
        ("division", ext.and_then(|e| e.get("division"))),
        ("costCenter", ext.and_then(|e| e.get("costCenter"))),
    ] {
        if let Some(v) = text(from) {
            attributes.insert(key.to_owned(), AttributeValue::Text(v));
        }
    }
    attributes.insert(
        RESOURCE_ATTRIBUTE.to_owned(),
        AttributeValue::Text(resource.to_string()),
    );
    user.attributes = attributes;
    Ok(user)
}

/// The SCIM resource kept in an account's attributes.
pub fn stored_resource(attributes: &Attributes) -> Option<Value> {
    match attributes.get(RESOURCE_ATTRIBUTE) {
        Some(AttributeValue::Text(json)) => serde_json::from_str(json).ok(),
        _ => None,
    }
}

/// `<id>@scim.invalid`: the address of what has none (`.invalid` is reserved, RFC 2606).
fn reserved_email(id: &str) -> Result<Email, Error> {
    Email::new(format!("{id}@scim.invalid")).map_err(|e| Error::InvalidValue(e.to_string()))
}

/// The address a SCIM group is kept under (groups in SCIM have none): `<id>@scim.invalid`.
///
/// # Errors
/// [`Error::InvalidValue`] for an id that makes no address.
pub fn group_email(id: &str) -> Result<Email, Error> {
    reserved_email(id)
}

/// A normalized Group resource with SCIM id `id` as the directory's group and members; the
/// group's `externalId` is kept as its description. `kind_of` tells whether a member id is a
/// group of this integration (else a user), `email_of` a user member's email.
///
/// # Errors
/// [`Error::InvalidValue`] for ids the directory cannot keep.
pub fn to_remote_group(
    id: &str,
    resource: &Value,
    kind_of: impl Fn(&str) -> MemberKind,
    email_of: impl Fn(&str) -> Option<Email>,
) -> Result<(RemoteGroup, Vec<RemoteMember>), Error> {
    let external_id = ExternalId::new(id).map_err(|e| Error::InvalidValue(e.to_string()))?;
    let group = RemoteGroup {
        external_id: external_id.clone(),
        email: group_email(id)?,
        name: text(resource.get("displayName")).unwrap_or_default(),
        description: text(resource.get("externalId")).unwrap_or_default(),
        direct_members_count: None,
    };
    let mut members = Vec::new();
    for m in resource
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(value) = text(get_ci(m, "value")) else {
            continue;
        };
        let member =
            ExternalId::new(value.clone()).map_err(|e| Error::InvalidValue(e.to_string()))?;
        let kind = kind_of(&value);
        members.push(RemoteMember {
            group: external_id.clone(),
            member: Member {
                kind,
                email: if kind == MemberKind::User {
                    email_of(&value)
                } else {
                    None
                },
                external_id: member,
            },
            role: MemberRole::Member,
        });
    }
    Ok((group, members))
}

/// A group as a SCIM resource (without `meta`); its members by id.
pub fn group_resource(id: &str, name: &str, external_id: &str, members: &[String]) -> Value {
    let mut doc = json!({"schemas": [GROUP_SCHEMA], "id": id, "displayName": name});
    if let Value::Object(map) = &mut doc {
        if !external_id.is_empty() {
            map.insert("externalId".to_owned(), json!(external_id));
        }
        if !members.is_empty() {
            let list: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
            map.insert("members".to_owned(), Value::Array(list));
        }
    }
    doc
}

/// A resource's version for `ETag`/`If-Match`: `W/"<hash of the resource>"`.
pub fn etag(resource: &Value) -> String {
    let hash = Sha256::digest(resource.to_string().as_bytes());
    let hex: String = hash.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::normalize;
    use crate::schema::ResourceType;

    #[test]
    fn a_user_maps_to_the_directory() -> Result<(), Error> {
        let resource = normalize(
            ResourceType::User,
            &json!({
                "userName": "not-an-email", "active": false, "displayName": "Ada",
                "emails": [{"value": "x@example.com"}, {"value": "ada@example.com", "primary": true}],
                ENTERPRISE_SCHEMA: {"employeeNumber": "7", "department": "R&D"},
            }),
        )?;
        let user = to_remote_user("u1", &resource, None)?;
        assert_eq!(user.primary_email.as_str(), "ada@example.com");
        assert!(user.suspended);
        assert_eq!(user.employee_id.as_deref(), Some("7"));
        assert_eq!(
            user.attributes.get("department"),
            Some(&AttributeValue::Text("R&D".into()))
        );
        assert_eq!(stored_resource(&user.attributes), Some(resource));
        let no_email = normalize(ResourceType::User, &json!({"userName": "nobody"}))?;
        let user = to_remote_user("u2", &no_email, None)?;
        assert_eq!(user.primary_email.as_str(), "u2@scim.invalid");
        Ok(())
    }
}
