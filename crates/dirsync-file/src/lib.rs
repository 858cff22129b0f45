//! # dirsync-file
//!
//! The file (HR export) connector of directory-sync: users, groups, memberships and org units
//! read from CSV or JSON Lines files in one folder, as a complete
//! [`Snapshot`](dirsync_core::Snapshot). [`FileConnector`] implements
//! [`DirectorySource`](dirsync_core::DirectorySource); [`FileSettings`] say where the export is
//! and how to read it, and are validated before anything is stored.
//!
//! ```
//! use dirsync_core::{DirectorySource, FetchRequest, NoProgress, ObjectKinds, ScopeFilter};
//! use dirsync_file::{FileConnector, FileSettings};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let folder = std::env::temp_dir().join(format!("dirsync-file-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&folder)?;
//! std::fs::write(folder.join("users.csv"),
//!     "id,Work Email,given_name,family_name,status,manager_email,Department\n\
//!      1,ada@example.com,Ada,Lovelace,active,,Engineering\n\
//!      2,grace@example.com,Grace,Hopper,suspended,ada@example.com,Engineering\n\
//!      3,not-an-email,Bad,Row,active,,\n")?;
//! std::fs::write(folder.join("groups.csv"), "id,email,name\ng1,eng@example.com,Engineering\n")?;
//! std::fs::write(folder.join("memberships.csv"), "group,member,role\neng@example.com,ada@example.com,owner\n")?;
//! std::fs::write(folder.join("org_units.csv"), "path,name\n/Engineering,Engineering\n")?;
//!
//! // `Work Email` holds our `email` field (also `--map 'Work Email=email'` on the command line).
//! let settings = FileSettings::new(&folder)?.with_mapping("Work Email=email".parse()?)?;
//! let connector = FileConnector::new(settings);
//! assert!(connector.checks().iter().all(|c| c.ok), "{:?}", connector.checks());
//!
//! let request = FetchRequest::new(ObjectKinds::all(), ScopeFilter::everything());
//! let fetched = tokio::runtime::Builder::new_current_thread().build()?
//!     .block_on(connector.fetch(&request, &NoProgress))?;
//! let snapshot = fetched.snapshot;
//! assert_eq!(snapshot.users().len(), 2);
//! assert!(snapshot.users()[1].suspended);
//! assert_eq!(snapshot.members().len(), 1);
//! // The bad row is quarantined with its file and line; the rest was read.
//! assert!(snapshot.quarantined()[0].reason.starts_with("users.csv line 4: email"));
//!
//! // A missing file is an error, never an empty directory.
//! std::fs::remove_file(folder.join("org_units.csv"))?;
//! assert!(connector.read(&request).is_err());
//! # std::fs::remove_dir_all(&folder)?;
//! # Ok(()) }
//! ```
//!
//! ## The folder
//!
//! One file per kind, by default `users.csv`, `groups.csv`, `memberships.csv` and
//! `org_units.csv` (`.jsonl` in JSON Lines format); [`FileSettings::with_file`] names another,
//! and [`FileSettings::with_kinds`] says which kinds the folder provides at all. Every file is
//! UTF-8 (a byte-order mark is skipped). A CSV file has one header row; a JSON Lines file has
//! one object per line whose keys are the column names. Values are trimmed; an empty value (or
//! `null`) is no value.
//!
//! ## Columns
//!
//! Column names are matched ignoring case. Required columns are **bold**.
//!
//! | kind | column | what |
//! |---|---|---|
//! | users | **`id`** | the export's immutable id of the person (e.g. the HR system's worker id) |
//! | | **`email`** | primary email |
//! | | `given_name`, `family_name` | name |
//! | | `display_name` | display name (default: given and family name) |
//! | | `status` | `active` (default), `suspended`, `archived`, or `deleted` / `terminated` (reported as a deleted user: positive evidence that they left) |
//! | | `manager_email` | the manager's email |
//! | | `manager_id` | the manager's `id` in the same file (used when there is no `manager_email`) |
//! | | `employee_id` | employee id |
//! | | `employment_type` | `employee` or `contractor`; any other value is kept as the attribute `employment_type` |
//! | | `org_unit_path` | org unit, e.g. `/Engineering/Analytics` |
//! | | `is_admin` | `true`/`false` (also `yes`/`no`, `1`/`0`); default false |
//! | | `created_at` | RFC 3339 time or `YYYY-MM-DD` date |
//! | | *any other* | kept as a per-vendor attribute under the column's name (text; in JSON Lines also booleans, integers and lists) |
//! | groups | **`id`**, **`email`** | the group's id and email |
//! | | `name`, `description` | |
//! | memberships | **`group`** | the group's `id` or `email` |
//! | | **`member`** | the member's email: a user of the users file, else a group of the groups file (a nested group), else a user outside the export (whose id is the email, lower-cased) |
//! | | `role` | `member` (default), `manager` or `owner` |
//! | org units | **`path`** | the unit's path, e.g. `/Engineering` |
//! | | `id` | the unit's id (default: its path) |
//! | | `name` | default: the last part of the path |
//! | | `description` | |
//! | | `parent` | the parent's id or path (default: the unit at the path's parent, when listed) |
//!
//! A column with another name is mapped with a [`ColumnMapping`], written `COLUMN=FIELD`
//! (every kind documenting `FIELD`, e.g. `Mail=email`) or `COLUMN=KIND.FIELD` (one kind, e.g.
//! `Team=groups.name`); for a kind, a mapping naming it wins over one for every kind. A mapped
//! column that is present wins over a column spelled like its field: with `Mail=email`, in a
//! file with both `Mail` and `email`, `email` is kept as an attribute. The field names are also
//! available as [`documented_fields`] and [`required_fields`].
//!
//! ## Complete, or an error
//!
//! A snapshot is read completely or not at all (each is an [`Error`], converted into
//! [`dirsync_core::Error`]): a missing file of a kind asked for, an unreadable one, a file that
//! is not UTF-8 (naming its line), a CSV file without a header row, a header lacking a required
//! column, and a truncated file — a quoted field never closed, or a last line without a line
//! end that is short of fields (CSV) or not complete JSON (JSON Lines). A CSV file with only its
//! header is an empty kind, complete; so is an empty JSON Lines file (it has no header that
//! could tell a cut file apart). A last CSV line cut exactly at a field boundary cannot be told
//! from a complete one; the engine's safeguards stand behind that.
//!
//! A record that cannot be used is quarantined, not dropped: a line that is not a record
//! (wrong number of fields, not a JSON object), a missing or invalid id, email or path, an id
//! (or membership, or org-unit path) seen before in the file (the first is kept), an unknown
//! status, role or admin flag. Its reason starts with the file and line, e.g.
//! `users.csv line 7: email: invalid email …`; its id, when the line gives one (even a row with
//! the wrong number of fields), is kept, so the object it would have been counts as present and
//! is not deleted for it.
//!
//! ## Access check
//!
//! [`FileConnector::checks`] lists named [`AccessCheck`](dirsync_core::AccessCheck)s — the folder can be read; per kind, its
//! file exists and has the required columns — each with what to do when it fails. Until
//! `dirsync-core`'s access report is such a list,
//! [`validate_access`](dirsync_core::DirectorySource::validate_access) turns failed checks
//! into an error and otherwise returns a stand-in report (see its documentation).
//!
//! ## Scope
//!
//! The rule's [`ScopeFilter`](dirsync_core::ScopeFilter) applies as with any source: org units
//! and users within its org unit (a user without `org_unit_path` in a scoped rule is
//! quarantined), groups in its group list and their memberships.

#![warn(missing_docs)]

mod checks;
mod columns;
mod connector;
mod error;
mod kind;
mod mapping;
mod read_csv;
mod read_jsonl;
mod settings;
mod table;

pub use columns::{documented_fields, required_fields};
pub use connector::FileConnector;
pub use error::Error;
pub use kind::{FileKind, SYSTEM};
pub use settings::{ColumnMapping, FileSettings, Format};

/// The README's example, compiled as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
