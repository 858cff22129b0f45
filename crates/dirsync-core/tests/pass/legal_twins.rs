// The legal forms of everything `tests/ui` forbids.
use dirsync_core::*;

fn primary_writes_profiles(primary: &Integration<Inbound, Primary>) -> DirectoryChanges {
    let mut changes = DirectoryChanges::new(primary, Version::ZERO);
    let authority = primary.profile_authority();
    let op = authority.update_profile(UserId::random(), UserProfile::new(Email::new("a@b.co").unwrap()));
    changes.push(DirectoryOp::Profile(op));
    changes
}

fn secondary_links_accounts(secondary: &Integration<Inbound, Secondary>) -> DirectoryChanges {
    DirectoryChanges::new(secondary, Version::ZERO)
}

fn outbound_writes_the_remote(outbound: &Integration<Outbound>) -> RemoteChanges {
    RemoteChanges::new(outbound, Version::ZERO)
}

fn primary_can_be_renamed(mut primary: Integration<Inbound, Primary>) -> AnyIntegration {
    primary.set_title("renamed").unwrap();
    AnyIntegration::from(primary)
}

fn main() {
    let _ = (primary_writes_profiles, secondary_links_accounts, outbound_writes_the_remote, primary_can_be_renamed);
}
