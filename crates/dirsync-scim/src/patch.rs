//! PATCH (RFC 7644 §3.5.2): parsing a `PatchOp` message leniently where Okta and Entra deviate
//! (`op` in any case, booleans as strings, paths qualified with a schema URN, value-less paths
//! in `add`), and applying it to a copy of a resource, which is then checked again as a whole:
//! either every operation applies or none does.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::error::{Error, clip};
use crate::filter::{AttrPath, CompareOp, Filter, get_ci, parse_attr_path};
use crate::resource::normalize;
use crate::schema::{Attribute, PATCH_SCHEMA, ResourceType, find};

/// The most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 1000;

/// A PATCH operation's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

/// A PATCH path: an attribute, optionally filtered (`members[value eq "1"]`) and
/// sub-addressed (`emails[type eq "work"].value`, `name.givenName`).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (with its sub-attribute when there is no filter).
    pub attribute: AttrPath,
    /// The value filter.
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter.
    pub sub: Option<String>,
}

impl PatchPath {
    /// Parses a path.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] for anything else.
    pub fn parse(path: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::InvalidPath {
            path: clip(path),
            reason: reason.to_owned(),
        };
        let path = path.trim();
        match path.find('[') {
            None => Ok(Self {
                attribute: parse_attr_path(path).ok_or_else(|| bad("not an attribute path"))?,
                filter: None,
                sub: None,
            }),
            Some(open) => {
                let close = path.rfind(']').ok_or_else(|| bad("`[` is not closed"))?;
                if close < open {
                    return Err(bad("`]` before `[`"));
                }
                let attribute = parse_attr_path(&path[..open])
                    .filter(|a| a.sub.is_none())
                    .ok_or_else(|| bad("not an attribute before `[`"))?;
                let filter =
                    Filter::parse(&path[open + 1..close]).map_err(|e| bad(&e.to_string()))?;
                let rest = &path[close + 1..];
                let sub = match rest.strip_prefix('.') {
                    Some(sub)
                        if parse_attr_path(sub)
                            .is_some_and(|p| p.sub.is_none() && p.urn.is_none()) =>
                    {
                        Some(sub.to_owned())
                    }
                    None if rest.is_empty() => None,
                    _ => return Err(bad("unexpected text after `]`")),
                };
                Ok(Self {
                    attribute,
                    filter: Some(filter),
                    sub,
                })
            }
        }
    }
}

/// One operation of a PATCH.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Add, replace or remove.
    pub op: Op,
    /// Where; `None`: the value is an object of attributes.
    pub path: Option<PatchPath>,
    /// The value, when there is one.
    pub value: Option<Value>,
}

/// Parses a `PatchOp` message.
///
/// # Errors
/// [`Error::InvalidSyntax`] for a message that is not one; [`Error::InvalidPath`] for a bad
/// path; [`Error::TooMany`] beyond [`MAX_OPERATIONS`].
pub fn parse(body: &Value) -> Result<Vec<Operation>, Error> {
    let syntax = |m: &str| Error::InvalidSyntax(m.to_owned());
    if !body.is_object() {
        return Err(syntax("a PATCH body must be a JSON object"));
    }
    let schemas = get_ci(body, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| {
        s.iter().any(|u| {
            u.as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_SCHEMA))
        })
    }) {
        return Err(syntax("`schemas` must list the PatchOp URN"));
    }
    let ops = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("`Operations` must be a list"))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(Error::TooMany(format!(
            "more than {MAX_OPERATIONS} operations"
        )));
    }
    ops.iter()
        .map(|o| {
            let op = match get_ci(o, "op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("add") => Op::Add,
                Some("replace") => Op::Replace,
                Some("remove") => Op::Remove,
                _ => return Err(syntax("`op` must be add, replace or remove")),
            };
            let path = match get_ci(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(PatchPath::parse(p)?),
                Some(_) => return Err(syntax("`path` must be a string")),
            };
            let value = get_ci(o, "value").filter(|v| !v.is_null()).cloned();
            match (op, &path, &value) {
                (Op::Remove, None, _) => Err(Error::NoTarget("remove needs a path".to_owned())),
                (Op::Add | Op::Replace, _, None) => Err(Error::InvalidValue(
                    "add and replace need a value".to_owned(),
                )),
                (Op::Add | Op::Replace, None, Some(v)) if !v.is_object() => Err(
                    Error::InvalidValue("without a path, the value must be an object".to_owned()),
                ),
                _ => Ok(Operation { op, path, value }),
            }
        })
        .collect()
}

/// Applies `operations` to a copy of `resource` (a normalized `kind` resource) and returns the
/// result, normalized; `resource` is untouched whatever happens.
///
/// # Errors
/// [`Error::InvalidPath`] for a path naming no attribute; [`Error::NoTarget`] for a filter
/// matching nothing where something must be replaced; the errors of [`normalize`] for the
/// result.
pub fn apply(
    kind: ResourceType,
    resource: &Value,
    operations: &[Operation],
) -> Result<Value, Error> {
    let mut out = resource.clone();
    for operation in operations {
        match &operation.path {
            Some(path) => apply_at(kind, &mut out, operation.op, path, operation.value.as_ref())?,
            None => {
                let Some(Value::Object(values)) = &operation.value else {
                    return Err(Error::InvalidValue(
                        "the value must be an object".to_owned(),
                    ));
                };
                for (key, value) in values {
                    if key.to_ascii_lowercase().starts_with("urn:")
                        && kind
                            .extensions()
                            .iter()
                            .any(|(u, _)| u.eq_ignore_ascii_case(key))
                        && let Value::Object(inner) = value
                    {
                        for (sub, v) in inner {
                            let path = PatchPath::parse(&format!("{key}:{sub}"))?;
                            apply_at(kind, &mut out, operation.op, &path, Some(v))?;
                        }
                        continue;
                    }
                    if key.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    let path = PatchPath::parse(key)?;
                    apply_at(kind, &mut out, operation.op, &path, Some(value))?;
                }
            }
        }
    }
    normalize(kind, &out)
}

/// The object an attribute path lives in (the resource or one of its extensions, made when
/// missing) and the attribute's definition.
fn locate<'a>(
    kind: ResourceType,
    resource: &'a mut Value,
    path: &AttrPath,
) -> Result<(&'a mut Map<String, Value>, &'static Attribute), Error> {
    let invalid = |reason: &str| Error::InvalidPath {
        path: clip(&path.to_string()),
        reason: reason.to_owned(),
    };
    let Value::Object(root) = resource else {
        return Err(invalid("the resource is not an object"));
    };
    let (container, attributes) = match &path.urn {
        None => (root, kind.attributes()),
        Some(urn) if urn.eq_ignore_ascii_case(kind.schema()) => (root, kind.attributes()),
        Some(urn) => {
            let Some((ext, attributes)) = kind
                .extensions()
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(urn))
            else {
                return Err(invalid("unknown schema"));
            };
            let slot = root
                .entry((*ext).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            let Value::Object(map) = slot else {
                return Err(invalid("the extension is not an object"));
            };
            (map, *attributes)
        }
    };
    if path.urn.is_none() && path.name.eq_ignore_ascii_case("externalId") {
        return Ok((container, &EXTERNAL_ID));
    }
    let attribute = find(attributes, &path.name).ok_or_else(|| invalid("no such attribute"))?;
    Ok((container, attribute))
}

const EXTERNAL_ID: Attribute = Attribute {
    name: "externalId",
    kind: crate::schema::Type::String,
    multi: false,
    required: false,
    mutability: crate::schema::Mutability::ReadWrite,
    sub: &[],
};

fn apply_at(
    kind: ResourceType,
    resource: &mut Value,
    op: Op,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<(), Error> {
    if let (Some(urn), None, None) = (&path.attribute.urn, &path.attribute.sub, &path.filter) {
        let whole = format!("{urn}:{}", path.attribute.name);
        if let (Some((ext, _)), Value::Object(root)) = (
            kind.extensions()
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(&whole)),
            &mut *resource,
        ) {
            // The whole extension, e.g. removing every enterprise attribute.
            match (op, value) {
                (Op::Remove, _) => {
                    root.remove(*ext);
                }
                (_, Some(Value::Object(fields))) => {
                    let slot = root
                        .entry((*ext).to_owned())
                        .or_insert_with(|| Value::Object(Map::new()));
                    match (op, slot) {
                        (Op::Add, Value::Object(existing)) => existing.extend(fields.clone()),
                        (_, slot) => *slot = Value::Object(fields.clone()),
                    }
                }
                _ => return Err(Error::InvalidValue(format!("{ext} takes an object"))),
            }
            return Ok(());
        }
    }
    let (container, attribute) = locate(kind, resource, &path.attribute)?;
    let name = attribute.name;
    let sub_name = |sub: &str| -> Result<&'static str, Error> {
        find(attribute.sub, sub)
            .map(|a| a.name)
            .ok_or_else(|| Error::InvalidPath {
                path: clip(&format!("{name}.{sub}")),
                reason: "no such sub-attribute".to_owned(),
            })
    };
    match (&path.filter, &path.attribute.sub) {
        (None, None) => {
            match (op, value) {
                (Op::Remove, Some(Value::Array(remove))) if attribute.multi => {
                    // Entra removes members by listing them as the value.
                    let gone: HashSet<String> = remove.iter().filter_map(key_of).collect();
                    if let Some(Value::Array(items)) = container.get_mut(name) {
                        items.retain(|item| key_of(item).is_none_or(|k| !gone.contains(&k)));
                    }
                }
                (Op::Remove, _) => {
                    container.remove(name);
                }
                (Op::Add, Some(v)) if attribute.multi => {
                    let slot = container
                        .entry(name.to_owned())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if !slot.is_array() {
                        *slot = Value::Array(Vec::new());
                    }
                    if let Value::Array(items) = slot {
                        let mut seen: HashSet<String> =
                            items.iter().map(Value::to_string).collect();
                        let new: Vec<Value> = match v {
                            Value::Array(vs) => vs.clone(),
                            one => vec![one.clone()],
                        };
                        for item in new {
                            if seen.insert(item.to_string()) {
                                items.push(item);
                            }
                        }
                    }
                }
                (Op::Add, Some(Value::Object(fields)))
                    if attribute.kind == crate::schema::Type::Complex =>
                {
                    let slot = container
                        .entry(name.to_owned())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(existing) = slot {
                        for (k, v) in fields {
                            existing.insert(k.clone(), v.clone());
                        }
                    } else {
                        *slot = Value::Object(fields.clone());
                    }
                }
                (_, Some(v)) => {
                    container.insert(name.to_owned(), v.clone());
                }
                (_, None) => {}
            }
            Ok(())
        }
        (None, Some(sub)) => {
            let sub = sub_name(sub)?;
            let slot = container.entry(name.to_owned()).or_insert_with(|| {
                if attribute.multi {
                    Value::Array(Vec::new())
                } else {
                    Value::Object(Map::new())
                }
            });
            let targets: Vec<&mut Value> = match slot {
                Value::Array(items) => items.iter_mut().collect(),
                other => vec![other],
            };
            for target in targets {
                if let Value::Object(fields) = target {
                    match (op, value) {
                        (Op::Remove, _) => {
                            fields.remove(sub);
                        }
                        (_, Some(v)) => {
                            fields.insert(sub.to_owned(), v.clone());
                        }
                        (_, None) => {}
                    }
                }
            }
            Ok(())
        }
        (Some(filter), _) => {
            if !attribute.multi {
                return Err(Error::InvalidPath {
                    path: clip(name),
                    reason: "a value filter needs a multi-valued attribute".to_owned(),
                });
            }
            let sub = path.sub.as_deref().map(sub_name).transpose()?;
            let slot = container
                .entry(name.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = slot else {
                return Err(Error::InvalidPath {
                    path: clip(name),
                    reason: "not a list".to_owned(),
                });
            };
            if op == Op::Remove {
                match sub {
                    None => items.retain(|item| !filter.matches(item)),
                    Some(sub) => items
                        .iter_mut()
                        .filter(|i| filter.matches(i))
                        .for_each(|i| {
                            if let Value::Object(f) = i {
                                f.remove(sub);
                            }
                        }),
                }
                return Ok(());
            }
            let Some(value) = value else { return Ok(()) };
            let mut matched = false;
            for item in items.iter_mut().filter(|i| filter.matches(i)) {
                matched = true;
                match (sub, item) {
                    (Some(sub), Value::Object(f)) => {
                        f.insert(sub.to_owned(), value.clone());
                    }
                    (None, Value::Object(f)) if value.is_object() => {
                        if let Value::Object(new) = value {
                            for (k, v) in new {
                                f.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    (_, item) => *item = value.clone(),
                }
            }
            if !matched {
                // Entra sets `emails[type eq "work"].value` on a user who has no work email yet.
                let Filter::Compare(on, CompareOp::Eq, wanted) = filter else {
                    return Err(Error::NoTarget(format!(
                        "no value of `{name}` matches the filter"
                    )));
                };
                let mut item = Map::new();
                item.insert(on.name.clone(), wanted.clone());
                match (sub, value) {
                    (Some(sub), v) => {
                        item.insert(sub.to_owned(), v.clone());
                    }
                    (None, Value::Object(new)) => item.extend(new.clone()),
                    (None, _) => {
                        return Err(Error::NoTarget(format!(
                            "no value of `{name}` matches the filter"
                        )));
                    }
                }
                items.push(Value::Object(item));
            }
            Ok(())
        }
    }
}

/// The identity of a multi-valued attribute's value: its `value` (or itself).
fn key_of(item: &Value) -> Option<String> {
    match item {
        Value::Object(_) => {
            get_ci(item, "value").map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        }
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::ENTERPRISE_SCHEMA;

    fn patch(kind: ResourceType, resource: &Value, ops: Value) -> Result<Value, Error> {
        let ops = parse(&json!({"schemas": [PATCH_SCHEMA], "Operations": ops}))?;
        apply(kind, &normalize(kind, resource)?, &ops)
    }

    #[test]
    fn okta_and_entra_patches_apply() -> Result<(), Error> {
        let user = json!({"userName": "ada@example.com", "active": true,
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}]});
        // Okta deactivates with a path-less replace.
        let out = patch(
            ResourceType::User,
            &user,
            json!([{"op": "replace", "value": {"active": false}}]),
        )?;
        assert_eq!(out["active"], false);
        // Entra: `Replace` capitalised, booleans as strings, URN-qualified paths, filtered paths.
        let out = patch(
            ResourceType::User,
            &user,
            json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": format!("{ENTERPRISE_SCHEMA}:department"), "value": "R&D"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "lovelace@example.com"},
                {"op": "Add", "path": "name.givenName", "value": "Ada"},
                {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+44 1"},
            ]),
        )?;
        assert_eq!(out["active"], false);
        assert_eq!(out[ENTERPRISE_SCHEMA]["department"], "R&D");
        assert_eq!(out["emails"][0]["value"], "lovelace@example.com");
        assert_eq!(out["name"]["givenName"], "Ada");
        assert_eq!(
            out["phoneNumbers"][0],
            json!({"type": "mobile", "value": "+44 1"})
        );
        Ok(())
    }

    #[test]
    fn group_members_are_added_and_removed_both_ways() -> Result<(), Error> {
        let group = json!({"displayName": "eng", "members": [{"value": "1"}, {"value": "2"}]});
        let out = patch(
            ResourceType::Group,
            &group,
            json!([
                {"op": "add", "path": "members", "value": [{"value": "3"}, {"value": "1"}]},
                {"op": "remove", "path": "members[value eq \"2\"]"},
                {"op": "Remove", "path": "members", "value": [{"value": "3"}]},
            ]),
        )?;
        assert_eq!(out["members"], json!([{"value": "1"}]));
        let many: Vec<Value> = (0..10_000)
            .map(|i| json!({"value": i.to_string()}))
            .collect();
        let out = patch(
            ResourceType::Group,
            &group,
            json!([{"op": "add", "path": "members", "value": many}]),
        )?;
        assert_eq!(out["members"].as_array().map(Vec::len), Some(10_000));
        Ok(())
    }

    #[test]
    fn bad_patches_are_refused_whole() {
        let user = json!({"userName": "ada@example.com"});
        for ops in [
            json!([{"op": "move", "path": "userName", "value": "x"}]),
            json!([{"op": "remove"}]),
            json!([{"op": "replace", "path": "userName"}]),
            json!([{"op": "replace", "path": "nope", "value": "x"}]),
            json!([{"op": "replace", "path": "userName", "value": "b"}, {"op": "remove", "path": "userName"}]),
            json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
            json!([{"op": "replace", "path": "emails[type co \"w\"]", "value": "x"}]),
            json!([{"op": "add", "path": "active", "value": "maybe"}]),
        ] {
            assert!(
                patch(ResourceType::User, &user, ops.clone()).is_err(),
                "{ops}"
            );
        }
        assert!(
            parse(&json!({"Operations": []})).is_err(),
            "schemas are required"
        );
    }
}
