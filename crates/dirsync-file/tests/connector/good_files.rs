//! Well-formed exports: every documented column lands where it belongs, in CSV and JSON Lines,
//! through the column mapping and the scope filter.

use std::sync::atomic::{AtomicUsize, Ordering};

use dirsync_core::{
    AttributeValue, DirectorySource, Email, EmploymentType, ExternalId, FetchProgress,
    FetchRequest, MemberKind, MemberRole, ObjectKind, ObjectKinds, OrgUnitPath, ScopeFilter,
    Snapshot,
};
use dirsync_file::FileConnector;

use crate::support::{Export, TestResult, read, reasons, users_csv};

const USERS: &str = "\
id,email,given_name,family_name,display_name,status,manager_email,manager_id,employee_id,employment_type,org_unit_path,is_admin,created_at,Department,Cost Center
1,ada@example.com,Ada,Lovelace,,active,,,E-1,employee,/Engineering,true,2021-03-02T10:00:00Z,Engineering,CC-1
2,grace@example.com,Grace,Hopper,\"Hopper, Grace\",suspended,ada@example.com,,E-2,Contractor,/Engineering/Compilers,no,2022-01-15,Engineering,
3,alan@example.com,Alan,Turing,,ARCHIVED,,1,E-3,Full-time,/Research,,,Research,CC-3
4,kurt@example.com,Kurt,Gödel,,terminated,,,E-4,employee,/Research,,,,
";
const GROUPS: &str = "\
id,email,name,description
g1,eng@example.com,Engineering,\"All engineers, incl. \"\"contractors\"\"\"
g2,research@example.com,Research,
g3,all@example.com,Everyone,\"two
lines\"
";
const MEMBERSHIPS: &str = "\
group,member,role
eng@example.com,ada@example.com,owner
g1,GRACE@example.com,
g3,eng@example.com,member
g3,research@example.com,MANAGER
g2,partner@external.org,member
";
const ORG_UNITS: &str = "\
path,name,description
/Engineering,Engineering,R&D
/Engineering/Compilers,,
/Research,Research,
";

fn id(s: &str) -> Result<ExternalId, dirsync_core::Error> {
    ExternalId::new(s)
}

fn csv_export() -> std::io::Result<Export> {
    let export = Export::csv()?;
    export
        .kind(ObjectKind::Users, USERS)?
        .kind(ObjectKind::Groups, GROUPS)?
        .kind(ObjectKind::Memberships, MEMBERSHIPS)?
        .kind(ObjectKind::OrgUnits, ORG_UNITS)?;
    Ok(export)
}

fn all(connector: &FileConnector) -> Result<Snapshot, dirsync_core::Error> {
    read(connector, &ObjectKind::ALL)
}

#[test]
fn every_documented_user_column_is_mapped() -> TestResult {
    let s = all(&csv_export()?.connector()?)?;
    assert!(s.quarantined().is_empty(), "{:?}", reasons(&s));
    let users = s.users();
    assert_eq!(users.len(), 3);
    let (ada, grace, alan) = (&users[0], &users[1], &users[2]);
    assert_eq!(ada.primary_email.as_str(), "ada@example.com");
    assert_eq!(
        (ada.name.given.as_str(), ada.name.family.as_str()),
        ("Ada", "Lovelace")
    );
    assert_eq!(ada.name.display, "Ada Lovelace");
    assert_eq!(ada.employee_id.as_deref(), Some("E-1"));
    assert_eq!(ada.employment_type, Some(EmploymentType::Employee));
    assert_eq!(ada.org_unit, Some(OrgUnitPath::new("/Engineering")?));
    assert!(ada.is_admin && !ada.suspended && !ada.archived);
    assert_eq!(
        ada.created_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2021-03-02T10:00:00+00:00")
    );
    let text = |v: &str| Some(AttributeValue::Text(v.to_owned()));
    assert_eq!(
        ada.attributes.get("Department").cloned(),
        text("Engineering")
    );
    assert_eq!(ada.attributes.get("Cost Center").cloned(), text("CC-1"));

    assert_eq!(grace.name.display, "Hopper, Grace");
    assert!(grace.suspended && !grace.is_admin);
    assert_eq!(
        grace.manager_email.as_ref().map(Email::as_str),
        Some("ada@example.com")
    );
    assert_eq!(grace.employment_type, Some(EmploymentType::Contractor));
    assert_eq!(
        grace.created_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2022-01-15T00:00:00+00:00")
    );
    // An empty cell is no attribute.
    assert!(!grace.attributes.contains_key("Cost Center"));

    assert!(alan.archived && !alan.suspended);
    // manager_id resolves to the manager's email through the same file.
    assert_eq!(
        alan.manager_email.as_ref().map(Email::as_str),
        Some("ada@example.com")
    );
    // Neither employee nor contractor: no type, the raw text kept.
    assert_eq!(alan.employment_type, None);
    assert_eq!(
        alan.attributes.get("employment_type").cloned(),
        text("Full-time")
    );

    // Terminated: reported as deleted (positive evidence), not as a user.
    assert_eq!(s.deleted_users().len(), 1);
    assert_eq!(s.deleted_users()[0].external_id, id("4")?);
    assert_eq!(
        s.deleted_users()[0]
            .primary_email
            .as_ref()
            .map(Email::as_str),
        Some("kurt@example.com")
    );
    Ok(())
}

#[test]
fn groups_memberships_and_org_units_are_mapped_and_members_resolved() -> TestResult {
    let s = all(&csv_export()?.connector()?)?;
    let groups = s.groups();
    assert_eq!(groups.len(), 3);
    assert_eq!(
        groups[0].description,
        "All engineers, incl. \"contractors\""
    );
    assert_eq!(groups[2].description, "two\nlines");
    let member = |g: &str, m: &str| {
        s.members().iter().find(|x| {
            x.group.as_str() == g && x.member.email.as_ref().map(Email::key).as_deref() == Some(m)
        })
    };
    let ada = member("g1", "ada@example.com").ok_or("ada in g1")?;
    assert_eq!(
        (ada.member.kind, &ada.member.external_id, ada.role),
        (MemberKind::User, &id("1")?, MemberRole::Owner)
    );
    let grace = member("g1", "grace@example.com").ok_or("grace in g1")?;
    assert_eq!(
        (grace.member.external_id.as_str(), grace.role),
        ("2", MemberRole::Member)
    );
    let nested = member("g3", "eng@example.com").ok_or("eng in g3")?;
    assert_eq!(
        (nested.member.kind, &nested.member.external_id),
        (MemberKind::Group, &id("g1")?)
    );
    assert_eq!(
        member("g3", "research@example.com").map(|m| m.role),
        Some(MemberRole::Manager)
    );
    let outside = member("g2", "partner@external.org").ok_or("partner in g2")?;
    assert_eq!(
        (outside.member.kind, outside.member.external_id.as_str()),
        (MemberKind::User, "partner@external.org")
    );
    assert_eq!(s.members().len(), 5);

    let units = s.org_units();
    assert_eq!(units.len(), 3);
    let compilers = units
        .iter()
        .find(|u| u.path.as_str() == "/Engineering/Compilers")
        .ok_or("compilers")?;
    assert_eq!(compilers.name, "Compilers");
    assert_eq!(compilers.external_id, id("/Engineering/Compilers")?);
    assert_eq!(compilers.parent, Some(id("/Engineering")?));
    let eng = units
        .iter()
        .find(|u| u.path.as_str() == "/Engineering")
        .ok_or("eng")?;
    assert_eq!(
        (eng.description.as_str(), eng.parent.as_ref()),
        ("R&D", None)
    );
    Ok(())
}

#[test]
fn json_lines_give_the_same_snapshot_with_typed_attributes() -> TestResult {
    let export = Export::jsonl()?;
    export
        .kind(ObjectKind::Users, concat!(
            r#"{"id":1,"email":"ada@example.com","given_name":"Ada","family_name":"Lovelace","status":"active","employee_id":"E-1","employment_type":"employee","org_unit_path":"/Engineering","is_admin":true,"created_at":"2021-03-02T10:00:00Z","Department":"Engineering","Cost Center":"CC-1","Skills":["maths","looms"],"Level":3,"Remote":false,"Desk":null}"#, "\n",
            "\n",
            r#"{"id":"2","email":"grace@example.com","given_name":"Grace","family_name":"Hopper","display_name":"Hopper, Grace","status":"suspended","manager_email":"ada@example.com","employee_id":"E-2","employment_type":"Contractor","org_unit_path":"/Engineering/Compilers","is_admin":"no","created_at":"2022-01-15","Department":"Engineering"}"#, "\r\n",
            r#"{"id":"3","email":"alan@example.com","given_name":"Alan","family_name":"Turing","status":"ARCHIVED","manager_id":"1","employee_id":"E-3","employment_type":"Full-time","org_unit_path":"/Research","Department":"Research","Cost Center":"CC-3"}"#, "\n",
            r#"{"id":"4","email":"kurt@example.com","given_name":"Kurt","family_name":"Gödel","status":"terminated","employee_id":"E-4","employment_type":"employee","org_unit_path":"/Research"}"#,
        ))?
        .kind(ObjectKind::Groups, concat!(
            r#"{"id":"g1","email":"eng@example.com","name":"Engineering","description":"All engineers, incl. \"contractors\""}"#, "\n",
            r#"{"id":"g2","email":"research@example.com","name":"Research"}"#, "\n",
            r#"{"id":"g3","email":"all@example.com","name":"Everyone","description":"two\nlines"}"#, "\n",
        ))?
        .kind(ObjectKind::Memberships, concat!(
            r#"{"group":"eng@example.com","member":"ada@example.com","role":"owner"}"#, "\n",
            r#"{"group":"g1","member":"GRACE@example.com"}"#, "\n",
            r#"{"group":"g3","member":"eng@example.com","role":"member"}"#, "\n",
            r#"{"group":"g3","member":"research@example.com","role":"MANAGER"}"#, "\n",
            r#"{"group":"g2","member":"partner@external.org","role":"member"}"#, "\n",
        ))?
        .kind(ObjectKind::OrgUnits, concat!(
            r#"{"path":"/Engineering","name":"Engineering","description":"R&D"}"#, "\n",
            r#"{"path":"/Engineering/Compilers"}"#, "\n",
            r#"{"path":"/Research","name":"Research"}"#, "\n",
        ))?;
    let jsonl = all(&export.connector()?)?;
    let csv = all(&csv_export()?.connector()?)?;
    assert!(jsonl.quarantined().is_empty(), "{:?}", reasons(&jsonl));
    let ada = &jsonl.users()[0];
    assert_eq!(
        ada.attributes.get("Skills"),
        Some(&AttributeValue::List(vec!["maths".into(), "looms".into()]))
    );
    assert_eq!(ada.attributes.get("Level"), Some(&AttributeValue::Int(3)));
    assert_eq!(
        ada.attributes.get("Remote"),
        Some(&AttributeValue::Bool(false))
    );
    assert!(!ada.attributes.contains_key("Desk"));
    // Apart from the typed attributes only JSON can carry, the two formats agree.
    let mut users = jsonl.users().to_vec();
    for key in ["Skills", "Level", "Remote"] {
        users[0].attributes.remove(key);
    }
    assert_eq!(users, csv.users());
    assert_eq!(jsonl.deleted_users(), csv.deleted_users());
    assert_eq!(jsonl.groups(), csv.groups());
    assert_eq!(jsonl.members(), csv.members());
    assert_eq!(jsonl.org_units(), csv.org_units());
    Ok(())
}

#[test]
fn the_column_mapping_reads_an_export_with_its_own_column_names() -> TestResult {
    let export = Export::csv()?;
    export
        .write(
            "people.csv",
            "Worker ID,Work Email,First,Last,EmpNo,Team\n7,ada@example.com,Ada,Lovelace,E-7,Core\n",
        )?
        .write("teams.csv", "Team ID,Mail,Team\nt1,core@example.com,Core\n")?;
    let settings = export
        .settings()?
        .with_kinds(ObjectKinds::new([ObjectKind::Users, ObjectKind::Groups])?)?
        .with_file(ObjectKind::Users, "people.csv")?
        .with_file(ObjectKind::Groups, "teams.csv")?;
    // Without the mapping, the header lacks our columns.
    let unmapped = FileConnector::new(settings.clone());
    let err = read(&unmapped, &[ObjectKind::Users])
        .err()
        .ok_or("read without mapping")?;
    assert!(
        err.to_string()
            .contains("people.csv lacks the required columns id, email"),
        "{err}"
    );
    let mut settings = settings;
    for m in [
        "Worker ID=users.id",
        "Work Email=email",
        "First=given_name",
        "Last=family_name",
        "EmpNo=employee_id",
        "Team ID=groups.id",
        "Mail=groups.email",
        "Team=groups.name",
    ] {
        settings = settings.with_mapping(m.parse()?)?;
    }
    let s = read(
        &FileConnector::new(settings),
        &[ObjectKind::Users, ObjectKind::Groups],
    )?;
    let ada = &s.users()[0];
    assert_eq!(
        (ada.external_id.as_str(), ada.primary_email.as_str()),
        ("7", "ada@example.com")
    );
    assert_eq!(
        (ada.name.given.as_str(), ada.employee_id.as_deref()),
        ("Ada", Some("E-7"))
    );
    // `Team=groups.name` is for groups only: in the users file it is an attribute.
    assert_eq!(
        ada.attributes.get("Team"),
        Some(&AttributeValue::Text("Core".into()))
    );
    let team = &s.groups()[0];
    assert_eq!(
        (
            team.external_id.as_str(),
            team.email.as_str(),
            team.name.as_str()
        ),
        ("t1", "core@example.com", "Core")
    );
    Ok(())
}

#[test]
fn a_byte_order_mark_and_blank_lines_are_skipped() -> TestResult {
    let s = users_csv("\u{feff}id,email\r\n1,a@example.com\r\n\r\n2,b@example.com\r\n")??;
    assert_eq!(s.users().len(), 2);
    assert!(s.quarantined().is_empty(), "{:?}", reasons(&s));
    let export = Export::jsonl()?;
    export.kind(
        ObjectKind::Users,
        "\u{feff}{\"id\":\"1\",\"email\":\"a@example.com\"}\n",
    )?;
    let s = read(&export.only(&[ObjectKind::Users])?, &[ObjectKind::Users])?;
    assert_eq!(s.users().len(), 1);
    Ok(())
}

#[test]
fn a_header_only_file_is_an_empty_but_complete_kind() -> TestResult {
    let export = csv_export()?;
    export.kind(ObjectKind::Memberships, "group,member,role\n")?;
    let s = all(&export.connector()?)?;
    assert_eq!((s.members().len(), s.groups().len()), (0, 3));
    // An empty JSON Lines file is an empty kind too: it has no header.
    let export = Export::jsonl()?;
    export.kind(ObjectKind::Users, "")?;
    let s = read(&export.only(&[ObjectKind::Users])?, &[ObjectKind::Users])?;
    assert!(s.users().is_empty());
    Ok(())
}

#[test]
fn a_complete_last_line_without_a_line_end_is_read() -> TestResult {
    let s = users_csv("id,email\n1,a@example.com\n2,\"b@example.com\"")??;
    assert_eq!(s.users().len(), 2);
    Ok(())
}

#[test]
fn the_scope_filter_keeps_an_org_unit_subtree_and_listed_groups() -> TestResult {
    let export = csv_export()?;
    let connector = export.connector()?;
    let filter = ScopeFilter::everything()
        .with_org_unit(OrgUnitPath::new("/Engineering")?)
        .with_groups([Email::new("eng@example.com")?]);
    let request = FetchRequest::new(ObjectKinds::all(), filter);
    let s = connector.read(&request)?.snapshot;
    let emails: Vec<&str> = s.users().iter().map(|u| u.primary_email.as_str()).collect();
    assert_eq!(emails, ["ada@example.com", "grace@example.com"]);
    assert!(
        s.deleted_users().is_empty(),
        "kurt left /Research, outside the scope"
    );
    assert_eq!(s.org_units().len(), 2);
    assert_eq!(s.groups().len(), 1);
    assert!(s.members().iter().all(|m| m.group.as_str() == "g1"));
    assert_eq!(s.members().len(), 2);

    // A user without an org unit cannot be placed in a scoped rule: quarantined, counted present.
    let export = Export::csv()?;
    export.kind(
        ObjectKind::Users,
        "id,email,org_unit_path\n1,a@example.com,/Engineering\n2,b@example.com,\n",
    )?;
    let request = FetchRequest::new(
        ObjectKinds::only(ObjectKind::Users),
        ScopeFilter::everything().with_org_unit(OrgUnitPath::new("/Engineering")?),
    );
    let s = export.only(&[ObjectKind::Users])?.read(&request)?.snapshot;
    assert_eq!(s.users().len(), 1);
    assert!(s.quarantined_ids().contains(&id("2")?));
    Ok(())
}

struct Counter(AtomicUsize);

impl FetchProgress for Counter {
    fn page(&self, _kind: ObjectKind, items: usize) {
        self.0.fetch_add(items, Ordering::Relaxed);
    }
}

#[tokio::test]
async fn fetch_reads_on_the_blocking_pool_and_reports_progress_and_figures() -> TestResult {
    let export = csv_export()?;
    let connector = export.connector()?;
    let counter = Counter(AtomicUsize::new(0));
    let request = FetchRequest::new(ObjectKinds::all(), ScopeFilter::everything());
    let fetched = connector.fetch(&request, &counter).await?;
    // 3 org units + 3 users + 3 groups + 5 memberships.
    assert_eq!(counter.0.load(Ordering::Relaxed), 14);
    assert_eq!(fetched.stats.total_requests(), 4);
    assert_eq!(fetched.stats.requests.get("read users.csv"), Some(&1));
    let size = USERS.len() + GROUPS.len() + MEMBERSHIPS.len() + ORG_UNITS.len();
    assert_eq!(fetched.stats.bytes, size as u64);
    Ok(())
}
