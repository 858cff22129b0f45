//! An inbound primary and an outbound integration on the same emulated tenant: the outbound
//! one keeps Google groups' membership in step with the directory. A directory change
//! propagates, the second run writes nothing, a hand-added member survives, a mass removal is
//! held until approved, and writes failing mid-apply converge on the next run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;

use dirsync_core::{
    DirectionKind, Email, GroupAssignment, IntegrationId, KeyOwnership, OrgUnitPath, RunOutcome,
    Schedule, Selector, Trigger, UserStatus,
};
use dirsync_google::RetryConfig;
use dirsync_google::{GoogleKind, GoogleSettings, KeyReference, scopes as google_scopes};
use dirsync_google_emulator::{Emulator, EmulatorConfig, Role, RunningEmulator, TenantSpec};
use dirsync_service::{Action, CreateGoogle, DryRun, NewRule, Registry, Service, Silent};
use dirsync_sqlite::SqliteStore;

struct World {
    google: RunningEmulator,
    service: Service,
    primary: IntegrationId,
    outbound: IntegrationId,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(21, 150)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(&key, google.service_account_key_json()).unwrap();
    let store = SqliteStore::open(dir.path().join("directory.db")).unwrap();
    let connectors = GoogleKind::new().customize(|b| {
        b.retry(
            RetryConfig::default()
                .with_max_retries(2)
                .with_delays(
                    std::time::Duration::from_millis(1),
                    std::time::Duration::from_millis(5),
                )
                .with_max_jitter(std::time::Duration::ZERO),
        )
    });
    let service = Service::new(Arc::new(store), Registry::new().with(connectors));
    let settings = || {
        let mut s = GoogleSettings::new(
            Email::new(google.admin_subject()).unwrap(),
            KeyReference::File(key.clone()),
            KeyOwnership::CustomerOwned,
        );
        s.api_base = Some(google.base_url());
        s.quota_per_minute = 0;
        s
    };
    let create =
        |title: &str, direction| CreateGoogle::new(title, direction, settings(), Schedule::Manual);
    let primary = service
        .create_google(create("In", DirectionKind::Inbound))
        .await
        .unwrap();
    service
        .activate(primary.integration.id(), &Silent)
        .await
        .unwrap();
    let outbound = service
        .create_google(create("Out", DirectionKind::Outbound))
        .await
        .unwrap();
    assert!(!outbound.integration.is_primary());
    let listed = outbound.instructions.scopes();
    let scopes: Vec<&str> = listed.iter().map(|s| s.as_str()).collect();
    assert!(scopes.contains(&google_scopes::GROUP_MEMBER), "{scopes:?}");
    let activated = service
        .activate(outbound.integration.id(), &Silent)
        .await
        .unwrap();
    assert!(
        activated.initial_run.is_none(),
        "no rules yet, nothing to run"
    );
    World {
        primary: primary.integration.id(),
        outbound: outbound.integration.id(),
        google,
        service,
        _dir: dir,
    }
}

impl World {
    fn members(&self, group: &str) -> BTreeSet<String> {
        self.google
            .tenant()
            .group(group)
            .unwrap()
            .members
            .iter()
            .filter_map(|m| m.email.as_ref().map(|e| e.to_ascii_lowercase()))
            .collect()
    }

    /// Active directory users in `ou` or below, lowercased.
    async fn selected(&self, ou: &str) -> BTreeSet<String> {
        let root = OrgUnitPath::new(ou).unwrap();
        self.service
            .store()
            .users()
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.status == UserStatus::Active)
            .filter(|u| {
                u.profile
                    .org_unit
                    .as_ref()
                    .is_some_and(|p| p.is_within(&root))
            })
            .map(|u| u.profile.primary_email.key())
            .collect()
    }

    /// The most populous top-level org unit among the tenant's live users.
    fn big_org_unit(&self) -> String {
        let tenant = self.google.tenant();
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for u in tenant.live_users().filter(|u| !u.suspended) {
            let top = u.org_unit_path.split('/').nth(1).unwrap_or_default();
            if !top.is_empty() {
                *counts.entry(format!("/{top}")).or_default() += 1;
            }
        }
        counts.into_iter().max_by_key(|(_, n)| *n).unwrap().0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_groups_follow_the_directory_safely() {
    let w = world().await;
    let ou = w.big_org_unit();
    w.google
        .add_group("team@example.com", "Team (managed)")
        .unwrap();
    w.google
        .add_group("other@example.com", "Other (managed)")
        .unwrap();
    // Someone outside the org unit, added by hand in Google.
    let outsider = w
        .google
        .tenant()
        .live_users()
        .find(|u| !u.org_unit_path.starts_with(&ou) && !u.suspended)
        .unwrap()
        .primary_email
        .to_ascii_lowercase();
    w.google
        .add_member("team@example.com", &outsider, Role::Member)
        .unwrap();
    let team = GroupAssignment::new(
        Email::new("team@example.com").unwrap(),
        Selector::OrgUnit(OrgUnitPath::new(&ou).unwrap()),
    );
    w.service
        .add_rule(
            w.outbound,
            NewRule::assign("Team", team, Trigger::Scheduled),
        )
        .await
        .unwrap();

    // Dry run: one insert per selected user; nothing written.
    let selected = w.selected(&ou).await;
    assert!(selected.len() >= 10, "{ou}: {selected:?}");
    let plan = w.service.dry_run(w.outbound, &Silent).await.unwrap();
    assert!(matches!(plan, DryRun::Remote(_)));
    let explained = w.service.explain(&plan).await.unwrap();
    assert_eq!(explained.len(), selected.len());
    assert!(
        explained
            .iter()
            .all(|c| c.action == Action::AddRemoteMember && c.detail.contains("team@example.com")),
        "{explained:#?}"
    );
    assert_eq!(w.google.stats().write_requests(), 0);

    // Sync: the group holds the selection plus the hand-added member.
    let run = w.service.sync(w.outbound, &Silent).await.unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    let mut expected = selected.clone();
    expected.insert(outsider.clone());
    assert_eq!(w.members("team@example.com"), expected);
    assert_eq!(
        w.service
            .store()
            .owned_memberships(w.outbound)
            .await
            .unwrap()
            .len(),
        selected.len()
    );

    // The second run writes nothing.
    let writes = w.google.stats().write_requests();
    let again = w.service.sync(w.outbound, &Silent).await.unwrap();
    assert_eq!(again.outcome, RunOutcome::NoChange);
    assert_eq!(w.google.stats().write_requests(), writes);

    // A directory change propagates: one person moves out of the org unit in Google; the
    // primary syncs it in; the outbound run takes them out of the group. The outsider stays.
    let mover = selected.iter().next().unwrap().clone();
    w.google
        .with_tenant(|t| t.add_org_unit("/", "Elsewhere"))
        .unwrap();
    w.google
        .with_tenant(|t| t.move_user(&mover, "/Elsewhere"))
        .unwrap();
    assert_eq!(
        w.service.sync(w.primary, &Silent).await.unwrap().outcome,
        RunOutcome::Succeeded
    );
    let run = w.service.sync(w.outbound, &Silent).await.unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    let members = w.members("team@example.com");
    assert!(!members.contains(&mover));
    assert!(members.contains(&outsider), "hand-added members stay");

    // Writes failing mid-apply: a second managed group's writes fail, the first group's
    // succeed and are recorded; the next run finishes without duplicating anything.
    let everyone = GroupAssignment::new(
        Email::new("other@example.com").unwrap(),
        Selector::OrgUnit(OrgUnitPath::new(&ou).unwrap()),
    );
    w.service
        .add_rule(
            w.outbound,
            NewRule::assign("Other", everyone, Trigger::Manual),
        )
        .await
        .unwrap();
    let newcomer = w
        .google
        .tenant()
        .live_users()
        .find(|u| {
            !u.org_unit_path.starts_with(&ou)
                && !u.suspended
                && !u.is_admin
                && u.primary_email.to_ascii_lowercase() != outsider
        })
        .unwrap()
        .primary_email
        .to_ascii_lowercase();
    w.google
        .with_tenant(|t| t.move_user(&newcomer, &ou))
        .unwrap();
    w.service.sync(w.primary, &Silent).await.unwrap();
    w.google.fail_group_writes("other@example.com", 503);
    let partial = w.service.sync(w.outbound, &Silent).await.unwrap();
    assert!(
        matches!(&partial.outcome, RunOutcome::Failed { reason } if reason.contains("remote operations failed")),
        "{partial:?}"
    );
    assert!(
        w.members("team@example.com").contains(&newcomer),
        "the team group was written"
    );
    assert!(w.members("other@example.com").is_empty());
    w.google.clear_failing_groups();
    let inserted_before = w.google.stats().members_inserted;
    let finished = w.service.sync(w.outbound, &Silent).await.unwrap();
    assert_eq!(finished.outcome, RunOutcome::Succeeded, "{finished:?}");
    let target = w.selected(&ou).await;
    assert_eq!(w.members("other@example.com"), target);
    assert_eq!(
        w.google.stats().members_inserted - inserted_before,
        target.len() as u64,
        "only the missing members were inserted"
    );

    // A mass removal is held: most of the org unit moves away at once.
    let leaving: Vec<String> = target.iter().take(target.len() * 3 / 4).cloned().collect();
    for email in &leaving {
        w.google
            .with_tenant(|t| t.move_user(email, "/Elsewhere"))
            .unwrap();
    }
    w.service.sync(w.primary, &Silent).await.unwrap();
    let writes = w.google.stats().write_requests();
    let held = w.service.sync(w.outbound, &Silent).await.unwrap();
    let RunOutcome::Held { plan } = held.outcome else {
        panic!("expected a held run, got {:?}", held.outcome);
    };
    assert_eq!(
        w.google.stats().write_requests(),
        writes,
        "nothing written while held"
    );
    assert!(w.members("team@example.com").contains(&leaving[0]));
    let approved = w.service.approve(&plan).await.unwrap();
    assert_eq!(approved.outcome, RunOutcome::Succeeded, "{approved:?}");
    let members = w.members("team@example.com");
    assert!(leaving.iter().all(|l| !members.contains(l)));
    assert!(members.contains(&outsider));
    assert_eq!(
        w.service.sync(w.outbound, &Silent).await.unwrap().outcome,
        RunOutcome::NoChange
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_roles_are_set_back_on_our_members_and_hand_added_ones_keep_theirs() {
    let w = world().await;
    let ou = w.big_org_unit();
    let group = "leads@example.com";
    w.google.add_group(group, "Leads (managed)").unwrap();
    let selected: Vec<String> = w.selected(&ou).await.into_iter().collect();
    let (hand, ours) = (&selected[0], &selected[1]);
    w.google.add_member(group, hand, Role::Member).unwrap();
    let mut leads = GroupAssignment::new(
        Email::new(group).unwrap(),
        Selector::OrgUnit(OrgUnitPath::new(&ou).unwrap()),
    );
    leads.role = dirsync_core::MemberRole::Manager;
    leads.keep_roles = true;
    w.service
        .add_rule(w.outbound, NewRule::assign("Leads", leads, Trigger::Manual))
        .await
        .unwrap();
    let role_of = |who: &str| {
        let t = w.google.tenant();
        let user_id = t.user(who).unwrap().id.clone();
        t.group(group)
            .unwrap()
            .members
            .iter()
            .find(|m| m.id == user_id)
            .map(|m| m.role)
    };
    let run = w.service.sync(w.outbound, &Silent).await.unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert_eq!(role_of(ours), Some(Role::Manager));
    assert_eq!(role_of(hand), Some(Role::Member));

    // Demoted by hand: set back; the hand-added member keeps the role it was given.
    w.google
        .with_tenant(|t| t.set_member_role(group, ours, Role::Member))
        .unwrap();
    let run = w.service.sync(w.outbound, &Silent).await.unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert_eq!(
        run.counts.get("remote_member_roles_set"),
        Some(&1),
        "{run:?}"
    );
    assert_eq!(role_of(ours), Some(Role::Manager));
    assert_eq!(role_of(hand), Some(Role::Member));
    let again = w.service.sync(w.outbound, &Silent).await.unwrap();
    assert_eq!(again.outcome, RunOutcome::NoChange, "{again:?}");
}
