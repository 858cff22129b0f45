//! What a command prints: its JSON document (the stable shapes of the README), its human text,
//! and its exit code; and how that is printed as a table, JSON or CSV, with `--fields`.

use std::fmt::Write;

use anyhow::{Result, bail};
use serde_json::{Map, Value};

use crate::cli::Format;

/// dirsync's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// Done.
    Success = 0,
    /// Something failed (a run failed, or the command did).
    Failure = 1,
    /// A safeguard held the run; nothing was applied.
    Held = 3,
}

impl Code {
    /// The worse of two codes: a failure over a hold over success.
    pub(crate) fn worst(self, other: Self) -> Self {
        match (self, other) {
            (Self::Failure, _) | (_, Self::Failure) => Self::Failure,
            (Self::Held, _) | (_, Self::Held) => Self::Held,
            _ => Self::Success,
        }
    }
}

/// What a command printed and how the process should exit.
pub(crate) struct Output {
    /// The JSON document: an object, or an array of rows for lists.
    pub(crate) json: Value,
    /// The human text; `None` renders the JSON rows as a table of `columns`.
    pub(crate) text: Option<String>,
    /// The columns a table or CSV shows by default (all fields when empty).
    pub(crate) columns: &'static [&'static str],
    /// The exit code.
    pub(crate) code: Code,
}

impl Output {
    /// A successful command's document and text.
    pub(crate) fn new(json: Value, text: String) -> Self {
        Self {
            json,
            text: Some(text),
            columns: &[],
            code: Code::Success,
        }
    }

    /// A list: rows of JSON objects, shown as a table of `columns` unless `--fields` says
    /// otherwise.
    pub(crate) fn list(rows: Vec<Value>, columns: &'static [&'static str]) -> Self {
        Self {
            json: Value::Array(rows),
            text: None,
            columns,
            code: Code::Success,
        }
    }

    /// The same output with its own human text (e.g. groups with their members indented).
    pub(crate) fn with_text(mut self, text: String) -> Self {
        self.text = Some(text);
        self
    }

    /// The same output with another exit code.
    pub(crate) fn with_code(mut self, code: Code) -> Self {
        self.code = code;
        self
    }

    /// The output as printed in `format`, with only `fields` (when not empty).
    ///
    /// # Errors
    /// A field that the rows do not have (the message lists those they have).
    pub(crate) fn render(&self, format: Format, fields: &[String]) -> Result<String> {
        let rows: Vec<&Map<String, Value>> = match &self.json {
            Value::Array(rows) => rows.iter().filter_map(Value::as_object).collect(),
            Value::Object(row) => vec![row],
            _ => Vec::new(),
        };
        if let Some(first) = rows.first() {
            for field in fields {
                if !first.contains_key(field) {
                    let known: Vec<&str> = first.keys().map(String::as_str).collect();
                    bail!("no field {field:?} here; fields: {}", known.join(", "));
                }
            }
        }
        let columns: Vec<&str> = if !fields.is_empty() {
            fields.iter().map(String::as_str).collect()
        } else if !self.columns.is_empty() {
            self.columns.to_vec()
        } else {
            rows.first()
                .map(|r| r.keys().map(String::as_str).collect())
                .unwrap_or_default()
        };
        Ok(match format {
            Format::Json if fields.is_empty() => self.json.to_string(),
            Format::Json => {
                let pick = |row: &Map<String, Value>| {
                    Value::Object(
                        fields
                            .iter()
                            .map(|f| (f.clone(), row.get(f).cloned().unwrap_or(Value::Null)))
                            .collect(),
                    )
                };
                match &self.json {
                    Value::Array(_) => Value::Array(rows.iter().map(|r| pick(r)).collect()),
                    _ => rows.first().map_or(Value::Null, |r| pick(r)),
                }
                .to_string()
            }
            Format::Table => match &self.text {
                Some(text) if fields.is_empty() => text.trim_end().to_owned(),
                _ => {
                    let cells: Vec<Vec<String>> = rows
                        .iter()
                        .map(|r| columns.iter().map(|c| cell(r.get(*c))).collect())
                        .collect();
                    table(&columns, &cells).trim_end().to_owned()
                }
            },
            Format::Csv => {
                let mut out = csv::Writer::from_writer(Vec::new());
                out.write_record(&columns)?;
                for row in &rows {
                    out.write_record(columns.iter().map(|c| cell(row.get(*c))))?;
                }
                String::from_utf8(out.into_inner()?)?.trim_end().to_owned()
            }
        })
    }
}

/// A JSON value as one table or CSV cell: strings as they are, nothing for null, lists of
/// strings joined by spaces, anything else as compact JSON.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        Some(other) => other.to_string(),
    }
}

/// A table with a header row; columns as wide as their widest cell.
pub(crate) fn table<H: AsRef<str>>(header: &[H], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.as_ref().chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (cell, w) in cells.zip(&widths) {
            let _ = write!(l, "{cell:<w$}  ");
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().map(AsRef::as_ref));
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rows() -> Output {
        Output::list(
            vec![
                json!({"email": "ada@example.com", "name": "Ada, Countess", "n": 1, "tags": ["a", "b"], "x": null}),
                json!({"email": "bob@example.com", "name": "Bob \"B\"", "n": 2, "tags": [], "x": {"k": 1}}),
            ],
            &["email", "name"],
        )
    }

    #[test]
    fn a_table_shows_the_default_columns_or_the_fields() {
        let out = rows();
        assert_eq!(
            out.render(Format::Table, &[]).unwrap(),
            "email            name\nada@example.com  Ada, Countess\nbob@example.com  Bob \"B\""
        );
        let fields = ["n".to_owned(), "tags".to_owned(), "x".to_owned()];
        assert_eq!(
            out.render(Format::Table, &fields).unwrap(),
            "n  tags  x\n1  a b\n2        {\"k\":1}"
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(
            rows().render(Format::Csv, &[]).unwrap(),
            "email,name\nada@example.com,\"Ada, Countess\"\nbob@example.com,\"Bob \"\"B\"\"\""
        );
    }

    #[test]
    fn json_keeps_the_document_or_picks_the_fields() {
        let out = rows();
        let all: Value = serde_json::from_str(&out.render(Format::Json, &[]).unwrap()).unwrap();
        assert_eq!(all, out.json);
        let picked: Value = serde_json::from_str(
            &out.render(Format::Json, &["n".to_owned(), "email".to_owned()])
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            picked,
            json!([{"n": 1, "email": "ada@example.com"}, {"n": 2, "email": "bob@example.com"}])
        );
        let one = Output::new(json!({"id": "x", "state": "active"}), "text".to_owned());
        assert_eq!(
            one.render(Format::Json, &["state".to_owned()]).unwrap(),
            r#"{"state":"active"}"#
        );
        assert_eq!(one.render(Format::Table, &[]).unwrap(), "text");
        assert_eq!(one.render(Format::Csv, &[]).unwrap(), "id,state\nx,active");
    }

    #[test]
    fn an_unknown_field_names_the_known_ones() {
        let err = rows()
            .render(Format::Csv, &["mail".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"mail\""), "{err}");
        for known in ["email", "name", "n", "tags", "x"] {
            assert!(err.contains(known), "{err}");
        }
    }

    #[test]
    fn codes_combine_to_the_worst() {
        assert_eq!(Code::Success.worst(Code::Held), Code::Held);
        assert_eq!(Code::Held.worst(Code::Failure), Code::Failure);
        assert_eq!(Code::Success.worst(Code::Success), Code::Success);
    }
}
