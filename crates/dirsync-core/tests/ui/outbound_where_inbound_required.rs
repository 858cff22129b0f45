// Directory changes are made only for inbound integrations.
use dirsync_core::*;

fn write_directory(outbound: &Integration<Outbound>) -> DirectoryChanges {
    DirectoryChanges::new(outbound, Version::ZERO)
}

fn main() {}
