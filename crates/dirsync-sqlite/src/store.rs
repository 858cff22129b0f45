//! [`Store`] over SQLite: each operation is one transaction on the write connection (or a read
//! transaction on a read connection), run on tokio's blocking pool; the rules themselves are
//! `dirsync_store::transaction`'s.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, ActivityCursor, AnyIntegration, ApiToken, DirectoryChanges, DirectoryUser, Email,
    HeldPlan, Inbound, Integration, IntegrationId, NewIntegration, OwnedGroup, OwnedMembership,
    OwnershipChange, PlanId, Primary, PushChannel, SyncRun, UserId, Version,
};
use dirsync_store::{Applied, Error, Lease, LocalView, Removed, Result, Store, transaction};
use rusqlite::params;

use crate::codec::{self, Db, instant, to_json};
use crate::{SqlTx, SqliteStore, blocking};
use crate::{read, view};

#[async_trait]
impl Store for SqliteStore {
    async fn create_integration(&self, new: NewIntegration) -> Result<AnyIntegration> {
        self.write(move |tx| transaction::ready(transaction::create_integration(tx, new)))
            .await
    }

    async fn integration(&self, id: IntegrationId) -> Result<AnyIntegration> {
        self.read(move |conn| {
            let record =
                read::integration(conn, id)?.ok_or_else(|| Error::integration_not_found(id))?;
            read::typed(record)
        })
        .await
    }

    async fn integrations(&self) -> Result<Vec<AnyIntegration>> {
        self.read(|conn| {
            read::integrations(conn)?
                .into_iter()
                .map(read::typed)
                .collect()
        })
        .await
    }

    async fn primary(&self) -> Result<Option<Integration<Inbound, Primary>>> {
        self.read(|conn| {
            let Some(record) = read::primary(conn)? else {
                return Ok(None);
            };
            let id = record.id;
            read::typed(record)?
                .into_primary()
                .map(Some)
                .ok_or_else(|| codec::corrupt(format!("integrations row {id}: not a primary")))
        })
        .await
    }

    async fn save_integration(&self, integration: &AnyIntegration) -> Result<AnyIntegration> {
        let integration = integration.clone();
        self.write(move |tx| transaction::ready(transaction::save_integration(tx, &integration)))
            .await
    }

    async fn remove_integration(&self, id: IntegrationId) -> Result<Removed> {
        self.write(move |tx| transaction::ready(transaction::remove_integration(tx, id)))
            .await
    }

    async fn view(&self, integration: IntegrationId) -> Result<LocalView> {
        match self.readers.clone() {
            Some(readers) => blocking(move || view::on_several(&readers, integration)).await,
            None => self.read(move |conn| view::on_one(conn, integration)).await,
        }
    }

    async fn apply(&self, changes: &DirectoryChanges) -> Result<Applied> {
        let apply = |tx: &mut SqlTx<'_>, changes: &DirectoryChanges| {
            transaction::ready(transaction::apply_changes(tx, changes))
        };
        if let Some(applied) = self.write_in_place(|tx| apply(tx, changes)) {
            return applied;
        }
        // The blocking pool needs an owned value: a copy of the change set.
        let changes = changes.clone();
        self.write(move |tx| apply(tx, &changes)).await
    }

    async fn version(&self, integration: IntegrationId) -> Result<Version> {
        self.read(move |conn| {
            read::require_integration(conn, integration)?;
            read::version(conn, integration)
        })
        .await
    }

    async fn users(&self) -> Result<Vec<DirectoryUser>> {
        self.read(read::users).await
    }

    async fn user(&self, id: UserId) -> Result<Option<DirectoryUser>> {
        self.read(move |conn| read::user(conn, id)).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<DirectoryUser>> {
        let email = email.clone();
        self.read(move |conn| read::user_by_email(conn, &email))
            .await
    }

    async fn accounts_of(&self, user: UserId) -> Result<Vec<Account>> {
        self.read(move |conn| read::accounts_of(conn, user)).await
    }

    async fn record_run(&self, run: &SyncRun) -> Result<()> {
        let run = run.clone();
        self.write(move |tx| {
            let (s, ns) = instant(run.started_at);
            // Recording a run with an id already recorded replaces it (and counts as the
            // newest recording among runs that started at the same instant).
            tx.conn()
                .prepare_cached(
                    "INSERT INTO runs (id, integration, started_s, started_ns, seq, record) \
                     VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(seq), 0) + 1 FROM runs), ?5) \
                     ON CONFLICT (id) DO UPDATE SET integration = excluded.integration, \
                     started_s = excluded.started_s, started_ns = excluded.started_ns, \
                     seq = excluded.seq, record = excluded.record",
                )
                .db()?
                .execute(params![
                    run.id.to_string(),
                    run.integration.to_string(),
                    s,
                    ns,
                    to_json("run", &run)?,
                ])
                .db()?;
            Ok(())
        })
        .await
    }

    async fn prune_runs(
        &self,
        integration: IntegrationId,
        keep: usize,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        let keep = i64::try_from(keep.max(1)).unwrap_or(i64::MAX);
        let (s, ns) = instant(before);
        self.write(move |tx| {
            let deleted = tx
                .conn()
                .prepare_cached(
                    "DELETE FROM runs WHERE integration = ?1 AND id IN ( \
                       SELECT id FROM ( \
                         SELECT id, started_s, started_ns, row_number() OVER ( \
                           ORDER BY started_s DESC, started_ns DESC, seq DESC) AS rank \
                         FROM runs WHERE integration = ?1) \
                       WHERE rank > 1 AND (rank > ?2 OR started_s < ?3 \
                         OR (started_s = ?3 AND started_ns < ?4)))",
                )
                .db()?
                .execute(params![integration.to_string(), keep, s, ns])
                .db()?;
            Ok(deleted as u64)
        })
        .await
    }

    async fn runs(&self, integration: IntegrationId, limit: usize) -> Result<Vec<SyncRun>> {
        self.read(move |conn| read::runs(conn, integration, limit))
            .await
    }

    async fn hold_plan(&self, plan: &HeldPlan) -> Result<()> {
        let plan = plan.clone();
        self.write(move |tx| {
            read::require_integration(tx.conn(), plan.integration)?;
            let (s, ns) = instant(plan.held_at);
            // Holding a plan again replaces it, as the newest held at its instant.
            tx.conn()
                .prepare_cached(
                    "INSERT INTO held_plans (id, integration, held_s, held_ns, seq, record) \
                     VALUES (?1, ?2, ?3, ?4, \
                     (SELECT coalesce(max(seq), 0) + 1 FROM held_plans), ?5) \
                     ON CONFLICT (id) DO UPDATE SET integration = excluded.integration, \
                     held_s = excluded.held_s, held_ns = excluded.held_ns, \
                     seq = excluded.seq, record = excluded.record",
                )
                .db()?
                .execute(params![
                    plan.id.as_str(),
                    plan.integration.to_string(),
                    s,
                    ns,
                    to_json("held plan", &plan)?,
                ])
                .db()?;
            Ok(())
        })
        .await
    }

    async fn held_plan(&self, id: &PlanId) -> Result<Option<HeldPlan>> {
        let id = id.clone();
        self.read(move |conn| read::held_plan(conn, &id)).await
    }

    async fn held_plans(&self, integration: IntegrationId) -> Result<Vec<HeldPlan>> {
        self.read(move |conn| read::held_plans(conn, integration))
            .await
    }

    async fn create_api_token(&self, token: &ApiToken) -> Result<()> {
        let token = token.clone();
        self.write(move |tx| {
            if read::api_token(tx.conn(), &token.name)?.is_some() {
                return Err(Error::AlreadyExists {
                    kind: "API token",
                    id: token.name.clone(),
                });
            }
            tx.conn()
                .prepare_cached("INSERT INTO api_tokens (name, hash, record) VALUES (?1, ?2, ?3)")
                .db()?
                .execute(params![
                    token.name,
                    token.hash,
                    to_json("api_tokens", &token)?
                ])
                .db()?;
            Ok(())
        })
        .await
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        self.read(read::api_tokens).await
    }

    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        let hash = hash.to_owned();
        self.read(move |conn| read::api_token_by_hash(conn, &hash))
            .await
    }

    async fn revoke_api_token(&self, name: &str) -> Result<ApiToken> {
        let name = name.to_owned();
        self.write(move |tx| {
            let token = read::api_token(tx.conn(), &name)?.ok_or_else(|| Error::NotFound {
                kind: "API token",
                id: name.clone(),
            })?;
            tx.conn()
                .prepare_cached("DELETE FROM api_tokens WHERE name = ?1")
                .db()?
                .execute([name.as_str()])
                .db()?;
            Ok(token)
        })
        .await
    }

    async fn push_channels(&self, integration: IntegrationId) -> Result<Vec<PushChannel>> {
        self.read(move |conn| {
            read::require_integration(conn, integration)?;
            read::push_channels(conn, integration)
        })
        .await
    }

    async fn save_push_channel(&self, channel: &PushChannel) -> Result<()> {
        let channel = channel.clone();
        self.write(move |tx| {
            read::require_integration(tx.conn(), channel.integration)?;
            if read::push_channel(tx.conn(), &channel.id)?
                .is_some_and(|c| c.integration != channel.integration)
            {
                return Err(Error::AlreadyExists {
                    kind: "push channel",
                    id: channel.id.clone(),
                });
            }
            let (s, ns) = instant(channel.opened_at);
            tx.conn()
                .prepare_cached(
                    "INSERT INTO push_channels (id, integration, opened_s, opened_ns, record) \
                     VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (id) DO UPDATE SET opened_s = excluded.opened_s, \
                     opened_ns = excluded.opened_ns, record = excluded.record",
                )
                .db()?
                .execute(params![
                    channel.id,
                    channel.integration.to_string(),
                    s,
                    ns,
                    to_json("push channel", &channel)?,
                ])
                .db()?;
            Ok(())
        })
        .await
    }

    async fn remove_push_channel(&self, id: &str) -> Result<Option<PushChannel>> {
        let id = id.to_owned();
        self.write(move |tx| {
            let channel = read::push_channel(tx.conn(), &id)?;
            tx.conn()
                .prepare_cached("DELETE FROM push_channels WHERE id = ?1")
                .db()?
                .execute([id.as_str()])
                .db()?;
            Ok(channel)
        })
        .await
    }

    async fn activity_cursor(&self, integration: IntegrationId) -> Result<Option<ActivityCursor>> {
        self.read(move |conn| {
            read::require_integration(conn, integration)?;
            read::activity_cursor(conn, integration)
        })
        .await
    }

    async fn save_activity_cursor(&self, cursor: &ActivityCursor) -> Result<()> {
        let integration = cursor.integration;
        let record = to_json("activity cursor", cursor)?;
        self.write(move |tx| {
            read::require_integration(tx.conn(), integration)?;
            tx.conn()
                .prepare_cached(
                    "INSERT INTO activity_cursors (integration, record) VALUES (?1, ?2) \
                     ON CONFLICT (integration) DO UPDATE SET record = excluded.record",
                )
                .db()?
                .execute(params![integration.to_string(), record])
                .db()?;
            Ok(())
        })
        .await
    }

    async fn release_plan(&self, id: &PlanId) -> Result<HeldPlan> {
        let id = id.clone();
        self.write(move |tx| {
            // Read (and check) first: a corrupt row is reported and kept, not deleted.
            let plan = read::held_plan(tx.conn(), &id)?.ok_or_else(|| Error::NotFound {
                kind: "held plan",
                id: id.to_string(),
            })?;
            tx.conn()
                .prepare_cached("DELETE FROM held_plans WHERE id = ?1")
                .db()?
                .execute([id.as_str()])
                .db()?;
            Ok(plan)
        })
        .await
    }

    async fn acquire_lease(
        &self,
        integration: IntegrationId,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Lease> {
        let holder = holder.to_owned();
        self.write(move |tx| {
            transaction::ready(transaction::acquire_lease(
                tx,
                integration,
                &holder,
                until,
                now,
            ))
        })
        .await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        let lease = lease.clone();
        self.write(move |tx| transaction::ready(transaction::release_lease(tx, &lease)))
            .await
    }

    async fn renew_lease(&self, lease: &Lease, until: DateTime<Utc>) -> Result<Lease> {
        let lease = lease.clone();
        self.write(move |tx| transaction::ready(transaction::renew_lease(tx, &lease, until)))
            .await
    }

    async fn apply_fenced(&self, changes: &DirectoryChanges, fence: &Lease) -> Result<Applied> {
        let apply = |tx: &mut SqlTx<'_>, changes: &DirectoryChanges, fence: &Lease| {
            transaction::ready(transaction::check_fence(tx, fence))?;
            transaction::ready(transaction::apply_changes(tx, changes))
        };
        if let Some(applied) = self.write_in_place(|tx| apply(tx, changes, fence)) {
            return applied;
        }
        // The blocking pool needs owned values: a copy of the change set.
        let (changes, fence) = (changes.clone(), fence.clone());
        self.write(move |tx| apply(tx, &changes, &fence)).await
    }

    async fn record_ownership_fenced(
        &self,
        base: Version,
        changes: &[OwnershipChange],
        fence: &Lease,
    ) -> Result<Applied> {
        let (changes, fence) = (changes.to_vec(), fence.clone());
        self.write(move |tx| {
            transaction::ready(transaction::check_fence(tx, &fence))?;
            transaction::ready(transaction::record_ownership(
                tx,
                fence.integration,
                base,
                &changes,
            ))
        })
        .await
    }

    async fn owned_memberships(&self, integration: IntegrationId) -> Result<Vec<OwnedMembership>> {
        self.read(move |conn| {
            read::require_integration(conn, integration)?;
            read::owned_memberships(conn, integration)
        })
        .await
    }

    async fn owned_groups(&self, integration: IntegrationId) -> Result<Vec<OwnedGroup>> {
        self.read(move |conn| {
            read::require_integration(conn, integration)?;
            read::owned_groups(conn, integration)
        })
        .await
    }

    async fn record_ownership(
        &self,
        integration: IntegrationId,
        base: Version,
        changes: &[OwnershipChange],
    ) -> Result<Applied> {
        let changes = changes.to_vec();
        self.write(move |tx| {
            transaction::ready(transaction::record_ownership(
                tx,
                integration,
                base,
                &changes,
            ))
        })
        .await
    }
}
