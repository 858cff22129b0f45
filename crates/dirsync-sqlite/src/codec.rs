//! Conversions between rusqlite, the domain types and the store's error: error mapping, JSON
//! records, instants, and the integer codes of the membership columns.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use dirsync_core::{MemberKind, MemberRole, Version};
use dirsync_store::Error;
use rusqlite::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The backend's name in errors.
pub(crate) const BACKEND: &str = "sqlite";

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

/// Maps a driver error: a malformed file or a stored value of the wrong type is `Corrupt`;
/// everything else (IO, locks, constraint refusals) is `Unavailable` with the driver's error
/// as its source.
pub(crate) fn db_error(e: rusqlite::Error) -> Error {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) =>
        {
            corrupt(e.to_string())
        }
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => {
            corrupt(format!("a stored value has the wrong type: {e}"))
        }
        _ => Error::Unavailable {
            backend: BACKEND,
            source: Box::new(e),
        },
    }
}

/// `.db()?` turns a rusqlite result into the store's.
pub(crate) trait Db<T> {
    /// Maps the error with [`db_error`].
    fn db(self) -> Result<T, Error>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, Error> {
        self.map_err(db_error)
    }
}

/// Serializes a value for a `record` column.
pub(crate) fn to_json<T: Serialize>(what: &str, value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Unavailable {
        backend: BACKEND,
        source: format!("could not serialize {what}: {e}").into(),
    })
}

/// Parses a `record` column; a failure is `Corrupt`, naming the table and key.
pub(crate) fn from_json<T: DeserializeOwned>(
    table: &str,
    key: &dyn Display,
    text: &str,
) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("{table} row {key}: {e}")))
}

/// An instant as (Unix seconds, nanoseconds within the second): exact for every chrono
/// instant, and ordered like `DateTime<Utc>` when compared as a pair.
pub(crate) fn instant(at: DateTime<Utc>) -> (i64, i64) {
    (at.timestamp(), i64::from(at.timestamp_subsec_nanos()))
}

/// The instant stored as [`instant`]; `None` if the pair is out of range.
pub(crate) fn from_instant(secs: i64, nanos: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, u32::try_from(nanos).ok()?)
}

/// A version as SQLite's signed 64-bit integer (bit-for-bit, so every `u64` round-trips).
pub(crate) fn version_to_sql(version: Version) -> i64 {
    i64::from_ne_bytes(version.0.to_ne_bytes())
}

/// The version stored by [`version_to_sql`].
pub(crate) fn version_from_sql(value: i64) -> Version {
    Version(u64::from_ne_bytes(value.to_ne_bytes()))
}

/// A member kind's code: the order of the enum, so that `ORDER BY` agrees with `Ord`.
pub(crate) fn kind_code(kind: MemberKind) -> i64 {
    match kind {
        MemberKind::User => 0,
        MemberKind::Group => 1,
        MemberKind::Customer => 2,
    }
}

/// The member kind of a code.
pub(crate) fn kind_from_code(code: i64) -> Option<MemberKind> {
    match code {
        0 => Some(MemberKind::User),
        1 => Some(MemberKind::Group),
        2 => Some(MemberKind::Customer),
        _ => None,
    }
}

/// A member role's code.
pub(crate) fn role_code(role: MemberRole) -> i64 {
    match role {
        MemberRole::Owner => 0,
        MemberRole::Manager => 1,
        MemberRole::Member => 2,
    }
}

/// The member role of a code.
pub(crate) fn role_from_code(code: i64) -> Option<MemberRole> {
    match code {
        0 => Some(MemberRole::Owner),
        1 => Some(MemberRole::Manager),
        2 => Some(MemberRole::Member),
        _ => None,
    }
}

/// A row count as `u64`.
pub(crate) fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
