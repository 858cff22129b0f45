// A profile operation cannot be made without the primary's authority.
use dirsync_core::*;

fn forge(user: UserId, profile: UserProfile) -> ProfileOp {
    ProfileOp(ProfileChange::UpdateProfile { user, profile })
}

fn main() {}
