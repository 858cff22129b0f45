//! Email addresses, validated and compared case-insensitively.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use crate::error::{Error, clip};

/// An email address as a directory uses it: `local@domain`, validated on construction.
///
/// The original spelling is kept for display, but equality, ordering and hashing ignore ASCII
/// case, because Google (and every directory we sync with) treats `Ada@Example.com` and
/// `ada@example.com` as one mailbox. Compare with [`Email::key`] when you need the canonical form
/// as a string (e.g. as a database key).
///
/// ```
/// use dirsync_core::Email;
/// let a = Email::new("Ada.Lovelace@Example.COM")?;
/// let b = Email::new("ada.lovelace@example.com")?;
/// assert_eq!(a, b);
/// assert_eq!(a.as_str(), "Ada.Lovelace@Example.COM");
/// assert_eq!(a.key(), "ada.lovelace@example.com");
/// assert!(Email::new("not an email").is_err());
/// # Ok::<(), dirsync_core::Error>(())
/// ```
///
/// Held inline (no heap allocation) up to 23 bytes and shared above, like
/// [`ExternalId`](crate::ExternalId).
#[derive(Clone)]
pub struct Email(SmolStr);

impl Email {
    /// The longest address accepted (RFC 5321's path limit).
    pub const MAX_LEN: usize = 254;

    /// Validates an address.
    ///
    /// Accepted: one `@`; a non-empty local part of at most 64 bytes without spaces, control
    /// characters or `<>()[],;:"\`, not starting or ending with a dot and without `..`; a domain of
    /// dot-separated labels of letters, digits and hyphens (no label starting or ending with a
    /// hyphen) with at least two labels. Surrounding whitespace is not trimmed: it is an error.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] saying which rule failed.
    pub fn new(value: impl AsRef<str>) -> Result<Self, Error> {
        let value = value.as_ref();
        match validate(value) {
            Ok(()) => Ok(Self(SmolStr::new(value))),
            Err(reason) => Err(Error::InvalidValue {
                kind: "email",
                value: clip(value),
                reason: reason.to_owned(),
            }),
        }
    }

    /// The address as it was given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical (ASCII-lowercased) form, the one equality is based on.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// Whether `key` is this address's [`key`](Self::key), without making the key (a store
    /// checking its rows compares millions of them).
    pub fn has_key(&self, key: &str) -> bool {
        self.0.len() == key.len()
            && self
                .0
                .bytes()
                .zip(key.bytes())
                .all(|(a, b)| a.to_ascii_lowercase() == b)
    }

    /// The part after the `@`, as given.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The part before the `@`, as given.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(l, _)| l)
    }
}

fn validate(value: &str) -> Result<(), &'static str> {
    if value.len() > Email::MAX_LEN {
        return Err("longer than 254 bytes");
    }
    let Some((local, domain)) = value.split_once('@') else {
        return Err("missing '@'");
    };
    if domain.contains('@') {
        return Err("more than one '@'");
    }
    if local.is_empty() {
        return Err("empty local part");
    }
    if local.len() > 64 {
        return Err("local part longer than 64 bytes");
    }
    if local.chars().any(forbidden_in_local_part) {
        return Err("local part contains a space, a control character or one of <>()[],;:\"\\");
    }
    if local.starts_with('.')
        || local.ends_with('.')
        || local.as_bytes().windows(2).any(|pair| pair == b"..")
    {
        return Err("local part has a leading, trailing or double dot");
    }
    if domain.is_empty() {
        return Err("empty domain");
    }
    if !domain.contains('.') {
        return Err("domain needs at least two labels");
    }
    for label in domain.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("domain label empty or longer than 63 bytes");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("domain label has a character other than a letter, digit or '-'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("domain label starts or ends with '-'");
        }
    }
    Ok(())
}

/// Whether `c` may not appear in a local part: whitespace, a control character or one of
/// `<>()[],;:"\`. ASCII (nearly every address) is settled by one match, without the Unicode
/// tables.
fn forbidden_in_local_part(c: char) -> bool {
    if c.is_ascii() {
        // In ASCII, whitespace and control characters are exactly `\0`..=` ` and DEL.
        matches!(
            c,
            '\0'..=' ' | '\x7f' | '<' | '>' | '(' | ')' | '[' | ']' | ',' | ';' | ':' | '"' | '\\'
        )
    } else {
        c.is_whitespace() || c.is_control()
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        // Most addresses compared are spelled alike: one byte comparison settles those.
        self.0 == other.0 || self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for Email {}

impl Hash for Email {
    /// Hashes the lowercase bytes, a fixed-size chunk at a time (not one call per byte), then
    /// an end marker: equal addresses in any case feed the hasher the same calls.
    fn hash<H: Hasher>(&self, state: &mut H) {
        const CHUNK: usize = 32;
        let mut lower = [0u8; CHUNK];
        for chunk in self.0.as_bytes().chunks(CHUNK) {
            let lower = &mut lower[..chunk.len()];
            lower.copy_from_slice(chunk);
            lower.make_ascii_lowercase();
            state.write(lower);
        }
        state.write_u8(0xff);
    }
}

impl Ord for Email {
    fn cmp(&self, other: &Self) -> Ordering {
        let a = self.0.bytes().map(|b| b.to_ascii_lowercase());
        let b = other.0.bytes().map(|b| b.to_ascii_lowercase());
        a.cmp(b)
    }
}

impl PartialOrd for Email {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl TryFrom<String> for Email {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Self::new(value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0.into()
    }
}

impl Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(crate::text::Validated::new("an email", |s| Self::new(s)))
    }
}

impl std::str::FromStr for Email {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({:?})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "a@b.co",
            "first.last+tag@example.com",
            "o'brien@sub.example.co.uk",
            "x_y-z@xn--bcher-kva.example",
        ] {
            assert!(Email::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_malformed_addresses_with_a_reason() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a@b@c.com",
            " a@b.com",
            "a@b.com ",
            "a b@c.com",
            ".a@b.com",
            "a.@b.com",
            "a..b@c.com",
            "a@-b.com",
            "a@b-.com",
            "a@b..com",
            "a@b_c.com",
            "a\n@b.com",
            "<a>@b.com",
        ] {
            match Email::new(bad) {
                Err(Error::InvalidValue {
                    kind: "email",
                    reason,
                    ..
                }) => assert!(!reason.is_empty()),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        let long_local = format!("{}@b.com", "a".repeat(65));
        assert!(Email::new(long_local).is_err());
        let long = format!("a@{}.com", "b.".repeat(130));
        assert!(Email::new(long).is_err());
    }

    #[test]
    fn case_insensitive_equality_hash_and_order() -> Result<(), Error> {
        let a = Email::new("Ada@Example.com")?;
        let b = Email::new("ada@example.COM")?;
        assert_eq!(a, b);
        assert_eq!(a.cmp(&b), Ordering::Equal);
        assert!(a.has_key("ada@example.com") && b.has_key(&a.key()));
        assert!(!a.has_key("Ada@Example.com") && !a.has_key("ada@example.co"));
        let set: HashSet<Email> = [a.clone(), b].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert_eq!(a.as_str(), "Ada@Example.com");
        assert_eq!(a.domain(), "Example.com");
        assert_eq!(a.local_part(), "Ada");
        Ok(())
    }

    #[test]
    fn the_local_part_check_agrees_with_the_unicode_one_for_every_char() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let unicode = c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c);
            assert_eq!(forbidden_in_local_part(c), unicode, "{c:?}");
        }
    }

    #[test]
    fn long_addresses_in_any_case_hash_alike() -> Result<(), Error> {
        use std::hash::BuildHasher;
        let hasher = std::collections::hash_map::RandomState::new();
        // Longer than the hash's 32-byte chunks, the case differing in the second chunk.
        let a = Email::new("first.middle.last+newsletter@Example.co.uk")?;
        let b = Email::new("FIRST.middle.last+newsletter@example.CO.UK")?;
        let c = Email::new("first.middle.last+newsletter@example.co.uk.x")?;
        assert_eq!(hasher.hash_one(&a), hasher.hash_one(&b));
        assert_ne!(hasher.hash_one(&a), hasher.hash_one(&c));
        Ok(())
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<Email>("\"x@y.org\"").is_ok());
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }

    proptest! {
        #[test]
        fn equality_agrees_with_lowercase_keys(a in "[a-zA-Z]{1,8}@[a-zA-Z]{1,5}\\.(com|ORG)",
                                               b in "[a-zA-Z]{1,8}@[a-zA-Z]{1,5}\\.(com|ORG)") {
            let (ea, eb) = (Email::new(a.clone()).ok(), Email::new(b.clone()).ok());
            prop_assert!(ea.is_some() && eb.is_some());
            let (ea, eb) = (ea.unwrap_or_else(|| unreachable!()), eb.unwrap_or_else(|| unreachable!()));
            prop_assert_eq!(ea == eb, a.eq_ignore_ascii_case(&b));
            prop_assert_eq!(ea.cmp(&eb), ea.key().cmp(&eb.key()));
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = Email::new(s);
        }
    }
}
