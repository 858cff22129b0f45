//! Tenants: many directories in one database, a schema each.
//!
//! A tenant's tables are the default directory's tables in the schema `dirsync_tenant_<name>`;
//! a handle scoped to it sets `search_path` to that schema (and nothing else) on every
//! connection it takes from the shared pool, so every statement of the store — reads, the
//! rules' writes, the one-primary index, the unique email key, API tokens — sees that tenant's
//! rows and no other's, without a tenant predicate that a statement could forget.

use dirsync_store::{Error, Result};

use crate::codec::Db;

/// The prefix of every tenant's schema.
pub(crate) const SCHEMA_PREFIX: &str = "dirsync_tenant_";

/// The longest tenant name: the schema's name stays within PostgreSQL's 63-byte identifiers.
const MAX_LEN: usize = 63 - SCHEMA_PREFIX.len();

/// Which directory of the database a handle reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The tables of the URL's `search_path`: the directory of a store used without tenants.
    Default,
    /// The tables of one tenant's schema.
    Tenant(String),
}

impl Scope {
    /// The statement that points a pooled connection at this scope's tables. The default
    /// scope returns to the connection's own `search_path` (the URL's `options`, or the
    /// server's default).
    pub(crate) fn search_path_sql(&self) -> String {
        match self {
            Scope::Default => "RESET search_path".to_owned(),
            // The name is checked (lowercase letters, digits, `_`): quoting is enough.
            Scope::Tenant(name) => format!("SET search_path TO \"{SCHEMA_PREFIX}{name}\""),
        }
    }
}

/// Checks a tenant name: 1 to 48 characters, lowercase ASCII letters, digits and `_`,
/// starting with a letter.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() || name.len() > MAX_LEN {
        Some(format!("must be 1 to {MAX_LEN} characters long"))
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase())
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        Some("must start with a lowercase ASCII letter and hold only those, digits and '_'".into())
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(Error::Domain(dirsync_core::Error::InvalidValue {
            kind: "tenant name",
            value: name.chars().take(80).collect(),
            reason,
        })),
    }
}

/// The names of the database's tenants, sorted.
pub(crate) async fn names(client: &tokio_postgres::Client) -> Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT substr(nspname, $1) FROM pg_namespace \
             WHERE starts_with(nspname, $2) ORDER BY nspname",
            &[
                &i32::try_from(SCHEMA_PREFIX.len() + 1).unwrap_or(i32::MAX),
                &SCHEMA_PREFIX,
            ],
        )
        .await
        .db()?;
    Ok(rows
        .iter()
        .filter_map(|row| row.try_get::<_, String>(0).ok())
        .filter(|name| check_name(name).is_ok())
        .collect())
}
