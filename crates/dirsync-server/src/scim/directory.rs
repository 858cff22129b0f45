//! What an integration's SCIM resources are, read from the store: its live accounts (each
//! with the resource its identity provider wrote) and its groups with their members; and their
//! rendering with `id`, `meta` and (users) `groups`.

use std::collections::{BTreeMap, HashMap};

use dirsync_core::{AttributeValue, Email, MemberKind};
use dirsync_scim::mapping::{etag, group_resource, stored_resource};
use dirsync_scim::schema::ResourceType;
use dirsync_store::LocalView;
use serde_json::{Value, json};

use super::{Refusal, ScimIntegration};
use crate::AppState;

/// One resource as served: its JSON (with `id`, without `meta`) and its `meta` facts.
#[derive(Debug, Clone)]
pub(crate) struct Served {
    pub(crate) id: String,
    /// Without `meta`.
    pub(crate) resource: Value,
    pub(crate) created: Option<String>,
    pub(crate) modified: Option<String>,
}

impl Served {
    /// The resource with `meta` (and its version), as answered.
    pub(crate) fn render(&self, kind: ResourceType, base: &str) -> Value {
        let version = etag(&self.resource);
        let mut doc = self.resource.clone();
        let mut meta = json!({
            "resourceType": kind.name(),
            "location": format!("{base}{}/{}", kind.endpoint(), self.id),
            "version": version,
        });
        if let Value::Object(m) = &mut meta {
            if let Some(c) = &self.created {
                m.insert("created".to_owned(), json!(c));
            }
            if let Some(c) = self.modified.as_ref().or(self.created.as_ref()) {
                m.insert("lastModified".to_owned(), json!(c));
            }
        }
        if let Value::Object(map) = &mut doc {
            map.insert("meta".to_owned(), meta);
        }
        doc
    }

    /// Its version, as in `ETag`.
    pub(crate) fn etag(&self) -> String {
        etag(&self.resource)
    }

    /// The resource as the client may change it (no `id`, no read-only attributes).
    pub(crate) fn writable(&self, kind: ResourceType) -> Result<Value, Refusal> {
        Ok(dirsync_scim::normalize(kind, &self.resource)?)
    }
}

/// An integration's SCIM resources at one version.
pub(crate) struct Directory {
    pub(crate) view: LocalView,
}

impl Directory {
    pub(crate) async fn load(state: &AppState, scim: &ScimIntegration) -> Result<Self, Refusal> {
        let view = state
            .service()
            .store()
            .view(scim.integration.id())
            .await
            .map_err(dirsync_service::Error::from)?;
        Ok(Self { view })
    }

    /// The live users, in id order.
    pub(crate) fn users(&self) -> Vec<Served> {
        self.users_where(|_| true)
    }

    /// The live users whose id passes `keep`, in id order.
    fn users_where(&self, keep: impl Fn(&str) -> bool) -> Vec<Served> {
        let mut groups_of: HashMap<&str, Vec<Value>> = HashMap::new();
        let names: HashMap<&str, &str> = self
            .view
            .groups
            .iter()
            .map(|g| (g.external_id.as_str(), g.name.as_str()))
            .collect();
        for m in &self.view.memberships {
            if m.member.kind == MemberKind::User {
                groups_of
                    .entry(m.member.external_id.as_str())
                    .or_default()
                    .push(json!({
                        "value": m.group.as_str(),
                        "display": names.get(m.group.as_str()).copied().unwrap_or_default(),
                        "type": "direct",
                    }));
            }
        }
        self.view
            .accounts
            .iter()
            .filter(|a| a.missing_since.is_none() && keep(a.external_id.as_str()))
            .filter_map(|a| {
                let mut resource = stored_resource(&a.attributes)?;
                if let Value::Object(map) = &mut resource {
                    map.insert("id".to_owned(), json!(a.external_id.as_str()));
                    if let Some(groups) = groups_of.get(a.external_id.as_str()) {
                        map.insert("groups".to_owned(), Value::Array(groups.clone()));
                    }
                }
                Some(Served {
                    id: a.external_id.as_str().to_owned(),
                    resource,
                    created: Some(a.first_seen.to_rfc3339()),
                    modified: Some(a.last_seen.to_rfc3339()),
                })
            })
            .collect()
    }

    /// The groups, in id order.
    pub(crate) fn groups(&self) -> Vec<Served> {
        let mut members: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for m in &self.view.memberships {
            members
                .entry(m.group.as_str())
                .or_default()
                .push(m.member.external_id.as_str().to_owned());
        }
        self.view
            .groups
            .iter()
            .map(|g| {
                let id = g.external_id.as_str();
                Served {
                    id: id.to_owned(),
                    resource: group_resource(
                        id,
                        &g.name,
                        &g.description,
                        members.get(id).map_or(&[][..], Vec::as_slice),
                    ),
                    created: None,
                    modified: None,
                }
            })
            .collect()
    }

    /// One resource by id.
    pub(crate) fn find(&self, kind: ResourceType, id: &str) -> Result<Served, Refusal> {
        let all = match kind {
            ResourceType::User => self.users(),
            ResourceType::Group => self.groups(),
        };
        all.into_iter().find(|s| s.id == id).ok_or_else(|| {
            Refusal(dirsync_scim::Error::NotFound(format!(
                "{} {id:?}",
                kind.name()
            )))
        })
    }

    /// The email of the live user `id`.
    pub(crate) fn email_of(&self, id: &str) -> Option<Email> {
        self.view
            .accounts
            .iter()
            .find(|a| a.external_id.as_str() == id && a.missing_since.is_none())
            .map(|a| a.email.clone())
    }

    /// User `id` as served once `resource` is written: with its groups, first seen when it
    /// was (now for a new one).
    pub(crate) fn as_written(&self, id: &str, resource: &Value) -> Served {
        let now = chrono::Utc::now().to_rfc3339();
        let mut resource = resource.clone();
        let groups: Vec<Value> = self
            .view
            .memberships
            .iter()
            .filter(|m| m.member.kind == MemberKind::User && m.member.external_id.as_str() == id)
            .map(|m| {
                let name = self
                    .view
                    .groups
                    .iter()
                    .find(|g| g.external_id == m.group)
                    .map_or("", |g| g.name.as_str());
                json!({"value": m.group.as_str(), "display": name, "type": "direct"})
            })
            .collect();
        if let Value::Object(map) = &mut resource {
            map.insert("id".to_owned(), json!(id));
            if !groups.is_empty() {
                map.insert("groups".to_owned(), Value::Array(groups));
            }
        }
        let created = self
            .view
            .accounts
            .iter()
            .find(|a| a.external_id.as_str() == id)
            .map_or_else(|| now.clone(), |a| a.first_seen.to_rfc3339());
        Served {
            id: id.to_owned(),
            resource,
            created: Some(created),
            modified: Some(now),
        }
    }

    /// Whether a live user other than `id` has the `userName` `name` (ignoring case).
    pub(crate) fn user_name_taken(&self, id: &str, name: &str) -> bool {
        self.view.accounts.iter().any(|a| {
            a.missing_since.is_none()
                && a.external_id.as_str() != id
                && matches!(
                    a.attributes.get("userName"),
                    Some(AttributeValue::Text(n)) if n.eq_ignore_ascii_case(name)
                )
        })
    }

    /// Whether `id` is one of the integration's groups.
    pub(crate) fn is_group(&self, id: &str) -> bool {
        self.view
            .groups
            .iter()
            .any(|g| g.external_id.as_str() == id)
    }
}
