//! The sync engine's tests: one binary (link time on 2 cores), one module per concern.

mod common;
mod props;
mod rules;
mod runs;
