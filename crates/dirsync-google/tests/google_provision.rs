//! The provisioning writes (users and org units) against the Directory API emulator, on
//! 127.0.0.1: org units parents first, the marker written and read back, a lost acknowledgement
//! recognised, a stranger's account never taken for ours.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chrono::Utc;
use dirsync_core::{
    AnyIntegration, DirectionKind, DirectoryTarget, Email, ExternalId, Integration, IntegrationId,
    KeyOwnership, NewIntegration, OrgUnitFields, OrgUnitPath, Outbound, PersonName,
    ProvisioningMarker, RemoteChanges, RemoteOp, RemoteOpOutcome, RemoteSettings, RoleKind,
    Schedule, Secondary, UserFields, UserId, Version,
};
use dirsync_google::{
    GoogleConnector, GoogleSettings, KeyReference, RetryConfig, ServiceAccountKey,
};
use dirsync_google_emulator::{Emulator, EmulatorConfig, Faults, NewUser, RunningEmulator, Tenant};

async fn empty_tenant() -> RunningEmulator {
    let mut t = Tenant::empty("example.com", "C0out");
    let mut admin = NewUser::new("admin@example.com", "Ad", "Min");
    admin.is_admin = true;
    t.add_user(admin).unwrap();
    Emulator::start(EmulatorConfig::with_tenant(t))
        .await
        .unwrap()
}

fn connector(emu: &RunningEmulator) -> GoogleConnector {
    GoogleConnector::builder()
        .api_base(emu.base_url())
        .subject(Email::new(emu.admin_subject()).unwrap())
        .key_json(ServiceAccountKey::new(emu.service_account_key_json()))
        .concurrency(4)
        .requests_per_minute(0)
        .retry(
            RetryConfig::default()
                .with_max_retries(4)
                .with_delays(Duration::from_millis(1), Duration::from_millis(5))
                .with_max_jitter(Duration::ZERO),
        )
        .build()
        .unwrap()
}

fn outbound() -> Integration<Outbound, Secondary> {
    let settings = RemoteSettings::from_typed(&GoogleSettings::new(
        Email::new("admin@example.com").unwrap(),
        KeyReference::Named("key".into()),
        KeyOwnership::CustomerOwned,
    ))
    .unwrap();
    let new = NewIntegration::new(
        "Out",
        DirectionKind::Outbound,
        settings,
        Schedule::Manual,
        Utc::now(),
    )
    .unwrap();
    AnyIntegration::from_record(new.into_record(RoleKind::Secondary))
        .unwrap()
        .into_outbound()
        .unwrap()
}

fn changes(ops: &[RemoteOp]) -> RemoteChanges {
    let mut c = RemoteChanges::new(&outbound(), Version::ZERO);
    for op in ops {
        c.push(op.clone());
    }
    c
}

fn ada(marker: ProvisioningMarker) -> UserFields {
    UserFields::new(
        Email::new("ada@example.com").unwrap(),
        PersonName {
            given: "Ada".into(),
            family: "Lovelace".into(),
            display: String::new(),
        },
    )
    .with_org_unit(OrgUnitPath::new("/Eng/Platform").unwrap())
    .with_employee_id("E-1")
    .with_marker(marker)
}

fn org_unit(path: &str) -> RemoteOp {
    RemoteOp::CreateOrgUnit {
        fields: OrgUnitFields::new(OrgUnitPath::new(path).unwrap(), ""),
    }
}

#[tokio::test]
async fn users_and_org_units_are_written_in_order_and_a_replay_is_recognised_by_its_marker() {
    let emu = empty_tenant().await;
    let target = connector(&emu);
    let marker = ProvisioningMarker::created(IntegrationId::random(), UserId::random());
    // Given child first and user first: the phases still put parents, then users.
    let ops = [
        RemoteOp::CreateUser {
            fields: ada(marker),
        },
        org_unit("/Eng/Platform"),
        org_unit("/Eng"),
    ];
    let report = target.apply(&changes(&ops)).await.unwrap();
    assert_eq!(report.outcomes, vec![RemoteOpOutcome::Done; 3]);
    let tenant = emu.tenant();
    let account = tenant.user("ada@example.com").unwrap();
    assert_eq!(account.org_unit_path, "/Eng/Platform");
    assert!(account.change_password_at_next_login);
    assert_eq!(account.custom_ids, [("dirsync".to_owned(), marker.value())]);
    let id = ExternalId::new(&account.id).unwrap();

    // The same plan again (a rerun after a kill): recognised, nothing duplicated.
    let again = target.apply(&changes(&ops)).await.unwrap();
    assert_eq!(
        again.outcomes,
        [
            RemoteOpOutcome::Done,
            RemoteOpOutcome::AlreadyDone,
            RemoteOpOutcome::AlreadyDone
        ]
    );
    assert_eq!(emu.tenant().live_users().count(), 2);

    // Rename, suspend, reactivate, delete (twice).
    let mut renamed = ada(marker);
    renamed.primary_email = Email::new("ada.king@example.com").unwrap();
    let ops = [
        RemoteOp::UpdateUser {
            user: id.clone(),
            fields: renamed,
        },
        RemoteOp::SuspendUser { user: id.clone() },
    ];
    let report = target.apply(&changes(&ops)).await.unwrap();
    assert_eq!(report.outcomes, vec![RemoteOpOutcome::Done; 2]);
    let tenant = emu.tenant();
    let account = tenant.user(id.as_str()).unwrap();
    assert_eq!(
        (account.primary_email.as_str(), account.suspended),
        ("ada.king@example.com", true)
    );
    assert_eq!(account.custom_ids.len(), 1, "the marker survives an update");
    let delete = [RemoteOp::DeleteUser { user: id.clone() }];
    assert_eq!(
        target.apply(&changes(&delete)).await.unwrap().outcomes,
        [RemoteOpOutcome::Done]
    );
    assert_eq!(
        target.apply(&changes(&delete)).await.unwrap().outcomes,
        [RemoteOpOutcome::AlreadyDone]
    );
}

#[tokio::test]
async fn a_lost_acknowledgement_is_ours_and_a_strangers_account_is_not() {
    let emu = empty_tenant().await;
    let target = connector(&emu);
    let marker = ProvisioningMarker::created(IntegrationId::random(), UserId::random());
    let mut fields = ada(marker);
    fields.org_unit = None;
    emu.set_faults(Faults {
        lost_write_rate: 1.0,
        ..Faults::default()
    });
    let create = [RemoteOp::CreateUser {
        fields: fields.clone(),
    }];
    let report = target.apply(&changes(&create)).await.unwrap();
    emu.set_faults(Faults::default());
    assert_eq!(report.outcomes, [RemoteOpOutcome::Done], "{report:?}");
    assert_eq!(
        emu.stats().users_inserted,
        1,
        "one account, however many tries"
    );

    // Someone else's account with the email of a user we would create: not ours.
    let mut bob = NewUser::new("bob@example.com", "Bob", "Hand");
    bob.custom_ids = vec![(
        "dirsync".into(),
        ProvisioningMarker::created(IntegrationId::random(), UserId::random()).value(),
    )];
    emu.add_user(bob).unwrap();
    let mut theirs = fields.clone();
    theirs.primary_email = Email::new("bob@example.com").unwrap();
    let report = target
        .apply(&changes(&[RemoteOp::CreateUser { fields: theirs }]))
        .await
        .unwrap();
    assert!(
        matches!(&report.outcomes[0], RemoteOpOutcome::Failed { reason } if reason.contains("not ours")),
        "{report:?}"
    );
    // The password is in no outcome, stat or debug output.
    let text = format!("{report:?}");
    assert!(!text.contains("password"), "{text}");
}
