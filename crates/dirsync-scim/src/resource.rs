//! Checking a resource a client sent against the schemas served: known schemas and attributes
//! only (case-insensitive names, written back in the schema's spelling), the right types (with
//! the booleans Entra sends as strings), required attributes present, read-only ones dropped.

use serde_json::{Map, Value};

use crate::error::{Error, clip};
use crate::schema::{Attribute, Mutability, ResourceType, Type, find};

/// Checks and normalizes `input` as a `kind` resource: the result holds only the schemas and
/// the writable attributes served (plus `externalId`), spelled as the schemas spell them; `id`
/// and `meta` are ignored (they are the server's).
///
/// # Errors
/// [`Error::InvalidSyntax`] for a body that is no object, an unknown schema or attribute, or a
/// value of the wrong type; [`Error::InvalidValue`] when a required attribute is missing.
pub fn normalize(kind: ResourceType, input: &Value) -> Result<Value, Error> {
    let Value::Object(object) = input else {
        return Err(Error::InvalidSyntax(
            "the resource must be a JSON object".to_owned(),
        ));
    };
    let mut out = Map::new();
    let mut schemas = vec![Value::String(kind.schema().to_owned())];
    if let Some(listed) = object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .map(|(_, v)| v)
    {
        let Value::Array(listed) = listed else {
            return Err(Error::InvalidSyntax("`schemas` must be a list".to_owned()));
        };
        for urn in listed {
            let Some(urn) = urn.as_str() else {
                return Err(Error::InvalidSyntax("`schemas` must list URNs".to_owned()));
            };
            if !urn.eq_ignore_ascii_case(kind.schema())
                && !kind
                    .extensions()
                    .iter()
                    .any(|(u, _)| u.eq_ignore_ascii_case(urn))
            {
                return Err(Error::InvalidSyntax(format!(
                    "unknown schema {:?}",
                    clip(urn)
                )));
            }
        }
    }
    for (key, value) in object {
        let lower = key.to_ascii_lowercase();
        if matches!(lower.as_str(), "schemas" | "id" | "meta") {
            continue;
        }
        if lower == "externalid" {
            match value {
                Value::String(s) if !s.is_empty() => {
                    out.insert("externalId".to_owned(), value.clone());
                }
                Value::Null | Value::String(_) => {}
                _ => {
                    return Err(Error::InvalidSyntax(
                        "`externalId` must be a string".to_owned(),
                    ));
                }
            }
            continue;
        }
        if lower.starts_with("urn:") {
            let Some((urn, attributes)) = kind
                .extensions()
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(key))
            else {
                return Err(Error::InvalidSyntax(format!(
                    "unknown schema {:?}",
                    clip(key)
                )));
            };
            if value.is_null() {
                continue;
            }
            let ext = complex_value(attributes, value, urn)?;
            if ext.as_object().is_some_and(|m| !m.is_empty()) {
                out.insert((*urn).to_owned(), ext);
                schemas.push(Value::String((*urn).to_owned()));
            }
            continue;
        }
        let Some(attribute) = find(kind.attributes(), key) else {
            return Err(Error::InvalidSyntax(format!(
                "unknown attribute {:?}",
                clip(key)
            )));
        };
        if attribute.mutability != Mutability::ReadWrite {
            continue;
        }
        if let Some(v) = attribute_value(attribute, value)? {
            out.insert(attribute.name.to_owned(), v);
        }
    }
    for a in kind.attributes().iter().filter(|a| a.required) {
        let ok = out
            .get(a.name)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        if !ok {
            return Err(Error::InvalidValue(format!("`{}` is required", a.name)));
        }
    }
    out.insert("schemas".to_owned(), Value::Array(schemas));
    Ok(Value::Object(out))
}

/// One attribute's value, checked; `None` for null or empty.
pub(crate) fn attribute_value(
    attribute: &Attribute,
    value: &Value,
) -> Result<Option<Value>, Error> {
    if value.is_null() {
        return Ok(None);
    }
    if attribute.multi {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        let mut out = Vec::with_capacity(items.len());
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for item in items {
            if let Some(v) = single_value(attribute, item)?
                && seen.insert(v.to_string())
            {
                out.push(v);
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    single_value(attribute, value)
}

fn single_value(attribute: &Attribute, value: &Value) -> Result<Option<Value>, Error> {
    let wrong = || {
        Error::InvalidSyntax(format!(
            "`{}` has a value of the wrong type",
            attribute.name
        ))
    };
    Ok(match (attribute.kind, value) {
        (_, Value::Null) => None,
        (Type::String, Value::String(s)) => (!s.is_empty()).then(|| value.clone()),
        (Type::Boolean, Value::Bool(_)) => Some(value.clone()),
        (Type::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Some(Value::Bool(true))
        }
        (Type::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Some(Value::Bool(false))
        }
        (Type::Complex, Value::Object(_)) => {
            let v = complex_value(attribute.sub, value, attribute.name)?;
            v.as_object().is_some_and(|m| !m.is_empty()).then_some(v)
        }
        // Entra sends the enterprise `manager` as its bare id.
        (Type::Complex, Value::String(s)) if find(attribute.sub, "value").is_some() => {
            (!s.is_empty()).then(|| serde_json::json!({"value": s}))
        }
        _ => return Err(wrong()),
    })
}

fn complex_value(sub: &'static [Attribute], value: &Value, name: &str) -> Result<Value, Error> {
    let Value::Object(object) = value else {
        return Err(Error::InvalidSyntax(format!(
            "`{}` must be an object",
            clip(name)
        )));
    };
    let mut out = Map::new();
    for (key, v) in object {
        let Some(attribute) = find(sub, key) else {
            // `$ref` is ours to make; an extension object may repeat its `schemas`.
            if key == "$ref" || key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            return Err(Error::InvalidSyntax(format!(
                "unknown attribute {:?} in `{}`",
                clip(key),
                clip(name)
            )));
        };
        if attribute.mutability != Mutability::ReadWrite {
            continue;
        }
        if let Some(v) = attribute_value(attribute, v)? {
            out.insert(attribute.name.to_owned(), v);
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::ENTERPRISE_SCHEMA;

    #[test]
    fn users_are_normalized_and_hostile_ones_refused() {
        let user = normalize(
            ResourceType::User,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_SCHEMA],
                "id": "ignored", "USERNAME": "ada@example.com", "active": "False",
                "emails": {"value": "ada@example.com", "primary": "true"},
                "groups": [{"value": "x"}],
                ENTERPRISE_SCHEMA: {"department": "R&D", "manager": {"value": "42", "displayName": "ro"}},
            }),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(user["userName"], "ada@example.com");
        assert_eq!(user["active"], false);
        assert_eq!(user["emails"][0]["primary"], true);
        assert!(user.get("groups").is_none() && user.get("id").is_none());
        assert_eq!(user[ENTERPRISE_SCHEMA]["manager"], json!({"value": "42"}));
        for bad in [
            json!([]),
            json!({"userName": "a", "schemas": ["urn:evil"]}),
            json!({"userName": "a", "favouriteColour": "red"}),
            json!({"userName": "a", "active": "perhaps"}),
            json!({"userName": "a", "name": {"given": "x"}}),
            json!({"userName": 7}),
            json!({"userName": ""}),
            json!({"displayName": "no userName"}),
        ] {
            assert!(normalize(ResourceType::User, &bad).is_err(), "{bad}");
        }
    }
}
