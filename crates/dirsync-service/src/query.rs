//! [`UserQuery`]: which directory users a list shows (by status, org unit subtree and text).

use dirsync_core::{DirectoryUser, OrgUnitPath, UserStatus};

/// A filter over directory users; what is unset matches everyone.
///
/// ```
/// use dirsync_core::{OrgUnitPath, UserStatus};
/// use dirsync_service::UserQuery;
/// let query = UserQuery::new()
///     .status(UserStatus::Active)
///     .org_unit(OrgUnitPath::new("/Engineering")?)
///     .text("lovelace");
/// assert!(!query.is_empty());
/// # Ok::<(), dirsync_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserQuery {
    /// Only users with this status.
    pub status: Option<UserStatus>,
    /// Only users in this org unit or below it.
    pub org_unit: Option<OrgUnitPath>,
    /// Only users whose email, names, employee id or id contain this text (ignoring case).
    pub text: Option<String>,
}

impl UserQuery {
    /// A query that matches everyone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only users with `status`.
    #[must_use]
    pub fn status(mut self, status: UserStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only users in `org_unit` or below.
    #[must_use]
    pub fn org_unit(mut self, org_unit: OrgUnitPath) -> Self {
        self.org_unit = Some(org_unit);
        self
    }

    /// Only users whose email, names, employee id or id contain `text`, ignoring case.
    #[must_use]
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into().to_lowercase());
        self
    }

    /// Whether it matches everyone.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether `user` matches.
    pub fn matches(&self, user: &DirectoryUser) -> bool {
        let p = &user.profile;
        self.status.is_none_or(|s| user.status == s)
            && self
                .org_unit
                .as_ref()
                .is_none_or(|ou| p.org_unit.as_ref().is_some_and(|path| path.is_within(ou)))
            && self.text.as_deref().is_none_or(|text| {
                let text = text.to_lowercase();
                [
                    p.primary_email.as_str(),
                    &p.name.given,
                    &p.name.family,
                    &p.name.display,
                    p.employee_id.as_deref().unwrap_or_default(),
                    &user.id.to_string(),
                ]
                .iter()
                .any(|field| field.to_lowercase().contains(&text))
            })
    }
}
