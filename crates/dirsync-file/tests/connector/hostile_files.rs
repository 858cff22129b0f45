//! Hostile exports: a file that cannot be read completely is an error naming it (never an
//! empty or smaller directory); a row that cannot be used is quarantined with its file and
//! line, and the rest is read.

use dirsync_core::{Error, ExternalId, ObjectKind};

use crate::support::{Export, TestResult, read, reasons, users_csv};

/// The message of an [`Error::IncompleteSnapshot`], or a description of what came instead.
fn incomplete(result: Result<dirsync_core::Snapshot, Error>) -> String {
    match result {
        Err(Error::IncompleteSnapshot { missing }) => missing,
        other => format!("not an incomplete snapshot: {other:?}"),
    }
}

/// The reason and message of an [`Error::Remote`], or a description of what came instead.
fn remote(result: Result<dirsync_core::Snapshot, Error>) -> (String, String) {
    match result {
        Err(Error::Remote {
            reason, message, ..
        }) => (reason.unwrap_or_default(), message),
        other => ("?".into(), format!("not a remote error: {other:?}")),
    }
}

#[test]
fn a_file_that_is_not_utf8_is_an_error_naming_file_and_line() -> TestResult {
    let (reason, message) = remote(users_csv(
        b"id,email\n1,a@example.com\n2,g\xf6del@example.com\n",
    )?);
    assert_eq!(reason, "encoding");
    assert!(message.contains("users.csv line 3"), "{message}");
    Ok(())
}

#[test]
fn missing_required_columns_or_a_missing_header_are_errors_naming_the_columns() -> TestResult {
    let (reason, message) = remote(users_csv("id,mail\n1,a@example.com\n")?);
    assert_eq!(reason, "missing_columns");
    assert!(
        message.contains("users.csv lacks the required column email"),
        "{message}"
    );
    // No header at all: the first row is data, so neither id nor email is a column.
    let (_, message) = remote(users_csv("1,a@example.com\n")?);
    assert!(message.contains("required columns id, email"), "{message}");
    let (reason, message) = remote(users_csv("id,email,Email\n")?);
    assert_eq!(reason, "bad_header", "{message}");
    Ok(())
}

#[test]
fn an_empty_file_has_no_header_and_is_an_incomplete_snapshot() -> TestResult {
    for empty in ["", "\u{feff}", "\n\n"] {
        let missing = incomplete(users_csv(empty)?);
        assert!(
            missing.contains("users.csv has no header row"),
            "{missing:?}"
        );
    }
    Ok(())
}

#[test]
fn a_missing_file_is_an_incomplete_snapshot_never_an_empty_kind() -> TestResult {
    let export = Export::csv()?;
    export.kind(ObjectKind::Users, "id,email\n1,a@example.com\n")?;
    export.kind(ObjectKind::Groups, "id,email\n")?;
    let connector = export.connector()?;
    let missing = incomplete(read(
        &connector,
        &[
            ObjectKind::Users,
            ObjectKind::Groups,
            ObjectKind::Memberships,
        ],
    ));
    assert!(
        missing.contains("memberships file") && missing.contains("memberships.csv does not exist"),
        "{missing}"
    );
    // A kind the settings do not provide is refused, not read as empty.
    let only_users = export.only(&[ObjectKind::Users])?;
    let missing = incomplete(read(&only_users, &[ObjectKind::Users, ObjectKind::Groups]));
    assert!(missing.contains("groups are not provided"), "{missing}");
    // A folder that does not exist: the same.
    std::fs::remove_dir_all(export.path())?;
    assert!(incomplete(read(&connector, &[ObjectKind::Users])).contains("does not exist"));
    Ok(())
}

#[test]
fn a_truncated_file_is_an_incomplete_snapshot() -> TestResult {
    // A quote never closed: it would swallow every later line into one field.
    let missing = incomplete(users_csv(
        "id,email,name\n1,a@example.com,Ada\n2,b@example.com,\"Bo\n3,c@example.com,Cy\n",
    )?);
    assert!(
        missing.contains("users.csv is truncated at line 3") && missing.contains("quoted field"),
        "{missing}"
    );
    // A last line cut mid-record, without a line end.
    let missing = incomplete(users_csv("id,email,name\n1,a@example.com,Ada\n2,b@exa")?);
    assert!(missing.contains("truncated at line 3"), "{missing}");
    // The same in JSON Lines.
    let export = Export::jsonl()?;
    export.kind(
        ObjectKind::Users,
        "{\"id\":\"1\",\"email\":\"a@example.com\"}\n{\"id\":\"2\",\"email\":\"b@ex",
    )?;
    let missing = incomplete(read(
        &export.only(&[ObjectKind::Users])?,
        &[ObjectKind::Users],
    ));
    assert!(
        missing.contains("users.jsonl is truncated at line 2"),
        "{missing}"
    );
    Ok(())
}

#[test]
fn duplicate_ids_are_quarantined_with_both_lines_and_count_as_present() -> TestResult {
    let s = users_csv("id,email\n1,a@example.com\n2,b@example.com\n1,other@example.com\n")??;
    assert_eq!(s.users().len(), 2);
    assert_eq!(s.users()[0].primary_email.as_str(), "a@example.com");
    assert_eq!(
        reasons(&s),
        ["users.csv line 4: id 1 already on line 2; the first was kept"]
    );
    assert_eq!(s.quarantined()[0].label, "other@example.com");
    assert!(s.quarantined_ids().contains(&ExternalId::new("1")?));
    Ok(())
}

#[test]
fn unusable_rows_are_quarantined_with_their_line_and_the_rest_is_read() -> TestResult {
    let s = users_csv(concat!(
        "id,email,status,is_admin,org_unit_path,note\n", // 1
        "1,a@example.com,active,no,/Sales,\"a note\n",   // 2
        "over two lines\"\n",                            // 3
        "2,not-an-email,active,,,\n",                    // 4
        ",c@example.com,,,,\n",                          // 5
        "4,d@example.com,on leave,,,\n",                 // 6
        "5,e@example.com,,maybe,,\n",                    // 7
        "6,f@example.com,,,Sales,\n",                    // 8
        "7,g@example.com,too,many,fields,here,!\n",      // 9
        "8,h@example.com\n",                             // 10
        "9,i@example.com,suspended,yes,/Sales,ok\n",     // 11
    ))??;
    let ids: Vec<&str> = s.users().iter().map(|u| u.external_id.as_str()).collect();
    assert_eq!(ids, ["1", "9"]);
    // A row with the wrong number of fields still names its id: that user counts as present.
    let present = s.quarantined_ids();
    assert!(present.contains(&ExternalId::new("7")?) && present.contains(&ExternalId::new("8")?));
    assert_eq!(
        s.users()[0].attributes.get("note"),
        Some(&dirsync_core::AttributeValue::Text(
            "a note\nover two lines".into()
        ))
    );
    let lines: Vec<String> = reasons(&s)
        .iter()
        .map(|r| r.split(':').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        lines,
        [
            "users.csv line 9",
            "users.csv line 10",
            "users.csv line 4",
            "users.csv line 5",
            "users.csv line 6",
            "users.csv line 7",
            "users.csv line 8"
        ]
    );
    let all = reasons(&s).join("\n");
    for expected in [
        "7 fields where the header has 6",
        "2 fields where the header has 6",
        "email: invalid email",
        "no id",
        "status \"on leave\"",
        "is_admin \"maybe\"",
        "org_unit_path: invalid",
    ] {
        assert!(all.contains(expected), "{expected} in\n{all}");
    }
    Ok(())
}

#[test]
fn bad_memberships_groups_and_org_units_are_quarantined_with_their_line() -> TestResult {
    let export = Export::csv()?;
    export
        .kind(ObjectKind::Users, "id,email\n1,a@example.com\n")?
        .kind(
            ObjectKind::Groups,
            "id,email,name\ng1,g1@example.com,One\ng1,again@example.com,Dup\ng2,,No email\n",
        )?
        .kind(
            ObjectKind::Memberships,
            concat!(
                "group,member,role\n",
                "g1,a@example.com,owner\n",
                "g1,A@EXAMPLE.COM,member\n",
                "g9,a@example.com,member\n",
                "g1,a@example.com,boss\n",
                "g1,,member\n",
                "g2,a@example.com,member\n",
            ),
        )?
        .kind(ObjectKind::OrgUnits, "path,id\n/A,a\n/B,a\nB,b\n/A,c\n")?;
    let s = read(&export.connector()?, &ObjectKind::ALL)?;
    assert_eq!(
        (s.groups().len(), s.members().len(), s.org_units().len()),
        (1, 1, 1)
    );
    let all = reasons(&s).join("\n");
    for expected in [
        "org_units.csv line 3: id a already on line 2",
        "org_units.csv line 4: path: invalid",
        "org_units.csv line 5: path /A already on line 2",
        "groups.csv line 3: id g1 already on line 2",
        "groups.csv line 4: no email",
        "memberships.csv line 3: the same membership is on line 2",
        "memberships.csv line 4: group \"g9\" is not among the groups read",
        "memberships.csv line 5: role \"boss\"",
        "memberships.csv line 6: no member",
        "memberships.csv line 7: group \"g2\" is not among the groups read",
    ] {
        assert!(all.contains(expected), "{expected} in\n{all}");
    }
    assert_eq!(s.quarantined().len(), 10, "{all}");
    Ok(())
}

#[test]
fn json_lines_that_are_not_objects_are_quarantined_with_their_line() -> TestResult {
    let export = Export::jsonl()?;
    export.kind(
        ObjectKind::Users,
        concat!(
            "{\"id\":\"1\",\"email\":\"a@example.com\"}\n",
            "[1,2]\n",
            "{\"id\":\"2\",\"email\":\"b@exa\n",
            "{\"id\":{\"nested\":1},\"email\":\"c@example.com\"}\n",
            "{\"id\":\"5\",\"email\":\"e@example.com\",\"Email\":\"E@example.com\"}\n",
            "{\"id\":\"6\",\"email\":\"f@example.com\",\"given_name\":[\"F\"]}\n",
            "{\"id\":\"4\",\"email\":\"d@example.com\"}",
        ),
    )?;
    let s = read(&export.only(&[ObjectKind::Users])?, &[ObjectKind::Users])?;
    let ids: Vec<&str> = s.users().iter().map(|u| u.external_id.as_str()).collect();
    assert_eq!(ids, ["1", "4"]);
    let all = reasons(&s).join("\n");
    for expected in [
        "users.jsonl line 2: not a JSON object",
        "users.jsonl line 3: not JSON",
        "users.jsonl line 4: id: expected text",
        "users.jsonl line 5: columns \"Email\" and \"email\" both give field email",
        "users.jsonl line 6: given_name: expected text",
    ] {
        assert!(all.contains(expected), "{expected} in\n{all}");
    }
    let present: Vec<&str> = s.quarantined_ids().iter().map(|id| id.as_str()).collect();
    assert_eq!(present, ["6"]);
    Ok(())
}
