//! Users: [`User`], [`NewUser`], [`EmploymentType`] and the user mutations.

use super::{DIGITS, Tenant, UserEventKind, now_rfc3339, rfc3339};
use crate::error::Error;

/// Employment type, served as `organizations[primary].description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmploymentType {
    /// `"employee"`.
    Employee,
    /// `"contractor"`.
    Contractor,
}

impl EmploymentType {
    /// The wire value (`organizations[].description`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Employee => "employee",
            Self::Contractor => "contractor",
        }
    }
}

/// A Workspace user as the emulator stores it (rendered to Google's `User` JSON on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Immutable numeric id (21 digits).
    pub id: String,
    /// Primary email, lower case, in the tenant domain.
    pub primary_email: String,
    /// `name.givenName`.
    pub given_name: String,
    /// `name.familyName`.
    pub family_name: String,
    /// Email aliases (`aliases`, also listed in `emails`).
    pub aliases: Vec<String>,
    /// Employee id, served as `externalIds[{type: organization}]`.
    pub employee_id: Option<String>,
    /// Manager's primary email, served as `relations[{type: manager}]`.
    pub manager_email: Option<String>,
    /// Employee or contractor.
    pub employment: EmploymentType,
    /// `organizations[primary].department`.
    pub department: String,
    /// `organizations[primary].title`.
    pub title: String,
    /// `organizations[primary].costCenter`.
    pub cost_center: String,
    /// `orgUnitPath` (`/` for the root).
    pub org_unit_path: String,
    /// `isAdmin` (super admin).
    pub is_admin: bool,
    /// `suspended` (with `suspensionReason: ADMIN` on the wire).
    pub suspended: bool,
    /// `creationTime`, RFC 3339 with milliseconds.
    pub creation_time: String,
    /// `lastLoginTime` (`1970-01-01T00:00:00.000Z` when never logged in).
    pub last_login_time: String,
    /// `deletionTime`; `Some` means deleted (listed only with `showDeleted=true`).
    pub deletion_time: Option<String>,
    /// `externalIds` of type `custom`: (`customType`, `value`).
    pub custom_ids: Vec<(String, String)>,
    /// `changePasswordAtNextLogin`.
    pub change_password_at_next_login: bool,
}

impl User {
    /// Whether the user is deleted.
    pub fn is_deleted(&self) -> bool {
        self.deletion_time.is_some()
    }
}

/// A new user for [`Tenant::add_user`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Primary email (must be unique in the tenant).
    pub primary_email: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Org unit path (must exist; default `/`).
    pub org_unit_path: String,
    /// Manager's primary email.
    pub manager_email: Option<String>,
    /// Employee id.
    pub employee_id: Option<String>,
    /// Employee or contractor (default employee).
    pub employment: EmploymentType,
    /// Department (default empty).
    pub department: String,
    /// Job title (default empty).
    pub title: String,
    /// Super admin (default false).
    pub is_admin: bool,
    /// `externalIds` of type `custom`: (`customType`, `value`) (default none).
    pub custom_ids: Vec<(String, String)>,
    /// `changePasswordAtNextLogin` (default false).
    pub change_password_at_next_login: bool,
    /// Suspended from the start (default false).
    pub suspended: bool,
}

impl NewUser {
    /// A user at the root org unit with only an email and a name.
    pub fn new(primary_email: &str, given_name: &str, family_name: &str) -> Self {
        Self {
            primary_email: primary_email.to_ascii_lowercase(),
            given_name: given_name.to_owned(),
            family_name: family_name.to_owned(),
            org_unit_path: "/".to_owned(),
            manager_email: None,
            employee_id: None,
            employment: EmploymentType::Employee,
            department: String::new(),
            title: String::new(),
            is_admin: false,
            custom_ids: Vec::new(),
            change_password_at_next_login: false,
            suspended: false,
        }
    }
}

/// A change to a user for [`Tenant::patch_user`]: each `Some` field is set, the others are
/// left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    /// A new primary email (a rename; the id stays).
    pub primary_email: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Org unit path (must exist).
    pub org_unit_path: Option<String>,
    /// Employee id (`Some(None)` clears it).
    pub employee_id: Option<Option<String>>,
    /// Manager's email (`Some(None)` clears it).
    pub manager_email: Option<Option<String>>,
    /// Employee or contractor.
    pub employment: Option<EmploymentType>,
    /// Suspended or not.
    pub suspended: Option<bool>,
    /// The `custom` external ids, replaced whole.
    pub custom_ids: Option<Vec<(String, String)>>,
}

impl Tenant {
    /// Adds a user; fails if the email is taken or the org unit does not exist.
    pub fn add_user(&mut self, new: NewUser) -> Result<User, Error> {
        let email = new.primary_email.to_ascii_lowercase();
        if self.user_index.contains_key(&email) || self.group_index.contains_key(&email) {
            return Err(Error::AlreadyExists(format!("email {email}")));
        }
        if self.org_unit(&new.org_unit_path).is_none() {
            return Err(Error::NotFound(format!("org unit {}", new.org_unit_path)));
        }
        let mut id = format!("1{}", self.rng.string(DIGITS, 20));
        while self.user_index.contains_key(&id) {
            id = format!("1{}", self.rng.string(DIGITS, 20));
        }
        let user = User {
            id,
            primary_email: email,
            given_name: new.given_name,
            family_name: new.family_name,
            aliases: Vec::new(),
            employee_id: new.employee_id,
            manager_email: new.manager_email,
            employment: new.employment,
            department: new.department,
            title: new.title,
            cost_center: String::new(),
            org_unit_path: self
                .org_unit(&new.org_unit_path)
                .map_or(new.org_unit_path, |o| o.path.clone()),
            is_admin: new.is_admin,
            suspended: new.suspended,
            creation_time: now_rfc3339(),
            last_login_time: rfc3339(0),
            deletion_time: None,
            custom_ids: new.custom_ids,
            change_password_at_next_login: new.change_password_at_next_login,
        };
        self.push_user(user.clone());
        self.record(UserEventKind::Add, &user.id);
        Ok(user)
    }

    fn user_mut(&mut self, key: &str) -> Result<&mut User, Error> {
        let i = self
            .user_index_of(key)
            .ok_or_else(|| Error::NotFound(format!("user {key}")))?;
        self.users
            .get_mut(i)
            .ok_or_else(|| Error::NotFound(format!("user {key}")))
    }

    /// Changes a user (see [`UserPatch`]); fails if the user or the org unit does not exist or
    /// the new email is taken. Nothing changes when it fails.
    pub fn patch_user(&mut self, key: &str, patch: UserPatch) -> Result<User, Error> {
        let i = self
            .user_index_of(key)
            .ok_or_else(|| Error::NotFound(format!("user {key}")))?;
        let org_unit = match &patch.org_unit_path {
            Some(p) => Some(
                self.org_unit(p)
                    .map(|o| o.path.clone())
                    .ok_or_else(|| Error::NotFound(format!("org unit {p}")))?,
            ),
            None => None,
        };
        let rename = patch
            .primary_email
            .as_ref()
            .map(|e| e.to_ascii_lowercase())
            .filter(|e| self.users.get(i).is_some_and(|u| u.primary_email != *e));
        if let Some(email) = &rename
            && (self.user_index.get(email).is_some_and(|&j| j != i)
                || self.group_index.contains_key(email))
        {
            return Err(Error::AlreadyExists(format!("email {email}")));
        }
        let user = self
            .users
            .get_mut(i)
            .ok_or_else(|| Error::NotFound(format!("user {key}")))?;
        if let Some(email) = &rename {
            user.primary_email.clone_from(email);
        }
        if let Some(v) = patch.given_name {
            user.given_name = v;
        }
        if let Some(v) = patch.family_name {
            user.family_name = v;
        }
        if let Some(v) = org_unit {
            user.org_unit_path = v;
        }
        if let Some(v) = patch.employee_id {
            user.employee_id = v;
        }
        if let Some(v) = patch.manager_email {
            user.manager_email = v.map(|m| m.to_ascii_lowercase());
        }
        if let Some(v) = patch.employment {
            user.employment = v;
        }
        if let Some(v) = patch.suspended {
            user.suspended = v;
        }
        if let Some(v) = patch.custom_ids {
            user.custom_ids = v;
        }
        let user = user.clone();
        if let Some(email) = rename {
            // The old address stays an alias of the account, as Google keeps it.
            self.user_index.insert(email, i);
        }
        self.record(UserEventKind::Update, &user.id);
        Ok(user)
    }

    /// Deletes a user: it disappears from listings and groups and appears with `showDeleted=true`.
    pub fn delete_user(&mut self, key: &str) -> Result<(), Error> {
        let user = self.user_mut(key)?;
        user.deletion_time = Some(now_rfc3339());
        let id = user.id.clone();
        for g in &mut self.groups {
            g.members.retain(|m| m.id != id);
        }
        self.record(UserEventKind::Delete, &id);
        Ok(())
    }

    /// Suspends (`true`) or reactivates (`false`) a user.
    pub fn set_suspended(&mut self, key: &str, suspended: bool) -> Result<(), Error> {
        let user = self.user_mut(key)?;
        user.suspended = suspended;
        let id = user.id.clone();
        self.record(UserEventKind::Update, &id);
        Ok(())
    }

    /// Sets (or clears) a user's manager.
    pub fn set_manager(&mut self, key: &str, manager_email: Option<&str>) -> Result<(), Error> {
        let user = self.user_mut(key)?;
        user.manager_email = manager_email.map(str::to_ascii_lowercase);
        let id = user.id.clone();
        self.record(UserEventKind::Update, &id);
        Ok(())
    }

    /// Moves a user to another (existing) org unit.
    pub fn move_user(&mut self, key: &str, org_unit_path: &str) -> Result<(), Error> {
        let path = self
            .org_unit(org_unit_path)
            .map(|o| o.path.clone())
            .ok_or_else(|| Error::NotFound(format!("org unit {org_unit_path}")))?;
        let user = self.user_mut(key)?;
        user.org_unit_path = path;
        let id = user.id.clone();
        self.record(UserEventKind::Update, &id);
        Ok(())
    }
}
