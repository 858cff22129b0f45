//! Outbound rules: who should be a member of a managed remote group, selected from the
//! directory, and the ownership records of the memberships an outbound integration created.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    AttributeValue, Attributes, DirectoryAttributes, DirectoryUser, Email, EmploymentType, Error,
    ExternalId, IntegrationId, MemberRole, OrgUnitPath, UserStatus,
};

/// Who should be a member of one managed remote group (e.g. a Google group), and how far the
/// integration may go in making it so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupAssignment {
    /// The managed group's address in the remote.
    pub group: Email,
    /// Who should be a member.
    pub select: Selector,
    /// The role members get (default `member`).
    #[serde(default = "default_role")]
    pub role: MemberRole,
    /// Also select suspended and deprovisioned users (default: only active users).
    #[serde(default)]
    pub include_inactive: bool,
    /// The integration owns the whole membership of the group: members nobody selected are
    /// removed even if they were added by hand. Default `false`: only memberships this
    /// integration created are ever removed.
    #[serde(default)]
    pub fully_managed: bool,
    /// Set the rule's role back (`members.patch`) on a selected member whose role drifted, if
    /// this integration created the membership or the group is fully managed. Default `false`:
    /// roles are set only when a member is inserted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_roles: bool,
}

fn default_role() -> MemberRole {
    MemberRole::Member
}

impl GroupAssignment {
    /// Members of `group` are the users `select` picks: active ones only, role `member`, and
    /// hand-added members are left alone.
    pub fn new(group: Email, select: Selector) -> Self {
        Self {
            group,
            select,
            role: MemberRole::Member,
            include_inactive: false,
            fully_managed: false,
            keep_roles: false,
        }
    }

    /// Whether `person` should be a member.
    pub fn selects(&self, person: &Person<'_>) -> bool {
        (self.include_inactive || person.user.status == UserStatus::Active)
            && self.select.matches(person)
    }
}

/// A selection of directory users. Combine with [`Selector::All`] (and), [`Selector::Any`]
/// (or) and [`Selector::Not`].
///
/// Serialized as an externally tagged object, e.g.
/// `{"all": [{"org_unit": "/Engineering"}, {"employment_type": "employee"}]}` or
/// `{"attribute": {"name": "department", "value": "Engineering"}}`; unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Selector {
    /// Everyone in the directory.
    Everyone,
    /// Users in this org unit or below it.
    OrgUnit(OrgUnitPath),
    /// Members of this directory group (as an inbound integration reported it), directly or
    /// through nested groups.
    Group(Email),
    /// Users of this employment type.
    EmploymentType(EmploymentType),
    /// Users in this status (useful with `include_inactive`).
    Status(UserStatus),
    /// Users whose directory attribute `name` has this value, or with this per-vendor
    /// attribute value on any of their accounts (a text equal to `value`, a list containing it,
    /// a number or boolean written as `value`).
    Attribute {
        /// The attribute's name.
        name: String,
        /// The value to match.
        value: String,
    },
    /// Every one of these.
    All(Vec<Selector>),
    /// Any one of these.
    Any(Vec<Selector>),
    /// Not this.
    Not(Box<Selector>),
}

/// What a selector can see of one directory user.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    /// The directory user.
    pub user: &'a DirectoryUser,
    /// The directory groups they belong to, directly or through nested groups.
    pub groups: &'a BTreeSet<Email>,
    /// The attributes of each of their accounts.
    pub attributes: &'a [Attributes],
    /// Their directory attributes (settled from the accounts by the configured mapping).
    pub directory: &'a DirectoryAttributes,
}

impl Selector {
    /// Whether `person` is selected.
    pub fn matches(&self, person: &Person<'_>) -> bool {
        let profile = &person.user.profile;
        match self {
            Self::Everyone => true,
            Self::OrgUnit(root) => profile.org_unit.as_ref().is_some_and(|p| p.is_within(root)),
            Self::Group(group) => person.groups.contains(group),
            Self::EmploymentType(t) => profile.employment_type == Some(*t),
            Self::Status(s) => person.user.status == *s,
            Self::Attribute { name, value } => {
                person
                    .directory
                    .get(name)
                    .is_some_and(|a| attribute_matches(&a.value, value))
                    || person
                        .attributes
                        .iter()
                        .filter_map(|attrs| attrs.get(name))
                        .any(|v| attribute_matches(v, value))
            }
            Self::All(all) => all.iter().all(|s| s.matches(person)),
            Self::Any(any) => any.iter().any(|s| s.matches(person)),
            Self::Not(s) => !s.matches(person),
        }
    }

    /// The directory groups the selector refers to (whose membership must be known).
    pub fn groups(&self) -> BTreeSet<&Email> {
        let mut out = BTreeSet::new();
        self.collect_groups(&mut out);
        out
    }

    fn collect_groups<'a>(&'a self, out: &mut BTreeSet<&'a Email>) {
        match self {
            Self::Group(g) => {
                out.insert(g);
            }
            Self::All(v) | Self::Any(v) => v.iter().for_each(|s| s.collect_groups(out)),
            Self::Not(s) => s.collect_groups(out),
            _ => {}
        }
    }

    /// Parses a selector from its JSON form.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] naming what is wrong.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|e| Error::InvalidValue {
            kind: "selector",
            value: crate::error::clip(text),
            reason: e.to_string(),
        })
    }
}

fn attribute_matches(v: &AttributeValue, wanted: &str) -> bool {
    match v {
        AttributeValue::Text(s) => s == wanted,
        AttributeValue::List(items) => items.iter().any(|s| s == wanted),
        AttributeValue::Int(n) => n.to_string() == wanted,
        AttributeValue::Bool(b) => b.to_string() == wanted,
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, v: &[Selector], op: &str| {
            f.write_str("(")?;
            for (i, s) in v.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{s}")?;
            }
            f.write_str(")")
        };
        match self {
            Self::Everyone => f.write_str("everyone"),
            Self::OrgUnit(p) => write!(f, "org unit {p}"),
            Self::Group(g) => write!(f, "member of {g}"),
            Self::EmploymentType(t) => write!(f, "{t}s"),
            Self::Status(s) => write!(f, "{s} users"),
            Self::Attribute { name, value } => write!(f, "{name} = {value}"),
            Self::All(v) => join(f, v, "and"),
            Self::Any(v) => join(f, v, "or"),
            Self::Not(s) => write!(f, "not {s}"),
        }
    }
}

/// A membership an outbound integration created in the remote: it may remove it later.
/// Memberships it found there (added by hand or by anyone else) have no record and are never
/// removed unless the rule declares the group fully managed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedMembership {
    /// The outbound integration.
    pub integration: IntegrationId,
    /// The remote group's id.
    pub group: ExternalId,
    /// The member's email.
    pub member: Email,
    /// The role it was given.
    pub role: MemberRole,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A change to an outbound integration's ownership records, after the remote confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OwnershipChange {
    /// The integration created this membership.
    Claim(OwnedMembership),
    /// The membership is gone from the remote; forget it.
    Release {
        /// The remote group's id.
        group: ExternalId,
        /// The member's email.
        member: Email,
    },
    /// The remote group with this email is the integration's (or, pending, may be): recorded
    /// before its `groups.insert`, and again once the remote confirmed the insert or adoption.
    ClaimGroup(crate::OwnedGroup),
    /// The remote group with this email is no longer the integration's (deleted); forget it.
    ReleaseGroup {
        /// The group's email.
        email: Email,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::{Lifecycle, UserId, UserProfile};

    fn user(ou: &str, t: EmploymentType, status: UserStatus) -> DirectoryUser {
        let mut profile = UserProfile::new(Email::new("a@example.com").unwrap());
        profile.org_unit = Some(OrgUnitPath::new(ou).unwrap());
        profile.employment_type = Some(t);
        DirectoryUser {
            id: UserId::random(),
            profile,
            status,
            lifecycle: Lifecycle::default(),
        }
    }

    #[test]
    fn selectors_combine_and_read_every_fact() {
        let u = user(
            "/Eng/Platform",
            EmploymentType::Employee,
            UserStatus::Active,
        );
        let groups = BTreeSet::from([Email::new("eng@example.com").unwrap()]);
        let attrs: Attributes = [
            (
                "department".to_owned(),
                AttributeValue::Text("Engineering".into()),
            ),
            (
                "tags".to_owned(),
                AttributeValue::List(vec!["oncall".into()]),
            ),
            ("level".to_owned(), AttributeValue::Int(3)),
        ]
        .into();
        let directory = crate::DirectoryAttributes::from([(
            "costCenter".to_owned(),
            crate::DirectoryAttribute {
                value: AttributeValue::Text("CC-7".into()),
                integration: IntegrationId::random(),
                source: "cost_center".into(),
                since: chrono::Utc::now(),
            },
        )]);
        let person = Person {
            user: &u,
            groups: &groups,
            attributes: std::slice::from_ref(&attrs),
            directory: &directory,
        };
        let eng = Selector::OrgUnit(OrgUnitPath::new("/Eng").unwrap());
        let sales = Selector::OrgUnit(OrgUnitPath::new("/Sales").unwrap());
        let dept = |v: &str| Selector::Attribute {
            name: "department".into(),
            value: v.into(),
        };
        assert!(eng.matches(&person));
        assert!(!sales.matches(&person));
        assert!(Selector::Group(Email::new("ENG@example.com").unwrap()).matches(&person));
        assert!(dept("Engineering").matches(&person));
        assert!(
            !dept("engineering").matches(&person),
            "attribute values are exact"
        );
        for (name, value) in [("tags", "oncall"), ("level", "3"), ("costCenter", "CC-7")] {
            let s = Selector::Attribute {
                name: name.into(),
                value: value.into(),
            };
            assert!(s.matches(&person), "{s}");
        }
        assert!(Selector::All(vec![eng.clone(), dept("Engineering")]).matches(&person));
        assert!(!Selector::All(vec![eng.clone(), sales.clone()]).matches(&person));
        assert!(Selector::Any(vec![sales.clone(), eng.clone()]).matches(&person));
        assert!(Selector::Not(Box::new(sales)).matches(&person));
        assert!(Selector::EmploymentType(EmploymentType::Employee).matches(&person));
        assert!(!Selector::EmploymentType(EmploymentType::Contractor).matches(&person));
    }

    #[test]
    fn only_active_users_unless_the_rule_says_otherwise() {
        let u = user("/Eng", EmploymentType::Employee, UserStatus::Suspended);
        let groups = BTreeSet::new();
        let person = Person {
            user: &u,
            groups: &groups,
            attributes: &[],
            directory: &crate::DirectoryAttributes::new(),
        };
        let mut a = GroupAssignment::new(Email::new("g@example.com").unwrap(), Selector::Everyone);
        assert!(!a.selects(&person));
        a.include_inactive = true;
        assert!(a.selects(&person));
    }

    #[test]
    fn selectors_round_trip_as_json_and_refuse_unknown_keys() {
        let s = Selector::from_json(
            r#"{"all": [{"org_unit": "/Engineering"}, {"not": {"employment_type": "contractor"}},
                        {"attribute": {"name": "department", "value": "Engineering"}}]}"#,
        )
        .unwrap();
        let back = Selector::from_json(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(s, back);
        assert_eq!(
            s.to_string(),
            "(org unit /Engineering and not contractors and department = Engineering)"
        );
        assert!(Selector::from_json(r#"{"org_units": "/Engineering"}"#).is_err());
        assert!(Selector::from_json(r#"{"org_unit": "no-slash"}"#).is_err());
        let a: GroupAssignment =
            serde_json::from_str(r#"{"group": "eng@example.com", "select": "everyone"}"#).unwrap();
        assert_eq!(a.role, MemberRole::Member);
        assert!(!a.fully_managed && !a.include_inactive);
    }
}
