//! The sync engine's tests: one binary (link time on 2 cores), one module per concern.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Tenants are built up field by field, as the story of each test goes.
#![allow(clippy::field_reassign_with_default)]

mod common;
mod golden;
mod hostile;
mod leases;
mod outbound;
mod props;
mod push;
mod rules;
mod runs;
