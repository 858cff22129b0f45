// No method changes the role.
use directory_core::*;

fn demote(mut primary: Integration<Inbound, Primary>) {
    primary.set_role(RoleKind::Secondary);
}

fn main() {}
