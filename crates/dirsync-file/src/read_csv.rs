//! CSV files: one header row, then one record per row (RFC 4180 quoting, so a quoted field may
//! span lines). Read with the `csv` crate; this module adds what a complete snapshot needs on
//! top: a header is required, a row with the wrong number of fields is a bad line, and a file
//! that ends inside a quoted field or with a short row and no line end is truncated.

use dirsync_core::AttributeValue;

use crate::Error;
use crate::columns::{Column, Resolver};
use crate::table::{BadLine, Record, Table, id_column};

fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
}

fn csv_error(file: &str, e: &csv::Error) -> Error {
    Error::Unreadable {
        path: file.into(),
        reason: e.to_string(),
        io: std::io::ErrorKind::InvalidData,
    }
}

/// Resolves the header `names` and checks the required fields are there.
fn resolve(
    file: &str,
    names: &csv::StringRecord,
    resolver: &Resolver,
) -> Result<Vec<Column>, Error> {
    let columns = resolver.header(names).map_err(|reason| Error::BadHeader {
        file: file.to_owned(),
        reason,
    })?;
    let missing = resolver.missing(&columns);
    if missing.is_empty() {
        Ok(columns)
    } else {
        Err(Error::MissingColumns {
            file: file.to_owned(),
            missing,
        })
    }
}

/// The resolved header of a file whose first line is `line`.
///
/// # Errors
/// [`Error::NoHeader`] for an empty line; [`Error::MissingColumns`], [`Error::BadHeader`].
pub(crate) fn header(file: &str, line: &str, resolver: &Resolver) -> Result<Vec<Column>, Error> {
    let mut rows = reader(line).into_records();
    match rows.next() {
        None => Err(Error::NoHeader {
            file: file.to_owned(),
        }),
        Some(row) => resolve(file, &row.map_err(|e| csv_error(file, &e))?, resolver),
    }
}

/// Whether `rest` (the text from a record's start to the end of the file) ends inside a quoted
/// field, following the csv crate's rules: a quote opens a quoted field only at a field's
/// start, and `""` inside one is an escaped quote.
fn ends_in_quotes(rest: &str) -> bool {
    let (mut quoted, mut at_start) = (false, true);
    let mut bytes = rest.bytes().peekable();
    while let Some(b) = bytes.next() {
        if quoted {
            if b == b'"' {
                if bytes.peek() == Some(&b'"') {
                    bytes.next();
                } else {
                    quoted = false;
                }
            }
            continue;
        }
        match b {
            b'"' if at_start => {
                quoted = true;
                at_start = false;
            }
            b',' | b'\n' | b'\r' => at_start = true,
            _ => at_start = false,
        }
    }
    quoted
}

/// Reads a whole CSV file (already UTF-8, without its byte-order mark).
///
/// # Errors
/// [`Error::NoHeader`], [`Error::MissingColumns`], [`Error::BadHeader`], [`Error::Truncated`].
pub(crate) fn parse(file: &str, text: &str, resolver: &Resolver) -> Result<Table, Error> {
    let mut rows = reader(text);
    // One record, reused for every row.
    let mut row = csv::StringRecord::new();
    let mut next =
        |row: &mut csv::StringRecord| rows.read_record(row).map_err(|e| csv_error(file, &e));
    if !next(&mut row)? {
        return Err(Error::NoHeader {
            file: file.to_owned(),
        });
    }
    let columns = resolve(file, &row, resolver)?;
    let id_at = id_column(&columns);
    // Where a record starts: the csv crate's position is where it began looking, before the
    // blank lines it skipped.
    let start = |r: &csv::StringRecord| {
        let (line, byte) = r.position().map_or((1, 0), |p| (p.line(), p.byte()));
        let rest = usize::try_from(byte)
            .ok()
            .and_then(|b| text.get(b..))
            .unwrap_or_default();
        let blank = &rest[..rest.len() - rest.trim_start_matches(['\r', '\n']).len()];
        let newlines = blank.bytes().filter(|b| *b == b'\n').count() as u64;
        (line + newlines, byte + blank.len() as u64)
    };
    // The last record read: where it starts and whether it was short of fields.
    let mut last = (start(&row), false);
    let mut table = Table {
        file: file.to_owned(),
        records: Vec::new(),
        bad: Vec::new(),
        bytes: 0,
    };
    while next(&mut row)? {
        if row.iter().all(|v| v.trim().is_empty()) && row.len() == 1 {
            continue; // a line of blanks
        }
        let (line, byte) = start(&row);
        last = ((line, byte), row.len() < columns.len());
        if row.len() != columns.len() {
            table.bad.push(BadLine {
                line,
                why: format!(
                    "{} fields where the header has {}",
                    row.len(),
                    columns.len()
                ),
                id: id_at
                    .and_then(|i| row.get(i))
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned),
            });
            continue;
        }
        let mut record = Record {
            line,
            ..Record::default()
        };
        for (column, value) in columns.iter().zip(row.iter()) {
            let value = value.trim();
            match column {
                _ if value.is_empty() => {}
                Column::Field(f) => {
                    record.values.insert(f, value.to_owned());
                }
                Column::Extra(name) if !name.is_empty() => {
                    record
                        .extras
                        .insert(name.clone(), AttributeValue::Text(value.to_owned()));
                }
                Column::Extra(_) => {}
            }
        }
        table.records.push(record);
    }
    let ((line, byte), short) = last;
    let rest = usize::try_from(byte)
        .ok()
        .and_then(|b| text.get(b..))
        .unwrap_or_default();
    let truncated = |reason: &str| Error::Truncated {
        file: file.to_owned(),
        line,
        reason: reason.to_owned(),
    };
    if ends_in_quotes(rest) {
        return Err(truncated("a quoted field is never closed"));
    }
    if short && !rest.ends_with(['\n', '\r']) {
        return Err(truncated(
            "the last row is short of fields and has no line end (cut mid-record)",
        ));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_those_where_records_start_after_blank_and_multi_line_ones() -> Result<(), Error> {
        let r = Resolver::new(dirsync_core::ObjectKind::Users, &[]);
        let text = "id,email\r\n\r\n\n1,a@x.co\n   \n2,\"x\ny\",z\n3,c@x.co\n";
        let t = parse("users.csv", text, &r)?;
        let lines: Vec<u64> = t.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [4, 8]);
        assert_eq!((t.bad[0].line, t.bad[0].id.as_deref()), (6, Some("2")));
        Ok(())
    }

    #[test]
    fn quotes_open_only_at_a_field_start_and_double_quotes_escape() {
        assert!(!ends_in_quotes("1,\"a, b\",c\n"));
        assert!(!ends_in_quotes("1,\"say \"\"hi\"\"\",c"));
        assert!(!ends_in_quotes("1,5'11\",c\n"));
        assert!(ends_in_quotes("1,\"a\nb,c\n2,d\n"));
        assert!(ends_in_quotes("1,\"say \"\"hi"));
    }
}
