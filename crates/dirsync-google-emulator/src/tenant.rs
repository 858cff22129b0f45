//! The tenant: users, groups, memberships and org units, a deterministic generator and mutations.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};

use crate::error::Error;
use crate::rng::Rng;

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const DIGITS: &[u8] = b"0123456789";

const GIVEN: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Ken",
    "Frances",
    "Dennis",
    "Radia",
    "Linus",
    "Katherine",
    "Tim",
    "Hedy",
    "John",
    "Shafi",
    "Leslie",
    "Annie",
    "Niklaus",
    "Karen",
    "Bjarne",
    "Jean",
    "Guido",
    "Sophie",
    "Yukihiro",
    "Mary",
    "Brian",
    "Lynn",
    "Vint",
    "Joan",
    "Robert",
    "Anita",
    "James",
    "Evelyn",
    "Ivan",
    "Carol",
    "Whitfield",
    "Susan",
    "Martin",
];
const FAMILY: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Allen",
    "Ritchie",
    "Perlman",
    "Torvalds",
    "Johnson",
    "Berners-Lee",
    "Lamarr",
    "McCarthy",
    "Goldwasser",
    "Lamport",
    "Easley",
    "Wirth",
    "Jones",
    "Stroustrup",
    "Bartik",
    "van Rossum",
    "Wilson",
    "Matsumoto",
    "Kenneth",
    "Kernighan",
    "Conway",
    "Cerf",
    "Clarke",
    "Tarjan",
    "Borg",
    "Gosling",
    "Boyd",
    "Sutherland",
    "Shaw",
    "Diffie",
    "Kare",
    "Fowler",
];
const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "People",
    "Support",
    "Legal",
    "Operations",
    "Product",
    "Research",
];
const SUB_UNITS: &[&str] = &[
    "Platform",
    "EMEA",
    "Americas",
    "APAC",
    "Analytics",
    "Infrastructure",
    "Recruiting",
    "Payroll",
    "Enterprise",
    "SMB",
    "Design",
    "Security",
];
const TITLES: &[&str] = &[
    "Engineer",
    "Senior Engineer",
    "Analyst",
    "Manager",
    "Director",
    "Specialist",
    "Coordinator",
    "Consultant",
    "Designer",
    "Account Executive",
];
const TOPICS: &[&str] = &[
    "engineering",
    "sales",
    "marketing",
    "finance",
    "people",
    "support",
    "legal",
    "ops",
    "product",
    "research",
    "announce",
    "oncall",
    "social",
    "book-club",
    "security",
    "design",
    "interns",
    "leads",
    "travel",
    "facilities",
];

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
}

impl User {
    /// Whether the user is deleted.
    pub fn is_deleted(&self) -> bool {
        self.deletion_time.is_some()
    }
}

/// A member's `role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `OWNER`.
    Owner,
    /// `MANAGER`.
    Manager,
    /// `MEMBER`.
    Member,
}

impl Role {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "OWNER",
            Self::Manager => "MANAGER",
            Self::Member => "MEMBER",
        }
    }

    /// Parses a wire value (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "OWNER" => Some(Self::Owner),
            "MANAGER" => Some(Self::Manager),
            "MEMBER" => Some(Self::Member),
            _ => None,
        }
    }
}

/// A member's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberType {
    /// `USER` in the tenant (has `status`).
    User,
    /// `USER` outside the tenant domain (no `status`).
    ExternalUser,
    /// `GROUP` (nested group).
    Group,
    /// `CUSTOMER`: "all users in the domain"; no email, id = customer id.
    Customer,
}

impl MemberType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User | Self::ExternalUser => "USER",
            Self::Group => "GROUP",
            Self::Customer => "CUSTOMER",
        }
    }
}

/// One direct member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Member id (user id, group id, generated id for external users, customer id).
    pub id: String,
    /// Member email (`None` for `CUSTOMER`).
    pub email: Option<String>,
    /// Role in the group.
    pub role: Role,
    /// Kind of member.
    pub member_type: MemberType,
}

/// A group with its direct members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Group id (15 characters).
    pub id: String,
    /// Group email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Description (may be empty).
    pub description: String,
    /// `adminCreated`.
    pub admin_created: bool,
    /// Email aliases.
    pub aliases: Vec<String>,
    /// Direct members in insertion order; `directMembersCount` is their number.
    pub members: Vec<Membership>,
}

/// An organizational unit (the root `/` is kept in the tenant but not listed by `type=all`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUnit {
    /// `orgUnitId`, e.g. `id:03ph8a2z1mnq4x7`.
    pub id: String,
    /// `name` (last path segment).
    pub name: String,
    /// `description`.
    pub description: String,
    /// `orgUnitPath`.
    pub path: String,
    /// `parentOrgUnitPath` (`None` for the root).
    pub parent_path: Option<String>,
    /// `parentOrgUnitId` (`None` for the root).
    pub parent_id: Option<String>,
}

/// Sizes and ratios for [`Tenant::generate`]. Same spec (seed included) ⇒ identical tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantSpec {
    /// PRNG seed.
    pub seed: u64,
    /// Primary domain, e.g. `example.com`.
    pub domain: String,
    /// Non-deleted users (active + suspended); at least 1 (the first is a super admin and the CEO).
    pub users: usize,
    /// Groups; the first is the all-staff group holding every non-deleted user.
    pub groups: usize,
    /// Approximate number of user memberships spread over the other groups (Zipf-like sizes).
    pub memberships: usize,
    /// Org units below the root (top-level departments first, then nested units).
    pub org_units: usize,
    /// Fraction of users (not the first) that are suspended.
    pub suspended_ratio: f64,
    /// Recently deleted users (extra to `users`; listed only with `showDeleted=true`).
    pub deleted_users: usize,
    /// Fraction of users that are contractors.
    pub contractor_ratio: f64,
    /// Number of super admins (the first users); at least 1.
    pub admins: usize,
    /// Probability that a group gets a nested group member.
    pub nested_group_ratio: f64,
    /// Fraction of groups (not the first two) that are empty.
    pub empty_group_ratio: f64,
    /// The generator's "now" (Unix seconds): creation, login and deletion times precede it.
    pub reference_time: i64,
}

impl Default for TenantSpec {
    fn default() -> Self {
        Self {
            seed: 42,
            domain: "example.com".to_owned(),
            users: 50,
            groups: 10,
            memberships: 120,
            org_units: 6,
            suspended_ratio: 0.05,
            deleted_users: 2,
            contractor_ratio: 0.15,
            admins: 2,
            nested_group_ratio: 0.2,
            empty_group_ratio: 0.1,
            // 2026-11-01T00:00:00Z
            reference_time: 1_793_491_200,
        }
    }
}

impl TenantSpec {
    /// A small tenant (the defaults) with the given seed.
    pub fn small(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    /// A tenant of `users` users with proportional groups, memberships and org units.
    pub fn sized(seed: u64, users: usize) -> Self {
        Self {
            seed,
            users: users.max(1),
            groups: (users / 10).max(3),
            memberships: users * 3,
            org_units: (users / 50).clamp(3, 60),
            deleted_users: (users / 100).max(1),
            ..Self::default()
        }
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
        }
    }
}

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
    customer_id: String,
    customer_creation_time: String,
    users: Vec<User>,
    groups: Vec<Group>,
    org_units: Vec<OrgUnit>,
    /// lower-case email / alias / id → user index (deleted users included).
    user_index: HashMap<String, usize>,
    group_index: HashMap<String, usize>,
    rng: Rng,
}

pub(crate) fn rfc3339(secs: i64) -> String {
    let t: DateTime<Utc> = Utc.timestamp_opt(secs, 0).single().unwrap_or_default();
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(crate) fn now_rfc3339() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                Some(c.to_ascii_lowercase())
            } else if c == ' ' || c == '-' {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

impl Tenant {
    /// An empty tenant (root org unit only) for `domain`.
    pub fn empty(domain: &str, customer_id: &str) -> Self {
        let mut t = Self {
            domain: domain.to_ascii_lowercase(),
            customer_id: customer_id.to_owned(),
            customer_creation_time: rfc3339(1_577_836_800),
            users: Vec::new(),
            groups: Vec::new(),
            org_units: Vec::new(),
            user_index: HashMap::new(),
            group_index: HashMap::new(),
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

    /// Generates a tenant deterministically from `spec`.
    pub fn generate(spec: &TenantSpec) -> Self {
        let mut rng = Rng::new(spec.seed);
        let customer_id = format!("C0{}", rng.string(LOWER_ALNUM, 7));
        let mut t = Self::empty(&spec.domain, &customer_id);
        t.customer_creation_time = rfc3339(spec.reference_time - 6 * 365 * 86_400);
        if let Some(root) = t.org_units.first_mut() {
            root.id = format!("id:03{}", rng.string(LOWER_ALNUM, 10));
        }
        let root_id = t
            .org_units
            .first()
            .map(|o| o.id.clone())
            .unwrap_or_default();

        // Org units: departments first, then nested units below random existing ones.
        let mut paths: HashSet<String> = HashSet::new();
        for i in 0..spec.org_units {
            let (parent_path, parent_id, base) = if let Some(dept) = DEPARTMENTS.get(i) {
                ("/".to_owned(), root_id.clone(), (*dept).to_owned())
            } else {
                let below = t.org_units.len() - 1;
                let p = &t.org_units[1 + rng.below(below)];
                let base = rng.pick(SUB_UNITS).copied().unwrap_or("Unit").to_owned();
                (p.path.clone(), p.id.clone(), base)
            };
            let mut name = base.clone();
            let mut n = 2;
            let join = |pp: &str, name: &str| {
                if pp == "/" {
                    format!("/{name}")
                } else {
                    format!("{pp}/{name}")
                }
            };
            while paths.contains(&join(&parent_path, &name)) {
                name = format!("{base} {n}");
                n += 1;
            }
            let path = join(&parent_path, &name);
            paths.insert(path.clone());
            t.org_units.push(OrgUnit {
                id: format!("id:03{}", rng.string(LOWER_ALNUM, 10)),
                description: format!("{name} unit"),
                name,
                path,
                parent_path: Some(parent_path),
                parent_id: Some(parent_id),
            });
        }

        // Users.
        let mut emails: HashSet<String> = HashSet::new();
        let mut ids: HashSet<String> = HashSet::new();
        let total = spec.users.max(1) + spec.deleted_users;
        let active = spec.users.max(1);
        for i in 0..total {
            let given = rng.pick(GIVEN).copied().unwrap_or("Pat");
            let family = rng.pick(FAMILY).copied().unwrap_or("Doe");
            let local = format!("{}.{}", slug(given), slug(family).replace('-', ""));
            let mut email = format!("{local}@{}", t.domain);
            let mut n = 2;
            while emails.contains(&email) {
                email = format!("{local}{n}@{}", t.domain);
                n += 1;
            }
            emails.insert(email.clone());
            let mut id = format!("1{}", rng.string(DIGITS, 20));
            while ids.contains(&id) {
                id = format!("1{}", rng.string(DIGITS, 20));
            }
            ids.insert(id.clone());
            let (ou, department) = if i == 0 || t.org_units.len() == 1 {
                (
                    "/".to_owned(),
                    if i == 0 {
                        "Executive".to_owned()
                    } else {
                        "General".to_owned()
                    },
                )
            } else {
                let ou = &t.org_units[1 + rng.below(t.org_units.len() - 1)];
                let dept = ou.path.split('/').nth(1).unwrap_or("General").to_owned();
                (ou.path.clone(), dept)
            };
            let manager_email = if i == 0 {
                None
            } else {
                // A random recursive tree over the active users created so far.
                let m = rng.below(i.min(active));
                t.users.get(m).map(|u| u.primary_email.clone())
            };
            let contractor = i != 0 && rng.chance(spec.contractor_ratio);
            let suspended = i != 0 && i < active && rng.chance(spec.suspended_ratio);
            let created = spec.reference_time
                - 86_400 * (30 + rng.below(5 * 365) as i64)
                - rng.below(86_400) as i64;
            let last_login = if rng.chance(0.1) {
                rfc3339(0)
            } else {
                rfc3339(spec.reference_time - rng.below(30 * 86_400) as i64)
            };
            let deletion_time = (i >= active)
                .then(|| rfc3339(spec.reference_time - 86_400 * rng.below(20) as i64 - 3_600));
            let title = if i == 0 {
                "Chief Executive Officer".to_owned()
            } else {
                rng.pick(TITLES).copied().unwrap_or("Engineer").to_owned()
            };
            let mut aliases = Vec::new();
            if rng.chance(0.1) {
                let alias = format!("{}@{}", slug(given), t.domain);
                if !emails.contains(&alias) {
                    emails.insert(alias.clone());
                    aliases.push(alias);
                }
            }
            let user = User {
                id,
                primary_email: email,
                given_name: given.to_owned(),
                family_name: family.to_owned(),
                aliases,
                employee_id: Some(format!("E-{}", 10_000 + i)),
                manager_email,
                employment: if contractor {
                    EmploymentType::Contractor
                } else {
                    EmploymentType::Employee
                },
                cost_center: format!("CC-{}", 1000 + rng.below(40) * 10),
                department,
                title,
                org_unit_path: ou,
                is_admin: i < spec.admins.max(1),
                suspended,
                creation_time: rfc3339(created),
                last_login_time: last_login,
                deletion_time,
            };
            t.push_user(user);
        }

        // Groups.
        let live: Vec<usize> = (0..active).collect();
        let mut group_ids: HashSet<String> = HashSet::new();
        for g in 0..spec.groups {
            let (email, name, description) = if g == 0 {
                (
                    format!("all-staff@{}", t.domain),
                    "All staff".to_owned(),
                    "Everyone".to_owned(),
                )
            } else {
                let topic = TOPICS[(g - 1) % TOPICS.len()];
                let email = if g <= TOPICS.len() {
                    format!("{topic}@{}", t.domain)
                } else {
                    format!("{topic}-{g}@{}", t.domain)
                };
                let desc = if rng.chance(0.3) {
                    String::new()
                } else {
                    format!("The {topic} group")
                };
                (email, format!("{} {g}", topic.replace('-', " ")), desc)
            };
            let mut id = format!("0{}", rng.string(LOWER_ALNUM, 14));
            while group_ids.contains(&id) {
                id = format!("0{}", rng.string(LOWER_ALNUM, 14));
            }
            group_ids.insert(id.clone());
            let group = Group {
                id,
                email,
                name,
                description,
                admin_created: rng.chance(0.8),
                aliases: Vec::new(),
                members: Vec::new(),
            };
            t.push_group(group);
        }
        // All-staff.
        if let Some(all) = t.groups.first_mut() {
            for &u in &live {
                if let Some(user) = t.users.get(u) {
                    all.members.push(Membership {
                        id: user.id.clone(),
                        email: Some(user.primary_email.clone()),
                        role: if u == 0 { Role::Owner } else { Role::Member },
                        member_type: MemberType::User,
                    });
                }
            }
        }
        // Zipf-like sizes for the rest, with a tail of empty groups.
        let others = spec.groups.saturating_sub(1);
        let empties = if others >= 3 {
            ((others as f64 * spec.empty_group_ratio).round() as usize).max(1)
        } else {
            0
        };
        let filled = others - empties;
        let weights: Vec<f64> = (1..=filled).map(|k| 1.0 / (k as f64).powf(1.1)).collect();
        let wsum: f64 = weights.iter().sum();
        let mut pool = live.clone();
        for (k, w) in weights.iter().enumerate() {
            let size = ((spec.memberships as f64 * w / wsum).round() as usize).clamp(1, live.len());
            // Partial Fisher–Yates: the first `size` entries of `pool` are a uniform sample.
            for j in 0..size {
                let r = j + rng.below(pool.len() - j);
                pool.swap(j, r);
            }
            let g = 1 + k;
            let mut members = Vec::with_capacity(size);
            for (j, &u) in pool.iter().take(size).enumerate() {
                if let Some(user) = t.users.get(u) {
                    let role = if j == 0 {
                        Role::Owner
                    } else if rng.chance(0.05) {
                        Role::Manager
                    } else {
                        Role::Member
                    };
                    members.push(Membership {
                        id: user.id.clone(),
                        email: Some(user.primary_email.clone()),
                        role,
                        member_type: MemberType::User,
                    });
                }
            }
            // Nested groups only point "forward" (to a later group): no cycles.
            if g + 1 < spec.groups && rng.chance(spec.nested_group_ratio) {
                let child = g + 1 + rng.below(spec.groups - g - 1);
                if let Some(c) = t.groups.get(child) {
                    members.push(Membership {
                        id: c.id.clone(),
                        email: Some(c.email.clone()),
                        role: Role::Member,
                        member_type: MemberType::Group,
                    });
                }
            }
            if g == 1 {
                members.push(Membership {
                    id: t.customer_id.clone(),
                    email: None,
                    role: Role::Member,
                    member_type: MemberType::Customer,
                });
                members.push(Membership {
                    id: format!("1{}", rng.string(DIGITS, 20)),
                    email: Some("partner@external.example".to_owned()),
                    role: Role::Member,
                    member_type: MemberType::ExternalUser,
                });
            }
            if let Some(group) = t.groups.get_mut(g) {
                group.members = members;
            }
        }
        // Guarantee at least one nested group when there are enough groups.
        if spec.groups >= 3
            && spec.nested_group_ratio > 0.0
            && !t
                .groups
                .iter()
                .any(|g| g.members.iter().any(|m| m.member_type == MemberType::Group))
        {
            let child = t.groups[2].clone();
            t.groups[1].members.push(Membership {
                id: child.id,
                email: Some(child.email),
                role: Role::Member,
                member_type: MemberType::Group,
            });
        }
        t.rng = Rng::new(spec.seed ^ 0xA5A5_A5A5);
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
            org_unit_path: new.org_unit_path,
            is_admin: new.is_admin,
            suspended: false,
            creation_time: now_rfc3339(),
            last_login_time: rfc3339(0),
            deletion_time: None,
        };
        self.push_user(user.clone());
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

    /// Deletes a user: it disappears from listings and groups and appears with `showDeleted=true`.
    pub fn delete_user(&mut self, key: &str) -> Result<(), Error> {
        let user = self.user_mut(key)?;
        user.deletion_time = Some(now_rfc3339());
        let id = user.id.clone();
        for g in &mut self.groups {
            g.members.retain(|m| m.id != id);
        }
        Ok(())
    }

    /// Suspends (`true`) or reactivates (`false`) a user.
    pub fn set_suspended(&mut self, key: &str, suspended: bool) -> Result<(), Error> {
        self.user_mut(key)?.suspended = suspended;
        Ok(())
    }

    /// Sets (or clears) a user's manager.
    pub fn set_manager(&mut self, key: &str, manager_email: Option<&str>) -> Result<(), Error> {
        self.user_mut(key)?.manager_email = manager_email.map(str::to_ascii_lowercase);
        Ok(())
    }

    /// Moves a user to another (existing) org unit.
    pub fn move_user(&mut self, key: &str, org_unit_path: &str) -> Result<(), Error> {
        let path = self
            .org_unit(org_unit_path)
            .map(|o| o.path.clone())
            .ok_or_else(|| Error::NotFound(format!("org unit {org_unit_path}")))?;
        self.user_mut(key)?.org_unit_path = path;
        Ok(())
    }

    /// Adds an (empty) group.
    pub fn add_group(&mut self, email: &str, name: &str) -> Result<Group, Error> {
        let email = email.to_ascii_lowercase();
        if self.group_index.contains_key(&email) || self.user_index.contains_key(&email) {
            return Err(Error::AlreadyExists(format!("email {email}")));
        }
        let mut id = format!("0{}", self.rng.string(LOWER_ALNUM, 14));
        while self.group_index.contains_key(&id) {
            id = format!("0{}", self.rng.string(LOWER_ALNUM, 14));
        }
        let group = Group {
            id,
            email,
            name: name.to_owned(),
            description: String::new(),
            admin_created: true,
            aliases: Vec::new(),
            members: Vec::new(),
        };
        self.push_group(group.clone());
        Ok(group)
    }

    /// Deletes a group and removes it from the groups it was a member of.
    pub fn remove_group(&mut self, key: &str) -> Result<(), Error> {
        let i = self
            .group_index_of(key)
            .ok_or_else(|| Error::NotFound(format!("group {key}")))?;
        let group = self.groups.remove(i);
        for g in &mut self.groups {
            g.members.retain(|m| m.id != group.id);
        }
        self.rebuild_group_index();
        Ok(())
    }

    /// Whether `inner` is `outer` or reachable from it through nested group members.
    fn group_reaches(&self, from: usize, target: usize) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![from];
        while let Some(g) = stack.pop() {
            if g == target {
                return true;
            }
            if !seen.insert(g) {
                continue;
            }
            if let Some(group) = self.groups.get(g) {
                for m in group
                    .members
                    .iter()
                    .filter(|m| m.member_type == MemberType::Group)
                {
                    if let Some(&c) = self.group_index.get(&m.id) {
                        stack.push(c);
                    }
                }
            }
        }
        false
    }

    /// Adds a member (user or group by email/id, the customer id, or an outside email) to a group.
    ///
    /// Errors: [`Error::NotFound`] for an unknown group or an unknown in-domain member,
    /// [`Error::AlreadyExists`] for an existing member, [`Error::Invalid`] for a cycle.
    pub fn add_member(
        &mut self,
        group_key: &str,
        member_key: &str,
        role: Role,
    ) -> Result<Membership, Error> {
        let gi = self
            .group_index_of(group_key)
            .ok_or_else(|| Error::NotFound("groupKey".to_owned()))?;
        let membership = if member_key == self.customer_id {
            Membership {
                id: self.customer_id.clone(),
                email: None,
                role,
                member_type: MemberType::Customer,
            }
        } else {
            match self.resolve(member_key) {
                Some(Resolved::User(u)) => {
                    let user = self
                        .users
                        .get(u)
                        .ok_or_else(|| Error::NotFound("memberKey".to_owned()))?;
                    Membership {
                        id: user.id.clone(),
                        email: Some(user.primary_email.clone()),
                        role,
                        member_type: MemberType::User,
                    }
                }
                Some(Resolved::Group(c)) => {
                    if self.group_reaches(c, gi) {
                        return Err(Error::Invalid("Cyclic memberships not allowed".to_owned()));
                    }
                    let child = self
                        .groups
                        .get(c)
                        .ok_or_else(|| Error::NotFound("memberKey".to_owned()))?;
                    Membership {
                        id: child.id.clone(),
                        email: Some(child.email.clone()),
                        role,
                        member_type: MemberType::Group,
                    }
                }
                None => {
                    let key = member_key.to_ascii_lowercase();
                    let domain = key.rsplit_once('@').map(|(_, d)| d.to_owned());
                    match domain {
                        Some(d) if d != self.domain => {
                            let existing = self
                                .groups
                                .iter()
                                .flat_map(|g| g.members.iter())
                                .find(|m| {
                                    m.member_type == MemberType::ExternalUser
                                        && m.email.as_deref() == Some(&key)
                                })
                                .map(|m| m.id.clone());
                            let id = existing
                                .unwrap_or_else(|| format!("1{}", self.rng.string(DIGITS, 20)));
                            Membership {
                                id,
                                email: Some(key),
                                role,
                                member_type: MemberType::ExternalUser,
                            }
                        }
                        _ => return Err(Error::NotFound("memberKey".to_owned())),
                    }
                }
            }
        };
        let group = self
            .groups
            .get_mut(gi)
            .ok_or_else(|| Error::NotFound("groupKey".to_owned()))?;
        if group.members.iter().any(|m| m.id == membership.id) {
            return Err(Error::AlreadyExists("Member already exists.".to_owned()));
        }
        group.members.push(membership.clone());
        Ok(membership)
    }

    /// Index of a direct member of group `gi` by member id, email or alias.
    pub(crate) fn member_position(&self, gi: usize, member_key: &str) -> Option<usize> {
        let group = self.groups.get(gi)?;
        let key = member_key.to_ascii_lowercase();
        let id = match self.resolve(&key) {
            Some(Resolved::User(u)) => self.users.get(u).map(|u| u.id.clone()),
            Some(Resolved::Group(g)) => self.groups.get(g).map(|g| g.id.clone()),
            None => None,
        };
        group.members.iter().position(|m| {
            Some(&m.id) == id.as_ref()
                || m.id.eq_ignore_ascii_case(&key)
                || m.email.as_deref() == Some(key.as_str())
        })
    }

    /// Removes a direct member from a group. Errors: [`Error::NotFound`] naming `groupKey` or `memberKey`.
    pub fn remove_member(&mut self, group_key: &str, member_key: &str) -> Result<(), Error> {
        let gi = self
            .group_index_of(group_key)
            .ok_or_else(|| Error::NotFound("groupKey".to_owned()))?;
        let pos = self
            .member_position(gi, member_key)
            .ok_or_else(|| Error::NotFound("memberKey".to_owned()))?;
        if let Some(g) = self.groups.get_mut(gi) {
            g.members.remove(pos);
        }
        Ok(())
    }

    /// Adds an org unit below an existing parent path.
    pub fn add_org_unit(&mut self, parent_path: &str, name: &str) -> Result<OrgUnit, Error> {
        let parent = self
            .org_unit(parent_path)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("org unit {parent_path}")))?;
        let path = if parent.path == "/" {
            format!("/{name}")
        } else {
            format!("{}/{name}", parent.path)
        };
        if self.org_unit(&path).is_some() {
            return Err(Error::AlreadyExists(format!("org unit {path}")));
        }
        let ou = OrgUnit {
            id: format!("id:03{}", self.rng.string(LOWER_ALNUM, 10)),
            name: name.to_owned(),
            description: String::new(),
            path,
            parent_path: Some(parent.path),
            parent_id: Some(parent.id),
        };
        self.org_units.push(ou.clone());
        Ok(ou)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_sized() {
        let spec = TenantSpec::sized(7, 300);
        let a = Tenant::generate(&spec);
        let b = Tenant::generate(&spec);
        assert_eq!(a.users(), b.users());
        assert_eq!(a.groups(), b.groups());
        assert_eq!(a.org_units(), b.org_units());
        assert_eq!(a.live_users().count(), 300);
        assert_eq!(a.users().len(), 300 + spec.deleted_users);
        assert_eq!(a.groups().len(), spec.groups);
        assert_eq!(a.org_units().len(), spec.org_units + 1);
        let c = Tenant::generate(&TenantSpec::sized(8, 300));
        assert_ne!(a.users(), c.users());
    }

    #[test]
    fn generated_shape() {
        let t = Tenant::generate(&TenantSpec::sized(1, 500));
        let all = &t.groups()[0];
        assert_eq!(all.members.len(), 500);
        assert!(t.groups().iter().any(|g| g.members.is_empty()));
        assert!(
            t.groups()
                .iter()
                .any(|g| g.members.iter().any(|m| m.member_type == MemberType::Group))
        );
        assert!(t.groups().iter().any(|g| {
            g.members
                .iter()
                .any(|m| m.member_type == MemberType::Customer)
        }));
        assert!(t.live_users().any(|u| u.suspended));
        assert!(
            t.live_users()
                .any(|u| u.employment == EmploymentType::Contractor)
        );
        assert!(t.admin_email().is_some());
        // Manager tree: every manager is a live user, the root has none.
        let roots = t.live_users().filter(|u| u.manager_email.is_none()).count();
        assert_eq!(roots, 1);
        for u in t.users() {
            if let Some(m) = &u.manager_email {
                assert!(t.user(m).is_some(), "manager {m} missing");
            }
        }
        // Skew: the biggest non-all-staff group is much bigger than the median.
        let mut sizes: Vec<usize> = t.groups()[1..].iter().map(|g| g.members.len()).collect();
        sizes.sort_unstable();
        assert!(sizes[sizes.len() - 1] > 4 * sizes[sizes.len() / 2].max(1));
    }

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
