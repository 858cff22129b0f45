// Direction is fixed at creation: an inbound integration never becomes an outbound one.
use dirsync_core::*;

fn flip(inbound: Integration<Inbound, Secondary>) -> Integration<Outbound, Secondary> {
    inbound
}

fn main() {}
