//! Records → `dirsync-core` types. Pure functions over [`Table`]s.
//!
//! A record that cannot be used (no id, an invalid email or org-unit path, an id seen before in
//! the file, an unknown status, role or admin flag) becomes a [`QuarantinedRecord`] whose reason
//! starts with its file and line; the rest of the file is read. Optional values that are
//! malformed (a manager that is not an email or names no user, an unparsable date) are dropped
//! with a `tracing` warning and the record is kept; an employment type other than employee or
//! contractor is kept as the attribute `employment_type`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use dirsync_core::{
    AttributeValue, DeletedUser, Email, EmploymentType, ExternalId, Member, MemberKind, MemberRole,
    ObjectKind, OrgUnitPath, PersonName, QuarantinedRecord, RemoteGroup, RemoteMember,
    RemoteOrgUnit, RemoteUser, ScopeFilter,
};

use crate::table::{Record, Table};

/// Shortens a value for a label.
fn clip(value: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = value.chars().take(MAX).collect();
    if value.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// Builds the quarantine records of one file.
struct Quarantine<'a> {
    kind: ObjectKind,
    file: &'a str,
    records: Vec<QuarantinedRecord>,
}

impl<'a> Quarantine<'a> {
    /// Starts with the lines the reader could not read as records.
    fn new(kind: ObjectKind, table: &'a Table) -> Self {
        let mut q = Self {
            kind,
            file: &table.file,
            records: Vec::new(),
        };
        for bad in &table.bad {
            let id = bad.id.as_deref().and_then(|id| ExternalId::new(id).ok());
            let label = bad
                .id
                .as_deref()
                .map_or_else(|| format!("line {}", bad.line), clip);
            q.push(bad.line, id, label, &bad.why);
        }
        q
    }

    fn push(&mut self, line: u64, id: Option<ExternalId>, label: String, why: &str) {
        self.records.push(QuarantinedRecord {
            kind: self.kind,
            external_id: id,
            label,
            reason: format!("{} line {line}: {why}", self.file),
        });
    }
}

/// The label of `record`: the first of `fields` it has, else its line.
fn label_of(record: &Record, fields: &[&str]) -> String {
    fields
        .iter()
        .find_map(|f| record.get(f))
        .map_or_else(|| format!("line {}", record.line), clip)
}

/// The value of the required `field`, parsed by `parse`; else why not.
fn required<'r, T>(
    r: &'r Record,
    field: &str,
    parse: impl FnOnce(&'r str) -> Result<T, dirsync_core::Error>,
) -> Result<T, String> {
    match r.get(field) {
        None => Err(format!("no {field}")),
        Some(raw) => parse(raw).map_err(|e| format!("{field}: {e}")),
    }
}

/// The required `id` and `email` of a user or group; else why not, with the id when valid.
fn id_and_email(r: &Record) -> Result<(ExternalId, Email), (Option<ExternalId>, String)> {
    let id = required(r, "id", ExternalId::new).map_err(|why| (None, why))?;
    match required(r, "email", Email::new) {
        Ok(email) => Ok((id, email)),
        Err(why) => Err((Some(id), why)),
    }
}

/// Remembers the line of each key; a second one is refused with the first's line.
fn first_line<K: std::hash::Hash + Eq>(
    seen: &mut HashMap<K, u64>,
    key: K,
    line: u64,
) -> Option<u64> {
    match seen.entry(key) {
        std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(line);
            None
        }
    }
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// An RFC 3339 time, or a date (midnight UTC).
fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// A user's status in the export.
enum Status {
    Active,
    Suspended,
    Archived,
    Deleted,
}

fn status(raw: Option<&str>) -> Result<Status, String> {
    match raw.map(str::to_ascii_lowercase).as_deref() {
        None | Some("active") => Ok(Status::Active),
        Some("suspended") => Ok(Status::Suspended),
        Some("archived") => Ok(Status::Archived),
        Some("deleted" | "terminated") => Ok(Status::Deleted),
        Some(other) => Err(format!(
            "status {:?}: expected active, suspended, archived, deleted or terminated",
            clip(other)
        )),
    }
}

/// The users file, mapped.
#[derive(Debug, Default)]
pub(crate) struct Users {
    /// Users, with the org unit of each (for the scope filter) in `RemoteUser::org_unit`.
    pub(crate) users: Vec<RemoteUser>,
    /// Users the export marks deleted or terminated, with their org unit when given.
    pub(crate) deleted: Vec<(DeletedUser, Option<OrgUnitPath>)>,
    /// Records that could not be used.
    pub(crate) quarantined: Vec<QuarantinedRecord>,
    /// Every id the file gives an email, by the email's canonical form (first one wins), even
    /// for quarantined records: members are matched to users through it.
    pub(crate) ids_by_email: HashMap<String, ExternalId>,
}

/// Maps the users file (consumed: its values move into the users).
pub(crate) fn users(mut table: Table) -> Users {
    let records = std::mem::take(&mut table.records);
    let mut q = Quarantine::new(ObjectKind::Users, &table);
    let mut out = Users::default();
    let mut seen: HashMap<ExternalId, u64> = HashMap::new();
    // Per user: the manager id to resolve once every user is read, and its line.
    let mut manager_ids: Vec<Option<(String, u64)>> = Vec::new();
    for mut r in records {
        let label = || label_of(&r, &["email", "id"]);
        let (id, email) = match id_and_email(&r) {
            Ok(v) => v,
            Err((id, why)) => {
                q.push(r.line, id, label(), &why);
                continue;
            }
        };
        out.ids_by_email
            .entry(email.key())
            .or_insert_with(|| id.clone());
        if let Some(first) = first_line(&mut seen, id.clone(), r.line) {
            let why = format!("id {id} already on line {first}; the first was kept");
            q.push(r.line, Some(id), label(), &why);
            continue;
        }
        let checked = (|| {
            let status = status(r.get("status"))?;
            let is_admin = match r.get("is_admin") {
                None => false,
                Some(raw) => parse_bool(raw)
                    .ok_or_else(|| format!("is_admin {:?}: expected true or false", clip(raw)))?,
            };
            let org_unit = r
                .get("org_unit_path")
                .map(OrgUnitPath::new)
                .transpose()
                .map_err(|e| format!("org_unit_path: {e}"))?;
            Ok::<_, String>((status, is_admin, org_unit))
        })();
        let (status, is_admin, org_unit) = match checked {
            Ok(v) => v,
            Err(why) => {
                q.push(r.line, Some(id), label(), &why);
                continue;
            }
        };
        if let Status::Deleted = status {
            let deleted = DeletedUser {
                external_id: id,
                primary_email: Some(email),
                deleted_at: None,
            };
            out.deleted.push((deleted, org_unit));
            continue;
        }
        let mut user = RemoteUser::new(id, email);
        user.suspended = matches!(status, Status::Suspended);
        user.archived = matches!(status, Status::Archived);
        user.is_admin = is_admin;
        user.org_unit = org_unit;
        map_profile(&mut r, &mut user, &table.file);
        manager_ids.push(
            r.get("manager_id")
                .filter(|_| user.manager_email.is_none())
                .map(|m| (m.to_owned(), r.line)),
        );
        out.users.push(user);
    }
    let emails: HashMap<&ExternalId, &Email> = out
        .users
        .iter()
        .map(|u| (&u.external_id, &u.primary_email))
        .collect();
    let managers: Vec<Option<Email>> = manager_ids
        .iter()
        .map(|m| {
            let (raw, line) = m.as_ref()?;
            let found = ExternalId::new(raw.as_str())
                .ok()
                .and_then(|id| emails.get(&id).map(|e| (*e).clone()));
            if found.is_none() {
                tracing::warn!(file = %table.file, line, "manager_id names no user in the file; manager dropped");
            }
            found
        })
        .collect();
    for (user, manager) in out.users.iter_mut().zip(managers) {
        if manager.is_some() {
            user.manager_email = manager;
        }
    }
    out.quarantined = q.records;
    out
}

/// The optional parts of a user: name, employee id, employment type, manager email, creation
/// time, and every extra column as an attribute.
fn map_profile(r: &mut Record, user: &mut RemoteUser, file: &str) {
    let given = r.values.remove("given_name").unwrap_or_default();
    let family = r.values.remove("family_name").unwrap_or_default();
    let display = r.values.remove("display_name").unwrap_or_else(|| {
        [given.as_str(), family.as_str()]
            .join(" ")
            .trim()
            .to_owned()
    });
    user.name = PersonName {
        given,
        family,
        display,
    };
    user.employee_id = r.values.remove("employee_id");
    user.attributes = std::mem::take(&mut r.extras);
    if let Some(raw) = r.get("employment_type") {
        user.employment_type = match raw.to_ascii_lowercase().as_str() {
            "employee" => Some(EmploymentType::Employee),
            "contractor" => Some(EmploymentType::Contractor),
            _ => {
                let kept = AttributeValue::Text(raw.to_owned());
                user.attributes.insert("employment_type".to_owned(), kept);
                None
            }
        };
    }
    user.manager_email = r.get("manager_email").and_then(|m| match Email::new(m) {
        Ok(e) => Some(e),
        Err(_) => {
            let line = r.line;
            tracing::warn!(file, line, "manager_email is not an email; manager dropped");
            None
        }
    });
    user.created_at = r.get("created_at").and_then(|t| {
        let parsed = parse_time(t);
        if parsed.is_none() {
            let line = r.line;
            tracing::warn!(
                file,
                line,
                "created_at is neither an RFC 3339 time nor a date; dropped"
            );
        }
        parsed
    });
}

/// The groups file, mapped.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    /// Groups.
    pub(crate) groups: Vec<RemoteGroup>,
    /// Records that could not be used.
    pub(crate) quarantined: Vec<QuarantinedRecord>,
}

/// Maps the groups file.
pub(crate) fn groups(table: &Table) -> Groups {
    let mut q = Quarantine::new(ObjectKind::Groups, table);
    let mut out = Groups::default();
    let mut seen: HashMap<ExternalId, u64> = HashMap::new();
    for r in &table.records {
        let label = || label_of(r, &["email", "id"]);
        let (id, email) = match id_and_email(r) {
            Ok(v) => v,
            Err((id, why)) => {
                q.push(r.line, id, label(), &why);
                continue;
            }
        };
        if let Some(first) = first_line(&mut seen, id.clone(), r.line) {
            let why = format!("id {id} already on line {first}; the first was kept");
            q.push(r.line, Some(id), label(), &why);
            continue;
        }
        out.groups.push(RemoteGroup {
            external_id: id,
            email,
            name: r.get("name").unwrap_or_default().to_owned(),
            description: r.get("description").unwrap_or_default().to_owned(),
            direct_members_count: None,
        });
    }
    out.quarantined = q.records;
    out
}

/// The memberships file, mapped.
#[derive(Debug, Default)]
pub(crate) struct Memberships {
    /// Members of groups in scope, by group id.
    pub(crate) by_group: BTreeMap<ExternalId, Vec<RemoteMember>>,
    /// Records that could not be used.
    pub(crate) quarantined: Vec<QuarantinedRecord>,
}

/// Maps the memberships file. A membership's `group` is a group's id or email among `groups`
/// (memberships of groups outside `filter` are left out); its `member` is an email, matched to
/// a user (`users`: ids by canonical email), else to a group, else taken as a user outside the
/// export whose id is the email's canonical form.
pub(crate) fn memberships(
    table: &Table,
    groups: &[RemoteGroup],
    users: &HashMap<String, ExternalId>,
    filter: &ScopeFilter,
) -> Memberships {
    let mut q = Quarantine::new(ObjectKind::Memberships, table);
    let mut out = Memberships::default();
    let by_id: HashMap<&str, &RemoteGroup> =
        groups.iter().map(|g| (g.external_id.as_str(), g)).collect();
    let mut by_email: HashMap<String, &RemoteGroup> = HashMap::new();
    for g in groups {
        by_email.entry(g.email.key()).or_insert(g);
    }
    let mut seen: HashMap<(ExternalId, MemberKind, ExternalId), u64> = HashMap::new();
    for r in &table.records {
        let label = || {
            format!(
                "{} in {}",
                r.get("member").map_or_else(|| "?".to_owned(), clip),
                r.get("group").map_or_else(|| "?".to_owned(), clip)
            )
        };
        let Some(raw_group) = r.get("group") else {
            q.push(r.line, None, label(), "no group");
            continue;
        };
        let Some(group) = by_id
            .get(raw_group)
            .or_else(|| by_email.get(&raw_group.to_ascii_lowercase()))
        else {
            let why = format!("group {:?} is not among the groups read", clip(raw_group));
            q.push(r.line, None, label(), &why);
            continue;
        };
        if !filter.includes_group(&group.email) {
            continue;
        }
        let email = match required(r, "member", Email::new) {
            Ok(email) => email,
            Err(why) => {
                q.push(r.line, None, label(), &why);
                continue;
            }
        };
        let key = email.key();
        let resolved = match (users.get(&key), by_email.get(&key)) {
            (Some(user), _) => Ok((MemberKind::User, user.clone())),
            (None, Some(nested)) => Ok((MemberKind::Group, nested.external_id.clone())),
            (None, None) => ExternalId::new(key).map(|id| (MemberKind::User, id)),
        };
        let (kind, member_id) = match resolved {
            Ok(v) => v,
            Err(e) => {
                q.push(r.line, None, label(), &format!("member: {e}"));
                continue;
            }
        };
        let role = match r.get("role").map(str::to_ascii_lowercase).as_deref() {
            None | Some("member") => MemberRole::Member,
            Some("manager") => MemberRole::Manager,
            Some("owner") => MemberRole::Owner,
            Some(other) => {
                let why = format!("role {:?}: expected member, manager or owner", clip(other));
                q.push(r.line, Some(member_id), label(), &why);
                continue;
            }
        };
        let identity = (group.external_id.clone(), kind, member_id.clone());
        if let Some(first) = first_line(&mut seen, identity, r.line) {
            let why = format!("the same membership is on line {first}; the first was kept");
            q.push(r.line, Some(member_id), label(), &why);
            continue;
        }
        out.by_group
            .entry(group.external_id.clone())
            .or_default()
            .push(RemoteMember {
                group: group.external_id.clone(),
                member: Member {
                    kind,
                    external_id: member_id,
                    email: Some(email),
                },
                role,
            });
    }
    out.quarantined = q.records;
    out
}

/// The org-units file, mapped.
#[derive(Debug, Default)]
pub(crate) struct OrgUnits {
    /// Org units.
    pub(crate) units: Vec<RemoteOrgUnit>,
    /// Records that could not be used.
    pub(crate) quarantined: Vec<QuarantinedRecord>,
}

/// Maps the org-units file. A unit's id is its `id` column, else its path; its parent is the
/// unit the `parent` column names (by id, then path), else the unit at its path's parent.
pub(crate) fn org_units(table: &Table) -> OrgUnits {
    let mut q = Quarantine::new(ObjectKind::OrgUnits, table);
    let mut out = OrgUnits::default();
    let mut seen_ids: HashMap<ExternalId, u64> = HashMap::new();
    let mut seen_paths: HashMap<OrgUnitPath, u64> = HashMap::new();
    let mut parents: Vec<Option<(String, u64)>> = Vec::new();
    for r in &table.records {
        let label = || label_of(r, &["path", "id"]);
        let path = match required(r, "path", OrgUnitPath::new) {
            Ok(p) => p,
            Err(why) => {
                q.push(r.line, None, label(), &why);
                continue;
            }
        };
        let id = match ExternalId::new(r.get("id").unwrap_or(path.as_str())) {
            Ok(id) => id,
            Err(e) => {
                q.push(r.line, None, label(), &format!("id: {e}"));
                continue;
            }
        };
        let duplicate = first_line(&mut seen_ids, id.clone(), r.line)
            .map(|first| format!("id {id} already on line {first}"))
            .or_else(|| {
                first_line(&mut seen_paths, path.clone(), r.line)
                    .map(|first| format!("path {path} already on line {first}"))
            });
        if let Some(why) = duplicate {
            q.push(
                r.line,
                Some(id),
                label(),
                &format!("{why}; the first was kept"),
            );
            continue;
        }
        parents.push(r.get("parent").map(|p| (p.to_owned(), r.line)));
        out.units.push(RemoteOrgUnit {
            external_id: id,
            name: r
                .get("name")
                .map_or_else(|| path.name().to_owned(), str::to_owned),
            description: r.get("description").unwrap_or_default().to_owned(),
            path,
            parent: None,
        });
    }
    let ids: HashMap<&str, &ExternalId> = out
        .units
        .iter()
        .map(|u| (u.external_id.as_str(), &u.external_id))
        .collect();
    let by_path: HashMap<&str, &ExternalId> = out
        .units
        .iter()
        .map(|u| (u.path.as_str(), &u.external_id))
        .collect();
    let resolved: Vec<Option<ExternalId>> = out
        .units
        .iter()
        .zip(&parents)
        .map(|(unit, parent)| match parent {
            Some((raw, line)) => {
                let found = ids.get(raw.as_str()).or_else(|| by_path.get(raw.as_str()));
                if found.is_none() {
                    tracing::warn!(file = %table.file, line, "parent names no org unit in the file; parent dropped");
                }
                found.map(|id| (*id).clone())
            }
            None => unit
                .path
                .parent()
                .and_then(|p| by_path.get(p.as_str()).map(|id| (*id).clone())),
        })
        .collect();
    for (unit, parent) in out.units.iter_mut().zip(resolved) {
        unit.parent = parent;
    }
    out.quarantined = q.records;
    out
}
