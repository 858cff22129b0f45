// A primary is not a secondary: the role is part of the type and nothing converts it.
use dirsync_core::*;

fn demote(primary: Integration<Inbound, Primary>) -> Integration<Inbound, Secondary> {
    primary
}

fn main() {}
