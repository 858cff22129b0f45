//! The deterministic generator: a [`TenantSpec`] and [`Tenant::generate`].

use std::collections::HashSet;

use super::{
    DIGITS, EmploymentType, Group, LOWER_ALNUM, MemberType, Membership, OrgUnit, Role, Tenant,
    User, rfc3339,
};
use crate::rng::Rng;

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

        t.generate_org_units(spec, &mut rng, &root_id);
        t.generate_users(spec, &mut rng);
        t.generate_groups(spec, &mut rng);
        t.generate_memberships(spec, &mut rng);
        t.rng = Rng::new(spec.seed ^ 0xA5A5_A5A5);
        t
    }

    /// Org units: departments first, then nested units below random existing ones.
    fn generate_org_units(&mut self, spec: &TenantSpec, rng: &mut Rng, root_id: &str) {
        let mut paths: HashSet<String> = HashSet::new();
        for i in 0..spec.org_units {
            let (parent_path, parent_id, base) = if let Some(dept) = DEPARTMENTS.get(i) {
                ("/".to_owned(), root_id.to_owned(), (*dept).to_owned())
            } else {
                let below = self.org_units.len() - 1;
                let p = &self.org_units[1 + rng.below(below)];
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
            self.org_units.push(OrgUnit {
                id: format!("id:03{}", rng.string(LOWER_ALNUM, 10)),
                description: format!("{name} unit"),
                name,
                path,
                parent_path: Some(parent_path),
                parent_id: Some(parent_id),
            });
        }
    }

    /// Users (the deleted ones last), in org units, with a random manager tree over the active
    /// users created before them.
    fn generate_users(&mut self, spec: &TenantSpec, rng: &mut Rng) {
        let mut emails: HashSet<String> = HashSet::new();
        let mut ids: HashSet<String> = HashSet::new();
        let total = spec.users.max(1) + spec.deleted_users;
        let active = spec.users.max(1);
        for i in 0..total {
            let given = rng.pick(GIVEN).copied().unwrap_or("Pat");
            let family = rng.pick(FAMILY).copied().unwrap_or("Doe");
            let local = format!("{}.{}", slug(given), slug(family).replace('-', ""));
            let mut email = format!("{local}@{}", self.domain);
            let mut n = 2;
            while emails.contains(&email) {
                email = format!("{local}{n}@{}", self.domain);
                n += 1;
            }
            emails.insert(email.clone());
            let mut id = format!("1{}", rng.string(DIGITS, 20));
            while ids.contains(&id) {
                id = format!("1{}", rng.string(DIGITS, 20));
            }
            ids.insert(id.clone());
            let (ou, department) = if i == 0 || self.org_units.len() == 1 {
                (
                    "/".to_owned(),
                    if i == 0 {
                        "Executive".to_owned()
                    } else {
                        "General".to_owned()
                    },
                )
            } else {
                let ou = &self.org_units[1 + rng.below(self.org_units.len() - 1)];
                let dept = ou.path.split('/').nth(1).unwrap_or("General").to_owned();
                (ou.path.clone(), dept)
            };
            let manager_email = if i == 0 {
                None
            } else {
                // A random recursive tree over the active users created so far.
                let m = rng.below(i.min(active));
                self.users.get(m).map(|u| u.primary_email.clone())
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
                let alias = format!("{}@{}", slug(given), self.domain);
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
                custom_ids: Vec::new(),
                change_password_at_next_login: false,
            };
            self.push_user(user);
        }
    }

    /// Groups, without members: all-staff first, then one per topic.
    fn generate_groups(&mut self, spec: &TenantSpec, rng: &mut Rng) {
        let mut group_ids: HashSet<String> = HashSet::new();
        for g in 0..spec.groups {
            let (email, name, description) = if g == 0 {
                (
                    format!("all-staff@{}", self.domain),
                    "All staff".to_owned(),
                    "Everyone".to_owned(),
                )
            } else {
                let topic = TOPICS[(g - 1) % TOPICS.len()];
                let email = if g <= TOPICS.len() {
                    format!("{topic}@{}", self.domain)
                } else {
                    format!("{topic}-{g}@{}", self.domain)
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
            self.push_group(group);
        }
    }

    /// Memberships: all-staff holds every active user; the other groups get Zipf-like sizes
    /// with a tail of empty groups, some nested groups (pointing forward only: no cycles) and
    /// one customer and one external member.
    fn generate_memberships(&mut self, spec: &TenantSpec, rng: &mut Rng) {
        let live: Vec<usize> = (0..spec.users.max(1)).collect();
        // All-staff.
        if let Some(all) = self.groups.first_mut() {
            for &u in &live {
                if let Some(user) = self.users.get(u) {
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
                if let Some(user) = self.users.get(u) {
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
                if let Some(c) = self.groups.get(child) {
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
                    id: self.customer_id.clone(),
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
            if let Some(group) = self.groups.get_mut(g) {
                group.members = members;
            }
        }
        // Guarantee at least one nested group when there are enough groups.
        if spec.groups >= 3
            && spec.nested_group_ratio > 0.0
            && !self
                .groups
                .iter()
                .any(|g| g.members.iter().any(|m| m.member_type == MemberType::Group))
        {
            let child = self.groups[2].clone();
            self.groups[1].members.push(Membership {
                id: child.id,
                email: Some(child.email),
                role: Role::Member,
                member_type: MemberType::Group,
            });
        }
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
}
