//! JSON Lines files: one JSON object per line, its keys being the column names. Blank lines are
//! skipped; a line that is not a JSON object is a bad line, unless it is the last line and has
//! no line end: then the file was cut mid-record and is truncated.

use dirsync_core::AttributeValue;
use serde_json::Value;

use crate::Error;
use crate::columns::{Column, Resolver};
use crate::table::{BadLine, Record, Table, id_column};

/// A documented field's value as text: strings (trimmed), numbers and booleans; `null` is no
/// value.
fn text(value: Value) -> Result<Option<String>, &'static str> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_owned())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => Err("expected text, a number or true/false"),
    }
}

/// Any other key's value as an attribute: booleans, integers, text, lists of scalars; other
/// numbers and nested objects as their JSON text. `null` and empty text are no value.
fn attribute(value: Value) -> Option<AttributeValue> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(AttributeValue::Bool(b)),
        Value::Number(n) => Some(
            n.as_i64()
                .map_or_else(|| AttributeValue::Text(n.to_string()), AttributeValue::Int),
        ),
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(AttributeValue::Text(s.trim().to_owned())),
        Value::Array(items) => Some(AttributeValue::List(
            items
                .into_iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })
                .collect(),
        )),
        object @ Value::Object(_) => Some(AttributeValue::Text(object.to_string())),
    }
}

/// The record on `line`; else why not, and its id when it has one.
fn record(
    line: u64,
    value: Value,
    resolver: &Resolver,
) -> Result<Record, (String, Option<String>)> {
    let Value::Object(object) = value else {
        return Err(("not a JSON object".to_owned(), None));
    };
    let columns = match resolver.header(object.keys().map(String::as_str)) {
        Ok(columns) => columns,
        Err(why) => return Err((why, None)),
    };
    let id = id_column(&columns)
        .and_then(|i| object.values().nth(i))
        .and_then(|v| text(v.clone()).ok().flatten())
        .filter(|v| !v.is_empty());
    let mut record = Record {
        line,
        ..Record::default()
    };
    for (column, (key, value)) in columns.into_iter().zip(object) {
        match column {
            Column::Field(f) => {
                let value = text(value).map_err(|why| (format!("{key}: {why}"), id.clone()))?;
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    record.values.insert(f, v);
                }
            }
            Column::Extra(name) => {
                if let Some(a) = attribute(value) {
                    record.extras.insert(name, a);
                }
            }
        }
    }
    Ok(record)
}

/// The resolved keys of the first object of a file whose first non-blank line is `line`;
/// `None` when the file has no line at all.
///
/// # Errors
/// [`Error::BadHeader`] when the line is not a JSON object; [`Error::MissingColumns`] when the
/// object lacks a required field.
pub(crate) fn keys(
    file: &str,
    line: &str,
    resolver: &Resolver,
) -> Result<Option<Vec<Column>>, Error> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let bad = |reason: String| Error::BadHeader {
        file: file.to_owned(),
        reason,
    };
    let Value::Object(object) =
        serde_json::from_str(line).map_err(|e| bad(format!("the first line is not JSON: {e}")))?
    else {
        return Err(bad("the first line is not a JSON object".to_owned()));
    };
    let columns = resolver
        .header(object.keys().map(String::as_str))
        .map_err(bad)?;
    let missing = resolver.missing(&columns);
    if missing.is_empty() {
        Ok(Some(columns))
    } else {
        Err(Error::MissingColumns {
            file: file.to_owned(),
            missing,
        })
    }
}

/// Reads a whole JSON Lines file (already UTF-8, without its byte-order mark).
///
/// # Errors
/// [`Error::Truncated`] when the last line has no line end and is not a complete JSON value.
pub(crate) fn parse(file: &str, text: &str, resolver: &Resolver) -> Result<Table, Error> {
    let mut table = Table {
        file: file.to_owned(),
        records: Vec::new(),
        bad: Vec::new(),
        bytes: 0,
    };
    for (line, raw) in (1u64..).zip(text.split_inclusive('\n')) {
        let content = raw.trim();
        if content.is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(content) {
            Ok(v) => v,
            Err(e) if !raw.ends_with('\n') => {
                return Err(Error::Truncated {
                    file: file.to_owned(),
                    line,
                    reason: format!("the last line is not complete JSON and has no line end ({e})"),
                });
            }
            Err(e) => {
                table.bad.push(BadLine {
                    line,
                    why: format!("not JSON ({e})"),
                    id: None,
                });
                continue;
            }
        };
        match record(line, value, resolver) {
            Ok(r) => table.records.push(r),
            Err((why, id)) => table.bad.push(BadLine { line, why, id }),
        }
    }
    Ok(table)
}
