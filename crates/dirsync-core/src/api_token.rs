//! API tokens: what a store keeps of a token that callers of an HTTP API present.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::error::clip;

/// An API token as stored: its name, whether it may only read, when it was created, and the
/// SHA-256 of the token (hex) — never the token itself, which is shown once when it is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiToken {
    /// Its name, unique: what an admin revokes it by.
    pub name: String,
    /// A read-only token cannot change anything.
    pub read_only: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The lower-case hex SHA-256 of the token.
    pub hash: String,
}

impl ApiToken {
    /// A token record.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a name that is empty, longer than 100 characters or not
    /// made of letters, digits, `.`, `_` and `-`; or a hash that is not 64 lower-case hex
    /// digits.
    pub fn new(
        name: impl Into<String>,
        read_only: bool,
        created_at: DateTime<Utc>,
        hash: impl Into<String>,
    ) -> Result<Self, Error> {
        let name = validate_name(name.into())?;
        let hash = hash.into();
        if hash.len() != 64
            || !hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(Error::InvalidValue {
                kind: "API token hash",
                value: clip(&hash),
                reason: "must be 64 lower-case hex digits (a SHA-256)".to_owned(),
            });
        }
        Ok(Self {
            name,
            read_only,
            created_at,
            hash,
        })
    }
}

/// Checks an API token's name.
///
/// # Errors
/// As [`ApiToken::new`].
fn validate_name(name: String) -> Result<String, Error> {
    let ok = !name.is_empty()
        && name.chars().count() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(name)
    } else {
        Err(Error::InvalidValue {
            kind: "API token name",
            value: clip(&name),
            reason: "use 1 to 100 letters, digits, '.', '_' or '-'".to_owned(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hashes_are_checked() {
        let hash = "a".repeat(64);
        let now = Utc::now();
        assert!(ApiToken::new("ci-deploy.2", true, now, hash.clone()).is_ok());
        for bad in ["", "has space", "ünïcode", &"x".repeat(101)] {
            assert!(
                ApiToken::new(bad, false, now, hash.clone()).is_err(),
                "{bad:?}"
            );
        }
        for bad in [
            "",
            "A".repeat(64).as_str(),
            &"a".repeat(63),
            &"g".repeat(64),
        ] {
            assert!(ApiToken::new("n", false, now, bad).is_err(), "{bad:?}");
        }
    }
}
