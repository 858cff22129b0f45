//! SCIM filters (RFC 7644 §3.4.2.2): a recursive-descent parser with typed errors and limits
//! on length and depth, and their evaluation over a resource as JSON.
//!
//! Precedence: `not` binds tighter than `and`, which binds tighter than `or`; attribute names
//! and operators are case-insensitive; strings compare case-insensitively (the core
//! attributes Okta and Entra filter on are `caseExact: false`) except `id` and `externalId`.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

use crate::error::{Error, clip};

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// The deepest nesting of parentheses, `not` and value filters accepted.
pub const MAX_DEPTH: usize = 32;

/// An attribute path: `[urn:…:]name[.sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN it is qualified with, if any.
    pub urn: Option<String>,
    /// The attribute.
    pub name: String,
    /// The sub-attribute, if any.
    pub sub: Option<String>,
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Filter {
    /// `path op value`.
    Compare(AttrPath, CompareOp, Value),
    /// `path pr`.
    Present(AttrPath),
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`.
    Not(Box<Filter>),
    /// `path[filter]`: some value of the multi-valued `path` matches `filter`.
    ValuePath(AttrPath, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn invalid(at: usize, reason: impl Into<String>) -> Error {
    Error::InvalidFilter {
        at,
        reason: reason.into(),
    }
}

fn tokenize(input: &str) -> Result<Vec<(usize, Token)>, Error> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push((i, Token::Open));
                i += 1;
            }
            ')' => {
                tokens.push((i, Token::Close));
                i += 1;
            }
            '[' => {
                tokens.push((i, Token::OpenBracket));
                i += 1;
            }
            ']' => {
                tokens.push((i, Token::CloseBracket));
                i += 1;
            }
            '"' => {
                let start = i;
                i += 1;
                let mut text = String::new();
                let mut closed = false;
                while i < chars.len() {
                    match chars[i] {
                        '"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        '\\' => {
                            let esc = chars
                                .get(i + 1)
                                .ok_or_else(|| invalid(i, "a string ends in a backslash"))?;
                            text.push(match esc {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                other => *other,
                            });
                            i += 2;
                        }
                        other => {
                            text.push(other);
                            i += 1;
                        }
                    }
                }
                if !closed {
                    return Err(invalid(start, "a string is not closed"));
                }
                tokens.push((start, Token::Str(text)));
            }
            _ => {
                let start = i;
                let mut word = String::new();
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '[' | ']' | '"')
                {
                    word.push(chars[i]);
                    i += 1;
                }
                tokens.push((start, Token::Word(word)));
            }
        }
    }
    Ok(tokens)
}

/// Parses an attribute path (`name`, `name.sub`, `urn:…:name[.sub]`).
pub(crate) fn parse_attr_path(word: &str) -> Option<AttrPath> {
    let (urn, rest) = if word.to_ascii_lowercase().starts_with("urn:") {
        let colon = word.rfind(':')?;
        (Some(word[..colon].to_owned()), &word[colon + 1..])
    } else {
        (None, word)
    };
    let mut parts = rest.splitn(2, '.');
    let name = parts.next()?.to_owned();
    let sub = parts.next().map(str::to_owned);
    let ok = |s: &str| {
        let mut cs = s.chars();
        cs.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !ok(&name) || sub.as_deref().is_some_and(|s| !ok(s)) {
        return None;
    }
    Some(AttrPath { urn, name, sub })
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(at, _)| *at)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self, depth: usize) -> Result<Filter, Error> {
        let mut left = self.and(depth)?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, Error> {
        let mut left = self.unary(depth)?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, Error> {
        if depth > MAX_DEPTH {
            return Err(invalid(
                self.at(),
                format!("nested deeper than {MAX_DEPTH}"),
            ));
        }
        if self.keyword("not") {
            self.pos += 1;
            self.expect(&Token::Open, "`(` after `not`")?;
            let inner = self.or(depth + 1)?;
            self.expect(&Token::Close, "`)`")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or(depth + 1)?;
            self.expect(&Token::Close, "`)`")?;
            return Ok(inner);
        }
        self.attribute(depth)
    }

    fn expect(&mut self, token: &Token, what: &str) -> Result<(), Error> {
        if self.peek() == Some(token) {
            self.pos += 1;
            Ok(())
        } else {
            Err(invalid(self.at(), format!("expected {what}")))
        }
    }

    fn attribute(&mut self, depth: usize) -> Result<Filter, Error> {
        let at = self.at();
        let Some(Token::Word(word)) = self.peek().cloned() else {
            return Err(invalid(at, "expected an attribute name"));
        };
        let path = parse_attr_path(&word).ok_or_else(|| invalid(at, "not an attribute path"))?;
        self.pos += 1;
        if self.peek() == Some(&Token::OpenBracket) {
            if path.sub.is_some() {
                return Err(invalid(
                    at,
                    "a value filter follows an attribute, not a sub-attribute",
                ));
            }
            self.pos += 1;
            let inner = self.or(depth + 1)?;
            self.expect(&Token::CloseBracket, "`]`")?;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let op_at = self.at();
        let Some(Token::Word(op)) = self.peek().cloned() else {
            return Err(invalid(op_at, "expected an operator"));
        };
        self.pos += 1;
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(&op)
            .ok_or_else(|| invalid(op_at, format!("unknown operator {:?}", clip(&op))))?;
        let value_at = self.at();
        let value = match self.peek().cloned() {
            Some(Token::Str(s)) => Value::String(s),
            Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => serde_json::from_str::<serde_json::Number>(&w)
                    .map(Value::Number)
                    .map_err(|_| invalid(value_at, "expected a string, number, boolean or null"))?,
            },
            _ => return Err(invalid(value_at, "expected a value")),
        };
        self.pos += 1;
        Ok(Filter::Compare(path, op, value))
    }
}

impl Filter {
    /// Parses a filter.
    ///
    /// # Errors
    /// [`Error::InvalidFilter`] with the position and reason, for anything that is not a
    /// filter, longer than [`MAX_FILTER_LEN`] or nested deeper than [`MAX_DEPTH`].
    pub fn parse(input: &str) -> Result<Self, Error> {
        if input.len() > MAX_FILTER_LEN {
            return Err(invalid(0, format!("longer than {MAX_FILTER_LEN} bytes")));
        }
        let tokens = tokenize(input)?;
        let mut parser = Parser {
            tokens,
            pos: 0,
            end: input.chars().count(),
        };
        let filter = parser.or(0)?;
        if parser.pos != parser.tokens.len() {
            return Err(invalid(parser.at(), "unexpected text after the filter"));
        }
        Ok(filter)
    }

    /// Whether `resource` (a SCIM resource as JSON) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Self::And(a, b) => a.matches(resource) && b.matches(resource),
            Self::Or(a, b) => a.matches(resource) || b.matches(resource),
            Self::Not(a) => !a.matches(resource),
            Self::Present(path) => values(resource, path).iter().any(|v| present(v)),
            Self::Compare(path, op, value) => {
                let exact = is_case_exact(path);
                let found = values(resource, path);
                if value.is_null() {
                    let there = found.iter().any(|v| present(v));
                    return match op {
                        CompareOp::Eq => !there,
                        CompareOp::Ne => there,
                        _ => false,
                    };
                }
                if *op == CompareOp::Ne {
                    return !found
                        .iter()
                        .any(|v| compare(v, CompareOp::Eq, value, exact));
                }
                found.iter().any(|v| compare(v, *op, value, exact))
            }
            Self::ValuePath(path, inner) => attribute(resource, path)
                .map(|v| match v {
                    Value::Array(items) => items.iter().any(|item| inner.matches(item)),
                    other => inner.matches(other),
                })
                .unwrap_or(false),
        }
    }
}

fn is_case_exact(path: &AttrPath) -> bool {
    path.sub.is_none()
        && (path.name.eq_ignore_ascii_case("id") || path.name.eq_ignore_ascii_case("externalId"))
}

/// A key of `object` equal to `name`, ignoring case.
pub(crate) fn get_ci<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The attribute `path` names (without its sub-attribute), looking into an extension when
/// the path is qualified with one.
fn attribute<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    match &path.urn {
        Some(urn) => get_ci(resource, urn)
            .and_then(|ext| get_ci(ext, &path.name))
            .or_else(|| {
                // The core schemas' URNs qualify top-level attributes.
                urn.to_ascii_lowercase()
                    .starts_with("urn:ietf:params:scim:schemas:core:")
                    .then(|| get_ci(resource, &path.name))
                    .flatten()
            }),
        None => get_ci(resource, &path.name),
    }
}

/// The values `path` reaches (a multi-valued attribute gives each value; a complex
/// multi-valued one without a sub-attribute gives each value's `value`).
fn values<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Some(found) = attribute(resource, path) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match found {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .filter_map(|item| match (&path.sub, item) {
            (Some(sub), _) => get_ci(item, sub),
            (None, Value::Object(_)) => get_ci(item, "value"),
            (None, other) => Some(other),
        })
        .collect()
}

fn present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(found: &Value, op: CompareOp, wanted: &Value, exact: bool) -> bool {
    match (found, wanted) {
        (Value::String(f), Value::String(w)) => {
            let (f, w) = if exact {
                (f.clone(), w.clone())
            } else {
                (f.to_lowercase(), w.to_lowercase())
            };
            match op {
                CompareOp::Eq => f == w,
                CompareOp::Ne => f != w,
                CompareOp::Co => f.contains(&w),
                CompareOp::Sw => f.starts_with(&w),
                CompareOp::Ew => f.ends_with(&w),
                CompareOp::Gt => f > w,
                CompareOp::Ge => f >= w,
                CompareOp::Lt => f < w,
                CompareOp::Le => f <= w,
            }
        }
        (Value::Bool(f), Value::Bool(w)) => match op {
            CompareOp::Eq => f == w,
            CompareOp::Ne => f != w,
            _ => false,
        },
        // Entra and others send booleans as strings.
        (Value::String(f), Value::Bool(w)) | (Value::Bool(w), Value::String(f)) => {
            let f = f.eq_ignore_ascii_case("true");
            match op {
                CompareOp::Eq => f == *w,
                CompareOp::Ne => f != *w,
                _ => false,
            }
        }
        (Value::Number(f), Value::Number(w)) => {
            let (Some(f), Some(w)) = (f.as_f64(), w.as_f64()) else {
                return false;
            };
            let ord = f.partial_cmp(&w);
            match op {
                CompareOp::Eq => ord == Some(Ordering::Equal),
                CompareOp::Ne => ord != Some(Ordering::Equal),
                CompareOp::Gt => ord == Some(Ordering::Greater),
                CompareOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
                CompareOp::Lt => ord == Some(Ordering::Less),
                CompareOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
                _ => false,
            }
        }
        (_, Value::Null) => match op {
            CompareOp::Eq => !present(found),
            CompareOp::Ne => present(found),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn parse(s: &str) -> Filter {
        Filter::parse(s).unwrap_or_else(|e| unreachable!("{s}: {e}"))
    }

    #[test]
    fn okta_and_entra_filters_match() {
        let user = json!({
            "userName": "Ada@Example.com", "externalId": "00u1", "active": "True",
            "displayName": "Ada Lovelace",
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
        });
        for (f, want) in [
            (r#"userName eq "ada@example.com""#, true),
            (r#"USERNAME Eq "ada@example.com""#, true),
            (r#"externalId eq "00U1""#, false),
            (r#"externalId eq "00u1""#, true),
            (r#"displayName co "love""#, true),
            (r#"displayName sw "ada" and active eq true"#, true),
            (r#"displayName ne "Ada Lovelace" or userName pr"#, true),
            (r#"not (userName pr)"#, false),
            (r#"emails[type eq "work" and value ew "example.com"]"#, true),
            (r#"emails.value eq "ada@example.com""#, true),
            (r#"emails eq "ada@example.com""#, true),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "r&d""#,
                true,
            ),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "ada""#,
                true,
            ),
            (r#"title pr"#, false),
            (r#"title eq null"#, true),
        ] {
            assert_eq!(parse(f).matches(&user), want, "{f}");
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let f = parse(r#"a eq "1" or b eq "2" and c eq "3""#);
        assert!(matches!(f, Filter::Or(_, _)), "{f:?}");
        assert!(f.matches(&json!({"a": "1"})));
        assert!(!f.matches(&json!({"b": "2"})));
    }

    #[test]
    fn broken_filters_are_typed_errors_with_positions() {
        for (f, at) in [
            ("", 0),
            (r#"userName eq"#, 11),
            (r#"userName xx "a""#, 9),
            (r#"userName eq "a"#, 12),
            (r#"(userName pr"#, 12),
            (r#"userName pr)"#, 11),
            (r#"emails[type eq "w""#, 18),
            (r#"1abc eq "x""#, 0),
            (r#"userName eq bare"#, 12),
        ] {
            match Filter::parse(f) {
                Err(Error::InvalidFilter { at: got, .. }) => assert_eq!(got, at, "{f}"),
                other => unreachable!("{f}: {other:?}"),
            }
        }
        let deep = format!("{}userName pr{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Filter::parse(&deep).is_err());
        let nots = format!("{}userName pr{}", "not (".repeat(100), ")".repeat(100));
        assert!(Filter::parse(&nots).is_err());
        assert!(Filter::parse(&"a pr or ".repeat(1000)).is_err(), "too long");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        #[test]
        fn any_text_parses_or_is_a_typed_error(s in "\\PC{0,200}") {
            match Filter::parse(&s) {
                Ok(f) => { let _ = f.matches(&json!({"userName": "x"})); }
                Err(Error::InvalidFilter { at, .. }) => prop_assert!(at <= s.chars().count()),
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }

        #[test]
        fn filter_like_text_never_panics(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("userName"), Just("eq"), Just("pr"), Just("and"), Just("or"),
                    Just("not"), Just("("), Just(")"), Just("["), Just("]"), Just("\"x\""),
                    Just("emails"), Just("type"), Just("true"), Just("1.5"), Just("\"")
                ],
                0..40,
            )
        ) {
            let s = parts.join(" ");
            if let Err(e) = Filter::parse(&s) {
                let typed = matches!(e, Error::InvalidFilter { .. });
                prop_assert!(typed, "{}", e);
            }
        }

        #[test]
        fn an_equality_on_any_string_finds_it(v in "[a-zA-Z0-9@. _-]{0,40}") {
            let f = Filter::parse(&format!("userName eq \"{v}\"")).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let user = json!({"userName": v.to_uppercase()});
            prop_assert!(f.matches(&user), "{}", v);
        }
    }
}
