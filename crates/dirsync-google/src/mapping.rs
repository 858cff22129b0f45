//! Google records → `dirsync-core` types (DESIGN §6). Pure functions over one record's JSON
//! text (a list page's item, or a whole `get` response).
//!
//! A record that cannot be used (no id, an invalid primary email or org-unit path, an unknown
//! member type or role) becomes a [`QuarantinedRecord`] with the reason; everything optional
//! that is malformed (a manager that is not an email, an unparsable time, an unknown
//! employment type) is dropped with a `tracing` warning and the record is kept.

use chrono::{DateTime, Utc};
use dirsync_core::{
    AttributeValue, Attributes, DeletedUser, Email, EmploymentType, ExternalId, MARKER_TYPE,
    Member, MemberKind, MemberRole, ObjectKind, OrgUnitPath, PersonName, ProvisioningMarker,
    QuarantinedRecord, RemoteGroup, RemoteMember, RemoteOrgUnit, RemoteUser,
};
use serde_json::Value;

use crate::config::{EmploymentTypeSource, MappingConfig};
use crate::wire;

/// The label a quarantined record is shown with: its email or id, shortened. Only built for
/// a record that is refused, so the record is parsed again only then.
fn label_of(raw: &str, keys: &[&str]) -> String {
    let v: Value = serde_json::from_str(raw).unwrap_or_default();
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .map(wire::clip)
        .unwrap_or_else(|| "<no id>".to_owned())
}

fn quarantine(
    kind: ObjectKind,
    id: &str,
    label: String,
    reason: impl Into<String>,
) -> QuarantinedRecord {
    QuarantinedRecord {
        kind,
        external_id: ExternalId::new(id).ok(),
        label,
        reason: reason.into(),
    }
}

fn parse_time(field: &str, value: Option<&str>) -> Option<DateTime<Utc>> {
    let value = value?;
    match DateTime::parse_from_rfc3339(value) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            tracing::warn!(field, error = %e, "ignoring an unparsable time");
            None
        }
    }
}

/// Matches an employment type case-insensitively: `employee`, `contractor`; else `None`.
pub(crate) fn employment_type(raw: &str) -> Option<EmploymentType> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "employee" => Some(EmploymentType::Employee),
        "contractor" => Some(EmploymentType::Contractor),
        _ => None,
    }
}

/// The primary organization, else the first.
fn primary_org<'u, 'a>(u: &'u wire::User<'a>) -> Option<&'u wire::Organization<'a>> {
    u.organizations
        .iter()
        .find(|o| o.primary)
        .or_else(|| u.organizations.first())
}

fn custom_value(v: &Value) -> Option<AttributeValue> {
    match v {
        Value::Bool(b) => Some(AttributeValue::Bool(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(AttributeValue::Int)
            .or_else(|| Some(AttributeValue::Text(n.to_string()))),
        Value::String(s) => Some(AttributeValue::Text(s.clone())),
        // Multi-valued custom fields: [{"type": "...", "value": ...}, ...].
        Value::Array(items) => Some(AttributeValue::List(
            items
                .iter()
                .filter_map(|i| match i.get("value").unwrap_or(i) {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                })
                .collect(),
        )),
        _ => None,
    }
}

/// Maps one `users.list` record (the normal listing).
///
/// # Errors
/// A [`QuarantinedRecord`] (kind users) when the record has no id, an invalid primary email or
/// an invalid org-unit path.
pub(crate) fn map_user(raw: &str, cfg: &MappingConfig) -> Result<RemoteUser, QuarantinedRecord> {
    let label = || label_of(raw, &["primaryEmail", "id"]);
    let u: wire::User<'_> = serde_json::from_str(raw).map_err(|e| {
        quarantine(
            ObjectKind::Users,
            "",
            label(),
            format!("not a user record: {e}"),
        )
    })?;
    let q = |reason: String| quarantine(ObjectKind::Users, &u.id, label(), reason);
    let external_id = ExternalId::new(&u.id).map_err(|e| q(format!("id: {e}")))?;
    let primary_email =
        Email::new(&u.primary_email).map_err(|e| q(format!("primaryEmail: {e}")))?;
    let org_unit = match u.org_unit_path.as_deref() {
        None | Some("") => None,
        Some(p) => Some(OrgUnitPath::new(p).map_err(|e| q(format!("orgUnitPath: {e}")))?),
    };
    let employee_id = u
        .external_ids
        .iter()
        .find(|x| x.kind == "organization" && !x.value.is_empty())
        .map(|x| x.value.clone().into_owned());
    let marker = u
        .external_ids
        .iter()
        .filter(|x| x.kind == "custom" && x.custom_type == MARKER_TYPE)
        .find_map(|x| ProvisioningMarker::parse(&x.value));
    let manager_email = u
        .relations
        .iter()
        .find(|r| r.kind == "manager" && !r.value.is_empty())
        .and_then(|r| match Email::new(&r.value) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::warn!(user = %external_id, error = %e, "ignoring a manager that is not an email");
                None
            }
        });
    let org = primary_org(&u);
    let mut attributes = Attributes::new();
    let mut text = |k: &str, v: &str| {
        if !v.is_empty() {
            attributes.insert(k.to_owned(), AttributeValue::Text(v.to_owned()));
        }
    };
    if let Some(o) = org {
        text("department", &o.department);
        text("title", &o.title);
        text("costCenter", &o.cost_center);
        text("employeeType", &o.description);
        text("organization", &o.name);
        text("location", &o.location);
    }
    if u.is_delegated_admin {
        attributes.insert("isDelegatedAdmin".into(), AttributeValue::Bool(true));
    }
    if !u.aliases.is_empty() {
        attributes.insert("aliases".into(), AttributeValue::List(u.aliases.clone()));
    }
    if cfg.custom_schemas {
        for (schema, fields) in &u.custom_schemas {
            let Some(fields) = fields.as_object() else {
                continue;
            };
            for (field, value) in fields {
                if let Some(a) = custom_value(value) {
                    attributes.insert(format!("customSchemas.{schema}.{field}"), a);
                }
            }
        }
    }
    let raw_type: Option<String> = match &cfg.employment_type {
        EmploymentTypeSource::OrganizationDescription => {
            org.map(|o| o.description.clone().into_owned())
        }
        EmploymentTypeSource::OrganizationCustomType => {
            org.map(|o| o.custom_type.clone().into_owned())
        }
        EmploymentTypeSource::CustomSchema { schema, field } => u
            .custom_schemas
            .get(schema)
            .and_then(|s| s.get(field))
            .and_then(Value::as_str)
            .map(str::to_owned),
        EmploymentTypeSource::Disabled => None,
    };
    let display = if u.name.display_name.is_empty() {
        u.name.full_name.clone().into_owned()
    } else {
        u.name.display_name.clone().into_owned()
    };
    Ok(RemoteUser {
        name: PersonName {
            given: u.name.given_name.into_owned(),
            family: u.name.family_name.into_owned(),
            display,
        },
        suspended: u.suspended,
        archived: u.archived,
        is_admin: u.is_admin,
        org_unit,
        employee_id,
        manager_email,
        employment_type: raw_type.as_deref().and_then(employment_type),
        attributes,
        created_at: parse_time("creationTime", u.creation_time.as_deref()),
        marker,
        ..RemoteUser::new(external_id, primary_email)
    })
}

/// Maps one record of the `showDeleted=true` listing. Only the id is required.
///
/// # Errors
/// A [`QuarantinedRecord`] (kind users) when the record has no usable id.
pub(crate) fn map_deleted_user(
    raw: &str,
) -> Result<(DeletedUser, Option<OrgUnitPath>), QuarantinedRecord> {
    let label = || label_of(raw, &["primaryEmail", "id"]);
    let u: wire::User<'_> = serde_json::from_str(raw).map_err(|e| {
        quarantine(
            ObjectKind::Users,
            "",
            label(),
            format!("not a deleted-user record: {e}"),
        )
    })?;
    let external_id = ExternalId::new(&u.id).map_err(|e| {
        quarantine(
            ObjectKind::Users,
            "",
            label(),
            format!("deleted user id: {e}"),
        )
    })?;
    let org_unit = u
        .org_unit_path
        .as_deref()
        .and_then(|p| OrgUnitPath::new(p).ok());
    Ok((
        DeletedUser {
            external_id,
            primary_email: Email::new(&u.primary_email).ok(),
            deleted_at: parse_time("deletionTime", u.deletion_time.as_deref()),
        },
        org_unit,
    ))
}

/// Maps one `groups.list` record. `directMembersCount` that is not a number maps to `None`
/// (so the members are listed, never assumed empty).
///
/// # Errors
/// A [`QuarantinedRecord`] (kind groups) when the id or email is unusable.
pub(crate) fn map_group(raw: &str) -> Result<RemoteGroup, QuarantinedRecord> {
    let label = || label_of(raw, &["email", "id"]);
    let g: wire::Group<'_> = serde_json::from_str(raw).map_err(|e| {
        quarantine(
            ObjectKind::Groups,
            "",
            label(),
            format!("not a group record: {e}"),
        )
    })?;
    let q = |reason: String| quarantine(ObjectKind::Groups, &g.id, label(), reason);
    let external_id = ExternalId::new(&g.id).map_err(|e| q(format!("id: {e}")))?;
    let email = Email::new(&g.email).map_err(|e| q(format!("email: {e}")))?;
    Ok(RemoteGroup {
        external_id,
        email,
        name: g.name.into_owned(),
        description: g.description.into_owned(),
        direct_members_count: g
            .direct_members_count
            .as_deref()
            .and_then(|c| c.trim().parse::<u64>().ok()),
    })
}

/// Maps one `members.list` record of `group`.
///
/// # Errors
/// A [`QuarantinedRecord`] (kind memberships) for a missing id, or an unknown type or role.
pub(crate) fn map_member(group: &ExternalId, raw: &str) -> Result<RemoteMember, QuarantinedRecord> {
    let label = || format!("{} in group {group}", label_of(raw, &["email", "id"]));
    let m: wire::Member<'_> = serde_json::from_str(raw).map_err(|e| {
        quarantine(
            ObjectKind::Memberships,
            "",
            label(),
            format!("not a member record: {e}"),
        )
    })?;
    let q = |reason: String| quarantine(ObjectKind::Memberships, &m.id, label(), reason);
    let external_id = ExternalId::new(&m.id).map_err(|e| q(format!("member id: {e}")))?;
    let is = |value: Option<&str>, word: &str| value.is_some_and(|v| v.eq_ignore_ascii_case(word));
    let kind = m.kind.as_deref();
    let kind = if is(kind, "USER") || is(kind, "EXTERNAL") {
        MemberKind::User
    } else if is(kind, "GROUP") {
        MemberKind::Group
    } else if is(kind, "CUSTOMER") {
        MemberKind::Customer
    } else {
        let other = kind.map(str::to_ascii_uppercase);
        return Err(q(format!("unknown member type {other:?}")));
    };
    let role = m.role.as_deref();
    let role = if role.is_none_or(|r| r.is_empty() || r.eq_ignore_ascii_case("MEMBER")) {
        MemberRole::Member
    } else if is(role, "OWNER") {
        MemberRole::Owner
    } else if is(role, "MANAGER") {
        MemberRole::Manager
    } else {
        let other = role.map(str::to_ascii_uppercase).unwrap_or_default();
        return Err(q(format!("unknown member role {other:?}")));
    };
    Ok(RemoteMember {
        group: group.clone(),
        member: Member {
            kind,
            external_id,
            email: m.email.as_deref().and_then(|e| Email::new(e).ok()),
        },
        role,
    })
}

/// Maps one `orgunits.list` record.
///
/// # Errors
/// A [`QuarantinedRecord`] (kind org units) when the id or path is unusable.
pub(crate) fn map_org_unit(raw: &str) -> Result<RemoteOrgUnit, QuarantinedRecord> {
    let label = || label_of(raw, &["orgUnitPath", "orgUnitId"]);
    let o: wire::OrgUnit<'_> = serde_json::from_str(raw).map_err(|e| {
        quarantine(
            ObjectKind::OrgUnits,
            "",
            label(),
            format!("not an org unit record: {e}"),
        )
    })?;
    let q = |reason: String| quarantine(ObjectKind::OrgUnits, &o.org_unit_id, label(), reason);
    let external_id = ExternalId::new(&o.org_unit_id).map_err(|e| q(format!("orgUnitId: {e}")))?;
    let path =
        OrgUnitPath::new(o.org_unit_path.as_ref()).map_err(|e| q(format!("orgUnitPath: {e}")))?;
    let name = if o.name.is_empty() {
        path.name().to_owned()
    } else {
        o.name.into_owned()
    };
    Ok(RemoteOrgUnit {
        external_id,
        path,
        name,
        description: o.description.into_owned(),
        parent: o
            .parent_org_unit_id
            .as_deref()
            .and_then(|p| ExternalId::new(p).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = include_str!("../tests/fixtures/users-page.json");
    const GROUPS: &str = include_str!("../tests/fixtures/groups-page.json");
    const MEMBERS: &str = include_str!("../tests/fixtures/members-page.json");
    const ORGUNITS: &str = include_str!("../tests/fixtures/orgunits.json");

    /// A record's JSON text, as a page item or a `get` answer gives it to the mappers.
    macro_rules! raw {
        ($($json:tt)+) => {
            serde_json::json!($($json)+).to_string()
        };
    }

    fn page(s: &str) -> wire::Page<'_> {
        serde_json::from_str(s).unwrap()
    }

    fn id(s: &str) -> ExternalId {
        ExternalId::new(s).unwrap()
    }

    #[test]
    fn users_page_of_reference_3_5_maps_every_field() {
        let p = page(USERS);
        assert_eq!(p.users.len(), 2);
        assert!(
            p.next_page_token
                .as_deref()
                .is_some_and(|t| t.starts_with("Cj0K"))
        );
        let cfg = MappingConfig::default();
        let ada = map_user(p.users[0].get(), &cfg).unwrap();
        assert_eq!(ada.external_id, id("108234567890123456789"));
        assert_eq!(ada.primary_email.as_str(), "ada.lovelace@example.com");
        assert_eq!(ada.name.given, "Ada");
        assert_eq!(ada.name.family, "Lovelace");
        assert_eq!(ada.name.display, "Ada Lovelace");
        assert_eq!(ada.employee_id.as_deref(), Some("E-10042"));
        assert_eq!(
            ada.manager_email.as_ref().map(Email::as_str),
            Some("charles.babbage@example.com")
        );
        assert_eq!(
            ada.org_unit,
            Some(OrgUnitPath::new("/Engineering/Analytics").unwrap())
        );
        // "Full-time" is neither employee nor contractor: None, and the raw text is kept.
        assert_eq!(ada.employment_type, None);
        let text = |s: &str| Some(AttributeValue::Text(s.into()));
        assert_eq!(
            ada.attributes.get("employeeType").cloned(),
            text("Full-time")
        );
        assert_eq!(
            ada.attributes.get("department").cloned(),
            text("Engineering")
        );
        assert_eq!(ada.attributes.get("title").cloned(), text("Analyst"));
        assert_eq!(ada.attributes.get("costCenter").cloned(), text("CC-4711"));
        assert_eq!(
            ada.attributes
                .get("customSchemas.HR.EmployeeNumber")
                .cloned(),
            text("10042")
        );
        assert_eq!(
            ada.attributes.get("customSchemas.HR.Skills").cloned(),
            Some(AttributeValue::List(vec!["maths".into()]))
        );
        assert!(!ada.suspended && !ada.is_admin);
        assert_eq!(
            ada.created_at.map(|t| t.to_rfc3339()),
            Some("2021-03-02T10:00:00+00:00".to_owned())
        );
        let charles = map_user(p.users[1].get(), &cfg).unwrap();
        assert!(charles.suspended && charles.is_admin);
        assert_eq!(charles.org_unit, Some(OrgUnitPath::root()));
        assert_eq!(charles.employee_id, None);
        assert_eq!(charles.manager_email, None);
        assert_eq!(charles.name.display, "Charles Babbage");
    }

    #[test]
    fn employment_type_is_case_insensitive_and_configurable() {
        assert_eq!(employment_type("Employee"), Some(EmploymentType::Employee));
        assert_eq!(
            employment_type(" CONTRACTOR "),
            Some(EmploymentType::Contractor)
        );
        assert_eq!(employment_type("intern"), None);
        let v = serde_json::json!({"id":"1","primaryEmail":"a@x.com",
            "organizations":[{"description":"other"},{"primary":true,"description":"contractor","customType":"Employee"}],
            "customSchemas":{"HR":{"kind":"EMPLOYEE"}}});
        let mut cfg = MappingConfig::default();
        assert_eq!(
            map_user(&v.to_string(), &cfg).unwrap().employment_type,
            Some(EmploymentType::Contractor)
        );
        cfg.employment_type = EmploymentTypeSource::OrganizationCustomType;
        assert_eq!(
            map_user(&v.to_string(), &cfg).unwrap().employment_type,
            Some(EmploymentType::Employee)
        );
        cfg.employment_type = EmploymentTypeSource::CustomSchema {
            schema: "HR".into(),
            field: "kind".into(),
        };
        assert_eq!(
            map_user(&v.to_string(), &cfg).unwrap().employment_type,
            Some(EmploymentType::Employee)
        );
        cfg.employment_type = EmploymentTypeSource::Disabled;
        assert_eq!(
            map_user(&v.to_string(), &cfg).unwrap().employment_type,
            None
        );
    }

    #[test]
    fn unusable_users_are_quarantined_with_a_reason_and_odd_fields_tolerated() {
        let cfg = MappingConfig::default();
        let q = map_user(&raw!({"primaryEmail":"a@x.com"}), &cfg).unwrap_err();
        assert_eq!(q.kind, ObjectKind::Users);
        assert_eq!(q.label, "a@x.com");
        assert!(q.reason.contains("id"), "{}", q.reason);
        let q = map_user(&raw!({"id":"7","primaryEmail":"not-an-email"}), &cfg).unwrap_err();
        assert_eq!(q.external_id, Some(id("7")));
        assert!(q.reason.contains("primaryEmail"), "{}", q.reason);
        let q = map_user(
            &raw!({"id":"7","primaryEmail":"a@x.com","orgUnitPath":"Sales"}),
            &cfg,
        )
        .unwrap_err();
        assert!(q.reason.contains("orgUnitPath"), "{}", q.reason);
        let q = map_user(&raw!("just a string"), &cfg).unwrap_err();
        assert!(q.reason.contains("not a user record"));
        // A bad manager and a bad time are dropped, the user kept.
        let u = map_user(
            &raw!({"id":"8","primaryEmail":"b@x.com","relations":[{"type":"manager","value":"Bob"}],
                "creationTime":"yesterday","externalIds":[{"type":"custom","value":"z"}]}),
            &cfg,
        )
        .unwrap();
        assert_eq!(u.manager_email, None);
        assert_eq!(u.created_at, None);
        assert_eq!(u.employee_id, None);
    }

    #[test]
    fn groups_members_and_org_units_of_reference_3_5() {
        let p = page(GROUPS);
        let groups: Vec<_> = p
            .groups
            .iter()
            .map(|g| map_group(g.get()).unwrap())
            .collect();
        assert_eq!(groups[0].email.as_str(), "engineering@example.com");
        assert_eq!(groups[0].direct_members_count, Some(42));
        assert_eq!(groups[1].direct_members_count, Some(3));
        assert_eq!(groups[1].description, "");
        let g = map_group(&raw!({"id":"g","email":"g@x.com","directMembersCount":"many"})).unwrap();
        assert_eq!(g.direct_members_count, None);
        assert!(map_group(&raw!({"id":"g"})).is_err());

        let p = page(MEMBERS);
        let gid = id("03x8tuzt3hqdv5t");
        let members: Vec<_> = p
            .members
            .iter()
            .map(|m| map_member(&gid, m.get()).unwrap())
            .collect();
        assert_eq!(members.len(), 4);
        assert_eq!(members[0].role, MemberRole::Owner);
        assert_eq!(members[1].member.kind, MemberKind::Group);
        assert_eq!(
            members[2].member.email.as_ref().map(Email::as_str),
            Some("partner@external.org")
        );
        assert_eq!(members[3].member.kind, MemberKind::Customer);
        assert_eq!(members[3].member.email, None);
        assert_eq!(members[3].member.external_id, id("C03az79cb"));
        let q = map_member(&gid, &raw!({"id":"1","type":"ROBOT"})).unwrap_err();
        assert_eq!(q.kind, ObjectKind::Memberships);
        assert!(q.reason.contains("ROBOT"));
        let q = map_member(&gid, &raw!({"id":"1","type":"USER","role":"BOSS"})).unwrap_err();
        assert!(q.reason.contains("BOSS"));

        let p = page(ORGUNITS);
        assert!(p.next_page_token.is_none());
        let units: Vec<_> = p
            .organization_units
            .iter()
            .map(|o| map_org_unit(o.get()).unwrap())
            .collect();
        assert_eq!(units[0].path.as_str(), "/Engineering");
        assert_eq!(units[0].description, "R&D");
        assert_eq!(units[1].parent, Some(id("id:03ph8a2z1mnq4x7")));
        assert!(map_org_unit(&raw!({"orgUnitId":"x","orgUnitPath":"no-slash"})).is_err());
    }

    #[test]
    fn deleted_users_need_only_an_id() {
        let (d, ou) = map_deleted_user(
            &raw!({"id":"9","deletionTime":"2026-11-01T09:30:00.000Z","orgUnitPath":"/Sales"}),
        )
        .unwrap();
        assert_eq!(d.external_id, id("9"));
        assert_eq!(d.primary_email, None);
        assert!(d.deleted_at.is_some());
        assert_eq!(ou, Some(OrgUnitPath::new("/Sales").unwrap()));
        assert!(map_deleted_user(&raw!({"primaryEmail":"x@y.com"})).is_err());
    }
}
