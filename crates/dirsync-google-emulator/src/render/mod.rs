//! Rendering the tenant as Google's JSON (`User`, `Group`, `Member`, `OrgUnit`, `Customer`) and
//! `fields=` partial responses.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::tenant::{Group, MemberType, Membership, OrgUnit, Tenant, User};

mod text;

pub(crate) use text::{GroupJson, ListJson, Masked, MemberJson, UserJson, to_body};

/// A quoted, opaque etag derived from the content (deterministic).
pub(crate) fn etag(tenant: &Tenant, content: &Value) -> String {
    // The content is serialized straight into the hash: no copy of its text is made.
    let mut hasher = Sha256::new();
    if serde_json::to_writer(&mut hasher, content).is_err() {
        // Writing into a hash cannot fail; a `Value` always serializes.
        hasher.update(b"unserializable");
    }
    etag_text(&etag_prefix(tenant), &hasher.finalize())
}

/// The tenant's part of its etags.
pub(crate) fn etag_prefix(tenant: &Tenant) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(&Sha256::digest(tenant.customer_id().as_bytes())[..20])
}

/// An etag from the tenant's prefix and the content's digest.
fn etag_text(prefix: &str, digest: &[u8]) -> String {
    let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..20]);
    format!("\"{prefix}/{tag}\"")
}

fn with_etag(tenant: &Tenant, mut v: Value) -> Value {
    let tag = etag(tenant, &v);
    if let Value::Object(m) = &mut v {
        m.insert("etag".to_owned(), Value::String(tag));
    }
    v
}

pub(crate) fn user(tenant: &Tenant, u: &User) -> Value {
    let mut emails = vec![json!({"address": u.primary_email, "primary": true})];
    emails.extend(u.aliases.iter().map(|a| json!({"address": a})));
    let full = format!("{} {}", u.given_name, u.family_name);
    let mut m = Map::new();
    m.insert("kind".into(), json!("admin#directory#user"));
    m.insert("id".into(), json!(u.id));
    m.insert("primaryEmail".into(), json!(u.primary_email));
    m.insert(
        "name".into(),
        json!({"givenName": u.given_name, "familyName": u.family_name, "fullName": full, "displayName": full}),
    );
    m.insert("isAdmin".into(), json!(u.is_admin));
    m.insert("isDelegatedAdmin".into(), json!(false));
    m.insert("agreedToTerms".into(), json!(true));
    m.insert("lastLoginTime".into(), json!(u.last_login_time));
    m.insert("creationTime".into(), json!(u.creation_time));
    if let Some(d) = &u.deletion_time {
        m.insert("deletionTime".into(), json!(d));
    }
    m.insert("suspended".into(), json!(u.suspended));
    if u.suspended {
        m.insert("suspensionReason".into(), json!("ADMIN"));
    }
    m.insert("archived".into(), json!(false));
    m.insert(
        "changePasswordAtNextLogin".into(),
        json!(u.change_password_at_next_login),
    );
    m.insert("ipWhitelisted".into(), json!(false));
    m.insert("emails".into(), Value::Array(emails));
    if !u.aliases.is_empty() {
        m.insert("aliases".into(), json!(u.aliases));
    }
    let mut ids: Vec<Value> = u
        .employee_id
        .iter()
        .map(|e| json!({"value": e, "type": "organization"}))
        .collect();
    ids.extend(
        u.custom_ids
            .iter()
            .map(|(t, v)| json!({"value": v, "type": "custom", "customType": t})),
    );
    if !ids.is_empty() {
        m.insert("externalIds".into(), Value::Array(ids));
    }
    if let Some(mgr) = &u.manager_email {
        m.insert(
            "relations".into(),
            json!([{"value": mgr, "type": "manager"}]),
        );
    }
    let mut org = Map::new();
    if !u.title.is_empty() {
        org.insert("title".into(), json!(u.title));
    }
    org.insert("primary".into(), json!(true));
    org.insert("customType".into(), json!(""));
    if !u.department.is_empty() {
        org.insert("department".into(), json!(u.department));
    }
    org.insert("description".into(), json!(u.employment.as_str()));
    if !u.cost_center.is_empty() {
        org.insert("costCenter".into(), json!(u.cost_center));
    }
    m.insert(
        "organizations".into(),
        Value::Array(vec![Value::Object(org)]),
    );
    m.insert("customerId".into(), json!(tenant.customer_id()));
    m.insert("orgUnitPath".into(), json!(u.org_unit_path));
    m.insert("isMailboxSetup".into(), json!(true));
    m.insert("isEnrolledIn2Sv".into(), json!(false));
    m.insert("isEnforcedIn2Sv".into(), json!(false));
    m.insert("includeInGlobalAddressList".into(), json!(true));
    with_etag(tenant, Value::Object(m))
}

pub(crate) fn group(tenant: &Tenant, g: &Group) -> Value {
    let mut v = json!({
        "kind": "admin#directory#group",
        "id": g.id,
        "email": g.email,
        "name": g.name,
        "directMembersCount": g.members.len().to_string(),
        "description": g.description,
        "adminCreated": g.admin_created,
    });
    if !g.aliases.is_empty()
        && let Value::Object(m) = &mut v
    {
        m.insert("aliases".into(), json!(g.aliases));
    }
    with_etag(tenant, v)
}

pub(crate) fn member(tenant: &Tenant, m: &Membership) -> Value {
    let mut o = Map::new();
    o.insert("kind".into(), json!("admin#directory#member"));
    o.insert("id".into(), json!(m.id));
    if let Some(e) = &m.email {
        o.insert("email".into(), json!(e));
    }
    o.insert("role".into(), json!(m.role.as_str()));
    o.insert("type".into(), json!(m.member_type.as_str()));
    let status = member_status(tenant, m);
    if let Some(s) = status {
        o.insert("status".into(), json!(s));
    }
    with_etag(tenant, Value::Object(o))
}

/// A member's `status`: a user's suspension, `ACTIVE` for a group, none for the others.
pub(crate) fn member_status(tenant: &Tenant, m: &Membership) -> Option<&'static str> {
    match m.member_type {
        MemberType::User => Some(match tenant.any_user_by_id(&m.id) {
            Some(u) if u.suspended => "SUSPENDED",
            _ => "ACTIVE",
        }),
        MemberType::Group => Some("ACTIVE"),
        MemberType::ExternalUser | MemberType::Customer => None,
    }
}

pub(crate) fn org_unit(tenant: &Tenant, o: &OrgUnit) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("admin#directory#orgUnit"));
    m.insert("name".into(), json!(o.name));
    if !o.description.is_empty() {
        m.insert("description".into(), json!(o.description));
    }
    m.insert("orgUnitPath".into(), json!(o.path));
    m.insert("orgUnitId".into(), json!(o.id));
    if let Some(p) = &o.parent_path {
        m.insert("parentOrgUnitPath".into(), json!(p));
    }
    if let Some(p) = &o.parent_id {
        m.insert("parentOrgUnitId".into(), json!(p));
    }
    m.insert("blockInheritance".into(), json!(false));
    with_etag(tenant, Value::Object(m))
}

pub(crate) fn customer(tenant: &Tenant) -> Value {
    with_etag(
        tenant,
        json!({
            "kind": "admin#directory#customer",
            "id": tenant.customer_id(),
            "customerDomain": tenant.domain(),
            "alternateEmail": format!("it@{}.invalid", tenant.domain()),
            "customerCreationTime": tenant.customer_creation_time(),
            "language": "en",
        }),
    )
}

/// A list wrapper: `kind`, `etag`, the items (omitted when empty), `nextPageToken` (omitted when `None`).
/// `domains.list`'s answer: every domain verified, the primary marked.
pub(crate) fn domains(tenant: &Tenant) -> Value {
    let domains: Vec<Value> = tenant
        .domains()
        .map(|d| {
            json!({
                "kind": "admin#directory#domain",
                "domainName": d,
                "isPrimary": d == tenant.domain(),
                "verified": true,
                "creationTime": "1577836800000",
                "domainAliases": [],
            })
        })
        .collect();
    json!({"kind": "admin#directory#domains", "etag": etag(tenant, &Value::Array(domains.clone())), "domains": domains})
}

pub(crate) fn list(
    tenant: &Tenant,
    kind: &str,
    key: &str,
    items: Vec<Value>,
    next: Option<String>,
) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!(kind));
    let tags: Vec<Value> = items
        .iter()
        .map(|i| i.get("etag").cloned().unwrap_or(Value::Null))
        .collect();
    m.insert("etag".into(), json!(etag(tenant, &Value::Array(tags))));
    if !items.is_empty() {
        m.insert(key.into(), Value::Array(items));
    }
    if let Some(n) = next {
        m.insert("nextPageToken".into(), json!(n));
    }
    Value::Object(m)
}

/// A parsed `fields=` mask: field name → sub-mask (`None` = the whole value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldMask(BTreeMap<String, Option<FieldMask>>);

impl FieldMask {
    /// Parses `a,b/c,d(e,f/g)`. Returns `None` on unbalanced parentheses or empty names.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let chars: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
        let mut pos = 0;
        let mask = Self::parse_list(&chars, &mut pos)?;
        (pos == chars.len()).then_some(mask)
    }

    fn parse_list(c: &[char], pos: &mut usize) -> Option<Self> {
        let mut mask = Self::default();
        loop {
            let mut path = Vec::new();
            let mut name = String::new();
            let mut sub: Option<FieldMask> = None;
            while let Some(&ch) = c.get(*pos) {
                match ch {
                    ',' | ')' => break,
                    '/' => {
                        if name.is_empty() {
                            return None;
                        }
                        path.push(std::mem::take(&mut name));
                        *pos += 1;
                    }
                    '(' => {
                        *pos += 1;
                        sub = Some(Self::parse_list(c, pos)?);
                        if c.get(*pos) != Some(&')') {
                            return None;
                        }
                        *pos += 1;
                    }
                    _ => {
                        name.push(ch);
                        *pos += 1;
                    }
                }
            }
            if name.is_empty() {
                return None;
            }
            path.push(name);
            mask.insert(&path, sub);
            match c.get(*pos) {
                Some(',') => *pos += 1,
                _ => return Some(mask),
            }
        }
    }

    fn insert(&mut self, path: &[String], leaf: Option<FieldMask>) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        if rest.is_empty() {
            match (self.0.get_mut(first), leaf) {
                (Some(Some(existing)), Some(new)) => {
                    for (k, v) in new.0 {
                        existing.0.insert(k, v);
                    }
                }
                (Some(slot), None) => *slot = None,
                (Some(None), Some(_)) => {}
                (None, leaf) => {
                    self.0.insert(first.clone(), leaf);
                }
            }
        } else {
            let entry = self
                .0
                .entry(first.clone())
                .or_insert_with(|| Some(FieldMask::default()));
            if let Some(sub) = entry {
                sub.insert(rest, leaf);
            }
        }
    }

    /// `Some(sub-mask)` when the mask keeps `key` (`Some(None)`: all of its value).
    pub(crate) fn field(&self, key: &str) -> Option<Option<&FieldMask>> {
        self.0.get(key).map(Option::as_ref)
    }

    /// Keeps only the selected fields; arrays apply the mask to each element.
    pub(crate) fn apply(&self, v: &Value) -> Value {
        match v {
            Value::Array(items) => Value::Array(items.iter().map(|i| self.apply(i)).collect()),
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, sub) in &self.0 {
                    if let Some(val) = m.get(k) {
                        let val = match sub {
                            Some(s) => s.apply(val),
                            None => val.clone(),
                        };
                        out.insert(k.clone(), val);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_mask_parse_and_apply() {
        let m = FieldMask::parse("nextPageToken,users(id,name/fullName,relations)").unwrap();
        let v = json!({"kind":"k","nextPageToken":"t","users":[
            {"id":"1","name":{"fullName":"A B","givenName":"A"},"relations":[{"type":"manager"}],"x":1},
            {"id":"2"}]});
        assert_eq!(
            m.apply(&v),
            json!({"nextPageToken":"t","users":[
                {"id":"1","name":{"fullName":"A B"},"relations":[{"type":"manager"}]},{"id":"2"}]})
        );
        assert_eq!(
            FieldMask::parse("a/b,a/c")
                .unwrap()
                .apply(&json!({"a":{"b":1,"c":2,"d":3}})),
            json!({"a":{"b":1,"c":2}})
        );
        assert!(FieldMask::parse("users(id").is_none());
        assert!(FieldMask::parse("a,,b").is_none());
        assert!(FieldMask::parse("").is_none());
    }
}
