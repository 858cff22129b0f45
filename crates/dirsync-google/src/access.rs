//! The access check of [`DirectorySource::validate_access`](dirsync_core::DirectorySource):
//! the token requests per scope (or a consent's granted scopes), then one small call per
//! granted API, and the customer's domains when the grant may read them.

use std::collections::BTreeSet;

use dirsync_core::{AccessCheck, AccessDenied, AccessReport, AuthorizationMethod, Scope};

use crate::auth::{GcpAuthTokenSource, ScopeCheck};
use crate::client::ApiRequest;
use crate::counters::Counters;
use crate::fetch::routes as fetch_routes;
use crate::{Error, GoogleConnector, scopes};

/// `report` with the optional Reports scope among its granted scopes when `granted` (push
/// then covers groups and memberships by polling); nothing is said when it is not (push covers
/// users only, and activation does not fail for it).
fn with_reports(mut report: AccessReport, reports: Scope, granted: bool) -> AccessReport {
    if granted && report.all_passed() {
        report.checks.push(AccessCheck::scope(reports, true));
    }
    report
}

impl GoogleConnector {
    /// Per-scope token requests (a consent: the scopes its token grants), then one small
    /// call per granted API.
    pub(crate) async fn check_access(&self) -> Result<AccessReport, Error> {
        let mut granted = BTreeSet::new();
        let mut missing = BTreeSet::new();
        if let Some(consent) = &self.consent {
            let scopes = consent.granted_scopes().await?;
            for scope in &self.scopes {
                if scopes.contains(scope) {
                    granted.insert(scope.clone());
                } else {
                    missing.insert(scope.clone());
                }
            }
            let readable = scopes.contains(&Scope::new(scopes::DOMAIN_READONLY)?);
            let reports = Scope::new(scopes::REPORTS_AUDIT_READONLY)?;
            let polls = self.pushes() && scopes.contains(&reports);
            let checked = self.probe_in_domain(granted, missing, readable).await.map_err(|e| {
                if matches!(
                    e,
                    Error::Access(AccessDenied::Unauthorized { .. })
                        | Error::Http {
                            status: Some(403),
                            ..
                        }
                ) && e.is_configuration()
                {
                    Error::Access(AccessDenied::Unauthorized {
                        reason: format!(
                            "{} consented, but Google refuses them the Directory API ({e}): a Workspace admin must authorize the integration",
                            consent.consent().authorized_by
                        ),
                    })
                } else {
                    e
                }
            })?;
            return Ok(with_reports(checked, reports, polls)
                .with_subject(consent.consent().authorized_by.clone())
                .with_method(AuthorizationMethod::OAuth));
        }
        let key = self.key.as_ref().ok_or_else(|| Error::Config {
            reason: "validate_access needs the service-account key (key_json or key_file)".into(),
        })?;
        // Through the connector's own token source (the tokens the check is issued then serve
        // the probes and the first sync instead of being asked again), or, when its tokens
        // come from elsewhere (an application's broker), one for the key made for the check.
        let key_tokens;
        let tokens = match &self.key_tokens {
            Some(tokens) => tokens.as_ref(),
            None => {
                key_tokens = GcpAuthTokenSource::new(
                    key.clone(),
                    self.subject.clone(),
                    self.client.token_timeout,
                )?;
                &key_tokens
            }
        };
        let domains = Scope::new(scopes::DOMAIN_READONLY)?;
        let reports = Scope::new(scopes::REPORTS_AUDIT_READONLY)?;
        // The first scope's token request alone (a wrong key or subject fails there, after one
        // request), then every other at once (each is a round trip to the token endpoint).
        // The answers are read in the scopes' order, as one request at a time would give them.
        let check = |scope| tokens.check(scope);
        let mut scopes = self.scopes.iter();
        let first = match scopes.next() {
            Some(scope) => Some(check(scope).await?),
            None => None,
        };
        let (rest, readable, polled) = futures::join!(
            futures::future::join_all(scopes.map(check)),
            check(&domains),
            check(&reports),
        );
        let checked = first.map(Ok).into_iter().chain(rest);
        for (scope, check) in self.scopes.iter().zip(checked) {
            match check? {
                ScopeCheck::Granted => {
                    granted.insert(scope.clone());
                }
                ScopeCheck::Missing { description } => {
                    tracing::warn!(scope = scope.as_str(), %description, "scope not granted");
                    missing.insert(scope.clone());
                }
            }
        }
        // Optional: whatever keeps them from being granted only leaves the domains unnamed,
        // or the groups unpolled.
        let readable = matches!(readable, Ok(ScopeCheck::Granted));
        let polled = matches!(polled, Ok(ScopeCheck::Granted));
        let polls = self.pushes() && polled;
        let report = self.probe_in_domain(granted, missing, readable).await?;
        Ok(with_reports(report, reports, polls)
            .with_subject(self.subject.clone())
            .with_client(key.client_id.clone(), key.client_email.clone())
            .with_ownership(self.ownership)
            .with_method(AuthorizationMethod::ServiceAccount))
    }

    /// [`probe`](Self::probe), and, when the grant allows reading the customer's domains
    /// (`readable`: the optional scope `admin.directory.domain.readonly`), a check that names
    /// them and, for an integration limited to a domain, one that it is among them (failed:
    /// naming the domains there are; the APIs are not probed with a domain that is not one).
    async fn probe_in_domain(
        &self,
        granted: BTreeSet<Scope>,
        missing: BTreeSet<Scope>,
        readable: bool,
    ) -> Result<AccessReport, Error> {
        if !readable {
            return self.probe(granted, missing).await;
        }
        let (domains, mut report) = match &self.domain {
            // No domain to check first: the domains are read beside the probes.
            None => {
                let (domains, report) =
                    futures::join!(self.domains(), self.probe(granted, missing));
                (domains?, report?)
            }
            Some(chosen) => {
                let Some(domains) = self.domains().await? else {
                    return self.probe(granted, missing).await;
                };
                let report = if domains.contains(chosen) {
                    self.probe(granted, missing).await?
                } else {
                    AccessReport::new(
                        self.scopes
                            .iter()
                            .map(|s| AccessCheck::scope(s.clone(), granted.contains(s)))
                            .collect(),
                    )
                };
                (Some(domains), report)
            }
        };
        let Some(domains) = domains else {
            return Ok(report);
        };
        let list = domains.join(", ");
        report.checks.push(AccessCheck::passed(format!(
            "the customer's domains: {list}"
        )));
        if let Some(chosen) = &self.domain {
            report.checks.push(if domains.contains(chosen) {
                AccessCheck::passed(format!("domain {chosen}"))
            } else {
                AccessCheck::failed(
                    format!("domain {chosen}"),
                    format!(
                        "it is not one of the customer's domains ({list}): choose one of them (google-integration:update --domain)"
                    ),
                )
            });
        }
        Ok(report)
    }

    /// The customer's domain names (`domains.list`), lower case; `None` when Google refuses
    /// them to this grant or does not answer (they are optional: nothing fails for that).
    async fn domains(&self) -> Result<Option<Vec<String>>, Error> {
        let scope = Scope::new(scopes::DOMAIN_READONLY)?;
        let req = ApiRequest::new(
            &self.api_base,
            fetch_routes::DOMAINS,
            &["customer", &self.customer, "domains"],
            &[("fields", "domains(domainName)")],
            &scope,
        )?;
        match self.client.get_json(&req, &Counters::default()).await {
            Ok(page) => Ok(Some(
                page.get("domains")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.get("domainName").and_then(serde_json::Value::as_str))
                    .map(str::to_ascii_lowercase)
                    .collect(),
            )),
            Err(e) => {
                tracing::info!(error = %e, "the customer's domains could not be read");
                Ok(None)
            }
        }
    }

    /// One small call per granted API; a scope the API refuses moves to `missing`.
    async fn probe(
        &self,
        mut granted: BTreeSet<Scope>,
        mut missing: BTreeSet<Scope>,
    ) -> Result<AccessReport, Error> {
        let counters = Counters::default();
        let customer = [self.listing_scope(), ("maxResults", "1")];
        let probes = [
            Probe {
                scope: scopes::USER_READONLY,
                route: fetch_routes::USERS,
                segments: vec!["users"],
                query: customer.to_vec(),
            },
            Probe {
                scope: scopes::GROUP_READONLY,
                route: fetch_routes::GROUPS,
                segments: vec!["groups"],
                query: customer.to_vec(),
            },
            Probe {
                scope: scopes::ORGUNIT_READONLY,
                route: fetch_routes::ORG_UNITS,
                segments: vec!["customer", self.customer.as_str(), "orgunits"],
                query: vec![("type", "children")],
            },
        ];
        let mut some_group = None;
        let mut requests = Vec::new();
        for Probe {
            scope,
            route,
            segments,
            query,
        } in probes
        {
            let scope = Scope::new(scope)?;
            if granted.contains(&scope) {
                requests.push(ApiRequest::new(
                    &self.api_base,
                    route,
                    &segments,
                    &query,
                    &scope,
                )?);
            }
        }
        // The probes at once; their answers read in order, as one at a time would give them.
        let answers = futures::future::join_all(
            requests
                .iter()
                .map(|req| self.client.get_json(req, &counters)),
        )
        .await;
        for (req, answer) in requests.iter().zip(answers) {
            let route = req.route;
            match answer {
                Ok(page) if route == fetch_routes::GROUPS => {
                    some_group = page
                        .pointer("/groups/0/id")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned);
                }
                Ok(_) => {}
                Err(Error::Access(AccessDenied::MissingScopes { scopes })) => {
                    for s in scopes {
                        granted.remove(&s);
                        missing.insert(s);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        // `group.member` (outbound writes) is proven without writing: it authorizes
        // `members.list`, so one group's first member is read with its token.
        let member_scope = Scope::new(scopes::GROUP_MEMBER)?;
        if let (true, Some(group)) = (granted.contains(&member_scope), some_group) {
            let req = ApiRequest::new(
                &self.api_base,
                fetch_routes::MEMBERS,
                &["groups", &group, "members"],
                &[("maxResults", "1")],
                &member_scope,
            )?;
            match self.client.get_json(&req, &counters).await {
                Ok(_) => {}
                Err(Error::Access(AccessDenied::MissingScopes { .. })) => {
                    granted.remove(&member_scope);
                    missing.insert(member_scope);
                }
                Err(e) => return Err(e),
            }
        }
        let checks = self
            .scopes
            .iter()
            .map(|scope| AccessCheck::scope(scope.clone(), granted.contains(scope)))
            .collect();
        Ok(AccessReport::new(checks))
    }
}

/// One small call that proves an API answers for a granted scope.
struct Probe<'a> {
    scope: &'static str,
    route: &'static str,
    segments: Vec<&'a str>,
    query: Vec<(&'a str, &'a str)>,
}
