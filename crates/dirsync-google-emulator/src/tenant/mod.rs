//! The tenant: users, groups, memberships and org units, a deterministic generator and mutations.
//! One file per resource (its types and mutations); the generator in `generate`.

mod activities;
mod events;
mod generate;
mod groups;
mod members;
mod org_units;
mod users;

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};

use crate::rng::Rng;

pub use activities::{GroupActivity, GroupEvent};
pub(crate) use events::{UserEvent, UserEventKind};
pub use generate::TenantSpec;
pub use groups::Group;
pub use members::{MemberType, Membership, Role};
pub use org_units::OrgUnit;
pub use users::{EmploymentType, NewUser, User, UserPatch};

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const DIGITS: &[u8] = b"0123456789";

/// What a key (email, alias or id) resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    User(usize),
    Group(usize),
}

/// A Workspace tenant: the emulator's state.
#[derive(Debug, Clone)]
pub struct Tenant {
    domain: String,
    /// The customer's other verified domains (`domains.list`), lower case.
    secondary_domains: Vec<String>,
    customer_id: String,
    customer_creation_time: String,
    users: Vec<User>,
    groups: Vec<Group>,
    org_units: Vec<OrgUnit>,
    /// lower-case email / alias / id → user index (deleted users included).
    user_index: HashMap<String, usize>,
    group_index: HashMap<String, usize>,
    /// User changes not yet drained by the push channels (`users.watch`).
    user_events: Vec<UserEvent>,
    /// Group and membership changes, for the Reports API.
    group_activities: Vec<GroupActivity>,
    activity_seq: u64,
    rng: Rng,
}

pub(crate) fn rfc3339(secs: i64) -> String {
    let t: DateTime<Utc> = Utc.timestamp_opt(secs, 0).single().unwrap_or_default();
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(crate) fn now_rfc3339() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Tenant {
    /// An empty tenant (root org unit only) for `domain`.
    pub fn empty(domain: &str, customer_id: &str) -> Self {
        let mut t = Self {
            domain: domain.to_ascii_lowercase(),
            secondary_domains: Vec::new(),
            customer_id: customer_id.to_owned(),
            customer_creation_time: rfc3339(1_577_836_800),
            users: Vec::new(),
            groups: Vec::new(),
            org_units: Vec::new(),
            user_index: HashMap::new(),
            group_index: HashMap::new(),
            user_events: Vec::new(),
            group_activities: Vec::new(),
            activity_seq: 0,
            rng: Rng::new(0),
        };
        t.org_units.push(OrgUnit {
            id: "id:03root0000000".to_owned(),
            name: domain.to_owned(),
            description: String::new(),
            path: "/".to_owned(),
            parent_path: None,
            parent_id: None,
        });
        t
    }

    fn push_user(&mut self, user: User) {
        let i = self.users.len();
        self.user_index.insert(user.id.clone(), i);
        self.user_index
            .insert(user.primary_email.to_ascii_lowercase(), i);
        for a in &user.aliases {
            self.user_index.insert(a.to_ascii_lowercase(), i);
        }
        self.users.push(user);
    }

    fn push_group(&mut self, group: Group) {
        let i = self.groups.len();
        self.group_index.insert(group.id.clone(), i);
        self.group_index.insert(group.email.to_ascii_lowercase(), i);
        for a in &group.aliases {
            self.group_index.insert(a.to_ascii_lowercase(), i);
        }
        self.groups.push(group);
    }

    fn rebuild_group_index(&mut self) {
        self.group_index.clear();
        for (i, g) in self.groups.iter().enumerate() {
            self.group_index.insert(g.id.clone(), i);
            self.group_index.insert(g.email.to_ascii_lowercase(), i);
            for a in &g.aliases {
                self.group_index.insert(a.to_ascii_lowercase(), i);
            }
        }
    }

    /// The primary domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Every domain of the customer, the primary first (`domains.list`).
    pub fn domains(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.domain.as_str())
            .chain(self.secondary_domains.iter().map(String::as_str))
    }

    /// Adds a secondary domain to the customer (users and groups may then have addresses in
    /// it, and the listings' `domain=` may name it).
    pub fn add_domain(&mut self, domain: &str) {
        let domain = domain.to_ascii_lowercase();
        if !self.owns_domain(&domain) {
            self.secondary_domains.push(domain);
        }
    }

    /// Whether `domain` is one of the customer's (case-insensitive).
    pub fn owns_domain(&self, domain: &str) -> bool {
        self.domains().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The customer id (e.g. `C03az79cb`); `my_customer` also addresses this tenant.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// `customerCreationTime`.
    pub fn customer_creation_time(&self) -> &str {
        &self.customer_creation_time
    }

    /// All users, deleted ones included, in creation order.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// Users that are not deleted.
    pub fn live_users(&self) -> impl Iterator<Item = &User> {
        self.users.iter().filter(|u| !u.is_deleted())
    }

    /// All groups.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// All org units, the root `/` first.
    pub fn org_units(&self) -> &[OrgUnit] {
        &self.org_units
    }

    /// The first active (not suspended, not deleted) super admin: the subject to impersonate.
    pub fn admin_email(&self) -> Option<&str> {
        self.live_users()
            .find(|u| u.is_admin && !u.suspended)
            .map(|u| u.primary_email.as_str())
    }

    /// A non-deleted user by id, primary email or alias (case-insensitive).
    pub fn user(&self, key: &str) -> Option<&User> {
        self.user_index_of(key).and_then(|i| self.users.get(i))
    }

    /// A group by id, email or alias (case-insensitive).
    pub fn group(&self, key: &str) -> Option<&Group> {
        self.group_index_of(key).and_then(|i| self.groups.get(i))
    }

    pub(crate) fn user_index_of(&self, key: &str) -> Option<usize> {
        let i = *self.user_index.get(&key.to_ascii_lowercase())?;
        self.users.get(i).filter(|u| !u.is_deleted()).map(|_| i)
    }

    pub(crate) fn any_user_by_id(&self, id: &str) -> Option<&User> {
        self.user_index.get(id).and_then(|&i| self.users.get(i))
    }

    pub(crate) fn group_index_of(&self, key: &str) -> Option<usize> {
        self.group_index.get(&key.to_ascii_lowercase()).copied()
    }

    pub(crate) fn resolve(&self, key: &str) -> Option<Resolved> {
        self.user_index_of(key)
            .map(Resolved::User)
            .or_else(|| self.group_index_of(key).map(Resolved::Group))
    }

    /// An org unit by path (`/Sales`, `Sales`) or id (`id:...`).
    pub fn org_unit(&self, key: &str) -> Option<&OrgUnit> {
        if key.starts_with("id:") {
            return self.org_units.iter().find(|o| o.id == key);
        }
        let path = if key.starts_with('/') {
            key.to_owned()
        } else {
            format!("/{key}")
        };
        let path = if path.len() > 1 {
            path.trim_end_matches('/').to_owned()
        } else {
            path
        };
        self.org_units
            .iter()
            .find(|o| o.path.eq_ignore_ascii_case(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn mutations() {
        let mut t = Tenant::generate(&TenantSpec::small(3));
        let u = t
            .add_user(NewUser::new("new.person@example.com", "New", "Person"))
            .unwrap();
        assert!(
            t.add_user(NewUser::new("new.person@example.com", "New", "Person"))
                .is_err()
        );
        let g = t.groups()[1].email.clone();
        t.add_member(&g, &u.primary_email, Role::Member).unwrap();
        assert!(matches!(
            t.add_member(&g, &u.id, Role::Member),
            Err(Error::AlreadyExists(_))
        ));
        t.remove_member(&g, &u.primary_email).unwrap();
        assert!(
            matches!(t.remove_member(&g, &u.primary_email), Err(Error::NotFound(m)) if m == "memberKey")
        );
        // Cycles refused.
        let a = t.add_group("a@example.com", "A").unwrap();
        let b = t.add_group("b@example.com", "B").unwrap();
        t.add_member(&a.email, &b.email, Role::Member).unwrap();
        assert!(matches!(
            t.add_member(&b.email, &a.email, Role::Member),
            Err(Error::Invalid(_))
        ));
        t.delete_user(&u.id).unwrap();
        assert!(t.user(&u.id).is_none());
    }
}
