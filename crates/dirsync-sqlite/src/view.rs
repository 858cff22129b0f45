//! [`Store::view`](dirsync_store::Store::view): one integration's view, read in one state.
//!
//! On a file store the view is read on up to three read connections at once, each part in a
//! read transaction of its own: the memberships (most of the rows) on one thread, the accounts
//! (half of the records to parse) on another when a third connection is free, and the rest
//! (users, groups, org units) on the caller's. WAL lets read transactions see different
//! commits, so each also reads the integration's version: every write of the integration's own
//! rows (an apply, or removing it) changes or removes that version, so equal versions mean all
//! read the same rows of it. When they differ (an apply committed between the starts) the read
//! is tried again, and after a few tries, or without a second connection free, it is read on
//! one connection. The users are read with the version they are planned against, as before.
//! Either way the result is what one read transaction would have given.

use std::thread::{self, Scope, ScopedJoinHandle};

use dirsync_core::{Account, DirectoryUser, Group, IntegrationId, Membership, OrgUnit, Version};
use dirsync_store::{Error, LocalView, Result};
use rusqlite::Connection;

use crate::codec::unavailable;
use crate::{Readers, in_read_tx, read};

/// How many times several connections are tried before the view is read on one.
const ATTEMPTS: usize = 3;

/// Everything of a view but its accounts and memberships, read in one transaction.
struct Rest {
    version: Version,
    groups: Vec<Group>,
    org_units: Vec<OrgUnit>,
    users: Vec<DirectoryUser>,
}

impl Rest {
    fn read(conn: &Connection, integration: IntegrationId) -> Result<Self> {
        read::require_integration(conn, integration)?;
        Ok(Self {
            version: read::version(conn, integration)?,
            groups: read::groups(conn, integration)?,
            org_units: read::org_units(conn, integration)?,
            users: read::users(conn)?,
        })
    }

    fn with(
        self,
        integration: IntegrationId,
        accounts: Vec<Account>,
        memberships: Vec<Membership>,
    ) -> LocalView {
        LocalView {
            integration,
            version: self.version,
            accounts,
            groups: self.groups,
            memberships,
            org_units: self.org_units,
            users: self.users,
        }
    }
}

/// The view read on `conn` alone (call it inside one read transaction).
pub(crate) fn on_one(conn: &Connection, integration: IntegrationId) -> Result<LocalView> {
    let rest = Rest::read(conn, integration)?;
    let accounts = read::accounts(conn, integration)?;
    let memberships = read::memberships(conn, integration)?;
    Ok(rest.with(integration, accounts, memberships))
}

/// One part of a view, read in a transaction of its own on `conn`, with the version it saw.
type Part<T> = Result<(Version, T)>;

/// Reads a part of the view on `conn` on a thread of its own; `None` if no thread could be
/// started (the caller reads it then).
fn beside<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    conn: &'scope mut Connection,
    integration: IntegrationId,
    read: fn(&Connection, IntegrationId) -> Result<T>,
) -> Option<ScopedJoinHandle<'scope, Part<T>>> {
    thread::Builder::new()
        .name("dirsync-sqlite-view".to_owned())
        .spawn_scoped(scope, move || {
            in_read_tx(conn, |c| {
                Ok((read::version(c, integration)?, read(c, integration)?))
            })
        })
        .ok()
}

/// What a part's thread read (a panic there is `Unavailable`).
fn joined<T>(handle: ScopedJoinHandle<'_, Part<T>>) -> Part<T> {
    handle
        .join()
        .map_err(|_| unavailable("a thread reading the view panicked"))?
}

/// The view read on several of the file store's read connections at once (see the module's
/// documentation), or on one when no second connection is free.
pub(crate) fn on_several(readers: &Readers, integration: IntegrationId) -> Result<LocalView> {
    for _ in 0..ATTEMPTS {
        let mut this = readers.take()?;
        let Some(mut second) = readers.try_take() else {
            return in_read_tx(&mut this, |conn| on_one(conn, integration));
        };
        let mut third = readers.try_take();
        let (second, third): (&mut Connection, _) = (&mut second, third.as_deref_mut());
        let read = thread::scope(|scope| {
            let Some(memberships) = beside(scope, second, integration, read::memberships) else {
                // No thread to spare: this connection reads it all.
                return in_read_tx(&mut this, |conn| on_one(conn, integration)).map(Some);
            };
            let accounts = third.and_then(|conn| beside(scope, conn, integration, read::accounts));
            let read_here = accounts.is_none();
            let rest = in_read_tx(&mut this, |conn| {
                let rest = Rest::read(conn, integration)?;
                let accounts = if read_here {
                    read::accounts(conn, integration)?
                } else {
                    Vec::new()
                };
                Ok((rest, accounts))
            });
            // Every thread joined before any error is returned.
            let memberships = joined(memberships);
            let accounts = accounts.map(joined).transpose();
            let ((rest, here), (version, memberships)) = (rest?, memberships?);
            let (accounts_version, accounts) = accounts?.unwrap_or((rest.version, here));
            let one_state = version == rest.version && accounts_version == rest.version;
            Ok::<_, Error>(one_state.then(|| rest.with(integration, accounts, memberships)))
        })?;
        if let Some(view) = read {
            return Ok(view);
        }
    }
    in_read_tx(&mut *readers.take()?, |conn| on_one(conn, integration))
}
