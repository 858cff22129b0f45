//! Deserializing the validated text newtypes ([`ExternalId`](crate::ExternalId),
//! [`Email`](crate::Email)) straight from the input's text: a string the deserializer can lend
//! (JSON without escapes) is validated and copied once into the compact form, never through an
//! owned `String` first.

use std::fmt;

use serde::de::{self, Visitor};

use crate::Error;

/// A serde visitor that builds a `T` from a string with `make`, which validates it.
pub(crate) struct Validated<T> {
    expecting: &'static str,
    make: fn(&str) -> Result<T, Error>,
}

impl<T> Validated<T> {
    /// A visitor for `expecting` (e.g. "an email"), built with `make`.
    pub(crate) fn new(expecting: &'static str, make: fn(&str) -> Result<T, Error>) -> Self {
        Self { expecting, make }
    }
}

impl<T> Visitor<'_> for Validated<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        (self.make)(value).map_err(E::custom)
    }
}
