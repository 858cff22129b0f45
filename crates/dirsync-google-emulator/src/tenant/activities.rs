//! The group activities the Reports API shows (issue 19 point 3): every group and membership
//! change of the tenant records one, numbered and timed; the server renders them for the
//! applications `groups_enterprise` and `admin` (see `server/reports.rs`).

use chrono::{DateTime, SubsecRound as _, Utc};

use super::Tenant;

/// What happened to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GroupEvent {
    /// A group was created.
    CreateGroup,
    /// A group was deleted.
    DeleteGroup,
    /// A member was added.
    AddMember,
    /// A member was removed.
    RemoveMember,
    /// A member's role changed.
    ChangeMemberRole,
    /// The group's settings (email, name, description) changed.
    ChangeGroupSettings,
}

impl GroupEvent {
    /// The event's name in the `groups_enterprise` application.
    pub fn groups_enterprise_name(self) -> &'static str {
        match self {
            Self::CreateGroup => "create_group",
            Self::DeleteGroup => "delete_group",
            Self::AddMember => "add_member",
            Self::RemoveMember => "remove_member",
            Self::ChangeMemberRole => "change_member_role",
            Self::ChangeGroupSettings => "change_info_setting",
        }
    }

    /// The event's name in the `admin` application.
    pub fn admin_name(self) -> &'static str {
        match self {
            Self::CreateGroup => "CREATE_GROUP",
            Self::DeleteGroup => "DELETE_GROUP",
            Self::AddMember => "ADD_GROUP_MEMBER",
            Self::RemoveMember => "REMOVE_GROUP_MEMBER",
            Self::ChangeMemberRole => "UPDATE_GROUP_MEMBER",
            Self::ChangeGroupSettings => "CHANGE_GROUP_SETTING",
        }
    }
}

/// One recorded group activity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupActivity {
    /// Its number in the tenant (unique, increasing).
    pub seq: u64,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// What happened.
    pub event: GroupEvent,
    /// The group's email (at the time).
    pub group_email: String,
    /// The member's email, for member events (or its id when it has no email).
    pub member: Option<String>,
    /// The member's role, for member events (`MEMBER`, `MANAGER`, `OWNER`).
    pub role: Option<String>,
}

impl Tenant {
    /// Records a group activity now.
    pub(super) fn record_group(
        &mut self,
        event: GroupEvent,
        group_email: &str,
        member: Option<(&str, &str)>,
    ) {
        self.activity_seq += 1;
        self.group_activities.push(GroupActivity {
            seq: self.activity_seq,
            // Google's activity times have millisecond precision.
            time: Utc::now().trunc_subsecs(3),
            event,
            group_email: group_email.to_owned(),
            member: member.map(|(m, _)| m.to_owned()),
            role: member.map(|(_, r)| r.to_owned()),
        });
    }

    /// Every group activity recorded since the emulator started, oldest first.
    pub fn group_activities(&self) -> &[GroupActivity] {
        &self.group_activities
    }

    /// Forgets the recorded activities (changes before the start are the initial state).
    pub(crate) fn clear_group_activities(&mut self) {
        self.group_activities.clear();
    }
}
