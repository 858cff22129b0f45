//! Sameness: every page of the users, groups and members listings of a generated tenant, with
//! and without `fields=`, compact and pretty, before and after writes, is byte for byte what
//! the `Value` path (select the page of all items, render `Value`s, apply the mask) answers.

use serde_json::Value;

use super::listing::{Listing, TenantState};
use super::paging::{lowercase, take_page};
use crate::error::Error;
use crate::render::{self, FieldMask, GroupJson, ListJson, MemberJson, UserJson};
use crate::tenant::{EmploymentType, NewUser, Role, Tenant, TenantSpec, UserPatch};

const MASKS: &[&str] = &[
    // What the connector asks for.
    "nextPageToken,users(id,primaryEmail,name,suspended,archived,isAdmin,isDelegatedAdmin,orgUnitPath,creationTime,externalIds,relations,organizations,aliases,customSchemas)",
    "nextPageToken,users(id,primaryEmail,orgUnitPath,deletionTime)",
    "nextPageToken,groups(id,email,name,description,directMembersCount)",
    "nextPageToken,members(id,email,role,type,status)",
    // Nested paths, sub-masks on scalars, unknown fields, the wrapper alone.
    "etag,kind,users(name/fullName,emails/address,externalIds(type,value),organizations(department,title),relations/value,etag(x)),groups(aliases,etag),members(status,zz)",
    "kind,nextPageToken",
    "users/id,groups/id,members/id",
];

fn old_body(v: Value, mask: Option<&FieldMask>, pretty: bool) -> String {
    let v = mask.map_or(v.clone(), |m| m.apply(&v));
    let s = if pretty {
        serde_json::to_string_pretty(&v)
    } else {
        serde_json::to_string(&v)
    };
    s.unwrap_or_default()
}

fn new_body<T: render::Masked>(v: &T, mask: Option<&FieldMask>, pretty: bool) -> String {
    let b = render::to_body(v, mask, pretty).unwrap_or_default();
    String::from_utf8(b).unwrap_or_default()
}

/// Compares one page both ways under every mask; returns the key to continue after.
fn same(old: Value, new: &impl render::Masked, next: Option<String>) -> Option<String> {
    for mask in std::iter::once(None).chain(MASKS.iter().map(|m| FieldMask::parse(m))) {
        for pretty in [false, true] {
            let (o, n) = (
                old_body(old.clone(), mask.as_ref(), pretty),
                new_body(new, mask.as_ref(), pretty),
            );
            assert_eq!(o, n, "mask {mask:?}, pretty {pretty}");
        }
    }
    next
}

fn token(k: String) -> String {
    format!("after:{k}")
}

fn users_both_ways(t: &TenantState, listing: Listing, descending: bool, deleted: bool) -> usize {
    let order = match listing {
        Listing::UsersByGivenName => 1,
        Listing::UsersByFamilyName => 2,
        _ => 0,
    };
    let (mut after, mut pages) = (None::<String>, 0);
    loop {
        let items = t.users().iter().filter(|u| u.is_deleted() == deleted);
        let items = items
            .map(|u| (super::listing::user_key(u, order), u))
            .collect();
        let (old, old_next) = take_page(items, after.as_deref(), descending, 7);
        let old = old.into_iter().map(|u| render::user(t, u)).collect();
        let old = render::list(
            t,
            "admin#directory#users",
            "users",
            old,
            old_next.clone().map(token),
        );

        let keep = |i: usize| t.users().get(i).is_some_and(|u| u.is_deleted() == deleted);
        let (new, next) = t.index(listing).page(after.as_deref(), descending, 7, keep);
        let prefix = render::etag_prefix(t);
        let new = new
            .iter()
            .map(|&i| UserJson::new(t, &prefix, &t.users()[i]))
            .collect();
        let new = ListJson::new(
            t,
            "admin#directory#users",
            "users",
            new,
            next.clone().map(token),
        );
        assert_eq!(old_next, next);
        pages += 1;
        match same(old, &new, next) {
            Some(k) => after = Some(k),
            None => return pages,
        }
    }
}

fn groups_both_ways(t: &TenantState, descending: bool) -> usize {
    let (mut after, mut pages) = (None::<String>, 0);
    loop {
        let items = t
            .groups()
            .iter()
            .map(|g| (lowercase(&g.email), g))
            .collect();
        let (old, old_next) = take_page(items, after.as_deref(), descending, 3);
        let old = old.into_iter().map(|g| render::group(t, g)).collect();
        let old = render::list(
            t,
            "admin#directory#groups",
            "groups",
            old,
            old_next.clone().map(token),
        );

        let (new, next) = t
            .index(Listing::Groups)
            .page(after.as_deref(), descending, 3, |_| true);
        let prefix = render::etag_prefix(t);
        let new = new
            .iter()
            .map(|&i| GroupJson::new(&prefix, &t.groups()[i]))
            .collect();
        let new = ListJson::new(
            t,
            "admin#directory#groups",
            "groups",
            new,
            next.clone().map(token),
        );
        assert_eq!(old_next, next);
        pages += 1;
        match same(old, &new, next) {
            Some(k) => after = Some(k),
            None => return pages,
        }
    }
}

fn members_both_ways(t: &TenantState, gi: usize, roles: Option<&[Role]>) -> usize {
    let keep = |r: &Role| roles.is_none_or(|roles| roles.contains(r));
    let members = &t.groups()[gi].members;
    let (mut after, mut pages) = (None::<String>, 0);
    loop {
        let items = members.iter().filter(|m| keep(&m.role));
        let items = items.map(|m| (lowercase(&m.id), m)).collect();
        let (old, old_next) = take_page(items, after.as_deref(), false, 7);
        let old = old.into_iter().map(|m| render::member(t, m)).collect();
        let old = render::list(
            t,
            "admin#directory#members",
            "members",
            old,
            old_next.clone().map(token),
        );

        let index = t.index(Listing::Members(gi));
        let (new, next) = index.page(after.as_deref(), false, 7, |i| keep(&members[i].role));
        let prefix = render::etag_prefix(t);
        let new = new
            .iter()
            .map(|&i| MemberJson::new(&prefix, &members[i], index.status(i)))
            .collect();
        let new = ListJson::new(
            t,
            "admin#directory#members",
            "members",
            new,
            next.clone().map(token),
        );
        assert_eq!(old_next, next);
        pages += 1;
        match same(old, &new, next) {
            Some(k) => after = Some(k),
            None => return pages,
        }
    }
}

fn every_listing_both_ways(t: &TenantState) {
    for listing in [
        Listing::UsersByEmail,
        Listing::UsersByGivenName,
        Listing::UsersByFamilyName,
    ] {
        for descending in [false, true] {
            assert!(users_both_ways(t, listing, descending, false) > 5);
            users_both_ways(t, listing, descending, true);
        }
    }
    assert!(groups_both_ways(t, false) > 2);
    groups_both_ways(t, true);
    for gi in 0..t.groups().len() {
        members_both_ways(t, gi, None);
        members_both_ways(t, gi, Some(&[Role::Owner, Role::Manager]));
    }
    assert!(
        members_both_ways(t, 0, None) > 5,
        "the all-staff group pages"
    );
}

#[test]
fn listings_render_the_same_bytes_as_the_value_path_before_and_after_writes() {
    let mut t = TenantState::new(Tenant::generate(&TenantSpec::small(7)));
    every_listing_both_ways(&t);

    // Writes drop the indexes: new, renamed, suspended and deleted users, members of every kind.
    let mut new = NewUser::new("aa.zed@example.com", "Zed", "Aa");
    new.custom_ids = vec![("badge".to_owned(), "B-1".to_owned())];
    new.employee_id = Some("E-9".to_owned());
    new.employment = EmploymentType::Contractor;
    new.title = "Chief \"Quoted\" Officer".to_owned();
    new.manager_email = t.users().first().map(|u| u.primary_email.clone());
    let added = t.add_user(new).map(|u| u.primary_email);
    let added = added.unwrap_or_default();
    let group = t.groups()[1].email.clone();
    let other = t.groups()[2].email.clone();
    let customer = t.customer_id().to_owned();
    for (key, role) in [
        (added.as_str(), Role::Owner),
        ("outsider@elsewhere.test", Role::Manager),
        (customer.as_str(), Role::Member),
        (other.as_str(), Role::Member),
    ] {
        let added = t.add_member(&group, key, role);
        assert!(
            matches!(added, Ok(_) | Err(Error::AlreadyExists(_))),
            "{key}: {added:?}"
        );
    }
    let some = t.users()[5].primary_email.clone();
    let rename = UserPatch {
        family_name: Some("Ängström".to_owned()),
        given_name: Some("ünïcode".to_owned()),
        ..UserPatch::default()
    };
    assert!(t.patch_user(&some, rename).is_ok());
    let member = t.groups()[1].members[0].id.clone();
    assert!(t.set_suspended(&member, true).is_ok() || t.remove_member(&group, &member).is_ok());
    let gone = t.users()[9].primary_email.clone();
    assert!(t.delete_user(&gone).is_ok());
    every_listing_both_ways(&t);
}
