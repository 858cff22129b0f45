//! A 100k-row users file is read completely and correctly (correctness only: no timing is
//! asserted).

use std::fmt::Write as _;

use dirsync_core::{ExternalId, ObjectKind};

use crate::support::{TestResult, users_csv};

const ROWS: usize = 100_000;

#[test]
fn a_100k_row_users_file_is_read_completely_with_bad_rows_quarantined_by_line() -> TestResult {
    let mut csv = String::from(
        "id,email,given_name,family_name,manager_id,org_unit_path,status,Department\n",
    );
    for i in 1..=ROWS {
        // Every 25,000th row has a broken email; its line is i + 1 (the header is line 1).
        let email = if i % 25_000 == 0 {
            format!("user{i}-at-example.com")
        } else {
            format!("user{i}@example.com")
        };
        let manager = if i > 1 {
            (i / 2).to_string()
        } else {
            String::new()
        };
        let status = if i % 10 == 0 { "suspended" } else { "active" };
        writeln!(
            csv,
            "{i},{email},Given{i},\"Family, {i}\",{manager},/Dept{},{status},D{}",
            i % 7,
            i % 7
        )?;
    }
    let s = users_csv(csv)??;
    assert_eq!(s.users().len(), ROWS - 4);
    let lines: Vec<&str> = s
        .quarantined()
        .iter()
        .map(|q| q.reason.split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(
        lines,
        [
            "users.csv line 25001",
            "users.csv line 50001",
            "users.csv line 75001",
            "users.csv line 100001"
        ]
    );
    assert!(s.quarantined_ids().contains(&ExternalId::new("50000")?));
    let find = |id: &str| s.users().iter().find(|u| u.external_id.as_str() == id);
    let last = find("99999").ok_or("user 99999")?;
    assert_eq!(last.primary_email.as_str(), "user99999@example.com");
    assert_eq!(last.name.family, "Family, 99999");
    assert_eq!(
        last.manager_email.as_ref().map(|e| e.as_str()),
        Some("user49999@example.com")
    );
    assert_eq!(last.org_unit.as_ref().map(|o| o.as_str()), Some("/Dept4"));
    assert_eq!(
        s.users().iter().filter(|u| u.suspended).count(),
        ROWS / 10 - 4
    );
    // A manager on a quarantined row is no user: dropped, the report keeps the user.
    assert_eq!(find("50001").ok_or("user 50001")?.manager_email, None);
    assert_eq!(
        s.completeness().pages.get(ObjectKind::Users.as_str()),
        Some(&1)
    );
    Ok(())
}
