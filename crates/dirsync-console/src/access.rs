//! Who may use the console: operators by email or by domain, each full or read-only.

use crate::Error;

/// What a signed-in operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// Sees and changes.
    Operator,
    /// Sees only: every form that changes something is refused.
    ReadOnly,
}

/// One allowed email (`ada@example.com`) or domain (`@example.com`), lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Email(String),
    Domain(String),
}

impl Pattern {
    fn parse(text: &str) -> Result<Self, Error> {
        let text = text.trim().to_ascii_lowercase();
        let valid_domain = |d: &str| {
            !d.is_empty()
                && d.contains('.')
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        };
        match text.split_once('@') {
            Some(("", domain)) if valid_domain(domain) => Ok(Self::Domain(domain.to_owned())),
            Some((local, domain)) if !local.is_empty() && valid_domain(domain) => {
                Ok(Self::Email(text))
            }
            _ => Err(Error::Config(format!(
                "{text:?} is neither an email (ada@example.com) nor a domain (@example.com)"
            ))),
        }
    }

    fn matches(&self, email: &str) -> bool {
        match self {
            Self::Email(e) => *e == email,
            Self::Domain(d) => email
                .rsplit_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain == d),
        }
    }
}

/// The operators allowed in: nobody until told.
#[derive(Debug, Clone, Default)]
pub struct Access {
    operators: Vec<Pattern>,
    read_only: Vec<Pattern>,
}

impl Access {
    /// Allows `pattern` (an email, or `@domain`) to see and change.
    ///
    /// # Errors
    /// [`Error::Config`] for a pattern that is neither.
    pub fn allow(mut self, pattern: &str) -> Result<Self, Error> {
        self.operators.push(Pattern::parse(pattern)?);
        Ok(self)
    }

    /// Allows `pattern` (an email, or `@domain`) to see only.
    ///
    /// # Errors
    /// [`Error::Config`] for a pattern that is neither.
    pub fn allow_read_only(mut self, pattern: &str) -> Result<Self, Error> {
        self.read_only.push(Pattern::parse(pattern)?);
        Ok(self)
    }

    /// What a verified `email` may do, or `None` when it is not allowed in. A full operator's
    /// pattern wins over a read-only one.
    pub fn role(&self, email: &str) -> Option<Role> {
        let email = email.to_ascii_lowercase();
        if self.operators.iter().any(|p| p.matches(&email)) {
            Some(Role::Operator)
        } else if self.read_only.iter().any(|p| p.matches(&email)) {
            Some(Role::ReadOnly)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_domains_decide_who_gets_in() -> Result<(), Error> {
        let access = Access::default()
            .allow("Ada@Example.com")?
            .allow("@ops.example.com")?
            .allow_read_only("@example.com")?;
        let table = [
            ("ada@example.com", Some(Role::Operator)),
            ("ADA@EXAMPLE.COM", Some(Role::Operator)),
            ("bob@ops.example.com", Some(Role::Operator)),
            ("carol@example.com", Some(Role::ReadOnly)),
            ("mallory@evil-example.com", None),
            ("mallory@example.com.evil.org", None),
            ("mallory@sub.example.com", None),
            ("@example.com", None),
        ];
        for (email, role) in table {
            assert_eq!(access.role(email), role, "{email}");
        }
        assert_eq!(Access::default().role("ada@example.com"), None);
        for bad in ["", "example.com", "@", "ada@", "@localhost", "a@b@c.com"] {
            assert!(Access::default().allow(bad).is_err(), "{bad:?}");
        }
        Ok(())
    }
}
