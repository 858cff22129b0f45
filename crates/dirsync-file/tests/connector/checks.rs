//! The access check: named checks with what to do, and `validate_access` built on them.

use dirsync_core::AccessCheck as Check;
use dirsync_core::{AccessDenied, DirectorySource, Error, ObjectKind};
use dirsync_file::{FileConnector, FileSettings};

use crate::support::{Export, TestResult};

fn failed(checks: &[Check]) -> Vec<&Check> {
    checks.iter().filter(|c| !c.ok).collect()
}

fn good() -> std::io::Result<Export> {
    let export = Export::csv()?;
    export
        .kind(ObjectKind::Users, "\u{feff}ID,Email\n1,a@example.com\n")?
        .kind(ObjectKind::Groups, "id,email\n")?
        .kind(ObjectKind::Memberships, "group,member\n")?
        .kind(ObjectKind::OrgUnits, "path\n")?;
    Ok(export)
}

#[tokio::test]
async fn a_good_folder_passes_every_check_and_validates() -> TestResult {
    let export = good()?;
    let connector = export.connector()?;
    let checks = connector.checks();
    assert!(failed(&checks).is_empty(), "{checks:?}");
    // The folder, then per kind: the file exists, its header has the required columns.
    assert_eq!(checks.len(), 1 + 2 * 4);
    assert_eq!(
        checks[0].name,
        format!(
            "folder {} exists and can be read",
            connector.settings().path().display()
        )
    );
    assert!(
        checks
            .iter()
            .any(|c| c.name == "users.csv has the required columns id, email")
    );
    let report = connector.validate_access().await?;
    assert!(
        report.all_passed() && report.granted().is_empty(),
        "no scopes: {report:?}"
    );
    let authorization = report.into_authorization(chrono::Utc::now())?;
    assert_eq!(authorization.checks.len(), checks.len());
    Ok(())
}

#[tokio::test]
async fn a_missing_folder_is_one_failed_check_saying_what_to_do() -> TestResult {
    let connector = FileConnector::new(FileSettings::new("/nonexistent/dirsync-file-test")?);
    let checks = connector.checks();
    assert_eq!(checks.len(), 1);
    assert!(!checks[0].ok);
    assert!(
        checks[0]
            .remedy
            .as_deref()
            .is_some_and(|t| t.contains("create the folder")),
        "{checks:?}"
    );
    let refused = connector
        .validate_access()
        .await?
        .into_authorization(chrono::Utc::now());
    match refused {
        Err(Error::Access(AccessDenied::ChecksFailed { checks })) => {
            assert_eq!(checks.len(), 1);
            assert!(checks[0].name.contains("/nonexistent/dirsync-file-test"));
            let message = Error::Access(AccessDenied::ChecksFailed { checks }).to_string();
            assert!(message.contains("create the folder"), "{message}");
        }
        other => panic!("expected an access-check failure, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn missing_files_and_columns_fail_their_own_checks() -> TestResult {
    let export = good()?;
    std::fs::remove_file(export.path().join("org_units.csv"))?;
    export.kind(ObjectKind::Groups, "id,mail\n")?;
    export.kind(ObjectKind::Memberships, b"group,m\xe9mber\n")?;
    let connector = export.connector()?;
    let checks = connector.checks();
    let failed = failed(&checks);
    let whats: Vec<&str> = failed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        whats,
        [
            "org_units file org_units.csv exists",
            "groups.csv has the required columns id, email",
            "memberships.csv has the required columns group, member",
        ]
    );
    assert!(
        failed[0]
            .remedy
            .as_deref()
            .is_some_and(|t| t.contains("export org_units to org_units.csv"))
    );
    assert!(
        failed[1]
            .remedy
            .as_deref()
            .is_some_and(|t| t.contains("lacks the required column email"))
    );
    assert!(
        failed[2]
            .remedy
            .as_deref()
            .is_some_and(|t| t.contains("not UTF-8"))
    );
    let err = connector
        .validate_access()
        .await?
        .into_authorization(chrono::Utc::now())
        .err()
        .ok_or("the authorization passed")?;
    assert!(
        err.to_string()
            .contains("org_units file org_units.csv exists"),
        "{err}"
    );
    // Only the kinds the settings provide are checked.
    let users_only = export.only(&[ObjectKind::Users])?;
    assert!(users_only.checks().iter().all(|c| c.ok));
    Ok(())
}

#[test]
fn json_lines_are_checked_on_their_first_object() -> TestResult {
    let export = Export::jsonl()?;
    export.kind(
        ObjectKind::Users,
        "\n{\"id\":\"1\",\"mail\":\"a@example.com\"}\n",
    )?;
    export.kind(ObjectKind::Groups, "")?;
    let connector = export.only(&[ObjectKind::Users, ObjectKind::Groups])?;
    let checks = connector.checks();
    let failed: Vec<&str> = failed(&checks).iter().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, ["users.jsonl has the required columns id, email"]);
    Ok(())
}

#[test]
fn a_path_to_a_file_is_a_failed_folder_check() -> TestResult {
    let export = good()?;
    let file = export.path().join("users.csv");
    let checks = FileConnector::new(FileSettings::new(file)?).checks();
    assert_eq!(checks.len(), 1);
    assert!(
        checks[0]
            .remedy
            .as_deref()
            .is_some_and(|t| t.contains("the path is a file")),
        "{checks:?}"
    );
    Ok(())
}

/// Polls `future` on this thread with no runtime at all (as another executor would).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

#[test]
fn validate_and_fetch_work_without_a_tokio_runtime() -> TestResult {
    let export = good()?;
    let connector = export.connector()?;
    block_on(connector.validate_access())?;
    let request = dirsync_core::FetchRequest::new(
        dirsync_core::ObjectKinds::all(),
        dirsync_core::ScopeFilter::everything(),
    );
    let fetched = block_on(connector.fetch(&request, &dirsync_core::NoProgress))?;
    assert_eq!(fetched.snapshot.users().len(), 1);
    Ok(())
}
