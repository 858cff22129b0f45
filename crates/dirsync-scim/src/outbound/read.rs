//! The read side of an outbound client: access checks and complete snapshots, listing every
//! user and group by `startIndex`/`count` until `totalResults`.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;
use dirsync_core::{
    AccessCheck, AccessReport, DirectorySource, Email, Error as CoreError, ExternalId,
    FetchProgress, FetchRequest, Fetched, Member, MemberKind, MemberRole, ObjectKind, ObjectKinds,
    QuarantinedRecord, RemoteMember, SnapshotBuilder,
};
use reqwest::Method;
use serde_json::Value;

use super::ScimClient;
use super::http::Request;
use super::wire;
use crate::error::{Error, clip};

/// The kinds an application's SCIM endpoint holds.
fn readable() -> Result<ObjectKinds, CoreError> {
    ObjectKinds::new([
        ObjectKind::Users,
        ObjectKind::Groups,
        ObjectKind::Memberships,
    ])
}

fn quarantined(kind: ObjectKind, resource: &Value, reason: String) -> QuarantinedRecord {
    let id = resource.get("id").and_then(Value::as_str);
    QuarantinedRecord {
        kind,
        external_id: id.and_then(|i| ExternalId::new(i).ok()),
        label: clip(id.unwrap_or("(no id)")),
        reason,
    }
}

impl ScimClient {
    /// Every resource of a listing (`/Users` or `/Groups`), page after page until
    /// `totalResults`; a listing that stops short is an error, never a shorter list.
    async fn list(
        &self,
        route: &'static str,
        path: &str,
        kind: ObjectKind,
        progress: &dyn FetchProgress,
    ) -> Result<Vec<Value>, Error> {
        let mut all = Vec::new();
        let mut start: u64 = 1;
        loop {
            let request = Request::new(Method::GET, route, path)
                .query("startIndex", start.to_string())
                .query("count", self.page_size.to_string());
            let answer = self.http.call(&request).await?;
            if !answer.is_success() {
                return Err(Error::Remote {
                    route: route.to_owned(),
                    status: Some(answer.status),
                    message: answer.detail(),
                    transient: false,
                });
            }
            let broken = |why: String| Error::Remote {
                route: route.to_owned(),
                status: Some(answer.status),
                message: why,
                transient: true,
            };
            let total = answer
                .body
                .get("totalResults")
                .and_then(Value::as_u64)
                .ok_or_else(|| broken("a list answer without totalResults".to_owned()))?;
            let page = match answer.body.get("Resources") {
                Some(Value::Array(items)) => items.clone(),
                None | Some(Value::Null) => Vec::new(),
                Some(_) => return Err(broken("Resources is not a list".to_owned())),
            };
            let n = page.len() as u64;
            progress.page(kind, page.len());
            all.extend(page);
            if all.len() as u64 >= total {
                return Ok(all);
            }
            if n == 0 {
                return Err(broken(format!(
                    "the listing stopped at {} of the {total} resources it announced",
                    all.len()
                )));
            }
            start += n;
        }
    }
}

#[async_trait]
impl DirectorySource for ScimClient {
    async fn validate_access(&self) -> Result<AccessReport, CoreError> {
        let mut checks = Vec::new();
        for (route, path) in [("GET /Users", "/Users"), ("GET /Groups", "/Groups")] {
            let request = Request::new(Method::GET, route, path).query("count", "1");
            let answer = self.http.call(&request).await.map_err(CoreError::from)?;
            checks.push(if answer.is_success() {
                AccessCheck::passed(format!("{route} answers"))
            } else {
                AccessCheck::failed(
                    format!("{route} answers"),
                    format!("the application answered {}", answer.detail()),
                )
            });
        }
        Ok(AccessReport::new(checks))
    }

    fn readable_kinds(&self) -> ObjectKinds {
        readable().unwrap_or_else(|_| ObjectKinds::only(ObjectKind::Users))
    }

    async fn fetch(
        &self,
        request: &FetchRequest,
        progress: &dyn FetchProgress,
    ) -> Result<Fetched, CoreError> {
        // The application has no org units: the snapshot holds the kinds it can read.
        let kinds = ObjectKinds::new(
            request
                .kinds
                .iter()
                .filter(|k| readable().is_ok_and(|r| r.contains(*k))),
        )?;
        let mut builder = SnapshotBuilder::new(kinds.clone(), request.filter.clone(), Utc::now());
        let users = self
            .list("GET /Users", "/Users", ObjectKind::Users, progress)
            .await?;
        let mut emails: HashMap<String, Email> = HashMap::new();
        for resource in &users {
            if let Ok(id) = wire::id_of(resource)
                && let Ok(email) = crate::mapping::user_email(id, resource)
            {
                emails.insert(id.to_owned(), email);
            }
        }
        {
            let mut ids = self
                .ids
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            ids.clear();
            ids.extend(emails.iter().map(|(id, e)| (e.key(), id.clone())));
            self.indexed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if kinds.contains(ObjectKind::Users) {
            let mut page = Vec::with_capacity(users.len());
            for resource in &users {
                match wire::remote_user(resource, &emails) {
                    Ok(user) => page.push(user),
                    Err(e) => {
                        builder.quarantine(quarantined(ObjectKind::Users, resource, e.to_string()))
                    }
                }
            }
            builder.users_page(page, None)?;
        }
        if kinds.contains(ObjectKind::Groups) || kinds.contains(ObjectKind::Memberships) {
            let groups = self
                .list("GET /Groups", "/Groups", ObjectKind::Groups, progress)
                .await?;
            let mut parsed = Vec::with_capacity(groups.len());
            for resource in &groups {
                match wire::remote_group(resource) {
                    Ok(group) => parsed.push((resource, group)),
                    Err(e) => {
                        builder.quarantine(quarantined(ObjectKind::Groups, resource, e.to_string()))
                    }
                }
            }
            // A nested group member is named by its group's address, as the plan names it.
            let group_emails: HashMap<String, Email> = parsed
                .iter()
                .map(|(_, g)| (g.external_id.as_str().to_owned(), g.email.clone()))
                .collect();
            let mut page = Vec::with_capacity(parsed.len());
            let mut members = Vec::new();
            for (resource, group) in parsed {
                let mut of_group = Vec::new();
                for id in wire::member_ids(resource) {
                    let Ok(external_id) = ExternalId::new(id) else {
                        continue;
                    };
                    let (kind, email) = if let Some(email) = group_emails.get(id) {
                        (MemberKind::Group, Some(email.clone()))
                    } else {
                        (MemberKind::User, emails.get(id).cloned())
                    };
                    of_group.push(RemoteMember {
                        group: group.external_id.clone(),
                        member: Member {
                            kind,
                            external_id,
                            email,
                        },
                        role: MemberRole::Member,
                    });
                }
                members.push((group.external_id.clone(), of_group));
                // Member operations name a group by its email.
                self.remember(group.email.key(), group.external_id.as_str().to_owned());
                page.push(group);
            }
            builder.groups_page(page, None)?;
            if kinds.contains(ObjectKind::Memberships) {
                for (group, of_group) in members {
                    builder.members_page(&group, of_group, None)?;
                }
            }
        }
        Ok(Fetched::new(builder.finish()?, self.take_stats()))
    }
}
