//! The settings of a file integration: where the export is, in which format, which files hold
//! which kind, and how its columns map to ours. Validated on construction and on
//! deserialization, so invalid settings are never stored.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use dirsync_core::{ObjectKind, ObjectKinds};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::columns::{documented_fields, field};

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidSettings {
        reason: reason.into(),
    }
}

/// The format of every file in the folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Format {
    /// Comma-separated values with one header row (RFC 4180 quoting).
    #[default]
    Csv,
    /// JSON Lines: one JSON object per line, its keys being the column names.
    Jsonl,
}

impl Format {
    /// The file-name extension of the default file names: `csv` or `jsonl`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.extension())
    }
}

impl FromStr for Format {
    type Err = Error;

    /// `csv` or `jsonl` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "jsonl" => Ok(Self::Jsonl),
            other => Err(invalid(format!("format {other:?}: expected csv or jsonl"))),
        }
    }
}

/// One `COLUMN=FIELD`: the source column `column` holds our documented field `field`, for
/// one kind (`COLUMN=KIND.FIELD`, e.g. `Team=groups.name`) or for every kind documenting that
/// field (`COLUMN=FIELD`, e.g. `Mail=email` for users and groups).
///
/// Written and serialized as that text. Made with [`ColumnMapping::new`] or by parsing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub struct ColumnMapping {
    /// The column's name in the source file (compared trimmed and case-insensitively).
    pub column: String,
    /// The one kind it applies to; `None`: every kind that documents `field`.
    pub kind: Option<ObjectKind>,
    /// One of our documented field names ([`documented_fields`]).
    pub field: String,
}

impl ColumnMapping {
    /// Maps `column` to `field` of `kind` (or of every kind documenting it).
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] for an empty column name or a field that `kind` (or no kind)
    /// documents.
    pub fn new(
        column: impl Into<String>,
        kind: Option<ObjectKind>,
        field_name: &str,
    ) -> Result<Self, Error> {
        let column = column.into().trim().to_owned();
        if column.is_empty() {
            return Err(invalid("a column mapping needs a column name before '='"));
        }
        let kinds: Vec<ObjectKind> = match kind {
            Some(k) => vec![k],
            None => ObjectKind::ALL.to_vec(),
        };
        let Some(canonical) = kinds.iter().find_map(|k| field(*k, field_name)) else {
            let known = |k: ObjectKind| format!("{k}: {}", documented_fields(k).join(", "));
            return Err(invalid(format!(
                "{column}={field_name}: {field_name:?} is not a documented field ({})",
                kinds.into_iter().map(known).collect::<Vec<_>>().join("; ")
            )));
        };
        Ok(Self {
            column,
            kind,
            field: canonical.to_owned(),
        })
    }

    /// The mappings of `mappings` that apply to `kind`: those naming `kind`, then those for
    /// every kind whose field `kind` documents, unless a mapping naming `kind` already maps
    /// their column or field (the one naming the kind wins).
    pub(crate) fn effective(kind: ObjectKind, mappings: &[Self]) -> Vec<&Self> {
        let specific: Vec<&Self> = mappings.iter().filter(|m| m.kind == Some(kind)).collect();
        let overridden = |m: &Self| {
            specific
                .iter()
                .any(|s| s.field == m.field || s.column.eq_ignore_ascii_case(&m.column))
        };
        let general = mappings
            .iter()
            .filter(|m| m.kind.is_none() && field(kind, &m.field).is_some() && !overridden(m));
        specific.iter().copied().chain(general).collect()
    }
}

impl fmt::Display for ColumnMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Some(kind) => write!(f, "{}={kind}.{}", self.column, self.field),
            None => write!(f, "{}={}", self.column, self.field),
        }
    }
}

impl FromStr for ColumnMapping {
    type Err = Error;

    /// `COLUMN=FIELD` or `COLUMN=KIND.FIELD`; the last `=` separates the column name.
    fn from_str(s: &str) -> Result<Self, Error> {
        let Some((column, target)) = s.rsplit_once('=') else {
            return Err(invalid(format!(
                "column mapping {s:?}: expected COLUMN=FIELD"
            )));
        };
        match target.trim().split_once('.') {
            Some((kind, f)) => Self::new(
                column,
                Some(
                    kind.parse()
                        .map_err(|e| invalid(format!("column mapping {s:?}: {e}")))?,
                ),
                f,
            ),
            None => Self::new(column, None, target),
        }
    }
}

impl TryFrom<String> for ColumnMapping {
    type Error = Error;

    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<ColumnMapping> for String {
    fn from(m: ColumnMapping) -> Self {
        m.to_string()
    }
}

/// The settings' serialized form, checked by [`FileSettings::validate`] when deserialized.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    path: PathBuf,
    #[serde(default)]
    format: Format,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    columns: Vec<ColumnMapping>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    files: BTreeMap<ObjectKind, String>,
    #[serde(default)]
    kinds: ObjectKinds,
}

/// Where an HR export is and how to read it.
///
/// ```json
/// {"path": "/srv/hr-export", "format": "csv", "columns": ["Mail=email", "EmpNo=employee_id"],
///  "files": {"users": "people.csv"}, "kinds": ["users", "groups", "memberships"]}
/// ```
///
/// Only `path` is required: `format` defaults to `csv`, `files` to `users.csv`,
/// `groups.csv`, `memberships.csv` and `org_units.csv` (`.jsonl` for JSON Lines), `kinds`
/// (the kinds the folder provides) to all four. Every constructor and deserialization
/// validates; an invalid value is an [`Error::InvalidSettings`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSettings", into = "RawSettings")]
#[non_exhaustive]
pub struct FileSettings {
    path: PathBuf,
    format: Format,
    columns: Vec<ColumnMapping>,
    files: BTreeMap<ObjectKind, String>,
    kinds: ObjectKinds,
}

impl FileSettings {
    /// CSV files with the default names in `path`, all four kinds, no column mapping.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] for an empty path.
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let settings = Self {
            path: path.into(),
            format: Format::Csv,
            columns: Vec::new(),
            files: BTreeMap::new(),
            kinds: ObjectKinds::all(),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// The same settings in `format` (default file names follow it).
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Adds a column mapping. A mapping naming a kind (`Mail=groups.email`) wins over one for
    /// every kind (`Work Email=email`) for that kind.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] if, among mappings of the same reach, the column is already
    /// mapped or its field already has a column, for a kind both apply to.
    pub fn with_mapping(mut self, mapping: ColumnMapping) -> Result<Self, Error> {
        self.columns.push(mapping);
        self.validate()?;
        Ok(self)
    }

    /// Reads `kind` from the file `name` in the folder instead of the default name.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] if `name` is not a plain file name or another kind uses it.
    pub fn with_file(mut self, kind: ObjectKind, name: impl Into<String>) -> Result<Self, Error> {
        self.files.insert(kind, name.into());
        self.validate()?;
        Ok(self)
    }

    /// The kinds the folder provides (a rule asking for another kind fails).
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] if memberships are provided without groups and users (a
    /// membership names its group, and its member is resolved to a user by email).
    pub fn with_kinds(mut self, kinds: ObjectKinds) -> Result<Self, Error> {
        self.kinds = kinds;
        self.validate()?;
        Ok(self)
    }

    /// Checks every rule the constructors check; deserialization runs it too.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] naming the first problem.
    pub fn validate(&self) -> Result<(), Error> {
        if self.path.as_os_str().is_empty() {
            return Err(invalid("the folder path is empty"));
        }
        if self.kinds.contains(ObjectKind::Memberships)
            && !(self.kinds.contains(ObjectKind::Groups) && self.kinds.contains(ObjectKind::Users))
        {
            return Err(invalid(
                "memberships need groups and users from the same folder (a membership names its group, and members are matched to users by email)",
            ));
        }
        let mut names = BTreeSet::new();
        for kind in self.kinds.iter() {
            let name = self.file_name(kind);
            let plain = Path::new(&name)
                .file_name()
                .is_some_and(|f| f == name.as_str());
            if name.trim().is_empty() || !plain || name.contains(['/', '\\']) {
                return Err(invalid(format!(
                    "{kind} file {name:?}: give a plain file name inside the folder"
                )));
            }
            if !names.insert(name.to_ascii_lowercase()) {
                return Err(invalid(format!(
                    "{kind} file {name:?} is the file of another kind too"
                )));
            }
        }
        for m in &self.columns {
            // Mappings made by `new`/parsing are valid on their own; re-check for hand-built ones.
            if ColumnMapping::new(m.column.clone(), m.kind, &m.field)? != *m {
                return Err(invalid(format!(
                    "column mapping {m} is not in canonical form"
                )));
            }
        }
        for kind in ObjectKind::ALL {
            let mut columns: BTreeMap<String, &ColumnMapping> = BTreeMap::new();
            let mut fields: BTreeMap<&str, &ColumnMapping> = BTreeMap::new();
            for m in ColumnMapping::effective(kind, &self.columns) {
                if let Some(first) = columns.insert(m.column.to_ascii_lowercase(), m) {
                    return Err(invalid(format!(
                        "column {:?} is mapped twice for {kind} ({first} and {m})",
                        m.column
                    )));
                }
                if let Some(first) = fields.insert(m.field.as_str(), m) {
                    return Err(invalid(format!(
                        "two columns are mapped to {kind} field {} ({first} and {m})",
                        m.field
                    )));
                }
            }
        }
        Ok(())
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The column mappings, in the order given.
    pub fn columns(&self) -> &[ColumnMapping] {
        &self.columns
    }

    /// The kinds the folder provides.
    pub fn kinds(&self) -> &ObjectKinds {
        &self.kinds
    }

    /// The name of `kind`'s file: the configured one, else `{kind}.{extension}` (e.g.
    /// `org_units.csv`).
    pub fn file_name(&self, kind: ObjectKind) -> String {
        self.files
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| format!("{kind}.{}", self.format.extension()))
    }

    /// The full path of `kind`'s file.
    pub fn file_path(&self, kind: ObjectKind) -> PathBuf {
        self.path.join(self.file_name(kind))
    }
}

impl TryFrom<RawSettings> for FileSettings {
    type Error = Error;

    fn try_from(raw: RawSettings) -> Result<Self, Error> {
        let settings = Self {
            path: raw.path,
            format: raw.format,
            columns: raw.columns,
            files: raw.files,
            kinds: raw.kinds,
        };
        settings.validate()?;
        Ok(settings)
    }
}

impl From<FileSettings> for RawSettings {
    fn from(s: FileSettings) -> Self {
        Self {
            path: s.path,
            format: s.format,
            columns: s.columns,
            files: s.files,
            kinds: s.kinds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_format() -> Result<(), Error> {
        let s = FileSettings::new("/srv/export")?;
        assert_eq!(s.file_name(ObjectKind::OrgUnits), "org_units.csv");
        let s = s.with_format(Format::Jsonl);
        assert_eq!(
            s.file_path(ObjectKind::Users),
            Path::new("/srv/export/users.jsonl")
        );
        let s = s.with_file(ObjectKind::Users, "people.ndjson")?;
        assert_eq!(s.file_name(ObjectKind::Users), "people.ndjson");
        Ok(())
    }

    #[test]
    fn mappings_parse_and_name_the_documented_fields_when_wrong() -> Result<(), Error> {
        let m: ColumnMapping = "Work Email=email".parse()?;
        assert_eq!(
            (m.column.as_str(), m.kind, m.field.as_str()),
            ("Work Email", None, "email")
        );
        let m: ColumnMapping = "Team=groups.NAME".parse()?;
        assert_eq!(m.to_string(), "Team=groups.name");
        for bad in [
            "=email",
            "EmpNo",
            "EmpNo=salary",
            "X=users.path",
            "X=people.email",
        ] {
            assert!(bad.parse::<ColumnMapping>().is_err(), "{bad}");
        }
        let Err(e) = "EmpNo=salary".parse::<ColumnMapping>() else {
            panic!("salary is not a field")
        };
        assert!(e.to_string().contains("employee_id"), "{e}");
        Ok(())
    }

    #[test]
    fn conflicting_mappings_file_names_and_kinds_are_refused() -> Result<(), Error> {
        let s = FileSettings::new("/x")?.with_mapping("Mail=email".parse()?)?;
        assert!(s.clone().with_mapping("Mail=employee_id".parse()?).is_err());
        assert!(s.clone().with_mapping("Work=email".parse()?).is_err());
        // A mapping naming a kind wins over one for every kind.
        let users = s.clone().with_mapping("Work=users.email".parse()?)?;
        let shown = |kind| {
            ColumnMapping::effective(kind, users.columns())
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(shown(ObjectKind::Users), ["Work=users.email"]);
        assert_eq!(shown(ObjectKind::Groups), ["Mail=email"]);
        assert!(users.with_mapping("Other=users.email".parse()?).is_err());
        // Different kinds: no conflict.
        let s = s.with_mapping("Team=groups.name".parse()?)?;
        assert!(
            s.clone()
                .with_mapping("Title=users.display_name".parse()?)
                .is_ok()
        );
        assert!(
            s.clone()
                .with_file(ObjectKind::Groups, "users.csv")
                .is_err()
        );
        assert!(
            s.clone()
                .with_file(ObjectKind::Groups, "../groups.csv")
                .is_err()
        );
        assert!(
            s.clone()
                .with_file(ObjectKind::Groups, "sub/groups.csv")
                .is_err()
        );
        assert!(
            s.clone()
                .with_kinds(
                    ObjectKinds::new([ObjectKind::Memberships, ObjectKind::Groups])
                        .map_err(|e| invalid(e.to_string()))?
                )
                .is_err()
        );
        assert!(FileSettings::new("").is_err());
        Ok(())
    }

    #[test]
    fn deserialization_validates_and_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let s: FileSettings = serde_json::from_str(
            r#"{"path":"/srv/hr","format":"jsonl","columns":["Mail=email"],"files":{"users":"people.jsonl"},"kinds":["users"]}"#,
        )?;
        assert_eq!(s.format(), Format::Jsonl);
        assert_eq!(s.file_name(ObjectKind::Users), "people.jsonl");
        let back: FileSettings = serde_json::from_str(&serde_json::to_string(&s)?)?;
        assert_eq!(back, s);
        let minimal: FileSettings = serde_json::from_str(r#"{"path":"/srv/hr"}"#)?;
        assert_eq!(minimal.kinds(), &ObjectKinds::all());
        for bad in [
            r#"{"path":""}"#,
            r#"{"path":"/x","columns":["Mail=mail"]}"#,
            r#"{"path":"/x","files":{"users":"a/b.csv"}}"#,
            r#"{"path":"/x","format":"xlsx"}"#,
            r#"{"path":"/x","colums":[]}"#,
        ] {
            assert!(serde_json::from_str::<FileSettings>(bad).is_err(), "{bad}");
        }
        Ok(())
    }
}
