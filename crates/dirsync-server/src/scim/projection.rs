//! `attributes` and `excludedAttributes` (RFC 7644 §3.9): which attributes an answer holds.

use dirsync_scim::AttrPath;
use dirsync_scim::patch::PatchPath;
use serde_json::{Map, Value};

use super::Refusal;

/// Keeps only `attributes` (or drops `excluded`); `id`, `schemas` and `meta` always stay.
pub(super) fn project(
    resource: Value,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Result<Value, Refusal> {
    let Value::Object(mut map) = resource else {
        return Ok(resource);
    };
    let paths = |list: &str| -> Result<Vec<AttrPath>, Refusal> {
        list.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                let mut a = PatchPath::parse(p)?.attribute;
                // The core schemas' URNs qualify top-level attributes.
                a.urn = a.urn.filter(|u| {
                    !u.to_ascii_lowercase()
                        .starts_with("urn:ietf:params:scim:schemas:core:")
                });
                Ok(a)
            })
            .collect()
    };
    let key_of = |map: &Map<String, Value>, name: &str| {
        map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
    };
    if let Some(list) = attributes.filter(|l| !l.trim().is_empty()) {
        let mut kept = Map::new();
        for always in ["id", "schemas", "meta"] {
            if let Some(v) = map.get(always) {
                kept.insert(always.to_owned(), v.clone());
            }
        }
        for AttrPath { urn, name, sub } in paths(list)? {
            let (container, into): (Option<&Map<String, Value>>, Option<String>) = match &urn {
                Some(u) => match key_of(&map, u) {
                    Some(k) => (map.get(&k).and_then(Value::as_object), Some(k)),
                    None => (None, None),
                },
                None => (Some(&map), None),
            };
            let Some(container) = container else { continue };
            let Some(key) = key_of(container, &name) else {
                continue;
            };
            let mut value = container[&key].clone();
            if let Some(sub) = &sub {
                value = keep_sub(value, sub);
            }
            let target = match &into {
                Some(ext) => kept
                    .entry(ext.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut(),
                None => Some(&mut kept),
            };
            if let Some(target) = target {
                merge(target, key, value);
            }
        }
        return Ok(Value::Object(kept));
    }
    if let Some(list) = excluded {
        for AttrPath { urn, name, sub } in paths(list)? {
            let container = match &urn {
                Some(u) => key_of(&map, u)
                    .and_then(|k| map.get_mut(&k))
                    .and_then(Value::as_object_mut),
                None => Some(&mut map),
            };
            let Some(container) = container else { continue };
            let Some(key) = key_of(container, &name) else {
                continue;
            };
            if ["id", "schemas", "meta"].contains(&key.as_str()) {
                continue;
            }
            match &sub {
                None => {
                    container.remove(&key);
                }
                Some(sub) => drop_sub(container.get_mut(&key), sub),
            }
        }
    }
    Ok(Value::Object(map))
}

fn keep_sub(value: Value, sub: &str) -> Value {
    let pick = |v: Value| -> Value {
        match v {
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(sub))
                    .collect(),
            ),
            other => other,
        }
    };
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(pick).collect()),
        other => pick(other),
    }
}

fn drop_sub(value: Option<&mut Value>, sub: &str) {
    let drop = |v: &mut Value| {
        if let Value::Object(o) = v {
            o.retain(|k, _| !k.eq_ignore_ascii_case(sub));
        }
    };
    match value {
        Some(Value::Array(items)) => items.iter_mut().for_each(drop),
        Some(other) => drop(other),
        None => {}
    }
}

fn merge(target: &mut Map<String, Value>, key: String, value: Value) {
    match (target.get_mut(&key), value) {
        (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
        (_, value) => {
            target.insert(key, value);
        }
    }
}
