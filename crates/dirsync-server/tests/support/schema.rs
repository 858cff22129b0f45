//! Real answers checked against the served OpenAPI document: the operation for the method and
//! path, the response for the status (exact, then `4XX`/`5XX`, then `default`), its content
//! type, and the JSON body against its schema.
//!
//! A small walk over the JSON Schema subset utoipa writes (`$ref`, `type` and type lists,
//! `properties`, `required`, `additionalProperties`, `items`, `allOf`, `oneOf`, `anyOf`,
//! `enum`, `minimum`, `format: date-time`) rather than a general validator: those are all
//! the shapes the document uses, and a full JSON Schema crate would add a dozen crates to a
//! 2-core build for nothing more.

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The served OpenAPI document.
#[derive(Clone)]
pub(crate) struct Spec(pub(crate) Value);

impl Spec {
    /// The operation serving `method` on `path` (query ignored): its template and JSON.
    pub(crate) fn operation(&self, method: &Method, path: &str) -> Option<(&str, &Value)> {
        let path = path.split('?').next().unwrap_or(path);
        let wanted: Vec<&str> = path.split('/').collect();
        let paths = self.0["paths"].as_object()?;
        // A literal segment beats a parameter (`/runs/x` before `/runs/{id}` if both existed).
        let mut best: Option<(usize, &str, &Value)> = None;
        for (template, item) in paths {
            let segments: Vec<&str> = template.split('/').collect();
            if segments.len() != wanted.len() {
                continue;
            }
            let mut literal = 0;
            let matches = segments.iter().zip(&wanted).all(|(t, w)| {
                if t.starts_with('{') && t.ends_with('}') {
                    !w.is_empty()
                } else {
                    literal += 1;
                    t == w
                }
            });
            let Some(op) = item.get(method.as_str().to_lowercase()) else {
                continue;
            };
            if matches && best.is_none_or(|(n, _, _)| literal > n) {
                best = Some((literal, template, op));
            }
        }
        best.map(|(_, t, op)| (t, op))
    }

    /// Checks one answer against the document.
    pub(crate) fn check(
        &self,
        method: &Method,
        path: &str,
        status: StatusCode,
        content_type: &str,
        body: &Value,
    ) -> Result<(), String> {
        let (template, op) = self
            .operation(method, path)
            .ok_or_else(|| format!("{method} {path} is not in the document"))?;
        let responses = &op["responses"];
        let class = format!("{}XX", status.as_u16() / 100);
        let response = [status.as_str(), &class, "default"]
            .iter()
            .find_map(|k| responses.get(*k))
            .ok_or_else(|| format!("{method} {template}: status {status} is not documented"))?;
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return Ok(());
        };
        let media = content_type.split(';').next().unwrap_or("").trim();
        let documented = content
            .get(media)
            .ok_or_else(|| format!("{method} {template} {status}: {media} is not documented"))?;
        if media != "application/json" {
            return Ok(());
        }
        match documented.get("schema") {
            Some(schema) => self
                .validate(schema, body, "$")
                .map_err(|e| format!("{method} {template} {status}: {e}")),
            None => Ok(()),
        }
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> Result<&'a Value, String> {
        match schema.get("$ref").and_then(Value::as_str) {
            None => Ok(schema),
            Some(r) => {
                let name = r
                    .strip_prefix("#/components/schemas/")
                    .ok_or_else(|| format!("unsupported $ref {r}"))?;
                let target = &self.0["components"]["schemas"][name];
                if target.is_null() {
                    return Err(format!("$ref {r} names no schema"));
                }
                self.resolve(target)
            }
        }
    }

    /// `value` at `at` against `schema`.
    pub(crate) fn validate(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = self.resolve(schema)?;
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.validate(s, value, at)?;
            }
        }
        if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
            let fits = one
                .iter()
                .filter(|s| self.validate(s, value, at).is_ok())
                .count();
            if fits != 1 {
                return Err(format!("{at}: {value} fits {fits} of oneOf, not one"));
            }
        }
        if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
            && !any.iter().any(|s| self.validate(s, value, at).is_ok())
        {
            return Err(format!("{at}: {value} fits none of anyOf"));
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.contains(value)
        {
            return Err(format!("{at}: {value} is not one of {options:?}"));
        }
        if let Some(types) = schema.get("type") {
            let types: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => return Err(format!("{at}: a schema type of {types}")),
            };
            if !types.iter().any(|t| is_type(value, t)) {
                return Err(format!("{at}: {value} is not of type {types:?}"));
            }
        }
        if let (Some(min), Some(n)) = (
            schema.get("minimum").and_then(Value::as_f64),
            value.as_f64(),
        ) && n < min
        {
            return Err(format!("{at}: {n} is below {min}"));
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time")
            && let Some(text) = value.as_str()
        {
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|e| format!("{at}: {text:?} is not a date-time: {e}"))?;
        }
        if let Value::Object(fields) = value {
            let properties = schema.get("properties").and_then(Value::as_object);
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !fields.contains_key(name) {
                    return Err(format!("{at}: the required field {name} is missing"));
                }
            }
            for (name, field) in fields {
                let at = format!("{at}.{name}");
                match properties.and_then(|p| p.get(name)) {
                    Some(s) => self.validate(s, field, &at)?,
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            return Err(format!("{at}: not a documented field"));
                        }
                        Some(s @ Value::Object(_)) => self.validate(s, field, &at)?,
                        _ => {}
                    },
                }
            }
        }
        if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
            for (i, item) in items.iter().enumerate() {
                self.validate(s, item, &format!("{at}[{i}]"))?;
            }
        }
        Ok(())
    }
}

fn is_type(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}
