//! # google-emulator
//!
//! A stateful fake of the Google Directory API and its OAuth token endpoint, served on
//! 127.0.0.1, for directory-sync's examples, end-to-end tests and benchmarks. **Not built
//! yet**: this crate is filled by the connector issue (tenants, pagination and partial
//! responses as Google serves them, token checks, fault and quota injection). Library code
//! never depends on it; it is a dev-dependency only. It has no public API yet.

#![warn(missing_docs)]
