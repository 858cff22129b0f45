//! The store's transaction primitives over one PostgreSQL transaction. The rules live in
//! `dirsync_store::transaction`; this is only plain reads and writes, each batch in a few
//! statements (`= ANY($n)` for lookups and deletes, `UNNEST` of column arrays for upserts) of
//! at most [`CHUNK`] rows: one round trip per chunk, not per row.

use std::collections::HashMap;

use dirsync_core::{
    Account, DirectoryUser, Email, ExternalId, Group, IntegrationId, IntegrationRecord, Membership,
    MembershipKey, OrgUnit, OwnedGroup, OwnedMembership, UserId, Version,
};
use dirsync_store::transaction::Transaction;
use dirsync_store::{Error, Lease, Removed};
use tokio_postgres::types::ToSql;

use crate::codec::{
    Db, corrupt, instant, kind_code, kind_from_code, role_code, to_json, version_to_sql,
};
use crate::read::{self, col};

/// Rows per statement of a bulk write.
const CHUNK: usize = 20_000;

/// A transaction of a pooled connection; committed by the store if the rule succeeded, rolled
/// back (dropped) otherwise.
pub(crate) struct PgTx<'c> {
    /// The driver's transaction.
    pub(crate) tx: tokio_postgres::Transaction<'c>,
}

impl PgTx<'_> {
    async fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        self.tx.execute(sql, params).await.db()
    }

    fn write_integration_params(record: &IntegrationRecord) -> Result<[String; 4], Error> {
        Ok([
            record.id.to_string(),
            record.direction.to_string(),
            record.role.to_string(),
            to_json("integration record", record)?,
        ])
    }

    /// The ids among `ids` present in `table` for `integration`.
    async fn existing_keyed(
        &self,
        table: &str,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<Vec<ExternalId>, Error> {
        let sql = format!(
            "SELECT external_id FROM {table} WHERE integration = $1 AND external_id = ANY($2)"
        );
        let mut found = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let keys: Vec<&str> = chunk.iter().map(|i| i.as_str()).collect();
            for row in self
                .tx
                .query(&sql, &[&integration.to_string(), &keys])
                .await
                .db()?
            {
                let id: String = col(&row, 0, table)?;
                found.push(ExternalId::new(id).map_err(|e| corrupt(format!("{table} row: {e}")))?);
            }
        }
        Ok(found)
    }

    /// Deletes the rows of `table` for `integration` whose `column` is among `ids`.
    async fn delete_keyed(
        &self,
        table: &str,
        column: &str,
        integration: &str,
        ids: &[&ExternalId],
    ) -> Result<(), Error> {
        let sql = format!("DELETE FROM {table} WHERE integration = $1 AND {column} = ANY($2)");
        for chunk in ids.chunks(CHUNK) {
            let keys: Vec<&str> = chunk.iter().map(|i| i.as_str()).collect();
            self.exec(&sql, &[&integration, &keys]).await?;
        }
        Ok(())
    }

    /// Upserts (integration, external_id, record) rows into `table`.
    async fn put_keyed(
        &self,
        table: &str,
        rows: impl Iterator<Item = Result<(String, String, String), Error>>,
    ) -> Result<(), Error> {
        let sql = format!(
            "INSERT INTO {table} (integration, external_id, record) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) \
             ON CONFLICT (integration, external_id) DO UPDATE SET record = excluded.record"
        );
        let rows: Vec<(String, String, String)> = rows.collect::<Result<_, _>>()?;
        for chunk in rows.chunks(CHUNK) {
            let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
            for (x, y, z) in chunk {
                a.push(x.as_str());
                b.push(y.as_str());
                c.push(z.as_str());
            }
            self.exec(&sql, &[&a, &b, &c]).await?;
        }
        Ok(())
    }
}

impl Transaction for PgTx<'_> {
    async fn integration(&mut self, id: IntegrationId) -> Result<Option<IntegrationRecord>, Error> {
        // Locks the row: the rules read the integration first, so writers of one integration
        // (applies, saves, leases) run one after the other and their checks hold.
        read::integration(&self.tx, id, true).await
    }

    async fn primary_id(&mut self) -> Result<Option<IntegrationId>, Error> {
        read::primary_id(&self.tx).await
    }

    async fn insert_integration(&mut self, record: &IntegrationRecord) -> Result<(), Error> {
        let [id, direction, role, json] = Self::write_integration_params(record)?;
        let (s, ns) = instant(record.created_at);
        // A concurrent creation of a second primary fails on the partial unique index; the
        // store runs the rule again, which then sees the primary.
        self.exec(
            "INSERT INTO integrations (id, created_s, created_ns, direction, role, record) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&id, &s, &ns, &direction, &role, &json],
        )
        .await?;
        Ok(())
    }

    async fn update_integration(&mut self, record: &IntegrationRecord) -> Result<(), Error> {
        let [id, direction, role, json] = Self::write_integration_params(record)?;
        let (s, ns) = instant(record.created_at);
        self.exec(
            "UPDATE integrations SET created_s = $2, created_ns = $3, direction = $4, role = $5, \
             record = $6 WHERE id = $1",
            &[&id, &s, &ns, &direction, &role, &json],
        )
        .await?;
        Ok(())
    }

    async fn delete_integration(&mut self, id: IntegrationId) -> Result<Removed, Error> {
        let id = id.to_string();
        let p: &[&(dyn ToSql + Sync)] = &[&id];
        let memberships = self
            .exec("DELETE FROM memberships WHERE integration = $1", p)
            .await?;
        let groups = self
            .exec("DELETE FROM groups WHERE integration = $1", p)
            .await?;
        let accounts = self
            .exec("DELETE FROM accounts WHERE integration = $1", p)
            .await?;
        let org_units = self
            .exec("DELETE FROM org_units WHERE integration = $1", p)
            .await?;
        let held_plans = self
            .exec("DELETE FROM held_plans WHERE integration = $1", p)
            .await?;
        let owned = self
            .exec("DELETE FROM owned_memberships WHERE integration = $1", p)
            .await?;
        let owned_groups = self
            .exec("DELETE FROM owned_groups WHERE integration = $1", p)
            .await?;
        self.exec("DELETE FROM versions WHERE integration = $1", p)
            .await?;
        self.exec("DELETE FROM leases WHERE integration = $1", p)
            .await?;
        self.exec("DELETE FROM integrations WHERE id = $1", p)
            .await?;
        Ok(Removed {
            accounts,
            groups,
            memberships,
            org_units,
            held_plans,
            owned_memberships: owned,
            owned_groups,
        })
    }

    async fn owns_objects(&mut self, id: IntegrationId) -> Result<bool, Error> {
        let row = self
            .tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM accounts WHERE integration = $1) \
                 OR EXISTS (SELECT 1 FROM groups WHERE integration = $1) \
                 OR EXISTS (SELECT 1 FROM memberships WHERE integration = $1) \
                 OR EXISTS (SELECT 1 FROM org_units WHERE integration = $1)",
                &[&id.to_string()],
            )
            .await
            .db()?;
        col(&row, 0, "integrations")
    }

    async fn has_users(&mut self) -> Result<bool, Error> {
        let row = self
            .tx
            .query_one("SELECT EXISTS (SELECT 1 FROM users)", &[])
            .await
            .db()?;
        col(&row, 0, "users")
    }

    async fn version(&mut self, id: IntegrationId) -> Result<Version, Error> {
        read::version(&self.tx, id).await
    }

    async fn set_version(&mut self, id: IntegrationId, version: Version) -> Result<(), Error> {
        self.exec(
            "INSERT INTO versions (integration, version) VALUES ($1, $2) \
             ON CONFLICT (integration) DO UPDATE SET version = excluded.version",
            &[&id.to_string(), &version_to_sql(version)],
        )
        .await?;
        Ok(())
    }

    async fn users(&mut self, ids: &[UserId]) -> Result<Vec<DirectoryUser>, Error> {
        let mut found = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let keys: Vec<String> = chunk.iter().map(UserId::to_string).collect();
            for row in self
                .tx
                .query(
                    "SELECT id, email_key, record FROM users WHERE id = ANY($1)",
                    &[&keys],
                )
                .await
                .db()?
            {
                found.push(read::user_row(&row)?);
            }
        }
        Ok(found)
    }

    async fn user_ids_by_email(&mut self, keys: &[String]) -> Result<Vec<(String, UserId)>, Error> {
        let mut found = Vec::new();
        for chunk in keys.chunks(CHUNK) {
            for row in self
                .tx
                .query(
                    "SELECT email_key, id FROM users WHERE email_key = ANY($1)",
                    &[&chunk],
                )
                .await
                .db()?
            {
                let (key, id): (String, String) = (col(&row, 0, "users")?, col(&row, 1, "users")?);
                let id = UserId::parse(&id).map_err(|e| corrupt(format!("users row {id}: {e}")))?;
                found.push((key, id));
            }
        }
        Ok(found)
    }

    async fn put_users(&mut self, users: &[DirectoryUser]) -> Result<(), Error> {
        // One row per user, its last write (an upsert cannot touch a row twice); the email's
        // uniqueness is checked at commit, so an email may move between users of the batch.
        let mut last: HashMap<UserId, usize> = HashMap::new();
        for (i, user) in users.iter().enumerate() {
            last.insert(user.id, i);
        }
        let mut order: Vec<usize> = last.into_values().collect();
        order.sort_unstable();
        for chunk in order.chunks(CHUNK) {
            let (mut ids, mut keys, mut records) = (Vec::new(), Vec::new(), Vec::new());
            for &i in chunk {
                let user = &users[i];
                ids.push(user.id.to_string());
                keys.push(user.profile.primary_email.key());
                records.push(to_json("user", user)?);
            }
            self.exec(
                "INSERT INTO users (id, email_key, record) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) \
                 ON CONFLICT (id) DO UPDATE SET email_key = excluded.email_key, \
                 record = excluded.record",
                &[&ids, &keys, &records],
            )
            .await?;
        }
        Ok(())
    }

    async fn existing_accounts(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<Vec<ExternalId>, Error> {
        self.existing_keyed("accounts", integration, ids).await
    }

    async fn put_accounts(&mut self, accounts: &[&Account]) -> Result<(), Error> {
        for chunk in accounts.chunks(CHUNK) {
            let (mut integrations, mut ids, mut users, mut records) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for account in chunk {
                integrations.push(account.integration.to_string());
                ids.push(account.external_id.as_str());
                users.push(account.link.map(|l| l.user.to_string()));
                records.push(to_json("account", account)?);
            }
            self.exec(
                "INSERT INTO accounts (integration, external_id, user_id, record) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) \
                 ON CONFLICT (integration, external_id) DO UPDATE \
                 SET user_id = excluded.user_id, record = excluded.record",
                &[&integrations, &ids, &users, &records],
            )
            .await?;
        }
        Ok(())
    }

    async fn delete_accounts(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<(), Error> {
        self.delete_keyed("accounts", "external_id", &integration.to_string(), ids)
            .await
    }

    async fn existing_groups(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<Vec<ExternalId>, Error> {
        self.existing_keyed("groups", integration, ids).await
    }

    async fn put_groups(&mut self, groups: &[&Group]) -> Result<(), Error> {
        self.put_keyed(
            "groups",
            groups.iter().map(|g| {
                Ok((
                    g.integration.to_string(),
                    g.external_id.as_str().to_owned(),
                    to_json("group", g)?,
                ))
            }),
        )
        .await
    }

    async fn delete_groups(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<(), Error> {
        let integration = integration.to_string();
        // The memberships in the groups, those of the groups as nested members, the groups.
        self.delete_keyed("memberships", "group_ext", &integration, ids)
            .await?;
        for chunk in ids.chunks(CHUNK) {
            let keys: Vec<&str> = chunk.iter().map(|i| i.as_str()).collect();
            self.exec(
                "DELETE FROM memberships \
                 WHERE integration = $1 AND member_kind = 1 AND member_ext = ANY($2)",
                &[&integration, &keys],
            )
            .await?;
        }
        self.delete_keyed("groups", "external_id", &integration, ids)
            .await
    }

    async fn existing_memberships(
        &mut self,
        integration: IntegrationId,
        keys: &[&MembershipKey],
    ) -> Result<Vec<MembershipKey>, Error> {
        let t = "memberships";
        let mut found = Vec::new();
        for chunk in keys.chunks(CHUNK) {
            let groups: Vec<&str> = chunk.iter().map(|k| k.group.as_str()).collect();
            let kinds: Vec<i16> = chunk.iter().map(|k| kind_code(k.kind)).collect();
            let members: Vec<&str> = chunk.iter().map(|k| k.member.as_str()).collect();
            for row in self
                .tx
                .query(
                    "SELECT m.group_ext, m.member_kind, m.member_ext FROM memberships m \
                     JOIN UNNEST($2::text[], $3::int2[], $4::text[]) AS k (g, kind, member) \
                     ON m.group_ext = k.g AND m.member_kind = k.kind AND m.member_ext = k.member \
                     WHERE m.integration = $1",
                    &[&integration.to_string(), &groups, &kinds, &members],
                )
                .await
                .db()?
            {
                let (group, kind, member): (String, i16, String) =
                    (col(&row, 0, t)?, col(&row, 1, t)?, col(&row, 2, t)?);
                let bad = |e: &dyn std::fmt::Display| corrupt(format!("{t} row ({group}): {e}"));
                found.push(MembershipKey {
                    group: ExternalId::new(group.clone()).map_err(|e| bad(&e))?,
                    kind: kind_from_code(kind).ok_or_else(|| bad(&"unknown kind"))?,
                    member: ExternalId::new(member).map_err(|e| bad(&e))?,
                });
            }
        }
        Ok(found)
    }

    async fn put_memberships(&mut self, memberships: &[&Membership]) -> Result<(), Error> {
        for chunk in memberships.chunks(CHUNK) {
            let mut integrations = Vec::with_capacity(chunk.len());
            let mut groups = Vec::with_capacity(chunk.len());
            let mut kinds = Vec::with_capacity(chunk.len());
            let mut members = Vec::with_capacity(chunk.len());
            let mut emails = Vec::with_capacity(chunk.len());
            let mut roles = Vec::with_capacity(chunk.len());
            for m in chunk {
                integrations.push(m.integration.to_string());
                groups.push(m.group.as_str());
                kinds.push(kind_code(m.member.kind));
                members.push(m.member.external_id.as_str());
                emails.push(m.member.email.as_ref().map(Email::as_str));
                roles.push(role_code(m.role));
            }
            self.exec(
                "INSERT INTO memberships \
                 (integration, group_ext, member_kind, member_ext, member_email, role) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::int2[], $4::text[], \
                 $5::text[], $6::int2[]) \
                 ON CONFLICT (integration, group_ext, member_kind, member_ext) DO UPDATE \
                 SET member_email = excluded.member_email, role = excluded.role",
                &[&integrations, &groups, &kinds, &members, &emails, &roles],
            )
            .await?;
        }
        Ok(())
    }

    async fn delete_memberships(
        &mut self,
        integration: IntegrationId,
        keys: &[MembershipKey],
    ) -> Result<(), Error> {
        let integration = integration.to_string();
        for chunk in keys.chunks(CHUNK) {
            let groups: Vec<&str> = chunk.iter().map(|k| k.group.as_str()).collect();
            let kinds: Vec<i16> = chunk.iter().map(|k| kind_code(k.kind)).collect();
            let members: Vec<&str> = chunk.iter().map(|k| k.member.as_str()).collect();
            self.exec(
                "DELETE FROM memberships m \
                 USING UNNEST($2::text[], $3::int2[], $4::text[]) AS k (g, kind, member) \
                 WHERE m.integration = $1 AND m.group_ext = k.g AND m.member_kind = k.kind \
                 AND m.member_ext = k.member",
                &[&integration, &groups, &kinds, &members],
            )
            .await?;
        }
        Ok(())
    }

    async fn existing_org_units(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<Vec<ExternalId>, Error> {
        self.existing_keyed("org_units", integration, ids).await
    }

    async fn put_org_units(&mut self, units: &[&OrgUnit]) -> Result<(), Error> {
        self.put_keyed(
            "org_units",
            units.iter().map(|u| {
                Ok((
                    u.integration.to_string(),
                    u.external_id.as_str().to_owned(),
                    to_json("org unit", u)?,
                ))
            }),
        )
        .await
    }

    async fn delete_org_units(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<(), Error> {
        self.delete_keyed("org_units", "external_id", &integration.to_string(), ids)
            .await
    }

    async fn put_owned(&mut self, owned: &[&OwnedMembership]) -> Result<(), Error> {
        for chunk in owned.chunks(CHUNK) {
            let (mut integrations, mut groups, mut members, mut records) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for o in chunk {
                integrations.push(o.integration.to_string());
                groups.push(o.group.as_str());
                members.push(o.member.key());
                records.push(to_json("ownership record", o)?);
            }
            self.exec(
                "INSERT INTO owned_memberships (integration, group_ext, member_key, record) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) \
                 ON CONFLICT (integration, group_ext, member_key) \
                 DO UPDATE SET record = excluded.record",
                &[&integrations, &groups, &members, &records],
            )
            .await?;
        }
        Ok(())
    }

    async fn delete_owned(
        &mut self,
        integration: IntegrationId,
        keys: &[(&ExternalId, &Email)],
    ) -> Result<(), Error> {
        let integration = integration.to_string();
        for chunk in keys.chunks(CHUNK) {
            let groups: Vec<&str> = chunk.iter().map(|(g, _)| g.as_str()).collect();
            let members: Vec<String> = chunk.iter().map(|(_, m)| m.key()).collect();
            self.exec(
                "DELETE FROM owned_memberships o \
                 USING UNNEST($2::text[], $3::text[]) AS k (g, member) \
                 WHERE o.integration = $1 AND o.group_ext = k.g AND o.member_key = k.member",
                &[&integration, &groups, &members],
            )
            .await?;
        }
        Ok(())
    }

    async fn put_owned_groups(&mut self, owned: &[&OwnedGroup]) -> Result<(), Error> {
        for chunk in owned.chunks(CHUNK) {
            let (mut integrations, mut keys, mut records) = (Vec::new(), Vec::new(), Vec::new());
            for o in chunk {
                integrations.push(o.integration.to_string());
                keys.push(o.email.key());
                records.push(to_json("group ownership record", o)?);
            }
            self.exec(
                "INSERT INTO owned_groups (integration, group_key, record) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) \
                 ON CONFLICT (integration, group_key) DO UPDATE SET record = excluded.record",
                &[&integrations, &keys, &records],
            )
            .await?;
        }
        Ok(())
    }

    async fn delete_owned_groups(
        &mut self,
        integration: IntegrationId,
        emails: &[&Email],
    ) -> Result<(), Error> {
        let integration = integration.to_string();
        for chunk in emails.chunks(CHUNK) {
            let keys: Vec<String> = chunk.iter().map(|e| e.key()).collect();
            self.exec(
                "DELETE FROM owned_groups WHERE integration = $1 AND group_key = ANY($2::text[])",
                &[&integration, &keys],
            )
            .await?;
        }
        Ok(())
    }

    async fn lease(&mut self, integration: IntegrationId) -> Result<Option<Lease>, Error> {
        // The integration's row lock orders lease checks (and fenced writes) of one integration.
        read::integration(&self.tx, integration, true).await?;
        read::lease(&self.tx, integration).await
    }

    async fn put_lease(&mut self, lease: &Lease) -> Result<(), Error> {
        let (s, ns) = instant(lease.until);
        self.exec(
            "INSERT INTO leases (integration, holder, until_s, until_ns) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (integration) DO UPDATE SET holder = excluded.holder, \
             until_s = excluded.until_s, until_ns = excluded.until_ns",
            &[&lease.integration.to_string(), &lease.holder, &s, &ns],
        )
        .await?;
        Ok(())
    }

    async fn delete_lease(&mut self, integration: IntegrationId) -> Result<(), Error> {
        self.exec(
            "DELETE FROM leases WHERE integration = $1",
            &[&integration.to_string()],
        )
        .await?;
        Ok(())
    }
}
