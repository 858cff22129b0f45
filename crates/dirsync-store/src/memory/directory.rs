//! The unified directory (users and their accounts) and one integration's local view of its
//! accounts, groups, memberships and org units. Written only by applies (see [`super::tx`]).

use dirsync_core::{Account, DirectoryUser, Email, IntegrationId, UserId};

use super::{State, of_integration};
use crate::{LocalView, Result};

pub(super) fn view(state: &State, integration: IntegrationId) -> Result<LocalView> {
    state.known(integration)?;
    Ok(LocalView {
        integration,
        version: state
            .versions
            .get(&integration)
            .copied()
            .unwrap_or_default(),
        accounts: of_integration(&state.accounts, integration),
        groups: of_integration(&state.groups, integration),
        memberships: of_integration(&state.memberships, integration),
        org_units: of_integration(&state.org_units, integration),
        users: state.users.values().cloned().collect(),
    })
}

pub(super) fn user_by_email(state: &State, email: &Email) -> Option<DirectoryUser> {
    state
        .emails
        .get(&email.key())
        .and_then(|id| state.users.get(id))
        .cloned()
}

pub(super) fn accounts_of(state: &State, user: UserId) -> Vec<Account> {
    state
        .accounts
        .values()
        .filter(|a| a.link.is_some_and(|l| l.user == user))
        .cloned()
        .collect()
}
