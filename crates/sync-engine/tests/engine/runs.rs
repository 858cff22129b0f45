//! Runner tests.
