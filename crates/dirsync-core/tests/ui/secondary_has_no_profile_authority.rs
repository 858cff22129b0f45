// Only the primary writes profiles and lifecycles: a secondary has no authority to hand out.
use dirsync_core::*;

fn write_profiles(secondary: &Integration<Inbound, Secondary>) {
    let _authority = secondary.profile_authority();
}

fn main() {}
