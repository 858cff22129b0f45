//! The store's transaction primitives over one SQLite transaction. The rules live in
//! `dirsync_store::transaction`; this is only plain reads and writes. A batch is a loop over one
//! cached statement (`prepare_cached`), so a bulk apply compiles each statement once; the
//! primitives never wait, and the store drives the rules on its blocking thread.

use dirsync_core::{
    Account, DirectoryUser, Email, ExternalId, Group, IntegrationId, IntegrationRecord, Membership,
    MembershipKey, OrgUnit, OwnedGroup, OwnedMembership, UserId, Version,
};
use dirsync_store::transaction::Transaction;
use dirsync_store::{Error, Lease, Removed};
use rusqlite::{Connection, params};

use crate::codec::{Db, count, instant, kind_code, role_code, to_json, version_to_sql};
use crate::read;
use crate::rows::Upsert;

/// The connection inside a write transaction (`BEGIN IMMEDIATE`), committed by the store if
/// the rule succeeded and rolled back otherwise. It holds the connection by `&mut` (not a
/// `rusqlite::Transaction`, which is not `Send`), as the rules' futures must be.
pub(crate) struct SqlTx<'c> {
    /// The connection, inside the transaction.
    pub(crate) conn: &'c mut Connection,
}

/// An integration id's text, formatted once for a batch whose rows share it (a batch of one
/// apply always does) instead of once a row.
#[derive(Default)]
struct IdText {
    id: Option<IntegrationId>,
    text: String,
}

impl IdText {
    fn of(&mut self, id: IntegrationId) -> &str {
        if self.id != Some(id) {
            self.id = Some(id);
            self.text = id.to_string();
        }
        &self.text
    }
}

/// The per-integration tables an existence check reads.
#[derive(Clone, Copy)]
enum Table {
    Accounts,
    Groups,
    Memberships,
    OrgUnits,
}

impl SqlTx<'_> {
    /// The connection, for plain statements inside the transaction.
    pub(crate) fn conn(&self) -> &Connection {
        self.conn
    }

    /// Runs a cached statement and returns how many rows it changed.
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize, Error> {
        self.conn().prepare_cached(sql).db()?.execute(params).db()
    }

    fn exists(&self, sql: &str, params: impl rusqlite::Params) -> Result<bool, Error> {
        self.conn()
            .prepare_cached(sql)
            .db()?
            .query_row(params, |r| r.get(0))
            .db()
    }

    /// Whether `table` holds any row of `integration` (text). When it holds none (the initial
    /// sync), the per-key lookups of an existence check are skipped: one query instead of one
    /// per key.
    fn holds_any(&self, table: Table, integration: &str) -> Result<bool, Error> {
        let sql = match table {
            Table::Accounts => "SELECT EXISTS (SELECT 1 FROM accounts WHERE integration = ?1)",
            Table::Groups => "SELECT EXISTS (SELECT 1 FROM groups WHERE integration = ?1)",
            Table::Memberships => {
                "SELECT EXISTS (SELECT 1 FROM memberships WHERE integration = ?1)"
            }
            Table::OrgUnits => "SELECT EXISTS (SELECT 1 FROM org_units WHERE integration = ?1)",
        };
        self.exists(sql, [integration])
    }

    /// The ids among `ids` for which `sql` (an `EXISTS` over integration ?1 and id ?2 in
    /// `table`) holds.
    fn existing_keyed(
        &self,
        table: Table,
        sql: &str,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<Vec<ExternalId>, Error> {
        let integration = integration.to_string();
        if ids.is_empty() || !self.holds_any(table, &integration)? {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for &id in ids {
            if self.exists(sql, params![integration, id.as_str()])? {
                found.push(id.clone());
            }
        }
        Ok(found)
    }

    /// Runs `sql` (a `DELETE` by integration ?1 and id ?2) for each id.
    fn delete_keyed(
        &self,
        sql: &str,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<(), Error> {
        let integration = integration.to_string();
        for id in ids {
            self.exec(sql, params![integration, id.as_str()])?;
        }
        Ok(())
    }

    fn write_integration(&self, sql: &str, record: &IntegrationRecord) -> Result<usize, Error> {
        let (s, ns) = instant(record.created_at);
        self.exec(
            sql,
            params![
                record.id.to_string(),
                s,
                ns,
                record.direction.to_string(),
                record.role.to_string(),
                to_json("integration record", record)?,
            ],
        )
    }
}

impl Transaction for SqlTx<'_> {
    async fn integration(&mut self, id: IntegrationId) -> Result<Option<IntegrationRecord>, Error> {
        read::integration(self.conn(), id)
    }

    async fn primary_id(&mut self) -> Result<Option<IntegrationId>, Error> {
        read::primary_id(self.conn())
    }

    async fn insert_integration(&mut self, record: &IntegrationRecord) -> Result<(), Error> {
        self.write_integration(
            "INSERT INTO integrations (id, seq, created_s, created_ns, direction, role, record) \
             VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM integrations), ?2, ?3, ?4, ?5, ?6)",
            record,
        )?;
        Ok(())
    }

    async fn update_integration(&mut self, record: &IntegrationRecord) -> Result<(), Error> {
        // The rules never change direction, role or creation time; writing them anyway keeps
        // the columns equal to the record whatever happens (and the primary index checks it).
        self.write_integration(
            "UPDATE integrations SET created_s = ?2, created_ns = ?3, direction = ?4, role = ?5, \
             record = ?6 WHERE id = ?1",
            record,
        )?;
        Ok(())
    }

    async fn delete_integration(&mut self, id: IntegrationId) -> Result<Removed, Error> {
        let id = id.to_string();
        // Children first, one statement each, so that the counts are exact (the foreign keys
        // would cascade them too, but without counting).
        let memberships = self.exec("DELETE FROM memberships WHERE integration = ?1", [&id])?;
        let groups = self.exec("DELETE FROM groups WHERE integration = ?1", [&id])?;
        let accounts = self.exec("DELETE FROM accounts WHERE integration = ?1", [&id])?;
        let org_units = self.exec("DELETE FROM org_units WHERE integration = ?1", [&id])?;
        let held_plans = self.exec("DELETE FROM held_plans WHERE integration = ?1", [&id])?;
        let owned = self.exec(
            "DELETE FROM owned_memberships WHERE integration = ?1",
            [&id],
        )?;
        let owned_groups = self.exec("DELETE FROM owned_groups WHERE integration = ?1", [&id])?;
        self.exec("DELETE FROM versions WHERE integration = ?1", [&id])?;
        self.exec("DELETE FROM leases WHERE integration = ?1", [&id])?;
        // The primary mark is the row's role: it goes with the row.
        self.exec("DELETE FROM integrations WHERE id = ?1", [&id])?;
        Ok(Removed {
            accounts: count(accounts),
            groups: count(groups),
            memberships: count(memberships),
            org_units: count(org_units),
            held_plans: count(held_plans),
            owned_memberships: count(owned),
            owned_groups: count(owned_groups),
        })
    }

    async fn owns_objects(&mut self, id: IntegrationId) -> Result<bool, Error> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE integration = ?1) \
             OR EXISTS (SELECT 1 FROM groups WHERE integration = ?1) \
             OR EXISTS (SELECT 1 FROM memberships WHERE integration = ?1) \
             OR EXISTS (SELECT 1 FROM org_units WHERE integration = ?1)",
            [id.to_string()],
        )
    }

    async fn has_users(&mut self) -> Result<bool, Error> {
        self.exists("SELECT EXISTS (SELECT 1 FROM users)", [])
    }

    async fn version(&mut self, id: IntegrationId) -> Result<Version, Error> {
        read::version(self.conn(), id)
    }

    async fn set_version(&mut self, id: IntegrationId, version: Version) -> Result<(), Error> {
        self.exec(
            "INSERT INTO versions (integration, version) VALUES (?1, ?2) \
             ON CONFLICT (integration) DO UPDATE SET version = excluded.version",
            params![id.to_string(), version_to_sql(version)],
        )?;
        Ok(())
    }

    async fn users(&mut self, ids: &[UserId]) -> Result<Vec<DirectoryUser>, Error> {
        let mut found = Vec::new();
        for &id in ids {
            found.extend(read::user(self.conn(), id)?);
        }
        Ok(found)
    }

    async fn user_ids_by_email(&mut self, keys: &[String]) -> Result<Vec<(String, UserId)>, Error> {
        let mut found = Vec::new();
        for key in keys {
            if let Some(id) = read::user_id_by_email_key(self.conn(), key)? {
                found.push((key.clone(), id));
            }
        }
        Ok(found)
    }

    async fn put_users(&mut self, users: &[DirectoryUser]) -> Result<(), Error> {
        // An upsert on the id, never `INSERT OR REPLACE`: if the email key were taken by
        // another user (the rules check it first), the UNIQUE constraint refuses the write
        // instead of silently deleting that other user. In order: an email moving between
        // users of the batch is freed before it is taken.
        const USERS: Upsert = Upsert {
            head: "users (id, email_key, record)",
            columns: 3,
            tail: "ON CONFLICT (id) DO UPDATE SET email_key = excluded.email_key, \
                   record = excluded.record",
        };
        USERS.run(self.conn(), users, |s, at, user| {
            s.raw_bind_parameter(at, user.id.to_string()).db()?;
            s.raw_bind_parameter(at + 1, user.profile.primary_email.key())
                .db()?;
            s.raw_bind_parameter(at + 2, to_json("user", user)?).db()
        })
    }

    async fn existing_accounts(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<Vec<ExternalId>, Error> {
        self.existing_keyed(
            Table::Accounts,
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE integration = ?1 AND external_id = ?2)",
            integration,
            ids,
        )
    }

    async fn put_accounts(&mut self, accounts: &[&Account]) -> Result<(), Error> {
        const ACCOUNTS: Upsert = Upsert {
            head: "accounts (integration, external_id, user_id, record)",
            columns: 4,
            tail: "ON CONFLICT (integration, external_id) DO UPDATE \
                   SET user_id = excluded.user_id, record = excluded.record",
        };
        let mut ids = IdText::default();
        ACCOUNTS.run(self.conn(), accounts, |s, at, account| {
            s.raw_bind_parameter(at, ids.of(account.integration)).db()?;
            s.raw_bind_parameter(at + 1, account.external_id.as_str())
                .db()?;
            s.raw_bind_parameter(at + 2, account.link.map(|l| l.user.to_string()))
                .db()?;
            s.raw_bind_parameter(at + 3, to_json("account", account)?)
                .db()
        })
    }

    async fn delete_accounts(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<(), Error> {
        self.delete_keyed(
            "DELETE FROM accounts WHERE integration = ?1 AND external_id = ?2",
            integration,
            ids,
        )
    }

    async fn existing_groups(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<Vec<ExternalId>, Error> {
        self.existing_keyed(
            Table::Groups,
            "SELECT EXISTS (SELECT 1 FROM groups WHERE integration = ?1 AND external_id = ?2)",
            integration,
            ids,
        )
    }

    async fn put_groups(&mut self, groups: &[&Group]) -> Result<(), Error> {
        // An upsert, never `INSERT OR REPLACE`: replacing would delete the row and cascade to
        // the group's memberships.
        const GROUPS: Upsert = Upsert {
            head: "groups (integration, external_id, record)",
            columns: 3,
            tail: "ON CONFLICT (integration, external_id) DO UPDATE SET record = excluded.record",
        };
        let mut ids = IdText::default();
        GROUPS.run(self.conn(), groups, |s, at, group| {
            s.raw_bind_parameter(at, ids.of(group.integration)).db()?;
            s.raw_bind_parameter(at + 1, group.external_id.as_str())
                .db()?;
            s.raw_bind_parameter(at + 2, to_json("group", group)?).db()
        })
    }

    async fn delete_groups(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<(), Error> {
        let integration = integration.to_string();
        for id in ids {
            // The memberships in the group go first (the foreign key would cascade them
            // anyway), then the memberships of the group as a nested member, then the group.
            self.exec(
                "DELETE FROM memberships WHERE integration = ?1 AND group_ext = ?2",
                params![integration, id.as_str()],
            )?;
            self.exec(
                "DELETE FROM memberships \
                 WHERE integration = ?1 AND member_kind = 1 AND member_ext = ?2",
                params![integration, id.as_str()],
            )?;
            self.exec(
                "DELETE FROM groups WHERE integration = ?1 AND external_id = ?2",
                params![integration, id.as_str()],
            )?;
        }
        Ok(())
    }

    async fn existing_memberships(
        &mut self,
        integration: IntegrationId,
        keys: &[&MembershipKey],
    ) -> Result<Vec<MembershipKey>, Error> {
        let integration = integration.to_string();
        if keys.is_empty() || !self.holds_any(Table::Memberships, &integration)? {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for &key in keys {
            if self.exists(
                "SELECT EXISTS (SELECT 1 FROM memberships WHERE integration = ?1 \
                 AND group_ext = ?2 AND member_kind = ?3 AND member_ext = ?4)",
                params![
                    integration,
                    key.group.as_str(),
                    kind_code(key.kind),
                    key.member.as_str()
                ],
            )? {
                found.push(key.clone());
            }
        }
        Ok(found)
    }

    async fn put_memberships(&mut self, memberships: &[&Membership]) -> Result<(), Error> {
        const MEMBERSHIPS: Upsert = Upsert {
            head: "memberships \
                   (integration, group_ext, member_kind, member_ext, member_email, role)",
            columns: 6,
            tail: "ON CONFLICT (integration, group_ext, member_kind, member_ext) DO UPDATE \
                   SET member_email = excluded.member_email, role = excluded.role",
        };
        let mut ids = IdText::default();
        MEMBERSHIPS.run(self.conn(), memberships, |s, at, membership| {
            s.raw_bind_parameter(at, ids.of(membership.integration))
                .db()?;
            s.raw_bind_parameter(at + 1, membership.group.as_str())
                .db()?;
            s.raw_bind_parameter(at + 2, kind_code(membership.member.kind))
                .db()?;
            s.raw_bind_parameter(at + 3, membership.member.external_id.as_str())
                .db()?;
            s.raw_bind_parameter(at + 4, membership.member.email.as_ref().map(Email::as_str))
                .db()?;
            s.raw_bind_parameter(at + 5, role_code(membership.role))
                .db()
        })
    }

    async fn delete_memberships(
        &mut self,
        integration: IntegrationId,
        keys: &[MembershipKey],
    ) -> Result<(), Error> {
        let integration = integration.to_string();
        for key in keys {
            self.exec(
                "DELETE FROM memberships WHERE integration = ?1 AND group_ext = ?2 \
                 AND member_kind = ?3 AND member_ext = ?4",
                params![
                    integration,
                    key.group.as_str(),
                    kind_code(key.kind),
                    key.member.as_str(),
                ],
            )?;
        }
        Ok(())
    }

    async fn existing_org_units(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<Vec<ExternalId>, Error> {
        self.existing_keyed(
            Table::OrgUnits,
            "SELECT EXISTS (SELECT 1 FROM org_units WHERE integration = ?1 AND external_id = ?2)",
            integration,
            ids,
        )
    }

    async fn put_org_units(&mut self, units: &[&OrgUnit]) -> Result<(), Error> {
        for unit in units {
            self.exec(
                "INSERT INTO org_units (integration, external_id, record) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (integration, external_id) DO UPDATE SET record = excluded.record",
                params![
                    unit.integration.to_string(),
                    unit.external_id.as_str(),
                    to_json("org unit", unit)?,
                ],
            )?;
        }
        Ok(())
    }

    async fn delete_org_units(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<(), Error> {
        self.delete_keyed(
            "DELETE FROM org_units WHERE integration = ?1 AND external_id = ?2",
            integration,
            ids,
        )
    }

    async fn put_owned(&mut self, owned: &[&OwnedMembership]) -> Result<(), Error> {
        for record in owned {
            self.exec(
                "INSERT INTO owned_memberships (integration, group_ext, member_key, record) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (integration, group_ext, member_key) \
                 DO UPDATE SET record = excluded.record",
                params![
                    record.integration.to_string(),
                    record.group.as_str(),
                    record.member.key(),
                    to_json("ownership record", record)?,
                ],
            )?;
        }
        Ok(())
    }

    async fn delete_owned(
        &mut self,
        integration: IntegrationId,
        keys: &[(&ExternalId, &Email)],
    ) -> Result<(), Error> {
        let integration = integration.to_string();
        for (group, member) in keys {
            self.exec(
                "DELETE FROM owned_memberships \
                 WHERE integration = ?1 AND group_ext = ?2 AND member_key = ?3",
                params![integration, group.as_str(), member.key()],
            )?;
        }
        Ok(())
    }

    async fn put_owned_groups(&mut self, owned: &[&OwnedGroup]) -> Result<(), Error> {
        for record in owned {
            self.exec(
                "INSERT INTO owned_groups (integration, group_key, record) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (integration, group_key) DO UPDATE SET record = excluded.record",
                params![
                    record.integration.to_string(),
                    record.email.key(),
                    to_json("group ownership record", record)?,
                ],
            )?;
        }
        Ok(())
    }

    async fn delete_owned_groups(
        &mut self,
        integration: IntegrationId,
        emails: &[&Email],
    ) -> Result<(), Error> {
        let integration = integration.to_string();
        for email in emails {
            self.exec(
                "DELETE FROM owned_groups WHERE integration = ?1 AND group_key = ?2",
                params![integration, email.key()],
            )?;
        }
        Ok(())
    }

    async fn lease(&mut self, integration: IntegrationId) -> Result<Option<Lease>, Error> {
        read::lease(self.conn(), integration)
    }

    async fn put_lease(&mut self, lease: &Lease) -> Result<(), Error> {
        let (s, ns) = instant(lease.until);
        self.exec(
            "INSERT INTO leases (integration, holder, until_s, until_ns) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (integration) DO UPDATE SET holder = excluded.holder, \
             until_s = excluded.until_s, until_ns = excluded.until_ns",
            params![lease.integration.to_string(), lease.holder, s, ns],
        )?;
        Ok(())
    }

    async fn delete_lease(&mut self, integration: IntegrationId) -> Result<(), Error> {
        self.exec(
            "DELETE FROM leases WHERE integration = ?1",
            [integration.to_string()],
        )?;
        Ok(())
    }
}
