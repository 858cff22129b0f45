//! Outbound SCIM: a Google primary (the emulator) provisioned into a SCIM application, users,
//! a group's memberships and later changes (a rename, a suspension, a membership change)
//! converging, then nothing to do; and every group of the primary provisioned as an app group
//! holding its members (users and nested groups).
//!
//! Two applications: the real `scim2-server` (a Python SCIM service provider; found through
//! `DIRSYNC_SCIM2_SERVER` or on `PATH`; its test says loudly that it did not run when it is
//! missing, and fails instead with `DIRSYNC_REQUIRE_SCIM2_SERVER=1`, as CI sets), and a small
//! in-process SCIM app answering every fifth request `503` with `Retry-After`, half of those
//! after storing the write (a lost acknowledgement), which must converge without duplicates.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support_scim;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dirsync_core::{
    DirectionKind, Email, GroupAssignment, GroupProvisioning, GroupSource, IntegrationId,
    KeyOwnership, MemberKind, RunOutcome, Schedule, Secret, SecretStore, Selector, SyncRun,
    Trigger, UserProvisioning, UserStatus,
};
use dirsync_google::{GoogleKind, GoogleSettings, KeyReference};
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec, UserPatch};
use dirsync_scim::{ClientConfig, ScimEndpoint, ScimKind};
use dirsync_service::{CreateGoogle, DryRun, NewRule, Registry, Service, Silent};
use dirsync_sqlite::SqliteStore;
use serde_json::{Value, json};

use support_scim::{FaultyApp, Scim2Server};

/// Secrets in memory.
#[derive(Default)]
struct Secrets(Mutex<BTreeMap<String, Secret>>);

impl SecretStore for Secrets {
    fn secret(&self, name: &str) -> Result<Secret, dirsync_core::Error> {
        self.0
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| dirsync_core::Error::Credential {
                reference: name.to_owned(),
                reason: dirsync_core::NO_SUCH_SECRET.to_owned(),
            })
    }

    fn put_secret(&self, name: &str, secret: &Secret) -> Result<(), dirsync_core::Error> {
        self.0
            .lock()
            .unwrap()
            .insert(name.to_owned(), secret.clone());
        Ok(())
    }

    fn remove_secret(&self, name: &str) -> Result<bool, dirsync_core::Error> {
        Ok(self.0.lock().unwrap().remove(name).is_some())
    }
}

struct World {
    a: RunningEmulator,
    service: Service,
    primary: IntegrationId,
    outbound: IntegrationId,
    /// The app's base URL and token, to read it back.
    app: (String, String),
    /// The directory group whose members the app's group `team` holds.
    source_group: String,
    /// The secrets the service keeps (the app's token).
    secrets: Arc<Secrets>,
    _dir: tempfile::TempDir,
}

const TEAM: &str = "team@apps.example.com";

async fn world(app_url: &str, token: &str) -> World {
    let a = Emulator::start(EmulatorConfig::new(TenantSpec::sized(18, 60)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("directory.db")).unwrap();
    let kept = Arc::new(Secrets::default());
    let secrets: Arc<dyn SecretStore> = kept.clone();
    let scim = ScimKind::new()
        .with_secrets(Arc::clone(&secrets))
        .with_client(ClientConfig::default().with_max_wait(Duration::from_millis(20)));
    let registry = Registry::new().with(GoogleKind::new()).with(scim);
    let service = Service::new(Arc::new(store), registry).with_secrets(secrets);
    let key = dir.path().join("a.json");
    std::fs::write(&key, a.service_account_key_json()).unwrap();
    let mut settings = GoogleSettings::new(
        Email::new(a.admin_subject()).unwrap(),
        KeyReference::File(key),
        KeyOwnership::CustomerOwned,
    );
    settings.api_base = Some(a.base_url());
    settings.quota_per_minute = 0;
    let primary = service
        .create_google(CreateGoogle::new(
            "A",
            DirectionKind::Inbound,
            settings,
            Schedule::Manual,
        ))
        .await
        .unwrap();
    service
        .activate(primary.integration.id(), &Silent)
        .await
        .unwrap();
    let endpoint = ScimEndpoint::new(app_url, Service::new_scim_token_name());
    let outbound = service
        .create_scim_outbound("App", endpoint, &Secret::new(token))
        .await
        .unwrap();
    // The largest directory group holding at most half the users feeds the app's group.
    let tenant = a.tenant();
    let half = tenant.live_users().count() / 2;
    let source_group = tenant
        .groups()
        .iter()
        .filter(|g| g.members.len() <= half)
        .max_by_key(|g| g.members.len())
        .unwrap()
        .email
        .clone();
    drop(tenant);
    World {
        a,
        service,
        primary: primary.integration.id(),
        outbound: outbound.integration.id(),
        app: (app_url.to_owned(), token.to_owned()),
        source_group,
        secrets: kept,
        _dir: dir,
    }
}

impl World {
    async fn add_rules(&self) {
        let people = UserProvisioning::new(Selector::Everyone);
        self.service
            .add_rule(
                self.outbound,
                NewRule::provision_users("People", people, Trigger::Manual),
            )
            .await
            .unwrap();
        let team = GroupAssignment::new(
            Email::new(TEAM).unwrap(),
            Selector::Group(Email::new(&self.source_group).unwrap()),
        );
        self.service
            .add_rule(
                self.outbound,
                NewRule::assign("Team", team, Trigger::Manual),
            )
            .await
            .unwrap();
    }

    async fn inbound(&self) {
        let run = self.service.sync(self.primary, &Silent).await.unwrap();
        assert!(
            matches!(run.outcome, RunOutcome::Succeeded | RunOutcome::NoChange),
            "{run:?}"
        );
    }

    async fn outbound(&self) -> SyncRun {
        self.service.sync(self.outbound, &Silent).await.unwrap()
    }

    /// Runs the outbound integration until a run has nothing to do (at most `runs` runs);
    /// returns the runs.
    async fn converge(&self, runs: usize) -> Vec<SyncRun> {
        let mut done = Vec::new();
        for _ in 0..runs {
            let run = self.outbound().await;
            let idle = run.outcome == RunOutcome::NoChange;
            done.push(run);
            if idle {
                return done;
            }
        }
        panic!("no convergence in {runs} runs: {done:#?}");
    }

    async fn get(&self, path: &str) -> Value {
        let (url, token) = &self.app;
        reqwest::Client::new()
            .get(format!("{url}{path}"))
            .bearer_auth(token)
            .header(support_scim::NO_FAULT, "1")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The app's users: userName → (active, externalId); and the members of `team` by
    /// userName.
    async fn app_state(&self) -> (BTreeMap<String, (bool, String)>, BTreeSet<String>) {
        let users = self.get("/Users?startIndex=1&count=1000").await;
        let resources = users["Resources"].as_array().cloned().unwrap_or_default();
        assert_eq!(users["totalResults"].as_u64(), Some(resources.len() as u64));
        let mut by_id = BTreeMap::new();
        let mut out = BTreeMap::new();
        for u in &resources {
            let name = u["userName"].as_str().unwrap().to_ascii_lowercase();
            assert!(
                out.insert(
                    name.clone(),
                    (
                        u["active"].as_bool().unwrap_or(true),
                        u["externalId"].as_str().unwrap_or_default().to_owned()
                    )
                )
                .is_none(),
                "a duplicate account for {name}"
            );
            by_id.insert(u["id"].as_str().unwrap().to_owned(), name);
        }
        let groups = self.get("/Groups?startIndex=1&count=1000").await;
        let team = groups["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["externalId"] == TEAM)
            .cloned()
            .unwrap();
        let members = team["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| by_id[m["value"].as_str().unwrap()].clone())
            .collect();
        (out, members)
    }

    /// The app holds an active account for every active directory user (marked ours), an
    /// inactive one for every suspended user it had, and `team` holds exactly the active
    /// members of the source group.
    async fn assert_converged(&self) {
        let (accounts, members) = self.app_state().await;
        let users = self.service.store().users().await.unwrap();
        let mut expected_members = BTreeSet::new();
        let tenant = self.a.tenant();
        // Everyone under the source group, through nested groups.
        let mut in_group = BTreeSet::new();
        let mut stack = vec![self.source_group.clone()];
        let mut seen = BTreeSet::new();
        while let Some(key) = stack.pop() {
            let Some(group) = tenant.group(&key) else {
                continue;
            };
            if !seen.insert(group.id.clone()) {
                continue;
            }
            for m in &group.members {
                match tenant.user(&m.id) {
                    Some(u) => {
                        in_group.insert(u.primary_email.to_ascii_lowercase());
                    }
                    None => stack.push(m.id.clone()),
                }
            }
        }
        for u in users {
            let email = u.profile.primary_email.key();
            let active = u.status == dirsync_core::UserStatus::Active;
            if active {
                let (on, marker) = accounts.get(&email).unwrap_or_else(|| {
                    panic!("no account for {email}");
                });
                assert!(*on, "{email} is active in the directory");
                assert!(
                    marker.starts_with(&format!("created:{}:", self.outbound)),
                    "{email}: {marker}"
                );
                if in_group.contains(&email) {
                    expected_members.insert(email);
                }
            } else if let Some((on, _)) = accounts.get(&email) {
                assert!(!on, "{email} is {} in the directory", u.status);
            }
        }
        assert_eq!(members, expected_members);
    }

    /// Renames one member of the source group, suspends another, and swaps a third out of the
    /// group for a user outside it.
    fn change_the_source(&self) {
        let tenant = self.a.tenant();
        let group = tenant.group(&self.source_group).unwrap().clone();
        let members: Vec<String> = group
            .members
            .iter()
            .filter_map(|m| tenant.user(&m.id))
            .filter(|u| !u.suspended && !u.is_admin)
            .map(|u| u.primary_email.clone())
            .take(3)
            .collect();
        let outsider = tenant
            .live_users()
            .find(|u| !u.suspended && !group.members.iter().any(|m| m.id == u.id))
            .map(|u| u.primary_email.clone())
            .unwrap();
        drop(tenant);
        let [renamed, suspended, leaver] = [&members[0], &members[1], &members[2]];
        self.a.with_tenant(|t| {
            t.patch_user(
                renamed,
                UserPatch {
                    primary_email: Some(format!("renamed.person@{}", t.domain())),
                    ..UserPatch::default()
                },
            )
            .unwrap();
            t.set_suspended(suspended, true).unwrap();
            t.remove_member(&group.email, leaver).unwrap();
            t.add_member(
                &group.email,
                &outsider,
                dirsync_google_emulator::Role::Member,
            )
            .unwrap();
        });
    }
}

/// Creates the app's group `team` (the app's own, as an admin would), by its address.
async fn create_team(url: &str, token: &str) {
    let status = reqwest::Client::new()
        .post(format!("{url}/Groups"))
        .bearer_auth(token)
        .header(support_scim::NO_FAULT, "1")
        .header("content-type", "application/scim+json")
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Team",
                "externalId": TEAM,
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_primary_provisions_scim2_server_and_changes_converge() {
    let Some(server) = Scim2Server::start("s3cret-token").await else {
        return;
    };
    create_team(server.url(), "s3cret-token").await;
    let w = world(server.url(), "s3cret-token").await;
    w.add_rules().await;

    // The dry run creates every active user and adds the group's members; nothing written.
    let DryRun::Remote(plan) = w.service.dry_run(w.outbound, &Silent).await.unwrap() else {
        panic!("an outbound dry run plans remote changes");
    };
    assert!(plan.changes().ops().len() > 10, "{plan:?}");
    assert_eq!(w.get("/Users").await["totalResults"], 0);

    // One run converges (managers created after their reports included): the next has
    // nothing to do.
    let runs = w.converge(3).await;
    assert_eq!(runs[0].outcome, RunOutcome::Succeeded, "{runs:#?}");
    assert_eq!(runs.len(), 2, "{runs:#?}");
    w.assert_converged().await;

    w.change_the_source();
    w.inbound().await;
    let runs = w.converge(3).await;
    assert_eq!(runs[0].outcome, RunOutcome::Succeeded, "{runs:#?}");
    assert_eq!(runs.len(), 2, "{runs:#?}");
    w.assert_converged().await;
    let (accounts, _) = w.app_state().await;
    assert!(accounts.keys().any(|k| k.starts_with("renamed.person@")));
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_percent_503s_with_retry_after_converge_without_duplicates() {
    let app = FaultyApp::start("tok").await;
    create_team(app.url(), "tok").await;
    app.fail_every(5);
    let w = world(app.url(), "tok").await;
    w.add_rules().await;
    w.converge(4).await;
    w.assert_converged().await;
    w.change_the_source();
    w.inbound().await;
    w.converge(4).await;
    w.assert_converged().await;
    let faults = app.faults();
    assert!(faults.unavailable >= 10, "{faults:?}");
    assert!(faults.lost_acks >= 3, "{faults:?}");

    // Removing the integration deletes the token it kept.
    assert_eq!(w.secrets.0.lock().unwrap().len(), 1);
    w.service.remove(w.outbound).await.unwrap();
    assert!(w.secrets.0.lock().unwrap().is_empty());
}

impl World {
    /// Provisions every user, and every group of the primary with its members.
    async fn provision_users_and_groups(&self) {
        let people = UserProvisioning::new(Selector::Everyone);
        self.service
            .add_rule(
                self.outbound,
                NewRule::provision_users("People", people, Trigger::Manual),
            )
            .await
            .unwrap();
        let groups = GroupProvisioning::new(GroupSource::AllOf(self.primary));
        self.service
            .add_rule(
                self.outbound,
                NewRule::provision_groups("Groups", groups, Trigger::Manual),
            )
            .await
            .unwrap();
    }

    /// The app's groups: externalId → the members' userNames and the nested groups'
    /// externalIds.
    async fn app_groups(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut names = BTreeMap::new();
        let users = self.get("/Users?startIndex=1&count=1000").await;
        for u in users["Resources"].as_array().unwrap() {
            let name = u["userName"].as_str().unwrap().to_ascii_lowercase();
            names.insert(u["id"].as_str().unwrap().to_owned(), name);
        }
        let groups = self.get("/Groups?startIndex=1&count=1000").await;
        let groups = groups["Resources"].as_array().unwrap();
        for g in groups {
            let address = g["externalId"].as_str().unwrap().to_owned();
            names.insert(g["id"].as_str().unwrap().to_owned(), address);
        }
        groups
            .iter()
            .map(|g| {
                let members = g["members"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|m| names[m["value"].as_str().unwrap()].clone())
                    .collect();
                (g["externalId"].as_str().unwrap().to_owned(), members)
            })
            .collect()
    }

    /// Every directory group of the primary: its email → its active user members' emails and
    /// its nested groups' emails.
    async fn directory_groups(&self) -> BTreeMap<String, BTreeSet<String>> {
        let view = self.service.store().view(self.primary).await.unwrap();
        let groups = view.groups;
        let active: BTreeSet<String> = view
            .users
            .into_iter()
            .filter(|u| u.status == UserStatus::Active)
            .map(|u| u.profile.primary_email.key())
            .collect();
        let by_id: BTreeMap<_, _> = groups
            .iter()
            .map(|g| (g.external_id.clone(), g.email.key()))
            .collect();
        let mut out: BTreeMap<String, BTreeSet<String>> = groups
            .iter()
            .map(|g| (g.email.key(), BTreeSet::new()))
            .collect();
        for m in view.memberships {
            let member = match m.member.kind {
                MemberKind::Group => by_id.get(&m.member.external_id).cloned(),
                MemberKind::User => m
                    .member
                    .email
                    .as_ref()
                    .map(Email::key)
                    .filter(|e| active.contains(e)),
                _ => None,
            };
            if let Some(member) = member {
                out.get_mut(&by_id[&m.group]).unwrap().insert(member);
            }
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primarys_groups_are_provisioned_into_scim2_server_with_their_members() {
    let Some(server) = Scim2Server::start("groups-token").await else {
        return;
    };
    let w = world(server.url(), "groups-token").await;
    w.provision_users_and_groups().await;
    // One run, then nothing to do: no description or role compared that SCIM cannot hold.
    let runs = w.converge(3).await;
    assert_eq!(runs[0].outcome, RunOutcome::Succeeded, "{runs:#?}");
    assert_eq!(runs.len(), 2, "{runs:#?}");
    let expected = w.directory_groups().await;
    assert!(expected.values().any(|m| m.len() > 1), "{expected:?}");
    assert_eq!(w.app_groups().await, expected);

    // A member leaves a group in the source: the app's group follows, nothing else changes.
    let tenant = w.a.tenant();
    let (group, leaver) = tenant
        .groups()
        .iter()
        .find_map(|g| {
            g.members
                .iter()
                .filter_map(|m| tenant.user(&m.id))
                .find(|u| !u.suspended)
                .map(|u| (g.email.clone(), u.primary_email.clone()))
        })
        .unwrap();
    drop(tenant);
    w.a.with_tenant(|t| t.remove_member(&group, &leaver).unwrap());
    w.inbound().await;
    let runs = w.converge(3).await;
    assert_eq!(runs[0].outcome, RunOutcome::Succeeded, "{runs:#?}");
    let after = w.app_groups().await;
    assert!(!after[&group.to_ascii_lowercase()].contains(&leaver.to_ascii_lowercase()));
    assert_eq!(after, w.directory_groups().await);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_converge_through_twenty_percent_503s_without_duplicates() {
    let app = FaultyApp::start("tok").await;
    app.fail_every(5);
    let w = world(app.url(), "tok").await;
    w.provision_users_and_groups().await;
    w.converge(4).await;
    // Every group once (a lost create found again by its externalId), with its members.
    let groups = w.get("/Groups?startIndex=1&count=1000").await;
    let mut addresses: Vec<&str> = groups["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["externalId"].as_str().unwrap())
        .collect();
    let all = addresses.len();
    addresses.sort_unstable();
    addresses.dedup();
    assert_eq!(addresses.len(), all, "a duplicate group: {addresses:?}");
    assert_eq!(w.app_groups().await, w.directory_groups().await);
    let faults = app.faults();
    assert!(faults.unavailable >= 10, "{faults:?}");
    assert!(faults.lost_acks >= 3, "{faults:?}");
}
