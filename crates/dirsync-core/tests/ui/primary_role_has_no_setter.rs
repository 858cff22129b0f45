// No method changes the role.
use dirsync_core::*;

fn demote(mut primary: Integration<Inbound, Primary>) {
    primary.set_role(RoleKind::Secondary);
}

fn main() {}
