//! The user events a push channel is told about (`users.watch`): every user mutation records one,
//! and the server drains them after each change (see `server/watch.rs`).

use super::Tenant;

/// What happened to a user, as Google names it in `X-Goog-Resource-State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum UserEventKind {
    /// `add`: a user was created.
    Add,
    /// `update`: a user changed (suspension, name, org unit, manager, ...).
    Update,
    /// `delete`: a user was deleted.
    Delete,
}

impl UserEventKind {
    /// The header value (`add`, `update`, `delete`), also the `event=` filter of `users.watch`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// One recorded event: its kind and the index of the user in [`Tenant::users`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UserEvent {
    pub(crate) kind: UserEventKind,
    pub(crate) user: usize,
}

impl Tenant {
    pub(super) fn record(&mut self, kind: UserEventKind, key: &str) {
        if let Some(user) = self.user_index.get(&key.to_ascii_lowercase()).copied() {
            self.user_events.push(UserEvent { kind, user });
        }
    }

    /// Takes the events recorded since the last call, oldest first.
    pub(crate) fn take_user_events(&mut self) -> Vec<UserEvent> {
        std::mem::take(&mut self.user_events)
    }
}
