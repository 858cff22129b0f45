//! Listings written straight to JSON text through the `fields=` mask, without a
//! `serde_json::Value` per item: the same bytes as rendering the `Value`s ([`super::user`],
//! [`super::group`], [`super::member`], [`super::list`]), applying [`FieldMask::apply`] and
//! serializing, for a fraction of the allocations.
//!
//! A `Value`'s object keys are sorted (serde_json without `preserve_order`), and so is a masked
//! one's, so every object here writes its keys in byte order and skips those the mask leaves out.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use sha2::{Digest, Sha256};

use super::{FieldMask, etag_prefix, etag_text};
use crate::tenant::{Group, Membership, Tenant, User};

/// A value that writes itself as JSON through a field mask (`None` = the whole value).
pub(crate) trait Masked {
    /// Writes the value as `mask` keeps it.
    fn write<S: Serializer>(&self, mask: Option<&FieldMask>, s: S) -> Result<S::Ok, S::Error>;
}

/// `value` through `mask`, as a [`Serialize`].
pub(crate) struct Through<'a, T: ?Sized>(pub(crate) &'a T, pub(crate) Option<&'a FieldMask>);

impl<T: Masked + ?Sized> Serialize for Through<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.write(self.1, s)
    }
}

/// A mask applies to each element of an array.
impl<T: Masked> Masked for [T] {
    fn write<S: Serializer>(&self, mask: Option<&FieldMask>, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for item in self {
            seq.serialize_element(&Through(item, mask))?;
        }
        seq.end()
    }
}

/// An object being written: keys in byte order, each kept when the mask names it.
struct Obj<'m, M> {
    map: M,
    mask: Option<&'m FieldMask>,
}

impl<'m, M: SerializeMap> Obj<'m, M> {
    fn start<S: Serializer<SerializeMap = M>>(
        s: S,
        mask: Option<&'m FieldMask>,
    ) -> Result<Self, S::Error> {
        Ok(Self {
            map: s.serialize_map(None)?,
            mask,
        })
    }

    /// `Some(sub-mask)` when `key` is kept.
    fn sub(&self, key: &str) -> Option<Option<&'m FieldMask>> {
        match self.mask {
            None => Some(None),
            Some(m) => m.field(key),
        }
    }

    /// A scalar or an array of scalars (a sub-mask does not change those).
    fn plain<V: Serialize + ?Sized>(&mut self, key: &str, v: &V) -> Result<(), M::Error> {
        match self.sub(key) {
            Some(_) => self.map.serialize_entry(key, v),
            None => Ok(()),
        }
    }

    /// An object or an array of objects, written through the key's sub-mask.
    fn nested<V: Masked + ?Sized>(&mut self, key: &str, v: &V) -> Result<(), M::Error> {
        match self.sub(key) {
            Some(sub) => self.map.serialize_entry(key, &Through(v, sub)),
            None => Ok(()),
        }
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.map.end()
    }
}

/// An item's etag: the hash of its compact JSON without the etag (as `super::with_etag`).
fn item_etag<T: Masked>(prefix: &str, item: &T) -> String {
    let mut hasher = Sha256::new();
    let mut ser = serde_json::Serializer::new(&mut hasher);
    if item.write(None, &mut ser).is_err() {
        // Writing into a hash cannot fail.
        hasher.update(b"unserializable");
    }
    etag_text(prefix, &hasher.finalize())
}

/// A user as [`super::user`] renders it.
pub(crate) struct UserJson<'a> {
    tenant: &'a Tenant,
    u: &'a User,
    etag: Option<String>,
}

struct Email<'a>(&'a str, bool);
impl Masked for Email<'_> {
    fn write<S: Serializer>(&self, mask: Option<&FieldMask>, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::start(s, mask)?;
        o.plain("address", self.0)?;
        if self.1 {
            o.plain("primary", &true)?;
        }
        o.end()
    }
}

/// `externalIds[]`: (custom type, value), no custom type = `organization`.
struct ExternalId<'a>(Option<&'a str>, &'a str);
impl Masked for ExternalId<'_> {
    fn write<S: Serializer>(&self, mask: Option<&FieldMask>, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::start(s, mask)?;
        if let Some(t) = self.0 {
            o.plain("customType", t)?;
            o.plain("type", "custom")?;
        } else {
            o.plain("type", "organization")?;
        }
        o.plain("value", self.1)?;
        o.end()
    }
}

struct Manager<'a>(&'a str);
impl Masked for Manager<'_> {
    fn write<S: Serializer>(&self, mask: Option<&FieldMask>, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::start(s, mask)?;
        o.plain("type", "manager")?;
        o.plain("value", self.0)?;
        o.end()
    }
}

struct Name<'a>(&'a User, &'a str);
impl Masked for Name<'_> {
    fn write<S: Serializer>(&self, mask: Option<&FieldMask>, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::start(s, mask)?;
        o.plain("displayName", self.1)?;
        o.plain("familyName", &self.0.family_name)?;
        o.plain("fullName", self.1)?;
        o.plain("givenName", &self.0.given_name)?;
        o.end()
    }
}

struct Organization<'a>(&'a User);
impl Masked for Organization<'_> {
    fn write<S: Serializer>(&self, mask: Option<&FieldMask>, s: S) -> Result<S::Ok, S::Error> {
        let u = self.0;
        let mut o = Obj::start(s, mask)?;
        if !u.cost_center.is_empty() {
            o.plain("costCenter", &u.cost_center)?;
        }
        o.plain("customType", "")?;
        if !u.department.is_empty() {
            o.plain("department", &u.department)?;
        }
        o.plain("description", u.employment.as_str())?;
        o.plain("primary", &true)?;
        if !u.title.is_empty() {
            o.plain("title", &u.title)?;
        }
        o.end()
    }
}

impl<'a> UserJson<'a> {
    pub(crate) fn new(tenant: &'a Tenant, prefix: &str, u: &'a User) -> Self {
        let mut j = Self {
            tenant,
            u,
            etag: None,
        };
        j.etag = Some(item_etag(prefix, &j));
        j
    }
}

impl Masked for UserJson<'_> {
    fn write<S: Serializer>(&self, mask: Option<&FieldMask>, s: S) -> Result<S::Ok, S::Error> {
        let u = self.u;
        let mut o = Obj::start(s, mask)?;
        o.plain("agreedToTerms", &true)?;
        if !u.aliases.is_empty() {
            o.plain("aliases", &u.aliases)?;
        }
        o.plain("archived", &false)?;
        o.plain(
            "changePasswordAtNextLogin",
            &u.change_password_at_next_login,
        )?;
        o.plain("creationTime", &u.creation_time)?;
        o.plain("customerId", self.tenant.customer_id())?;
        if let Some(d) = &u.deletion_time {
            o.plain("deletionTime", d)?;
        }
        if o.sub("emails").is_some() {
            let mut emails = vec![Email(&u.primary_email, true)];
            emails.extend(u.aliases.iter().map(|a| Email(a, false)));
            o.nested("emails", &emails[..])?;
        }
        if let Some(e) = &self.etag {
            o.plain("etag", e)?;
        }
        if o.sub("externalIds").is_some() {
            let mut ids: Vec<ExternalId<'_>> =
                u.employee_id.iter().map(|e| ExternalId(None, e)).collect();
            ids.extend(u.custom_ids.iter().map(|(t, v)| ExternalId(Some(t), v)));
            if !ids.is_empty() {
                o.nested("externalIds", &ids[..])?;
            }
        }
        o.plain("id", &u.id)?;
        o.plain("includeInGlobalAddressList", &true)?;
        o.plain("ipWhitelisted", &false)?;
        o.plain("isAdmin", &u.is_admin)?;
        o.plain("isDelegatedAdmin", &false)?;
        o.plain("isEnforcedIn2Sv", &false)?;
        o.plain("isEnrolledIn2Sv", &false)?;
        o.plain("isMailboxSetup", &true)?;
        o.plain("kind", "admin#directory#user")?;
        o.plain("lastLoginTime", &u.last_login_time)?;
        if o.sub("name").is_some() {
            let full = format!("{} {}", u.given_name, u.family_name);
            o.nested("name", &Name(u, &full))?;
        }
        o.plain("orgUnitPath", &u.org_unit_path)?;
        o.nested("organizations", &[Organization(u)][..])?;
        o.plain("primaryEmail", &u.primary_email)?;
        if let Some(m) = &u.manager_email {
            o.nested("relations", &[Manager(m)][..])?;
        }
        o.plain("suspended", &u.suspended)?;
        if u.suspended {
            o.plain("suspensionReason", "ADMIN")?;
        }
        o.end()
    }
}

/// A group as [`super::group`] renders it.
pub(crate) struct GroupJson<'a> {
    g: &'a Group,
    etag: Option<String>,
}

impl<'a> GroupJson<'a> {
    pub(crate) fn new(prefix: &str, g: &'a Group) -> Self {
        let mut j = Self { g, etag: None };
        j.etag = Some(item_etag(prefix, &j));
        j
    }
}

impl Masked for GroupJson<'_> {
    fn write<S: Serializer>(&self, mask: Option<&FieldMask>, s: S) -> Result<S::Ok, S::Error> {
        let g = self.g;
        let mut o = Obj::start(s, mask)?;
        o.plain("adminCreated", &g.admin_created)?;
        if !g.aliases.is_empty() {
            o.plain("aliases", &g.aliases)?;
        }
        o.plain("description", &g.description)?;
        if o.sub("directMembersCount").is_some() {
            o.plain("directMembersCount", &g.members.len().to_string())?;
        }
        o.plain("email", &g.email)?;
        if let Some(e) = &self.etag {
            o.plain("etag", e)?;
        }
        o.plain("id", &g.id)?;
        o.plain("kind", "admin#directory#group")?;
        o.plain("name", &g.name)?;
        o.end()
    }
}

/// A member as [`super::member`] renders it.
pub(crate) struct MemberJson<'a> {
    m: &'a Membership,
    status: Option<&'static str>,
    etag: Option<String>,
}

impl<'a> MemberJson<'a> {
    /// `status` as [`super::member_status`] gives it.
    pub(crate) fn new(prefix: &str, m: &'a Membership, status: Option<&'static str>) -> Self {
        let mut j = Self {
            m,
            status,
            etag: None,
        };
        j.etag = Some(item_etag(prefix, &j));
        j
    }
}

impl Masked for MemberJson<'_> {
    fn write<S: Serializer>(&self, mask: Option<&FieldMask>, s: S) -> Result<S::Ok, S::Error> {
        let m = self.m;
        let mut o = Obj::start(s, mask)?;
        if let Some(e) = &m.email {
            o.plain("email", e)?;
        }
        if let Some(e) = &self.etag {
            o.plain("etag", e)?;
        }
        o.plain("id", &m.id)?;
        o.plain("kind", "admin#directory#member")?;
        o.plain("role", m.role.as_str())?;
        if let Some(st) = self.status {
            o.plain("status", st)?;
        }
        o.plain("type", m.member_type.as_str())?;
        o.end()
    }
}

/// A listing's page as [`super::list`] renders it.
pub(crate) struct ListJson<'a, T> {
    kind: &'a str,
    key: &'a str,
    items: Vec<T>,
    etag: String,
    next: Option<String>,
}

/// An item with its etag.
pub(crate) trait Tagged: Masked {
    /// The item's etag.
    fn etag(&self) -> &str;
}

macro_rules! tagged {
    ($($t:ident),*) => {$(
        impl Tagged for $t<'_> {
            fn etag(&self) -> &str {
                self.etag.as_deref().unwrap_or_default()
            }
        }
    )*};
}
tagged!(UserJson, GroupJson, MemberJson);

impl<'a, T: Tagged> ListJson<'a, T> {
    pub(crate) fn new(
        tenant: &Tenant,
        kind: &'a str,
        key: &'a str,
        items: Vec<T>,
        next: Option<String>,
    ) -> Self {
        let tags: Vec<&str> = items.iter().map(Tagged::etag).collect();
        let mut hasher = Sha256::new();
        if serde_json::to_writer(&mut hasher, &tags).is_err() {
            hasher.update(b"unserializable");
        }
        let etag = etag_text(&etag_prefix(tenant), &hasher.finalize());
        Self {
            kind,
            key,
            items,
            etag,
            next,
        }
    }
}

impl<T: Masked> Masked for ListJson<'_, T> {
    fn write<S: Serializer>(&self, mask: Option<&FieldMask>, s: S) -> Result<S::Ok, S::Error> {
        let mut keys = ["etag", self.key, "kind", "nextPageToken"];
        keys.sort_unstable();
        let mut o = Obj::start(s, mask)?;
        for k in keys {
            match k {
                "etag" => o.plain(k, &self.etag)?,
                "kind" => o.plain(k, self.kind)?,
                "nextPageToken" => {
                    if let Some(n) = &self.next {
                        o.plain(k, n)?;
                    }
                }
                _ if self.items.is_empty() => {}
                _ => o.nested(k, &self.items[..])?,
            }
        }
        o.end()
    }
}

/// The body of `v` through `mask`, pretty-printed when asked (as `serde_json`'s writers do).
pub(crate) fn to_body<T: Masked + ?Sized>(
    v: &T,
    mask: Option<&FieldMask>,
    pretty: bool,
) -> Result<Vec<u8>, serde_json::Error> {
    let v = Through(v, mask);
    if pretty {
        serde_json::to_vec_pretty(&v)
    } else {
        serde_json::to_vec(&v)
    }
}
