//! Outbound provisioning between two emulated tenants on the same domain: an inbound primary
//! reads tenant A, an outbound integration writes tenant B, which starts with its admin and a
//! few accounts made by hand. B ends holding A's active users in A's org units; renames,
//! suspensions and moves reach B; hand-made accounts stay untouched; a mass suspension is held
//! until approved; injected write errors and lost acknowledgements converge with no duplicate;
//! a run killed after its writes and before its record converges on the rerun. Groups and
//! their memberships: `groups.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod groups;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use dirsync_core::{
    DirectionKind, DirectoryTarget, Email, IntegrationId, KeyOwnership, RunOutcome, Schedule,
    Selector, SyncRun, Trigger, UserProvisioning, UserStatus,
};
use dirsync_google::{GoogleKind, GoogleSettings, KeyReference, RetryConfig};
use dirsync_google_emulator::{
    Emulator, EmulatorConfig, Faults, NewUser, RunningEmulator, Tenant, TenantSpec, UserPatch,
};
use dirsync_service::{Action, CreateGoogle, DryRun, NewRule, Registry, Service, Silent};
use dirsync_sqlite::SqliteStore;

const DOMAIN: &str = "example.com";

struct World {
    a: RunningEmulator,
    b: RunningEmulator,
    service: Service,
    primary: IntegrationId,
    outbound: IntegrationId,
    /// An A user whose email B already holds, made by hand.
    conflict: String,
    _dir: tempfile::TempDir,
}

fn retry() -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(2)
        .with_delays(Duration::from_millis(1), Duration::from_millis(5))
        .with_max_jitter(Duration::ZERO)
}

async fn world() -> World {
    let a = Emulator::start(EmulatorConfig::new(TenantSpec::sized(17, 120)))
        .await
        .unwrap();
    let conflict = a
        .tenant()
        .live_users()
        .find(|u| !u.suspended && !u.is_admin)
        .unwrap()
        .primary_email
        .clone();
    let mut tb = Tenant::empty(DOMAIN, "C0bbbbbb");
    let mut admin = NewUser::new(&format!("b-admin@{DOMAIN}"), "Bea", "Admin");
    admin.is_admin = true;
    tb.add_user(admin).unwrap();
    tb.add_user(NewUser::new(&format!("hand.made@{DOMAIN}"), "Hand", "Made"))
        .unwrap();
    tb.add_user(NewUser::new(&conflict, "Some", "Stranger"))
        .unwrap();
    let b = Emulator::start(EmulatorConfig::with_tenant(tb))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("directory.db")).unwrap();
    let connectors = GoogleKind::new().customize(|builder| builder.retry(retry()));
    let service = Service::new(Arc::new(store), Registry::new().with(connectors));
    let settings = |emu: &RunningEmulator, name: &str| {
        let key = dir.path().join(name);
        std::fs::write(&key, emu.service_account_key_json()).unwrap();
        let mut s = GoogleSettings::new(
            Email::new(emu.admin_subject()).unwrap(),
            KeyReference::File(key),
            KeyOwnership::CustomerOwned,
        );
        s.api_base = Some(emu.base_url());
        s.quota_per_minute = 0;
        s
    };
    let primary = service
        .create_google(CreateGoogle::new(
            "A",
            DirectionKind::Inbound,
            settings(&a, "a.json"),
            Schedule::Manual,
        ))
        .await
        .unwrap();
    service
        .activate(primary.integration.id(), &Silent)
        .await
        .unwrap();
    let outbound = service
        .create_google(CreateGoogle::new(
            "B",
            DirectionKind::Outbound,
            settings(&b, "b.json"),
            Schedule::Manual,
        ))
        .await
        .unwrap();
    service
        .activate(outbound.integration.id(), &Silent)
        .await
        .unwrap();
    World {
        primary: primary.integration.id(),
        outbound: outbound.integration.id(),
        a,
        b,
        service,
        conflict,
        _dir: dir,
    }
}

impl World {
    /// The directory's users by email key: (status, org unit).
    async fn directory(&self) -> BTreeMap<String, (UserStatus, String)> {
        self.service
            .store()
            .users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| {
                let ou = u
                    .profile
                    .org_unit
                    .map_or_else(|| "/".to_owned(), |o| o.to_string());
                (u.profile.primary_email.key(), (u.status, ou))
            })
            .collect()
    }

    /// B's live accounts by email: (suspended, org unit, carries a marker).
    fn b_accounts(&self) -> BTreeMap<String, (bool, String, bool)> {
        self.b
            .tenant()
            .live_users()
            .map(|u| {
                (
                    u.primary_email.clone(),
                    (
                        u.suspended,
                        u.org_unit_path.clone(),
                        !u.custom_ids.is_empty(),
                    ),
                )
            })
            .collect()
    }

    /// Syncs the primary from A, approving a held plan.
    async fn inbound(&self) {
        let run = self.service.sync(self.primary, &Silent).await.unwrap();
        if let RunOutcome::Held { plan } = run.outcome {
            let run = self.service.approve(&plan).await.unwrap();
            assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
        } else {
            assert!(
                matches!(run.outcome, RunOutcome::Succeeded | RunOutcome::NoChange),
                "{run:?}"
            );
        }
    }

    async fn outbound(&self) -> SyncRun {
        self.service.sync(self.outbound, &Silent).await.unwrap()
    }

    /// B holds an account for every active directory user (but the conflict), in their org
    /// unit, not suspended, marked ours; and for every suspended one that had one, suspended.
    async fn assert_converged(&self) {
        let dir = self.directory().await;
        let b = self.b_accounts();
        for (email, (status, ou)) in &dir {
            if *email == self.conflict {
                continue;
            }
            match status {
                UserStatus::Active => {
                    assert_eq!(
                        b.get(email),
                        Some(&(false, ou.clone(), true)),
                        "{email} ({ou})"
                    );
                }
                _ => {
                    if let Some((suspended, _, _)) = b.get(email) {
                        assert!(*suspended, "{email} is {status} in the directory");
                    }
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_follows_a_through_renames_suspensions_moves_and_faults_without_duplicates() {
    let w = world().await;
    let rule = UserProvisioning::new(Selector::Everyone).creating_org_units(true);
    w.service
        .add_rule(
            w.outbound,
            NewRule::provision_users("People", rule, Trigger::Scheduled),
        )
        .await
        .unwrap();

    // Dry run: org units, then one account per active user but the conflict; nothing written.
    let dir = w.directory().await;
    let active = dir
        .values()
        .filter(|(s, _)| *s == UserStatus::Active)
        .count();
    let plan = w.service.dry_run(w.outbound, &Silent).await.unwrap();
    let DryRun::Remote(remote) = &plan else {
        panic!("an outbound dry run plans remote changes")
    };
    assert!(
        remote
            .report()
            .quarantined
            .iter()
            .any(|q| q.label == w.conflict && q.reason.contains("not ours")),
        "{:?}",
        remote.report().quarantined
    );
    let explained = w.service.explain(&plan).await.unwrap();
    let count = |a: Action| explained.iter().filter(|c| c.action == a).count();
    assert_eq!(
        count(Action::CreateRemoteUser),
        active - 1,
        "{explained:#?}"
    );
    assert!(count(Action::CreateRemoteOrgUnit) >= 3);
    assert_eq!(
        count(Action::CreateRemoteUser) + count(Action::CreateRemoteOrgUnit),
        explained.len()
    );
    assert_eq!(w.b.stats().write_requests(), 0);

    let hand_made_before: Vec<_> = ["hand.made", "b-admin"]
        .iter()
        .map(|n| {
            w.b.tenant()
                .user(&format!("{n}@{DOMAIN}"))
                .cloned()
                .unwrap()
        })
        .chain(w.b.tenant().user(&w.conflict).cloned())
        .collect();

    // First run: B holds the directory; a second writes nothing.
    let run = w.outbound().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    w.assert_converged().await;
    let writes = w.b.stats().write_requests();
    let again = w.outbound().await;
    assert_eq!(again.outcome, RunOutcome::NoChange, "{again:?}");
    assert_eq!(w.b.stats().write_requests(), writes);

    // Renames, suspensions and moves in A reach B (the renamed account keeps its id).
    let actives: Vec<String> =
        w.a.tenant()
            .live_users()
            .filter(|u| !u.suspended && !u.is_admin && u.primary_email != w.conflict)
            .map(|u| u.primary_email.clone())
            .take(3)
            .collect();
    let [renamed, suspended, moved] = [&actives[0], &actives[1], &actives[2]];
    let renamed_id = w.b.tenant().user(renamed).unwrap().id.clone();
    let new_name = format!("renamed.person@{DOMAIN}");
    let target_ou =
        w.a.tenant()
            .org_units()
            .iter()
            .map(|o| o.path.clone())
            .find(|p| *p != "/" && Some(p) != w.a.tenant().user(moved).map(|u| &u.org_unit_path))
            .unwrap();
    w.a.with_tenant(|t| {
        t.patch_user(
            renamed,
            UserPatch {
                primary_email: Some(new_name.clone()),
                ..UserPatch::default()
            },
        )
        .unwrap();
        t.set_suspended(suspended, true).unwrap();
        t.move_user(moved, &target_ou).unwrap();
    });
    w.inbound().await;
    let run = w.outbound().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    w.assert_converged().await;
    let b = w.b.tenant();
    assert_eq!(b.user(&new_name).unwrap().id, renamed_id);
    assert!(b.user(suspended).unwrap().suspended);
    assert_eq!(b.user(moved).unwrap().org_unit_path, target_ou);
    for before in &hand_made_before {
        assert_eq!(b.user(&before.id), Some(before), "made by hand, untouched");
    }

    // A mass suspension is held until approved.
    let many: Vec<String> =
        w.a.tenant()
            .live_users()
            .filter(|u| !u.suspended && !u.is_admin)
            .map(|u| u.primary_email.clone())
            .take(30)
            .collect();
    w.a.with_tenant(|t| {
        for e in &many {
            t.set_suspended(e, true).unwrap();
        }
    });
    w.inbound().await;
    let writes = w.b.stats().write_requests();
    let held = w.outbound().await;
    let RunOutcome::Held { plan } = held.outcome else {
        panic!("expected a held run, got {held:?}");
    };
    assert_eq!(
        w.b.stats().write_requests(),
        writes,
        "nothing written while held"
    );
    let approved = w.service.approve(&plan).await.unwrap();
    assert_eq!(approved.outcome, RunOutcome::Succeeded, "{approved:?}");
    w.assert_converged().await;

    // New people while B fails 20 % of writes and loses 10 % of acknowledgements: the runs
    // converge, and nobody has two accounts.
    w.a.with_tenant(|t| {
        for i in 0..25 {
            t.add_user(NewUser::new(
                &format!("new.{i}@{DOMAIN}"),
                "New",
                &format!("N{i}"),
            ))
            .unwrap();
        }
        for e in &many {
            t.set_suspended(e, false).unwrap();
        }
    });
    w.inbound().await;
    w.b.set_faults(Faults {
        write_error_rate: 0.2,
        lost_write_rate: 0.1,
        seed: 7,
        ..Faults::default()
    });
    let mut outcomes = Vec::new();
    for _ in 0..8 {
        let run = w.outbound().await;
        outcomes.push(run.outcome.clone());
        if matches!(run.outcome, RunOutcome::Succeeded | RunOutcome::NoChange) {
            break;
        }
    }
    w.b.set_faults(Faults::default());
    // Retries absorb some faults within a run; the others fail it and the next run finishes.
    assert!(
        w.b.stats().errors_injected > 0,
        "the faults were felt: {outcomes:?}"
    );
    assert!(
        matches!(
            outcomes.last(),
            Some(RunOutcome::Succeeded | RunOutcome::NoChange)
        ),
        "{outcomes:?}"
    );
    w.assert_converged().await;
    assert_no_duplicates(&w.b);
}

/// Every person has at most one account in B (by name: the emulator forbids two accounts
/// with one email, so a duplicate would have a second, different email only if we invented
/// one; count accounts per marker instead).
fn assert_no_duplicates(b: &RunningEmulator) {
    let mut per_marker: BTreeMap<String, usize> = BTreeMap::new();
    for u in b.tenant().live_users() {
        for (_, v) in &u.custom_ids {
            *per_marker.entry(v.clone()).or_default() += 1;
        }
    }
    let twice: Vec<_> = per_marker.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{twice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_its_writes_converges_on_the_rerun() {
    let w = world().await;
    let rule = UserProvisioning::new(Selector::Everyone).creating_org_units(true);
    w.service
        .add_rule(
            w.outbound,
            NewRule::provision_users("People", rule, Trigger::Manual),
        )
        .await
        .unwrap();
    let DryRun::Remote(plan) = w.service.dry_run(w.outbound, &Silent).await.unwrap() else {
        panic!("remote plan")
    };
    // The killed run: its connector wrote the org units and half the accounts, and the run
    // never recorded anything.
    let ops = plan.changes().ops();
    let half = ops.len() / 2;
    let mut partial = dirsync_core::RemoteChanges::new(
        &w.service
            .store()
            .integration(w.outbound)
            .await
            .unwrap()
            .into_outbound()
            .unwrap(),
        plan.based_on(),
    );
    for op in &ops[..half] {
        partial.push(op.clone());
    }
    let connector = dirsync_google::GoogleConnector::builder()
        .api_base(w.b.base_url())
        .subject(Email::new(w.b.admin_subject()).unwrap())
        .key_json(dirsync_google::ServiceAccountKey::new(
            w.b.service_account_key_json(),
        ))
        .requests_per_minute(0)
        .build()
        .unwrap();
    let report = connector.apply(&partial).await.unwrap();
    assert_eq!(report.outcomes.len(), half);
    let created = w.b.stats().users_inserted;
    assert!(created > 0);

    // The rerun plans only what is missing and ends with one account per person.
    let run = w.outbound().await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    w.assert_converged().await;
    assert_no_duplicates(&w.b);
    let dir = w.directory().await;
    let active: BTreeSet<&String> = dir
        .iter()
        .filter(|(e, (s, _))| *s == UserStatus::Active && **e != w.conflict)
        .map(|(e, _)| e)
        .collect();
    assert_eq!(w.b.stats().users_inserted as usize, active.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioning_rule_needs_its_scopes_and_says_which_is_missing() {
    let w = world().await;
    let user_scope = "https://www.googleapis.com/auth/admin.directory.user";
    w.b.deny_scope(user_scope);
    let rule = || {
        NewRule::provision_users(
            "People",
            UserProvisioning::new(Selector::Everyone).creating_org_units(true),
            Trigger::Manual,
        )
    };
    let refused = w.service.add_rule(w.outbound, rule()).await.unwrap_err();
    assert!(
        refused.to_string().contains("admin.directory.user"),
        "{refused}"
    );
    let any = w.service.store().integration(w.outbound).await.unwrap();
    assert!(any.record().rules.is_empty(), "the rule was not added");
    assert_eq!(any.state().to_string(), "active");

    w.b.allow_scope(user_scope);
    w.service.add_rule(w.outbound, rule()).await.unwrap();
    let any = w.service.store().integration(w.outbound).await.unwrap();
    let verified: Vec<String> = any
        .record()
        .authorization
        .as_ref()
        .unwrap()
        .scopes
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    assert!(verified.iter().any(|s| s == user_scope), "{verified:?}");
    assert!(
        verified.iter().all(|s| !s.ends_with("group.member")),
        "only what the rules need: {verified:?}"
    );
}
