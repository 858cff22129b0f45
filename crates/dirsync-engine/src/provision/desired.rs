//! The directory groups a [`GroupProvisioning`] rule provisions, read from the store's views of
//! the inbound integrations: each group's fields and direct members (users by their directory
//! primary email, nested groups by email). Pure.

use std::collections::{BTreeSet, HashMap};

use dirsync_core::{Email, ExternalId, GroupFields, GroupProvisioning, MemberKind, UserId};
use dirsync_store::LocalView;

use super::groups::{DesiredGroup, DesiredMember};

/// The groups of `views` that `rule` provisions, the first of each email; a group without a
/// name is named by its email (the remote needs one).
pub fn desired_groups(views: &[LocalView], rule: &GroupProvisioning) -> Vec<DesiredGroup> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for view in views {
        let emails: HashMap<UserId, &Email> = view
            .users
            .iter()
            .map(|u| (u.id, &u.profile.primary_email))
            .collect();
        let owner: HashMap<&ExternalId, &Email> = view
            .accounts
            .iter()
            .filter_map(|a| {
                let user = a.link?.user;
                emails.get(&user).map(|e| (&a.external_id, *e))
            })
            .collect();
        let group_email: HashMap<&ExternalId, &Email> = view
            .groups
            .iter()
            .map(|g| (&g.external_id, &g.email))
            .collect();
        let mut members: HashMap<&ExternalId, Vec<DesiredMember>> = HashMap::new();
        for m in &view.memberships {
            let email = match m.member.kind {
                MemberKind::User => owner.get(&m.member.external_id),
                MemberKind::Group => group_email.get(&m.member.external_id),
                MemberKind::Customer => None,
            };
            if let Some(email) = email {
                members
                    .entry(&m.group)
                    .or_default()
                    .push(DesiredMember::new((*email).clone(), m.member.kind, m.role));
            }
        }
        for group in &view.groups {
            if !rule.selects(view.integration, &group.email) || !seen.insert(group.email.key()) {
                continue;
            }
            let name = if group.name.trim().is_empty() {
                group.email.to_string()
            } else {
                group.name.clone()
            };
            out.push(DesiredGroup::new(
                GroupFields::new(group.email.clone(), name, group.description.clone()),
                members.remove(&group.external_id).unwrap_or_default(),
            ));
        }
    }
    out
}
