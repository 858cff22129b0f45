//! Figures of reading a generated HR export: `cargo run --release -p dirsync-file --example
//! read_bench -- [USERS] [csv|jsonl]` (default 100000 csv). Writes users, groups (one per 50
//! users) and memberships (every user in one group) to a temporary folder, reads them as one
//! snapshot three times, and prints the sizes and the best wall time.

use std::fmt::Write as _;
use std::time::Instant;

use dirsync_core::{FetchRequest, ObjectKind, ObjectKinds, ScopeFilter};
use dirsync_file::{FileConnector, FileSettings, Format};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let format: Format = args.next().map_or(Ok(Format::Csv), |a| a.parse())?;
    let groups = users.div_ceil(50);
    let dir = tempfile::tempdir()?;
    let (mut u, mut g, mut m) = (String::new(), String::new(), String::new());
    match format {
        Format::Jsonl => {
            for i in 1..=users {
                let manager = i / 2;
                writeln!(
                    u,
                    r#"{{"id":"{i}","email":"user{i}@example.com","given_name":"Given{i}","family_name":"Family {i}","manager_id":"{manager}","org_unit_path":"/Dept{}","employee_id":"E-{i}","Department":"D{}"}}"#,
                    i % 7,
                    i % 7
                )?;
                writeln!(
                    m,
                    r#"{{"group":"g{}","member":"user{i}@example.com"}}"#,
                    i % groups
                )?;
            }
            for j in 0..groups {
                writeln!(
                    g,
                    r#"{{"id":"g{j}","email":"group{j}@example.com","name":"Group {j}"}}"#
                )?;
            }
        }
        _ => {
            u.push_str(
                "id,email,given_name,family_name,manager_id,org_unit_path,employee_id,Department\n",
            );
            m.push_str("group,member\n");
            g.push_str("id,email,name\n");
            for i in 1..=users {
                let manager = i / 2;
                writeln!(
                    u,
                    "{i},user{i}@example.com,Given{i},\"Family {i}\",{manager},/Dept{},E-{i},D{}",
                    i % 7,
                    i % 7
                )?;
                writeln!(m, "g{},user{i}@example.com", i % groups)?;
            }
            for j in 0..groups {
                writeln!(g, "g{j},group{j}@example.com,Group {j}")?;
            }
        }
    }
    let ext = format.extension();
    std::fs::write(dir.path().join(format!("users.{ext}")), &u)?;
    std::fs::write(dir.path().join(format!("groups.{ext}")), &g)?;
    std::fs::write(dir.path().join(format!("memberships.{ext}")), &m)?;
    let kinds = ObjectKinds::new([
        ObjectKind::Users,
        ObjectKind::Groups,
        ObjectKind::Memberships,
    ])?;
    let settings = FileSettings::new(dir.path())?
        .with_format(format)
        .with_kinds(kinds.clone())?;
    let connector = FileConnector::new(settings);
    let request = FetchRequest::new(kinds, ScopeFilter::everything());
    let mut best = f64::MAX;
    let mut fetched = None;
    for _ in 0..3 {
        let started = Instant::now();
        fetched = Some(connector.read(&request)?);
        best = best.min(started.elapsed().as_secs_f64());
    }
    let fetched = fetched.ok_or("no read")?;
    let s = &fetched.snapshot;
    println!(
        "{format}: {} users, {} groups, {} memberships, {} quarantined; {:.1} MB read; best of 3: {:.0} ms ({:.0} users/s)",
        s.users().len(),
        s.groups().len(),
        s.members().len(),
        s.quarantined().len(),
        fetched.stats.bytes as f64 / 1e6,
        best * 1e3,
        users as f64 / best,
    );
    Ok(())
}
