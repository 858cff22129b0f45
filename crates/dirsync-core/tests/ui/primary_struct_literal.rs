// ...and its fields are private, so it cannot be built by hand either.
use dirsync_core::*;

fn forge(record: IntegrationRecord) -> Integration<Inbound, Primary> {
    Integration { record, _marker: std::marker::PhantomData }
}

fn main() {}
