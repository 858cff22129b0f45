//! Organizational-unit paths.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, clip};

/// A path in the organizational-unit tree, as Google's `orgUnitPath` spells it: `/` is the root,
/// every other path is `/`-separated names with no empty segment and no trailing slash
/// (`/Engineering/Platform`). At most 35 levels deep (Google's limit).
///
/// ```
/// use dirsync_core::OrgUnitPath;
/// let eng = OrgUnitPath::new("/Engineering")?;
/// let platform = OrgUnitPath::new("/Engineering/Platform")?;
/// assert!(platform.is_within(&eng));
/// assert!(eng.is_within(&eng));
/// assert!(!eng.is_within(&platform));
/// assert!(!OrgUnitPath::new("/EngineeringOps")?.is_within(&eng));
/// assert_eq!(platform.parent(), Some(eng));
/// # Ok::<(), dirsync_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgUnitPath(String);

impl OrgUnitPath {
    /// The deepest path accepted.
    pub const MAX_DEPTH: usize = 35;

    /// The root of the tree, `/`.
    pub fn root() -> Self {
        Self("/".to_owned())
    }

    /// Validates a path.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] if it does not start with `/`, has an empty segment, a trailing
    /// slash, a control character, or is deeper than [`Self::MAX_DEPTH`].
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        let reason = if !value.starts_with('/') {
            Some("must start with '/'")
        } else if value == "/" {
            None
        } else if value.ends_with('/') {
            Some("must not end with '/'")
        } else if value[1..].split('/').any(|s| s.trim().is_empty()) {
            Some("has an empty segment")
        } else if value.chars().any(char::is_control) {
            Some("contains control characters")
        } else if value[1..].split('/').count() > Self::MAX_DEPTH {
            Some("deeper than 35 levels")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidValue {
                kind: "org unit path",
                value: clip(&value),
                reason: reason.to_owned(),
            }),
            None => Ok(Self(value)),
        }
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The names from the root down (empty for the root).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// The last name, or `/` for the root.
    pub fn name(&self) -> &str {
        self.segments().last().unwrap_or("/")
    }

    /// The enclosing unit; `None` for the root.
    pub fn parent(&self) -> Option<Self> {
        if self.is_root() {
            return None;
        }
        match self.0.rfind('/') {
            Some(0) => Some(Self::root()),
            Some(i) => Some(Self(self.0[..i].to_owned())),
            None => None,
        }
    }

    /// Whether this unit is `ancestor` or lies inside its subtree.
    pub fn is_within(&self, ancestor: &OrgUnitPath) -> bool {
        ancestor.is_root()
            || self.0 == ancestor.0
            || (self.0.starts_with(&ancestor.0)
                && self.0.as_bytes().get(ancestor.0.len()) == Some(&b'/'))
    }
}

impl TryFrom<String> for OrgUnitPath {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Self::new(value)
    }
}

impl From<OrgUnitPath> for String {
    fn from(path: OrgUnitPath) -> Self {
        path.0
    }
}

impl std::str::FromStr for OrgUnitPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl fmt::Debug for OrgUnitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgUnitPath({:?})", self.0)
    }
}

impl fmt::Display for OrgUnitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organizational unit one integration sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    /// The integration that sees it.
    pub integration: crate::IntegrationId,
    /// The remote's immutable id (Google: `orgUnitId`).
    pub external_id: crate::ExternalId,
    /// Its path.
    pub path: OrgUnitPath,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The parent's remote id (`None` at the top).
    pub parent: Option<crate::ExternalId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        for ok in ["/", "/A", "/A/B c/D", "/Ünits/Ops"] {
            assert!(OrgUnitPath::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "/A/", "//", "/A//B", "/A/ /B", "/A\u{7}"] {
            assert!(OrgUnitPath::new(bad).is_err(), "{bad}");
        }
        let deep = "/x".repeat(36);
        assert!(OrgUnitPath::new(deep).is_err());
        assert!(OrgUnitPath::new("/x".repeat(35)).is_ok());
    }

    #[test]
    fn tree_navigation() -> Result<(), Error> {
        let p = OrgUnitPath::new("/A/B/C")?;
        assert_eq!(p.segments().collect::<Vec<_>>(), ["A", "B", "C"]);
        assert_eq!(p.name(), "C");
        assert_eq!(p.parent(), Some(OrgUnitPath::new("/A/B")?));
        assert_eq!(OrgUnitPath::new("/A")?.parent(), Some(OrgUnitPath::root()));
        assert_eq!(OrgUnitPath::root().parent(), None);
        assert_eq!(OrgUnitPath::root().name(), "/");
        assert!(p.is_within(&OrgUnitPath::root()));
        assert!(p.is_within(&OrgUnitPath::new("/A")?));
        assert!(!OrgUnitPath::new("/AB")?.is_within(&OrgUnitPath::new("/A")?));
        Ok(())
    }
}
