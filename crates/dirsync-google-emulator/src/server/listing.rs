//! Listings in O(page): the tenant beside sorted indexes of its listings ([`TenantState`]),
//! built on a listing's first page and dropped by any write, and one page of such an index.
//!
//! Paging through a listing of n items used to select each page out of all n items (n·pages
//! work for a listing); an index is sorted once and each page binary-searches its token's
//! "after" key. The order, the filters and the keys are the same as [`super::paging::take_page`]'s.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use super::lock;
use super::paging::lowercase;
use crate::render;
use crate::tenant::Tenant;

/// The tenant and its listing indexes. Reading derefs to the [`Tenant`]; any mutable access
/// (every write goes through one) drops the indexes, so they never outlive what they index.
pub(crate) struct TenantState {
    tenant: Tenant,
    indexes: Mutex<Indexes>,
}

/// Which listing an index sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Listing {
    /// Users by lower-case primary email.
    UsersByEmail,
    /// Users by lower-case given name, then email.
    UsersByGivenName,
    /// Users by lower-case family name, then email.
    UsersByFamilyName,
    /// Groups by lower-case email.
    Groups,
    /// The direct members of the group at this index, by lower-case id.
    Members(usize),
}

type Indexes = HashMap<Listing, Arc<SortedIndex>>;

/// Positions in a tenant vector (users, groups or a group's members) sorted by their key.
#[derive(Debug)]
pub(crate) struct SortedIndex {
    entries: Vec<(Box<str>, usize)>,
    /// A members listing's `status` by position in the group (a user lookup each, done once).
    statuses: Vec<Option<&'static str>>,
}

impl TenantState {
    pub(crate) fn new(tenant: Tenant) -> Self {
        Self {
            tenant,
            indexes: Mutex::new(HashMap::new()),
        }
    }

    /// The index of `listing`, built on first use since the last write.
    pub(crate) fn index(&self, listing: Listing) -> Arc<SortedIndex> {
        if let Some(i) = lock(&self.indexes).get(&listing) {
            return i.clone();
        }
        // Built outside the lock: requests for other listings do not wait for this one.
        let built = Arc::new(SortedIndex::build(&self.tenant, listing));
        lock(&self.indexes).entry(listing).or_insert(built).clone()
    }
}

impl Deref for TenantState {
    type Target = Tenant;
    fn deref(&self) -> &Tenant {
        &self.tenant
    }
}

impl DerefMut for TenantState {
    fn deref_mut(&mut self) -> &mut Tenant {
        self.indexes
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        &mut self.tenant
    }
}

/// A user's listing key for `orderBy` (0 email, 1 given name, 2 family name).
pub(crate) fn user_key(u: &crate::tenant::User, order: u8) -> std::borrow::Cow<'_, str> {
    let email = lowercase(&u.primary_email);
    match order {
        1 => format!("{}\u{1}{email}", u.given_name.to_lowercase()).into(),
        2 => format!("{}\u{1}{email}", u.family_name.to_lowercase()).into(),
        _ => email,
    }
}

impl SortedIndex {
    fn build(t: &Tenant, listing: Listing) -> Self {
        let mut entries: Vec<(Box<str>, usize)> = match listing {
            Listing::UsersByEmail | Listing::UsersByGivenName | Listing::UsersByFamilyName => {
                let order = match listing {
                    Listing::UsersByGivenName => 1,
                    Listing::UsersByFamilyName => 2,
                    _ => 0,
                };
                let users = t.users().iter().enumerate();
                users.map(|(i, u)| (user_key(u, order).into(), i)).collect()
            }
            Listing::Groups => {
                let groups = t.groups().iter().enumerate();
                groups
                    .map(|(i, g)| (lowercase(&g.email).into(), i))
                    .collect()
            }
            Listing::Members(gi) => t.groups().get(gi).map_or_else(Vec::new, |g| {
                let members = g.members.iter().enumerate();
                members.map(|(i, m)| (lowercase(&m.id).into(), i)).collect()
            }),
        };
        entries.sort_unstable();
        let statuses = match listing {
            Listing::Members(gi) => t.groups().get(gi).map_or_else(Vec::new, |g| {
                let members = g.members.iter();
                members.map(|m| render::member_status(t, m)).collect()
            }),
            _ => Vec::new(),
        };
        Self { entries, statuses }
    }

    /// The `status` of the member at `pos` of a members listing's group.
    pub(crate) fn status(&self, pos: usize) -> Option<&'static str> {
        self.statuses.get(pos).copied().flatten()
    }

    /// The page after `after` (descending when asked) of the positions `keep` accepts, and
    /// the key to continue after when more follow.
    pub(crate) fn page(
        &self,
        after: Option<&str>,
        descending: bool,
        size: usize,
        mut keep: impl FnMut(usize) -> bool,
    ) -> (Vec<usize>, Option<String>) {
        let e = &self.entries;
        let rest: Box<dyn Iterator<Item = &(Box<str>, usize)>> = match (after, descending) {
            (None, false) => Box::new(e.iter()),
            (None, true) => Box::new(e.iter().rev()),
            (Some(a), false) => Box::new(e[e.partition_point(|(k, _)| **k <= *a)..].iter()),
            (Some(a), true) => Box::new(e[..e.partition_point(|(k, _)| **k < *a)].iter().rev()),
        };
        let mut rest = rest.filter(|(_, i)| keep(*i));
        let mut out = Vec::with_capacity(size.min(e.len()));
        let mut last = None;
        for (k, i) in rest.by_ref().take(size) {
            out.push(*i);
            last = Some(k);
        }
        let next = rest.next().and(last).map(|k| k.to_string());
        (out, next)
    }
}
