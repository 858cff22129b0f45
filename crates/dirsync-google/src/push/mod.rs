//! Push notifications (reference §6): `users.watch` opens a channel (one per integration, no
//! event filter, every user event), `channels.stop` stops it, and `users.get` re-reads the user
//! a notification names — the notification's body is never trusted. A `users.get` answered
//! 404 is Google's word that the user is deleted; so is the user listed among the deleted ones
//! (`showDeleted=true`), which is looked up when `users.get` gives no answer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dirsync_core::{
    Activity, Authorization, ChannelRequest, ExternalId, GroupRead, OpenedChannel, PushSource,
    UserRead,
};
use serde_json::{Value, json};

use crate::GoogleConnector;
use crate::client::ApiRequest;
use crate::counters::Counters;
use crate::error::Error;
use crate::mapping;
use crate::settings::scopes;

/// Route labels of the push calls.
pub(crate) mod routes {
    /// `users.watch`.
    pub(crate) const WATCH: &str = "POST /admin/directory/v1/users/watch";
    /// `channels.stop` (note `directory_v1`, as the discovery document has it).
    pub(crate) const STOP: &str = "POST /admin/directory_v1/channels/stop";
    /// `users.list` (of the deleted users, confirming a delete).
    pub(crate) use crate::fetch::routes::USERS;
    /// `users.get` of a notified user (the route label the write side reads accounts with).
    pub(crate) use crate::write_users::routes::GET_USER;
}

/// `fields=` of a re-read user: what the users listing reads of each user.
const USER_FIELDS: &str = "id,primaryEmail,name,suspended,archived,isAdmin,isDelegatedAdmin,orgUnitPath,creationTime,externalIds,relations,organizations,aliases,customSchemas";

/// Google's limit on a channel's life, as observed (reference §6): asking for more is pointless.
const MAX_TTL_SECONDS: i64 = 6 * 3600;

impl GoogleConnector {
    fn push_request(
        &self,
        route: &'static str,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<ApiRequest, Error> {
        let scope = self.read_scope(scopes::USER_READONLY)?;
        ApiRequest::new(&self.api_base, route, segments, query, &scope)
    }

    async fn watch(&self, request: &ChannelRequest) -> Result<OpenedChannel, Error> {
        let ttl = request.ttl.num_seconds().clamp(1, MAX_TTL_SECONDS);
        let body = json!({
            "id": request.id,
            "type": "web_hook",
            "address": request.address,
            "token": request.token.expose_secret(),
            "params": {"ttl": ttl.to_string()},
        });
        // The same scope the users listing reads: a domain-limited integration watches only
        // its domain's users.
        let scope = self.listing_scope();
        let req = self
            .push_request(
                routes::WATCH,
                &["users", "watch"],
                &[scope, ("prettyPrint", "false")],
            )?
            .with_method(reqwest::Method::POST, Some(body));
        let answer = self.client.get_json(&req, &Counters::default()).await?;
        let decode = |message: &str| Error::Decode {
            route: routes::WATCH.to_owned(),
            message: message.to_owned(),
        };
        let resource_id = answer
            .get("resourceId")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| decode("the channel has no resourceId"))?;
        let expires_at = answer
            .get("expiration")
            .and_then(|e| match e {
                Value::String(s) => s.parse::<i64>().ok(),
                Value::Number(n) => n.as_i64(),
                _ => None,
            })
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .ok_or_else(|| decode("the channel has no expiration in epoch milliseconds"))?;
        Ok(OpenedChannel::new(resource_id, expires_at))
    }

    async fn stop(&self, id: &str, resource_id: &str) -> Result<(), Error> {
        let mut req = self.push_request(routes::STOP, &[], &[])?.with_method(
            reqwest::Method::POST,
            Some(json!({"id": id, "resourceId": resource_id})),
        );
        req.set_path("/admin/directory_v1/channels/stop");
        match self.client.send(&req, &Counters::default()).await {
            Ok(_)
            | Err(Error::Http {
                status: Some(404), ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn get_user(&self, id: &ExternalId) -> Result<UserRead, Error> {
        let projection = if self.mapping.custom_schemas {
            "full"
        } else {
            "basic"
        };
        let req = self.push_request(
            routes::GET_USER,
            &["users", id.as_str()],
            &[
                ("projection", projection),
                ("fields", USER_FIELDS),
                ("prettyPrint", "false"),
            ],
        )?;
        match self.client.get_record(&req, &Counters::default()).await {
            Ok(v) => mapping::map_user(&v, &self.mapping)
                .map(|u| UserRead::Present(Box::new(u)))
                .map_err(|q| Error::Decode {
                    route: routes::GET_USER.to_owned(),
                    message: format!("user {} is unusable: {}", q.label, q.reason),
                }),
            Err(Error::Http {
                status: Some(404), ..
            }) => Ok(UserRead::Deleted),
            // No answer about the user: Google's other word for a delete is the user listed
            // among the deleted ones; otherwise the failure stands (nothing is deleted).
            Err(e) => match self.listed_as_deleted(id).await {
                Ok(true) => Ok(UserRead::Deleted),
                Ok(false) => Err(e),
                Err(listing) => {
                    tracing::info!(error = %listing, "the deleted users could not be listed");
                    Err(e)
                }
            },
        }
    }

    /// Whether `id` is among the deleted users (`users.list?showDeleted=true`, every page
    /// until it is found).
    async fn listed_as_deleted(&self, id: &ExternalId) -> Result<bool, Error> {
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                self.listing_scope(),
                ("showDeleted", "true"),
                ("maxResults", "500"),
                ("fields", "nextPageToken,users(id)"),
                ("prettyPrint", "false"),
            ];
            if let Some(t) = &token {
                query.push(("pageToken", t));
            }
            let req = self.push_request(routes::USERS, &["users"], &query)?;
            let page = self.client.get_json(&req, &Counters::default()).await?;
            let users = page.get("users").and_then(Value::as_array);
            if users
                .into_iter()
                .flatten()
                .any(|u| u.get("id").and_then(Value::as_str) == Some(id.as_str()))
            {
                return Ok(true);
            }
            match page.get("nextPageToken").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(false),
            }
        }
    }
}

#[async_trait]
impl PushSource for GoogleConnector {
    async fn open_channel(
        &self,
        request: &ChannelRequest,
    ) -> Result<OpenedChannel, dirsync_core::Error> {
        Ok(self.watch(request).await?)
    }

    async fn stop_channel(&self, id: &str, resource_id: &str) -> Result<(), dirsync_core::Error> {
        Ok(self.stop(id, resource_id).await?)
    }

    async fn read_user(&self, id: &ExternalId) -> Result<UserRead, dirsync_core::Error> {
        Ok(self.get_user(id).await?)
    }

    fn polls_activities(&self, authorization: &Authorization) -> bool {
        Self::reports_granted(authorization)
    }

    async fn read_activities(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Activity>, dirsync_core::Error> {
        Ok(self.activities(start, end).await?)
    }

    async fn read_group(&self, key: &str) -> Result<GroupRead, dirsync_core::Error> {
        Ok(self.group_snapshot(key).await?)
    }
}
