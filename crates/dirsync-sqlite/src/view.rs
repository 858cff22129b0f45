//! [`Store::view`](dirsync_store::Store::view): one integration's view, read in one state.
//!
//! On a file store the view is read on two read connections at once: the memberships (most of
//! the rows) on a thread of their own, the rest on the caller's, each in its own read
//! transaction. WAL lets two read transactions see different commits, so each also reads the
//! integration's version: every write of the integration's own rows (an apply, or removing it)
//! changes or removes that version, so equal versions mean both read the same rows of it. When
//! they differ (an apply committed between the two starts) the read is tried again, and after
//! a few tries, or without a second connection free, it is read on one connection. The users
//! are read with the version they are planned against, as before. Either way the result is
//! what one read transaction would have given.

use std::thread;

use dirsync_core::{Account, DirectoryUser, Group, IntegrationId, Membership, OrgUnit, Version};
use dirsync_store::{Error, LocalView, Result};
use rusqlite::Connection;

use crate::codec::unavailable;
use crate::{Readers, in_read_tx, read};

/// How many times two connections are tried before the view is read on one.
const ATTEMPTS: usize = 3;

/// Everything of a view but its memberships, read in one transaction.
struct Rest {
    version: Version,
    accounts: Vec<Account>,
    groups: Vec<Group>,
    org_units: Vec<OrgUnit>,
    users: Vec<DirectoryUser>,
}

impl Rest {
    fn read(conn: &Connection, integration: IntegrationId) -> Result<Self> {
        read::require_integration(conn, integration)?;
        Ok(Self {
            version: read::version(conn, integration)?,
            accounts: read::accounts(conn, integration)?,
            groups: read::groups(conn, integration)?,
            org_units: read::org_units(conn, integration)?,
            users: read::users(conn)?,
        })
    }

    fn with(self, integration: IntegrationId, memberships: Vec<Membership>) -> LocalView {
        LocalView {
            integration,
            version: self.version,
            accounts: self.accounts,
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
    let memberships = read::memberships(conn, integration)?;
    Ok(rest.with(integration, memberships))
}

/// The view read on two of the file store's read connections at once (see the module's
/// documentation), or on one when no second connection is free.
pub(crate) fn on_two(readers: &Readers, integration: IntegrationId) -> Result<LocalView> {
    for _ in 0..ATTEMPTS {
        let mut this = readers.take()?;
        let Some(mut beside) = readers.try_take() else {
            return in_read_tx(&mut this, |conn| on_one(conn, integration));
        };
        let beside: &mut Connection = &mut beside;
        let read = thread::scope(|scope| {
            let side = thread::Builder::new()
                .name("dirsync-sqlite-view".to_owned())
                .spawn_scoped(scope, || {
                    in_read_tx(beside, |conn| {
                        Ok((
                            read::version(conn, integration)?,
                            read::memberships(conn, integration)?,
                        ))
                    })
                });
            let Ok(side) = side else {
                // No thread to spare: this connection reads it all.
                return in_read_tx(&mut this, |conn| on_one(conn, integration)).map(Some);
            };
            let rest = in_read_tx(&mut this, |conn| Rest::read(conn, integration));
            let side = side
                .join()
                .map_err(|_| unavailable("the thread reading memberships panicked"))?;
            let (rest, (version, memberships)) = (rest?, side?);
            Ok::<_, Error>((version == rest.version).then(|| rest.with(integration, memberships)))
        })?;
        if let Some(view) = read {
            return Ok(view);
        }
    }
    in_read_tx(&mut *readers.take()?, |conn| on_one(conn, integration))
}
