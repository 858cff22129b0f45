//! Conversions between tokio-postgres, the domain types and the store's error: error mapping,
//! JSON records, instants, and the integer codes of the membership columns.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use dirsync_core::{MemberKind, MemberRole, Version};
use dirsync_store::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_postgres::error::SqlState;

/// The backend's name in errors.
pub(crate) const BACKEND: &str = "postgres";

/// `Unavailable` with a message.
pub(crate) fn unavailable(message: impl Into<String>) -> Error {
    Error::Unavailable {
        backend: BACKEND,
        source: message.into().into(),
    }
}

/// `Corrupt` with a detail naming the table and key.
pub(crate) fn corrupt(detail: impl Into<String>) -> Error {
    Error::Corrupt {
        backend: BACKEND,
        detail: detail.into(),
    }
}

/// Maps a driver error: a stored value of the wrong type is `Corrupt`; everything else
/// (connection, locks, constraint refusals) is `Unavailable` with the driver's error as its
/// source (which [`retryable`] inspects).
pub(crate) fn db_error(e: tokio_postgres::Error) -> Error {
    if e.as_db_error().is_none() && e.to_string().contains("error deserializing column") {
        return corrupt(format!("a stored value has the wrong type: {e}"));
    }
    Error::Unavailable {
        backend: BACKEND,
        source: Box::new(e),
    }
}

/// `.db()?` turns a driver result into the store's.
pub(crate) trait Db<T> {
    /// Maps the error with [`db_error`].
    fn db(self) -> Result<T, Error>;
}

impl<T> Db<T> for Result<T, tokio_postgres::Error> {
    fn db(self) -> Result<T, Error> {
        self.map_err(db_error)
    }
}

/// Whether a failed transaction should run again: a serialization failure or deadlock, or a
/// concurrent insert of the same integration or of a second primary (the retry then sees it).
pub(crate) fn retryable(e: &Error) -> bool {
    let Error::Unavailable { source, .. } = e else {
        return false;
    };
    let Some(db) = source
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(tokio_postgres::Error::as_db_error)
    else {
        return false;
    };
    let code = db.code();
    code == &SqlState::T_R_SERIALIZATION_FAILURE
        || code == &SqlState::T_R_DEADLOCK_DETECTED
        || (code == &SqlState::UNIQUE_VIOLATION
            && matches!(
                db.constraint(),
                Some("integrations_pkey" | "integrations_one_primary")
            ))
}

/// Serializes a value for a `record` column.
pub(crate) fn to_json<T: Serialize>(what: &str, value: &T) -> Result<String, Error> {
    serde_json::to_string(value)
        .map_err(|e| unavailable(format!("could not serialize {what}: {e}")))
}

/// Parses a `record` column; a failure is `Corrupt`, naming the table and key.
pub(crate) fn from_json<T: DeserializeOwned>(
    table: &str,
    key: &dyn Display,
    text: &str,
) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("{table} row {key}: {e}")))
}

/// An instant as (Unix seconds, nanoseconds within the second).
pub(crate) fn instant(at: DateTime<Utc>) -> (i64, i64) {
    (at.timestamp(), i64::from(at.timestamp_subsec_nanos()))
}

/// The instant stored as [`instant`]; `None` if the pair is out of range.
pub(crate) fn from_instant(secs: i64, nanos: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, u32::try_from(nanos).ok()?)
}

/// A version as a signed 64-bit integer (bit-for-bit, so every `u64` round-trips).
pub(crate) fn version_to_sql(version: Version) -> i64 {
    i64::from_ne_bytes(version.0.to_ne_bytes())
}

/// The version stored by [`version_to_sql`].
pub(crate) fn version_from_sql(value: i64) -> Version {
    Version(u64::from_ne_bytes(value.to_ne_bytes()))
}

/// A member kind's code: the order of the enum, so that `ORDER BY` agrees with `Ord`.
pub(crate) fn kind_code(kind: MemberKind) -> i16 {
    match kind {
        MemberKind::User => 0,
        MemberKind::Group => 1,
        MemberKind::Customer => 2,
    }
}

/// The member kind of a code.
pub(crate) fn kind_from_code(code: i16) -> Option<MemberKind> {
    match code {
        0 => Some(MemberKind::User),
        1 => Some(MemberKind::Group),
        2 => Some(MemberKind::Customer),
        _ => None,
    }
}

/// A member role's code.
pub(crate) fn role_code(role: MemberRole) -> i16 {
    match role {
        MemberRole::Owner => 0,
        MemberRole::Manager => 1,
        MemberRole::Member => 2,
    }
}

/// The member role of a code.
pub(crate) fn role_from_code(code: i16) -> Option<MemberRole> {
    match code {
        0 => Some(MemberRole::Owner),
        1 => Some(MemberRole::Manager),
        2 => Some(MemberRole::Member),
        _ => None,
    }
}
