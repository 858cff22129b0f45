//! A file read into records: what the CSV and JSON Lines readers hand to the mapping.
//!
//! Both formats end here, so the mapping to core types is written once: a record holds its
//! line number, the documented fields it has a value for, and every other column as an
//! attribute.

use std::collections::BTreeMap;
use std::path::Path;

use dirsync_core::{Attributes, ObjectKind};

use crate::columns::{Column, Resolver};
use crate::{ColumnMapping, Error, Format};

/// One row (CSV) or object (JSON Lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Record {
    /// The line (from 1) where it starts.
    pub(crate) line: u64,
    /// Documented fields with a non-empty value, trimmed.
    pub(crate) values: BTreeMap<&'static str, String>,
    /// Every other column with a non-empty value, under its own name.
    pub(crate) extras: Attributes,
}

impl Record {
    /// The value of `field`, if any.
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.values.get(field).map(String::as_str)
    }
}

/// A line that could not be read as a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadLine {
    /// The line (from 1) where it starts.
    pub(crate) line: u64,
    /// Why it is not a record.
    pub(crate) why: String,
    /// The value in its `id` column (else its `path` column), when it has one: the object it
    /// would have been counts as present.
    pub(crate) id: Option<String>,
}

/// Where the identifying column is: `id`, else `path` (an org unit's id defaults to it).
pub(crate) fn id_column(columns: &[Column]) -> Option<usize> {
    let at = |f| columns.iter().position(|c| *c == Column::Field(f));
    at("id").or_else(|| at("path"))
}

/// A file of one kind, read completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    /// The file's name in the folder (for messages).
    pub(crate) file: String,
    /// Records that were read.
    pub(crate) records: Vec<Record>,
    /// Lines that could not be read as a record.
    pub(crate) bad: Vec<BadLine>,
    /// The file's size.
    pub(crate) bytes: u64,
}

const BOM: &str = "\u{feff}";

/// A file's name in the folder, for messages.
fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    )
}

fn io_error(kind: ObjectKind, path: &Path, e: &std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::MissingFile {
            kind,
            path: path.to_owned(),
        },
        io => Error::Unreadable {
            path: path.to_owned(),
            reason: e.to_string(),
            io,
        },
    }
}

/// Reads `kind`'s file at `path` (named `file` in messages) in `format`.
///
/// # Errors
/// [`Error::MissingFile`], [`Error::Unreadable`], [`Error::Encoding`] (with the line of the
/// first byte that is not UTF-8), and whatever the format's reader finds (no header, missing
/// columns, truncation).
pub(crate) fn read(
    kind: ObjectKind,
    path: &Path,
    format: Format,
    mappings: &[ColumnMapping],
) -> Result<Table, Error> {
    let file = display_name(path);
    let bytes = std::fs::read(path).map_err(|e| io_error(kind, path, &e))?;
    let size = bytes.len() as u64;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        Error::Encoding {
            file: file.clone(),
            line: 1 + valid.iter().filter(|b| **b == b'\n').count() as u64,
        }
    })?;
    let text = text.strip_prefix(BOM).unwrap_or(&text);
    let resolver = Resolver::new(kind, mappings);
    let mut table = match format {
        Format::Csv => crate::read_csv::parse(&file, text, &resolver)?,
        Format::Jsonl => crate::read_jsonl::parse(&file, text, &resolver)?,
    };
    table.bytes = size;
    Ok(table)
}

/// Reads the first non-blank line of `kind`'s file: its resolved header (CSV) or the keys of
/// its first object (JSON Lines; `None` for a file without any). For the access check, which
/// must not read a whole export.
///
/// # Errors
/// As [`read`], for the part read.
pub(crate) fn head(
    kind: ObjectKind,
    path: &Path,
    format: Format,
    mappings: &[ColumnMapping],
) -> Result<Option<Vec<Column>>, Error> {
    use std::io::{BufRead, BufReader, Read};
    let file = display_name(path);
    let opened = std::fs::File::open(path).map_err(|e| io_error(kind, path, &e))?;
    // The first line that is not blank; a header longer than 1 MiB is not a header.
    let (mut number, mut first) = (1, Vec::new());
    for (i, line) in BufReader::new(opened)
        .take(1 << 20)
        .split(b'\n')
        .enumerate()
    {
        let line = line.map_err(|e| io_error(kind, path, &e))?;
        if !line.iter().all(u8::is_ascii_whitespace) {
            (number, first) = (i as u64 + 1, line);
            break;
        }
    }
    let text = String::from_utf8(first).map_err(|_| Error::Encoding {
        file: file.clone(),
        line: number,
    })?;
    let text = text
        .strip_prefix(BOM)
        .unwrap_or(&text)
        .trim_end_matches('\r');
    let resolver = Resolver::new(kind, mappings);
    match format {
        Format::Csv => crate::read_csv::header(&file, text, &resolver).map(Some),
        Format::Jsonl => crate::read_jsonl::keys(&file, text, &resolver),
    }
}
