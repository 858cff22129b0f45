//! A system no crate of this workspace knows, plugged in through the public API only: a toy
//! "HR spreadsheet" connector kind registered in a `Registry`, created, checked, activated and
//! synced by the service like Google. Proof that adding a system needs no fork.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use directory_sync::core::{
    AccessCheck, AccessDenied, AccessReport, ConnectRequest, Connection, ConnectorKind,
    DirectionKind, DirectorySource, DirectoryTarget, Email, Error, ExternalId, FetchProgress,
    FetchRequest, FetchStats, Fetched, Grant, ObjectKind, ObjectKinds, RemoteApplyReport,
    RemoteChanges, RemoteSettings, RemoteUser, Schedule, SecretReference, SnapshotBuilder, System,
    TypedSettings, UserStatus,
};
use directory_sync::service::{
    CreateIntegration, Registry, Service, Silent, views::IntegrationView,
};
use directory_sync::store::InMemoryStore;
use serde::{Deserialize, Serialize};

/// The toy system's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SheetSettings {
    sheet: String,
}

impl TypedSettings for SheetSettings {
    const SYSTEM: System = System::from_static("hr_sheet");

    fn validate(&self) -> Result<(), Error> {
        if self.sheet.is_empty() {
            return Err(Error::InvalidValue {
                kind: "sheet",
                value: String::new(),
                reason: "name the sheet".into(),
            });
        }
        Ok(())
    }
}

/// The sheet's rows (email, suspended), shared with the test so it can change them.
type Rows = Arc<Mutex<Vec<(String, bool)>>>;

#[derive(Debug)]
struct Sheet {
    rows: Rows,
    shared: bool,
}

fn sheet_kinds() -> ObjectKinds {
    ObjectKinds::new([
        ObjectKind::Users,
        ObjectKind::Groups,
        ObjectKind::Memberships,
    ])
    .unwrap()
}

#[async_trait]
impl DirectorySource for Sheet {
    fn readable_kinds(&self) -> ObjectKinds {
        sheet_kinds()
    }

    async fn validate_access(&self) -> Result<AccessReport, Error> {
        Ok(AccessReport::new(vec![if self.shared {
            AccessCheck::passed("sheet shared with the sync account")
        } else {
            AccessCheck::failed(
                "sheet shared with the sync account",
                "share the sheet with sync@example.com",
            )
        }]))
    }

    async fn fetch(
        &self,
        request: &FetchRequest,
        _progress: &dyn FetchProgress,
    ) -> Result<Fetched, Error> {
        let mut b = SnapshotBuilder::new(request.kinds.clone(), request.filter.clone(), Utc::now());
        let users = self
            .rows
            .lock()
            .unwrap()
            .iter()
            .map(|(email, suspended)| {
                let mut u = RemoteUser::new(ExternalId::new(email.clone())?, Email::new(email)?);
                u.suspended = *suspended;
                Ok(u)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        b.users_page(users, None)?;
        if request.kinds.contains(ObjectKind::Groups) {
            b.groups_page(Vec::new(), None)?;
        }
        Ok(Fetched::new(b.finish()?, FetchStats::default()))
    }
}

#[async_trait]
impl DirectoryTarget for Sheet {
    async fn apply(&self, _changes: &RemoteChanges) -> Result<RemoteApplyReport, Error> {
        Err(AccessDenied::Unauthorized {
            reason: "the sheet is read-only".into(),
        }
        .into())
    }
}

#[derive(Debug)]
struct SheetKind {
    rows: Rows,
    shared: bool,
}

impl ConnectorKind for SheetKind {
    fn system(&self) -> System {
        SheetSettings::SYSTEM
    }
    fn name(&self) -> &str {
        "HR sheet"
    }
    fn directions(&self) -> Vec<DirectionKind> {
        vec![DirectionKind::Inbound]
    }
    fn readable_kinds(&self) -> ObjectKinds {
        sheet_kinds()
    }
    fn validate_settings(&self, settings: &RemoteSettings) -> Result<(), Error> {
        settings.typed::<SheetSettings>().map(|_| ())
    }
    fn secrets(&self, _: &RemoteSettings) -> Result<Vec<SecretReference>, Error> {
        Ok(Vec::new())
    }
    fn grant(&self, _: &ConnectRequest<'_>) -> Result<Grant, Error> {
        Ok(Grant::Nothing)
    }
    fn connect(&self, request: &ConnectRequest<'_>) -> Result<Connection, Error> {
        request.settings.typed::<SheetSettings>()?;
        let sheet = Arc::new(Sheet {
            rows: Arc::clone(&self.rows),
            shared: self.shared,
        });
        Ok(Connection::new(sheet.clone(), sheet))
    }
}

fn service(rows: &Rows, shared: bool) -> Service {
    let kind = SheetKind {
        rows: Arc::clone(rows),
        shared,
    };
    Service::new(Arc::new(InMemoryStore::new()), Registry::new().with(kind))
}

fn create(sheet: &str, direction: DirectionKind) -> CreateIntegration {
    let settings = RemoteSettings::from_typed(&SheetSettings {
        sheet: sheet.into(),
    })
    .unwrap();
    CreateIntegration::new("HR", direction, settings, Schedule::Manual)
}

#[tokio::test]
async fn a_toy_system_plugs_in_without_a_fork_and_becomes_the_primary() {
    let rows: Rows = Arc::new(Mutex::new(vec![
        ("ada@example.com".into(), false),
        ("bob@example.com".into(), false),
    ]));
    let service = service(&rows, true);

    let created = service
        .create(create("staff", DirectionKind::Inbound))
        .await
        .unwrap();
    assert!(
        created.integration.is_primary(),
        "the first inbound integration"
    );
    assert!(
        created
            .instructions
            .to_string()
            .contains("Nothing to grant in HR sheet")
    );
    let view = IntegrationView::new(&created.integration, &service);
    assert_eq!(
        (view.system.as_str(), view.system_id.as_str()),
        ("HR sheet", "hr_sheet")
    );

    let activated = service
        .activate(created.integration.id(), &Silent)
        .await
        .unwrap();
    let initial = activated.initial_run.clone().unwrap();
    assert_eq!(
        initial.outcome,
        directory_sync::core::RunOutcome::Succeeded,
        "{initial:?}"
    );
    let auth = activated
        .integration
        .record()
        .authorization
        .clone()
        .unwrap();
    assert_eq!(
        auth.checks,
        vec!["sheet shared with the sync account".to_owned()]
    );
    assert_eq!(service.store().users().await.unwrap().len(), 2);

    // The toy system's own word suspends a user, through the engine's rules.
    rows.lock().unwrap()[1].1 = true;
    service
        .sync(created.integration.id(), &Silent)
        .await
        .unwrap();
    let bob = service
        .store()
        .user_by_email(&Email::new("bob@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.status, UserStatus::Suspended);
}

#[tokio::test]
async fn the_registry_refuses_what_the_connector_refuses_before_anything_is_stored() {
    let rows: Rows = Arc::default();
    let service = service(&rows, false);

    let unnamed =
        RemoteSettings::new(SheetSettings::SYSTEM, serde_json::json!({"sheet": ""})).unwrap();
    let empty = service
        .create(CreateIntegration::new(
            "HR",
            DirectionKind::Inbound,
            unnamed,
            Schedule::Manual,
        ))
        .await;
    assert_eq!(empty.err().map(|e| e.kind()), Some("invalid"));
    let outbound = service
        .create(create("staff", DirectionKind::Outbound))
        .await;
    assert_eq!(outbound.err().map(|e| e.kind()), Some("unsupported_system"));
    let unknown = RemoteSettings::new(System::new("nope").unwrap(), serde_json::json!({})).unwrap();
    let unknown = service
        .create(CreateIntegration::new(
            "?",
            DirectionKind::Inbound,
            unknown,
            Schedule::Manual,
        ))
        .await;
    assert_eq!(unknown.err().map(|e| e.kind()), Some("unsupported_system"));
    assert!(
        service.integrations().await.unwrap().is_empty(),
        "nothing stored"
    );

    // A failed access check keeps the integration staged and says what to do.
    let created = service
        .create(create("staff", DirectionKind::Inbound))
        .await
        .unwrap();
    let refused = service
        .activate(created.integration.id(), &Silent)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), "access_checks");
    assert!(
        refused
            .to_string()
            .contains("share the sheet with sync@example.com"),
        "{refused}"
    );
    let still = service.integration(created.integration.id()).await.unwrap();
    assert_eq!(still.state().name(), "staged");
}
