// An outbound primary is not even a type: `Primary` is a role of `Inbound` only.
use dirsync_core::*;

fn impossible(_: Integration<Outbound, Primary>) {}

fn main() {}
