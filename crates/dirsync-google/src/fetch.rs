//! Page chains into a [`SnapshotBuilder`]: org units, users, deleted users, groups, and the
//! members of many groups concurrently within the concurrency bound. Calls within one chain are
//! sequential; every chain is followed to its last page; any failure fails the whole fetch.
//!
//! Rule scopes are applied client-side over the full listings (always correct): org units and
//! users outside the filter's org-unit subtree are left out (`OrgUnitPath::is_within`), and only
//! allow-listed groups (by email) are kept and have their members listed. Google's
//! `query=orgUnitPath='/X'` is deliberately not used: its subtree semantics are not part of the
//! reference contract, and a wrong server-side filter would look like mass deletion.
//!
//! A group allow-list of at most [`GROUPS_GET_MAX`] addresses (an outbound integration's managed
//! groups, typically) is read with one `groups.get` per address, concurrently, instead of
//! listing every group: N requests whatever the tenant's size, where the listing costs
//! ceil(G/200) sequential pages. A 404 means the group does not exist (it is absent from the
//! snapshot, as it would be from the listing). Above the bound the listing is the better bet
//! (it is at most N requests while G ≤ 200·N). Either way only the allowed groups' members are
//! listed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use dirsync_core::{
    Email, FetchProgress, FetchRequest, Fetched, ObjectKind, QuarantinedRecord, RemoteGroup,
    ScopeFilter, SnapshotBuilder,
};
use futures::{StreamExt as _, TryStreamExt as _};

use crate::GoogleConnector;
use crate::client::ApiRequest;
use crate::counters::Counters;
use crate::error::Error;
use crate::mapping;
use crate::member_queue::MemberQueue;
use crate::settings::scopes;
use crate::wire::Page;

/// `fields=` of the users listing (keep `nextPageToken`, or paging silently stops).
pub(crate) const USER_FIELDS: &str = "nextPageToken,users(id,primaryEmail,name,suspended,archived,isAdmin,isDelegatedAdmin,orgUnitPath,creationTime,externalIds,relations,organizations,aliases,customSchemas)";
/// `fields=` of the deleted-users listing.
pub(crate) const DELETED_USER_FIELDS: &str =
    "nextPageToken,users(id,primaryEmail,orgUnitPath,deletionTime)";
/// `fields=` of the groups listing.
pub(crate) const GROUP_FIELDS: &str =
    "nextPageToken,groups(id,email,name,description,directMembersCount)";
/// `fields=` of a members listing.
pub(crate) const MEMBER_FIELDS: &str = "nextPageToken,members(id,email,role,type,status)";
/// `fields=` of the org-unit listing (no paging).
pub(crate) const ORG_UNIT_FIELDS: &str =
    "organizationUnits(orgUnitId,orgUnitPath,name,description,parentOrgUnitId,parentOrgUnitPath)";

/// Group allow-lists up to this size are read with `groups.get`, larger ones by listing.
pub(crate) const GROUPS_GET_MAX: usize = 50;

/// `fields=` of one group (`groups.get`).
pub(crate) const GROUP_GET_FIELDS: &str = "id,email,name,description,directMembersCount";

/// Routes, as recorded in [`dirsync_core::FetchStats::requests`].
pub(crate) mod routes {
    /// users.list
    pub(crate) const USERS: &str = "GET /admin/directory/v1/users";
    /// groups.list
    pub(crate) const GROUPS: &str = "GET /admin/directory/v1/groups";
    /// groups.get
    pub(crate) const GROUP: &str = "GET /admin/directory/v1/groups/{groupKey}";
    /// members.list
    pub(crate) const MEMBERS: &str = "GET /admin/directory/v1/groups/{groupKey}/members";
    /// orgunits.list
    pub(crate) const ORG_UNITS: &str = "GET /admin/directory/v1/customer/{customerId}/orgunits";
    /// domains.list
    pub(crate) const DOMAINS: &str = "GET /admin/directory/v1/customer/{customer}/domains";
}

struct Run<'a> {
    builder: Mutex<SnapshotBuilder>,
    counters: Counters,
    /// The rule's scope, shared with the page parsers on the blocking pool.
    filter: Arc<ScopeFilter>,
    progress: &'a dyn FetchProgress,
}

impl Run<'_> {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut SnapshotBuilder) -> Result<T, dirsync_core::Error>,
    ) -> Result<T, Error> {
        let mut b = self.builder.lock().map_err(|_| Error::Poisoned {
            what: "snapshot builder",
        })?;
        Ok(f(&mut b)?)
    }

    fn quarantine(&self, records: Vec<QuarantinedRecord>) -> Result<(), Error> {
        for r in &records {
            tracing::warn!(kind = %r.kind, label = %r.label, reason = %r.reason, "quarantined");
        }
        self.with(|b| {
            records.into_iter().for_each(|r| b.quarantine(r));
            Ok(())
        })
    }
}

impl GoogleConnector {
    /// The scope to read with: `readonly`, unless the connector was given only the full scope
    /// it stands for (an outbound integration provisioning users or org units is granted
    /// `user`/`orgunit`, which also authorize reading; delegation matches exact strings).
    pub(crate) fn read_scope(&self, readonly: &str) -> Result<dirsync_core::Scope, Error> {
        let scope = dirsync_core::Scope::new(readonly)?;
        if let Some(full) = readonly.strip_suffix(".readonly")
            && !self.scopes.contains(&scope)
            && self.scopes.iter().any(|s| s.as_str() == full)
        {
            return Ok(dirsync_core::Scope::new(full)?);
        }
        Ok(scope)
    }

    fn request(
        &self,
        route: &'static str,
        segments: &[&str],
        query: &[(&str, &str)],
        scope: &str,
        page_token: Option<&str>,
    ) -> Result<ApiRequest, Error> {
        let scope = self.read_scope(scope)?;
        let mut q: Vec<(&str, &str)> = query.to_vec();
        if let Some(t) = page_token {
            q.push(("pageToken", t));
        }
        ApiRequest::new(&self.api_base, route, segments, &q, &scope)
    }

    /// Follows one chain to its last page. Each page is parsed and mapped by `parse` on
    /// tokio's blocking pool, off the task that drives every chain of the fetch: a big page's
    /// parse never holds up another chain's next request (the longest chain's pages, one after
    /// the other, are the fetch's wall time), and pages parse on every core. What `parse` gives
    /// is handed, with the page's next token, to `on_page`.
    async fn chain<T: Send + 'static>(
        &self,
        run: &Run<'_>,
        make: impl Fn(Option<&str>) -> Result<ApiRequest, Error>,
        parse: impl Fn(&Page<'_>) -> T + Clone + Send + 'static,
        mut on_page: impl FnMut(T, Option<&str>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut token: Option<String> = None;
        loop {
            let req = make(token.as_deref())?;
            let body = self.client.send(&req, &run.counters).await?;
            let (route, parse, span) = (req.route, parse.clone(), tracing::Span::current());
            let (items, next) = tokio::task::spawn_blocking(move || {
                span.in_scope(|| {
                    let page = Page::parse(route, &body)?;
                    let next = page.next_page_token.clone().filter(|t| !t.is_empty());
                    Ok::<_, Error>((parse(&page), next))
                })
            })
            .await
            .map_err(|_| Error::Poisoned {
                what: "page parser",
            })??;
            on_page(items, next.as_deref())?;
            match next {
                Some(t) => token = Some(t),
                None => return Ok(()),
            }
        }
    }

    async fn org_units(&self, run: &Run<'_>) -> Result<(), Error> {
        let req = self.request(
            routes::ORG_UNITS,
            &["customer", &self.customer, "orgunits"],
            &[
                ("type", "all"),
                ("fields", ORG_UNIT_FIELDS),
                ("prettyPrint", "false"),
            ],
            scopes::ORGUNIT_READONLY,
            None,
        )?;
        let body = self.client.send(&req, &run.counters).await?;
        let page = Page::parse(req.route, &body)?;
        let (mut units, mut bad) = (Vec::new(), Vec::new());
        for v in &page.organization_units {
            match mapping::map_org_unit(v.get()) {
                Ok(u) if run.filter.includes_org_unit(&u.path) => units.push(u),
                Ok(_) => {}
                Err(q) => bad.push(q),
            }
        }
        run.progress.page(ObjectKind::OrgUnits, units.len());
        run.quarantine(bad)?;
        run.with(|b| b.org_units(units))
    }

    async fn users(&self, run: &Run<'_>) -> Result<(), Error> {
        let projection = if self.mapping.custom_schemas {
            "full"
        } else {
            "basic"
        };
        let make = |token: Option<&str>| {
            self.request(
                routes::USERS,
                &["users"],
                &[
                    self.listing_scope(),
                    ("maxResults", "500"),
                    ("projection", projection),
                    ("fields", USER_FIELDS),
                    ("prettyPrint", "false"),
                ],
                scopes::USER_READONLY,
                token,
            )
        };
        let (mapping, filter) = (self.mapping.clone(), Arc::clone(&run.filter));
        let parse = move |page: &Page<'_>| {
            let (mut users, mut bad) = (Vec::new(), Vec::new());
            for v in &page.users {
                match mapping::map_user(v.get(), &mapping) {
                    Ok(u) => match (&u.org_unit, &filter.org_unit) {
                        (_, None) => users.push(u),
                        (Some(ou), Some(_)) => {
                            if filter.includes_org_unit(ou) {
                                users.push(u);
                            }
                        }
                        // In an org-unit-scoped rule a user without a path cannot be placed:
                        // quarantined (counted present), never silently dropped.
                        (None, Some(_)) => bad.push(QuarantinedRecord {
                            kind: ObjectKind::Users,
                            external_id: Some(u.external_id.clone()),
                            label: u.primary_email.to_string(),
                            reason: "no orgUnitPath, so the org-unit scope cannot be decided"
                                .into(),
                        }),
                    },
                    Err(q) => bad.push(q),
                }
            }
            (users, bad)
        };
        self.chain(run, make, parse, |(users, bad), next| {
            run.progress.page(ObjectKind::Users, users.len());
            run.quarantine(bad)?;
            run.with(|b| b.users_page(users, next))
        })
        .await?;
        // Deleted users: a second listing, so that a deletion is positive evidence.
        let make = |token: Option<&str>| {
            self.request(
                routes::USERS,
                &["users"],
                &[
                    self.listing_scope(),
                    ("maxResults", "500"),
                    ("showDeleted", "true"),
                    ("fields", DELETED_USER_FIELDS),
                    ("prettyPrint", "false"),
                ],
                scopes::USER_READONLY,
                token,
            )
        };
        let filter = Arc::clone(&run.filter);
        let parse = move |page: &Page<'_>| {
            let (mut users, mut bad) = (Vec::new(), Vec::new());
            for v in &page.users {
                match mapping::map_deleted_user(v.get()) {
                    Ok((d, ou)) => {
                        // Kept when its org unit is in scope or unknown: deletion evidence is
                        // keyed by id and never widens what the rule covers.
                        if ou.as_ref().is_none_or(|o| filter.includes_org_unit(o)) {
                            users.push(d);
                        }
                    }
                    Err(q) => bad.push(q),
                }
            }
            (users, bad)
        };
        self.chain(run, make, parse, |(users, bad), next| {
            run.quarantine(bad)?;
            run.with(|b| b.deleted_users_page(users, next))
        })
        .await
    }

    async fn groups(&self, run: &Run<'_>, queue: &MemberQueue) -> Result<(), Error> {
        let make = |token: Option<&str>| {
            self.request(
                routes::GROUPS,
                &["groups"],
                &[
                    self.listing_scope(),
                    ("maxResults", "200"),
                    ("fields", GROUP_FIELDS),
                    ("prettyPrint", "false"),
                ],
                scopes::GROUP_READONLY,
                token,
            )
        };
        let filter = Arc::clone(&run.filter);
        let parse = move |page: &Page<'_>| {
            let (mut groups, mut bad) = (Vec::new(), Vec::new());
            for v in &page.groups {
                match mapping::map_group(v.get()) {
                    Ok(g) if filter.includes_group(&g.email) => groups.push(g),
                    Ok(_) => {}
                    Err(q) => bad.push(q),
                }
            }
            (groups, bad)
        };
        self.chain(run, make, parse, |(groups, bad), next| {
            run.progress.page(ObjectKind::Groups, groups.len());
            run.quarantine(bad)?;
            queue.push(groups.iter().cloned())?;
            run.with(|b| b.groups_page(groups, next))
        })
        .await
    }

    /// One group by address; `None` when it does not exist (404).
    async fn group(&self, run: &Run<'_>, email: Email) -> Result<Option<String>, Error> {
        let req = self.request(
            routes::GROUP,
            &["groups", email.as_str()],
            &[("fields", GROUP_GET_FIELDS), ("prettyPrint", "false")],
            scopes::GROUP_READONLY,
            None,
        )?;
        match self.client.get_record(&req, &run.counters).await {
            Ok(v) => Ok(Some(v)),
            Err(Error::Http {
                status: Some(404), ..
            }) => {
                tracing::info!(group = %email, "allow-listed group does not exist");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The allowed groups, one `groups.get` each (see the module documentation).
    async fn allowed_groups(
        &self,
        run: &Run<'_>,
        allowed: &BTreeSet<Email>,
        queue: &MemberQueue,
    ) -> Result<(), Error> {
        let found: Vec<Option<String>> = futures::stream::iter(allowed.iter().cloned())
            .map(|email| self.group(run, email))
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        let (mut groups, mut bad) = (Vec::new(), Vec::new());
        for v in found.iter().flatten() {
            match mapping::map_group(v) {
                Ok(g) if run.filter.includes_group(&g.email) => groups.push(g),
                // Asked for by an alias: kept out, as the listing would keep it out.
                Ok(g) => tracing::warn!(
                    group = %g.email,
                    "an allow-listed address is an alias of this group; allow its primary address"
                ),
                Err(q) => bad.push(q),
            }
        }
        groups.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        run.progress.page(ObjectKind::Groups, groups.len());
        run.quarantine(bad)?;
        queue.push(groups.iter().cloned())?;
        run.with(|b| b.groups_page(groups, None))
    }

    /// Lists the members of the queue's groups, one group at a time, until the queue is closed
    /// and empty.
    async fn member_worker(&self, run: &Run<'_>, queue: &MemberQueue) -> Result<(), Error> {
        while let Some(group) = queue.next().await? {
            self.members(run, group).await?;
        }
        Ok(())
    }

    async fn members(&self, run: &Run<'_>, group: RemoteGroup) -> Result<(), Error> {
        let gid = group.external_id.as_str();
        let make = |token: Option<&str>| {
            self.request(
                routes::MEMBERS,
                &["groups", gid, "members"],
                &[
                    ("maxResults", "200"),
                    ("fields", MEMBER_FIELDS),
                    ("prettyPrint", "false"),
                ],
                scopes::GROUP_READONLY,
                token,
            )
        };
        let id = group.external_id.clone();
        let parse = move |page: &Page<'_>| {
            let (mut members, mut bad) = (Vec::new(), Vec::new());
            for v in &page.members {
                match mapping::map_member(&id, v.get()) {
                    Ok(m) => members.push(m),
                    Err(q) => bad.push(q),
                }
            }
            (members, bad)
        };
        self.chain(run, make, parse, |(members, bad), next| {
            run.progress.page(ObjectKind::Memberships, members.len());
            run.quarantine(bad)?;
            run.with(|b| b.members_page(&group.external_id, members, next))
        })
        .await
    }

    /// Fetches a complete snapshot (see the module documentation).
    pub(crate) async fn fetch_snapshot(
        &self,
        request: &FetchRequest,
        progress: &dyn FetchProgress,
    ) -> Result<Fetched, Error> {
        let started = Instant::now();
        let kinds = &request.kinds;
        let run = Run {
            builder: Mutex::new(SnapshotBuilder::new(
                kinds.clone(),
                request.filter.clone(),
                Utc::now(),
            )),
            counters: Counters::default(),
            filter: Arc::new(request.filter.clone()),
            progress,
        };
        let org_units = async {
            if kinds.contains(ObjectKind::OrgUnits) {
                self.org_units(&run).await?;
            }
            Ok::<(), Error>(())
        };
        let users = async {
            if kinds.contains(ObjectKind::Users) {
                self.users(&run).await?;
            }
            Ok::<(), Error>(())
        };
        // The groups' members are listed while the groups listing still pages, by up to
        // `concurrency` workers taking the biggest group known first (see `MemberQueue`).
        let queue = MemberQueue::new(kinds.contains(ObjectKind::Memberships));
        let groups = async {
            if kinds.contains(ObjectKind::Groups) || kinds.contains(ObjectKind::Memberships) {
                match &request.filter.groups {
                    Some(allowed) if allowed.len() <= GROUPS_GET_MAX => {
                        self.allowed_groups(&run, allowed, &queue).await?
                    }
                    _ => self.groups(&run, &queue).await?,
                }
            }
            queue.close()
        };
        let members = async {
            if kinds.contains(ObjectKind::Memberships) {
                let workers =
                    (0..self.concurrency.max(1)).map(|_| self.member_worker(&run, &queue));
                futures::future::try_join_all(workers).await?;
            }
            Ok::<(), Error>(())
        };
        tokio::try_join!(org_units, users, groups, members)?;
        let stats = run.counters.stats(started.elapsed());
        let builder = run.builder.into_inner().map_err(|_| Error::Poisoned {
            what: "snapshot builder",
        })?;
        let snapshot = builder.finish()?;
        tracing::info!(
            users = snapshot.users().len(),
            groups = snapshot.groups().len(),
            members = snapshot.members().len(),
            quarantined = snapshot.quarantined().len(),
            requests = stats.total_requests(),
            retries = stats.retries,
            "fetched a complete snapshot"
        );
        Ok(Fetched::new(snapshot, stats))
    }
}
