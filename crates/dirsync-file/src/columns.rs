//! The documented columns of each kind, and how a file's header (or a JSON object's keys) is
//! resolved to them through the column mapping.
//!
//! Column names are compared trimmed and ASCII-case-insensitively (`Email` is `email`). A
//! mapped column that is present wins over a column spelled like its field: with `Mail=email`,
//! in a file with both `Mail` and `email`, `Mail` is the email and `email` is kept as an extra
//! column; in a file without `Mail`, `email` is the email.

use std::collections::{BTreeMap, BTreeSet};

use dirsync_core::ObjectKind;

use crate::ColumnMapping;

const USER_FIELDS: &[&str] = &[
    "id",
    "email",
    "given_name",
    "family_name",
    "display_name",
    "status",
    "manager_email",
    "manager_id",
    "employee_id",
    "employment_type",
    "org_unit_path",
    "is_admin",
    "created_at",
];
const GROUP_FIELDS: &[&str] = &["id", "email", "name", "description"];
const MEMBERSHIP_FIELDS: &[&str] = &["group", "member", "role"];
const ORG_UNIT_FIELDS: &[&str] = &["path", "id", "name", "description", "parent"];

/// The field names documented for `kind`, in the order the crate documentation lists them.
/// These are the names a column may have (case-insensitively) or be mapped to.
pub fn documented_fields(kind: ObjectKind) -> &'static [&'static str] {
    match kind {
        ObjectKind::Users => USER_FIELDS,
        ObjectKind::Groups => GROUP_FIELDS,
        ObjectKind::Memberships => MEMBERSHIP_FIELDS,
        // ObjectKind is non-exhaustive; org units and any later kind.
        _ => ORG_UNIT_FIELDS,
    }
}

/// The fields every record of `kind` must have: a CSV header without one of them is an error,
/// a record without a value for one of them is quarantined.
pub fn required_fields(kind: ObjectKind) -> &'static [&'static str] {
    match kind {
        ObjectKind::Users | ObjectKind::Groups => &["id", "email"],
        ObjectKind::Memberships => &["group", "member"],
        _ => &["path"],
    }
}

/// The documented field `name` of `kind`, as the crate's own `'static` spelling.
pub(crate) fn field(kind: ObjectKind, name: &str) -> Option<&'static str> {
    documented_fields(kind)
        .iter()
        .copied()
        .find(|f| f.eq_ignore_ascii_case(name.trim()))
}

/// What one column of a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Column {
    /// A documented field.
    Field(&'static str),
    /// Any other column, kept under its own (trimmed) name.
    Extra(String),
}

/// Resolves column names of one kind's file.
#[derive(Debug, Clone)]
pub(crate) struct Resolver {
    kind: ObjectKind,
    /// Lower-cased source column → field, from the mappings that apply to this kind.
    mapped: BTreeMap<String, &'static str>,
}

impl Resolver {
    /// The resolver for `kind` under `mappings` (already validated by the settings).
    pub(crate) fn new(kind: ObjectKind, mappings: &[ColumnMapping]) -> Self {
        let mapped = ColumnMapping::effective(kind, mappings)
            .into_iter()
            .filter_map(|m| {
                field(kind, &m.field).map(|f| (m.column.trim().to_ascii_lowercase(), f))
            })
            .collect();
        Self { kind, mapped }
    }

    /// What the column `name` is, when the mapped columns in `present` provide their fields.
    fn column(&self, name: &str, present: &BTreeSet<&'static str>) -> Column {
        let key = name.trim().to_ascii_lowercase();
        if let Some(f) = self.mapped.get(&key) {
            return Column::Field(f);
        }
        match field(self.kind, &key) {
            // A field a mapped column provides is not read from its literal name too.
            Some(f) if !present.contains(f) => Column::Field(f),
            _ => Column::Extra(name.trim().to_owned()),
        }
    }

    /// The resolved header `names` (a CSV header row, or the keys of one JSON object).
    ///
    /// # Errors
    /// What is wrong, in words: a field two columns provide, or a column name given twice.
    pub(crate) fn header<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Result<Vec<Column>, String> {
        let present: BTreeSet<&'static str> = names
            .clone()
            .into_iter()
            .filter_map(|n| self.mapped.get(&n.trim().to_ascii_lowercase()).copied())
            .collect();
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        let mut columns = Vec::new();
        for name in names {
            let column = self.column(name, &present);
            let key = match &column {
                Column::Field(f) => format!("field {f}"),
                Column::Extra(n) if n.is_empty() => {
                    columns.push(column);
                    continue;
                }
                Column::Extra(n) => format!("column {}", n.to_ascii_lowercase()),
            };
            if let Some(first) = seen.insert(key.clone(), name) {
                return Err(format!(
                    "columns {first:?} and {name:?} both give {key}; keep one or map one elsewhere"
                ));
            }
            columns.push(column);
        }
        Ok(columns)
    }

    /// The required fields that `columns` lack.
    pub(crate) fn missing(&self, columns: &[Column]) -> Vec<String> {
        required_fields(self.kind)
            .iter()
            .filter(|r| !columns.contains(&Column::Field(r)))
            .map(|r| (*r).to_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(r: &Resolver, names: &[&str]) -> Vec<Column> {
        r.header(names.iter().copied()).unwrap_or_default()
    }

    #[test]
    fn fields_match_case_insensitively_and_others_are_extra() {
        let r = Resolver::new(ObjectKind::Users, &[]);
        let cols = resolve(&r, &[" Email ", "Department", "path"]);
        assert_eq!(cols[0], Column::Field("email"));
        assert_eq!(cols[1], Column::Extra("Department".into()));
        // "path" is an org-unit field, not a user one.
        assert_eq!(cols[2], Column::Extra("path".into()));
    }

    #[test]
    fn a_present_mapped_column_wins_over_the_literal_one_and_applies_to_its_kind_only()
    -> Result<(), crate::Error> {
        let maps = [
            "Mail=email".parse::<ColumnMapping>()?,
            "Team=groups.name".parse::<ColumnMapping>()?,
        ];
        let users = Resolver::new(ObjectKind::Users, &maps);
        let cols = resolve(&users, &["MAIL", "email", "Team"]);
        assert_eq!(cols[0], Column::Field("email"));
        assert_eq!(cols[1], Column::Extra("email".into()));
        assert_eq!(cols[2], Column::Extra("Team".into()));
        // Without the mapped column, the literal one is the field.
        assert_eq!(resolve(&users, &["email"]), vec![Column::Field("email")]);
        let groups = Resolver::new(ObjectKind::Groups, &maps);
        let cols = resolve(&groups, &["Team", "Mail"]);
        assert_eq!(cols, vec![Column::Field("name"), Column::Field("email")]);
        Ok(())
    }

    #[test]
    fn headers_refuse_a_field_twice_and_name_what_is_missing() {
        let r = Resolver::new(ObjectKind::Users, &[]);
        assert!(r.header(["id", "Email", "EMAIL"]).is_err());
        assert!(r.header(["id", "x", "X"]).is_err());
        let cols = resolve(&r, &["id", "", "", "dept"]);
        assert_eq!(cols.len(), 4);
        assert_eq!(r.missing(&cols), vec!["email".to_owned()]);
    }
}
