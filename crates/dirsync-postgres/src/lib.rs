//! # dirsync-postgres
//!
//! The scale-out [`Store`] of directory-sync: PostgreSQL, for products that outgrow one machine
//! — several workers (schedulers, API servers) on one database. [`PostgresStore`] enforces
//! exactly the rules of [`dirsync_store::transaction`] (the code the in-memory and SQLite
//! backends run) and passes the shared conformance suite, its concurrent cases included, which
//! here really race.
//!
//! ```no_run
//! use std::sync::Arc;
//! use dirsync_postgres::PostgresStore;
//! use dirsync_store::Store;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store: Arc<dyn Store> =
//!     Arc::new(PostgresStore::connect("postgres://dirsync@127.0.0.1:5432/dirsync").await?);
//! println!("{} integrations", store.integrations().await?.len());
//! # Ok(()) }
//! ```
//!
//! ## Concurrency
//!
//! A store holds a pool of connections ([`deadpool_postgres`]); each operation takes one. Writes
//! run in `READ COMMITTED` transactions that first lock the integration's row
//! (`SELECT ... FOR UPDATE`), so the writers of one integration — applies, saves, leases,
//! fenced writes — run one after the other and every check (version, revision, lease) holds at
//! commit, while different integrations write side by side. The primary is elected atomically:
//! a partial unique index admits one `role = 'primary'` row, and a creation that loses the race
//! runs its rule again and becomes secondary. Reads that must be consistent ([`Store::view`])
//! run in one `REPEATABLE READ` read-only transaction.
//!
//! ## Bulk writes
//!
//! The rules read what an apply's checks need in a few bulk reads and write by kind; here each
//! batch is one statement per 20,000 rows: `= ANY($1)` for lookups and deletes, `INSERT ...
//! SELECT * FROM UNNEST($1::text[], ...) ON CONFLICT ... DO UPDATE` for upserts.
//!
//! ## Schema
//!
//! Embedded migrations (`migrations/NNNN_name.sql`) run on [`PostgresStore::connect`], all
//! pending ones in one transaction under an advisory lock, the version kept in
//! `dirsync_schema`; a database written by a newer build is refused with
//! [`Error::SchemaTooNew`]. Tables live in the connection's `search_path` (e.g.
//! `?options=-csearch_path%3Ddirsync` in the URL to keep them in their own schema). Text keys
//! are `COLLATE "C"`, so orderings are byte orderings, as in the other backends.
//!
//! ## Tenants: many directories in one database
//!
//! [`PostgresStore::tenant`] returns a handle on one tenant's directory, sharing the pool:
//!
//! ```no_run
//! # use dirsync_postgres::PostgresStore;
//! # use dirsync_store::Store;
//! # async fn f() -> Result<(), dirsync_store::Error> {
//! let database = PostgresStore::connect("postgres://dirsync@127.0.0.1:5432/dirsync").await?;
//! let acme = database.tenant("acme").await?;
//! // acme's users only; another tenant's, or the default directory's, are not visible here.
//! println!("{} users at acme", acme.users().await?.len());
//! # Ok(()) }
//! ```
//!
//! Each tenant's tables are a schema of their own, `dirsync_tenant_<name>`, created and
//! migrated on the first [`tenant`](PostgresStore::tenant) call; its handle sets
//! `search_path` to that schema alone on every connection it takes. A schema per tenant rather
//! than a tenant column on every row: the isolation is structural — every statement, unique
//! index (one primary, unique emails, token names) and sequence is the tenant's own, with no
//! tenant predicate that one of the store's statements could forget — existing databases need
//! no data migration, and a customer is dropped (or dumped, `pg_dump -n`) as one schema. The
//! cost: one `SET search_path` per operation once tenants are in use, and a catalog that grows
//! with the tenants (fine for thousands, not for millions). The store [`connect`] returns is
//! the default directory, a tenant of its own: the tables of the URL's `search_path`.
//!
//! [`connect`]: PostgresStore::connect
//!
//! ## Why tokio-postgres and deadpool
//!
//! The store writes its SQL itself (the same statements as the SQLite backend, plus `UNNEST`);
//! it needs a driver and a pool, not a query builder, compile-time checked queries or another
//! migration runner. tokio-postgres with deadpool-postgres (no TLS: connect over a private
//! network or a local socket, or put a TLS proxy in front) adds about 30 crates and a minute to
//! a cold debug build on 2 cores; sqlx with its Postgres driver and macros would add more, for
//! features this crate would not use.

#![warn(missing_docs)]

mod codec;
mod read;
mod schema;
mod tenant;
#[cfg(feature = "testing")]
pub mod testing;
mod tx;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use dirsync_core::{
    Account, ActivityCursor, AnyIntegration, ApiToken, DirectoryChanges, DirectoryUser, Email,
    HeldPlan, Inbound, Integration, IntegrationId, NewIntegration, OwnedGroup, OwnedMembership,
    OwnershipChange, PlanId, Primary, PushChannel, SyncRun, UserId, Version,
};
use dirsync_store::{Applied, Error, Lease, LocalView, Removed, Result, Store, transaction};
use tokio_postgres::{IsolationLevel, NoTls};

use crate::codec::{BACKEND, Db, corrupt, instant, retryable, to_json, unavailable};
use crate::tenant::Scope;
use crate::tx::PgTx;

/// How many times a write transaction runs again after a serialization failure, a deadlock, or
/// a lost race for the primary.
const RETRIES: u32 = 8;

/// Connections in a store's pool, unless the URL's settings say otherwise.
const POOL_SIZE: usize = 8;

/// How long a view waits for a second connection before reading everything on its first.
const SPARE_CONNECTION_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs `$body` (a rule over `$tx`) in a write transaction on a pooled connection: committed
/// if it returns `Ok`, rolled back otherwise, and run again if it failed in a way a retry
/// resolves (see `codec::retryable`).
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut attempt = 0u32;
        loop {
            let result = async {
                let mut client = $store.client().await?;
                let inner = (**client).transaction().await.db()?;
                #[allow(unused_mut)]
                let mut $tx = PgTx { tx: inner };
                let value = $body.await?;
                $tx.tx.commit().await.db()?;
                Ok::<_, Error>(value)
            }
            .await;
            match result {
                Err(e) if attempt < RETRIES && retryable(&e) => attempt += 1,
                other => break other,
            }
        }
    }};
}

/// The PostgreSQL backend of [`Store`]. See the [crate documentation](crate) for concurrency,
/// bulk writes and the schema.
///
/// Cloning is cheap and shares the pool; so do the handles of [`tenant`](Self::tenant).
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// Where it connects, without credentials.
    location: String,
    /// Whose tables this handle reads and writes.
    scope: Scope,
    /// Set (for good) once a tenant handle of this pool exists: from then on every handle
    /// points each connection it takes at its own tables (before, the default handle need not).
    scoped: Arc<AtomicBool>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .field("tenant", &self.tenant_name())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// The newest schema version this build writes and reads.
    pub const SCHEMA_VERSION: i64 = schema::LATEST;

    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or
    /// the key-value form), with a pool of 8 connections, and migrates its schema.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the URL is invalid or the database cannot be reached (the
    /// message never contains the password); [`Error::SchemaTooNew`] if it was written by a
    /// newer build.
    pub async fn connect(url: &str) -> Result<Self> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|_| unavailable("the PostgreSQL URL is not valid"))?;
        // The migrations' "already exists, skipping" notices are not news to anyone; the URL's
        // own options (e.g. a search_path) are kept.
        let options = match config.get_options() {
            Some(own) => format!("{own} -c client_min_messages=warning"),
            None => "-c client_min_messages=warning".to_owned(),
        };
        config.options(options);
        let location = describe(&config);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| unavailable(format!("could not build the connection pool: {e}")))?;
        let store = Self {
            pool,
            location,
            scope: Scope::Default,
            scoped: Arc::new(AtomicBool::new(false)),
        };
        let mut client = store.client().await?;
        schema::migrate(&mut client, None).await?;
        Ok(store)
    }

    /// A handle on the directory of tenant `name` in the same database, sharing this store's
    /// pool: every [`Store`] method of the handle reads and writes that tenant's rows only.
    /// The tenant's tables (the schema `dirsync_tenant_<name>`) are created, or migrated, on
    /// the first call. The store [`connect`](Self::connect) returns is the default directory,
    /// a tenant of its own: the tables of the URL's `search_path`, as before tenants existed.
    ///
    /// # Errors
    /// [`Error::Domain`] for a name that is not 1 to 48 lowercase ASCII letters, digits and
    /// `_` starting with a letter; otherwise as [`connect`](Self::connect).
    pub async fn tenant(&self, name: &str) -> Result<Self> {
        tenant::check_name(name)?;
        // Before the tenant's handle takes its first connection (see `client`).
        self.scoped.store(true, Ordering::SeqCst);
        let handle = Self {
            scope: Scope::Tenant(name.to_owned()),
            ..self.clone()
        };
        let mut client = handle.client().await?;
        let schema = format!("{}{name}", tenant::SCHEMA_PREFIX);
        schema::migrate(&mut client, Some(&schema)).await?;
        Ok(handle)
    }

    /// The tenant this handle is scoped to; `None` for the default directory.
    pub fn tenant_name(&self) -> Option<&str> {
        match &self.scope {
            Scope::Default => None,
            Scope::Tenant(name) => Some(name),
        }
    }

    /// The names of the database's tenants (those [`tenant`](Self::tenant) created), sorted.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the database cannot be reached.
    pub async fn tenants(&self) -> Result<Vec<String>> {
        tenant::names(&**self.client().await?).await
    }

    /// A pooled connection, pointed at this handle's tables.
    async fn client(&self) -> Result<Object> {
        let client = self.pool.get().await.map_err(|e| Error::Unavailable {
            backend: BACKEND,
            source: Box::new(e),
        })?;
        // Read after taking the connection: if a tenant handle used it before, its flag is seen.
        if self.scope != Scope::Default || self.scoped.load(Ordering::SeqCst) {
            client
                .batch_execute(&self.scope.search_path_sql())
                .await
                .db()?;
        }
        Ok(client)
    }
}

/// A read-only transaction on `client` that sees one snapshot of the database throughout.
async fn read_only_snapshot(client: &mut Object) -> Result<tokio_postgres::Transaction<'_>> {
    (***client)
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .db()
}

/// An integration's memberships, read on `client` in the exported `snapshot` (so that they are
/// those of the view's transaction, which must stay open until this one has begun).
async fn memberships_in_snapshot(
    mut client: Object,
    snapshot: String,
    integration: IntegrationId,
) -> Result<Vec<dirsync_core::Membership>> {
    let tx = read_only_snapshot(&mut client).await?;
    // The id comes from the server (e.g. `00000003-0000001B-1`); quoted all the same.
    tx.batch_execute(&format!(
        "SET TRANSACTION SNAPSHOT '{}'",
        snapshot.replace('\'', "''")
    ))
    .await
    .db()?;
    let memberships = read::memberships(&tx, integration).await?;
    tx.commit().await.db()?;
    Ok(memberships)
}

/// Host, port and database of a configuration: what a log line or `Debug` may show.
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}:{port}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_integration(&self, new: NewIntegration) -> Result<AnyIntegration> {
        write_tx!(self, |tx| transaction::create_integration(
            &mut tx,
            new.clone()
        ))
    }

    async fn integration(&self, id: IntegrationId) -> Result<AnyIntegration> {
        let client = self.client().await?;
        let record = read::integration(&**client, id, false)
            .await?
            .ok_or_else(|| Error::integration_not_found(id))?;
        read::typed(record)
    }

    async fn integrations(&self) -> Result<Vec<AnyIntegration>> {
        let client = self.client().await?;
        read::integrations(&**client)
            .await?
            .into_iter()
            .map(read::typed)
            .collect()
    }

    async fn primary(&self) -> Result<Option<Integration<Inbound, Primary>>> {
        let client = self.client().await?;
        let Some(record) = read::primary(&**client).await? else {
            return Ok(None);
        };
        let id = record.id;
        read::typed(record)?
            .into_primary()
            .map(Some)
            .ok_or_else(|| corrupt(format!("integrations row {id}: not a primary")))
    }

    async fn save_integration(&self, integration: &AnyIntegration) -> Result<AnyIntegration> {
        write_tx!(self, |tx| transaction::save_integration(
            &mut tx,
            integration
        ))
    }

    async fn remove_integration(&self, id: IntegrationId) -> Result<Removed> {
        write_tx!(self, |tx| transaction::remove_integration(&mut tx, id))
    }

    async fn view(&self, integration: IntegrationId) -> Result<LocalView> {
        let mut client = self.client().await?;
        let tx = read_only_snapshot(&mut client).await?;
        read::require_integration(&tx, integration).await?;
        // The memberships, most of the rows, are read and decoded on a second connection in
        // this transaction's snapshot, on their own task (another core), while this one reads
        // the rest; without a connection to spare at once, here, after the rest.
        let beside = match tokio::time::timeout(SPARE_CONNECTION_WAIT, self.client()).await {
            Ok(Ok(second)) => {
                let snapshot: String = tx
                    .query_one("SELECT pg_export_snapshot()", &[])
                    .await
                    .db()?
                    .try_get(0)
                    .db()?;
                Some(tokio::spawn(memberships_in_snapshot(
                    second,
                    snapshot,
                    integration,
                )))
            }
            Ok(Err(_)) | Err(_) => None,
        };
        // Sent at once (the connection pipelines them) and decoded as their rows arrive.
        let (version, accounts, groups, org_units, users) = tokio::try_join!(
            read::version(&tx, integration),
            read::accounts(&tx, integration),
            read::groups(&tx, integration),
            read::org_units(&tx, integration),
            read::users(&tx),
        )?;
        let memberships = match beside {
            Some(task) => task
                .await
                .map_err(|e| unavailable(format!("the memberships' reader stopped: {e}")))??,
            None => read::memberships(&tx, integration).await?,
        };
        let view = LocalView {
            integration,
            version,
            accounts,
            groups,
            memberships,
            org_units,
            users,
        };
        tx.commit().await.db()?;
        Ok(view)
    }

    async fn apply(&self, changes: &DirectoryChanges) -> Result<Applied> {
        write_tx!(self, |tx| transaction::apply_changes(&mut tx, changes))
    }

    async fn version(&self, integration: IntegrationId) -> Result<Version> {
        let client = self.client().await?;
        read::require_integration(&**client, integration).await?;
        read::version(&**client, integration).await
    }

    async fn users(&self) -> Result<Vec<DirectoryUser>> {
        read::users(&**self.client().await?).await
    }

    async fn user(&self, id: UserId) -> Result<Option<DirectoryUser>> {
        read::user(&**self.client().await?, id).await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<DirectoryUser>> {
        read::user_by_email(&**self.client().await?, email).await
    }

    async fn accounts_of(&self, user: UserId) -> Result<Vec<Account>> {
        read::accounts_of(&**self.client().await?, user).await
    }

    async fn record_run(&self, run: &SyncRun) -> Result<()> {
        let (s, ns) = instant(run.started_at);
        let record = to_json("run", run)?;
        // Recording a run with an id already recorded replaces it (and counts as the newest
        // recording among runs that started at the same instant).
        self.client()
            .await?
            .execute(
                "INSERT INTO runs (id, integration, started_s, started_ns, seq, record) \
                 VALUES ($1, $2, $3, $4, nextval('runs_seq'), $5) \
                 ON CONFLICT (id) DO UPDATE SET integration = excluded.integration, \
                 started_s = excluded.started_s, started_ns = excluded.started_ns, \
                 seq = excluded.seq, record = excluded.record",
                &[
                    &run.id.to_string(),
                    &run.integration.to_string(),
                    &s,
                    &ns,
                    &record,
                ],
            )
            .await
            .db()?;
        Ok(())
    }

    async fn prune_runs(
        &self,
        integration: IntegrationId,
        keep: usize,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        let keep = i64::try_from(keep.max(1)).unwrap_or(i64::MAX);
        let (s, ns) = instant(before);
        self.client()
            .await?
            .execute(
                "DELETE FROM runs WHERE integration = $1 AND id IN ( \
                   SELECT id FROM ( \
                     SELECT id, started_s, started_ns, row_number() OVER ( \
                       ORDER BY started_s DESC, started_ns DESC, seq DESC) AS rank \
                     FROM runs WHERE integration = $1) ranked \
                   WHERE rank > 1 AND (rank > $2 OR started_s < $3 \
                     OR (started_s = $3 AND started_ns < $4)))",
                &[&integration.to_string(), &keep, &s, &ns],
            )
            .await
            .db()
    }

    async fn runs(&self, integration: IntegrationId, limit: usize) -> Result<Vec<SyncRun>> {
        read::runs(&**self.client().await?, integration, limit).await
    }

    async fn hold_plan(&self, plan: &HeldPlan) -> Result<()> {
        let (s, ns) = instant(plan.held_at);
        let record = to_json("held plan", plan)?;
        let client = self.client().await?;
        read::require_integration(&**client, plan.integration).await?;
        // Holding a plan again replaces it, as the newest held at its instant. (A plan of an
        // integration removed meanwhile fails on the foreign key.)
        client
            .execute(
                "INSERT INTO held_plans (id, integration, held_s, held_ns, seq, record) \
                 VALUES ($1, $2, $3, $4, nextval('held_plans_seq'), $5) \
                 ON CONFLICT (id) DO UPDATE SET integration = excluded.integration, \
                 held_s = excluded.held_s, held_ns = excluded.held_ns, \
                 seq = excluded.seq, record = excluded.record",
                &[
                    &plan.id.as_str(),
                    &plan.integration.to_string(),
                    &s,
                    &ns,
                    &record,
                ],
            )
            .await
            .db()?;
        Ok(())
    }

    async fn held_plan(&self, id: &PlanId) -> Result<Option<HeldPlan>> {
        read::held_plan(&**self.client().await?, id).await
    }

    async fn held_plans(&self, integration: IntegrationId) -> Result<Vec<HeldPlan>> {
        read::held_plans(&**self.client().await?, integration).await
    }

    async fn create_api_token(&self, token: &ApiToken) -> Result<()> {
        let record = to_json("api_tokens", token)?;
        let inserted = self
            .client()
            .await?
            .execute(
                "INSERT INTO api_tokens (name, hash, record) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO NOTHING",
                &[&token.name, &token.hash, &record],
            )
            .await
            .db()?;
        if inserted == 0 {
            return Err(Error::AlreadyExists {
                kind: "API token",
                id: token.name.clone(),
            });
        }
        Ok(())
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        read::api_tokens(&**self.client().await?).await
    }

    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        read::api_token_by_hash(&**self.client().await?, hash).await
    }

    async fn revoke_api_token(&self, name: &str) -> Result<ApiToken> {
        let mut client = self.client().await?;
        let tx = (**client).transaction().await.db()?;
        let token = read::api_token(&tx, name)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "API token",
                id: name.to_owned(),
            })?;
        tx.execute("DELETE FROM api_tokens WHERE name = $1", &[&name])
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(token)
    }

    async fn push_channels(&self, integration: IntegrationId) -> Result<Vec<PushChannel>> {
        let client = self.client().await?;
        read::require_integration(&**client, integration).await?;
        read::push_channels(&**client, integration).await
    }

    async fn save_push_channel(&self, channel: &PushChannel) -> Result<()> {
        let (s, ns) = instant(channel.opened_at);
        let record = to_json("push channel", channel)?;
        let client = self.client().await?;
        read::require_integration(&**client, channel.integration).await?;
        // Replacing another integration's channel updates nothing: refused below.
        let written = client
            .execute(
                "INSERT INTO push_channels (id, integration, opened_s, opened_ns, record) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO UPDATE SET opened_s = excluded.opened_s, \
                 opened_ns = excluded.opened_ns, record = excluded.record \
                 WHERE push_channels.integration = excluded.integration",
                &[
                    &channel.id,
                    &channel.integration.to_string(),
                    &s,
                    &ns,
                    &record,
                ],
            )
            .await
            .db()?;
        if written == 0 {
            return Err(Error::AlreadyExists {
                kind: "push channel",
                id: channel.id.clone(),
            });
        }
        Ok(())
    }

    async fn remove_push_channel(&self, id: &str) -> Result<Option<PushChannel>> {
        let mut client = self.client().await?;
        let tx = (**client).transaction().await.db()?;
        let channel = read::push_channel(&tx, id).await?;
        tx.execute("DELETE FROM push_channels WHERE id = $1", &[&id])
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(channel)
    }

    async fn activity_cursor(&self, integration: IntegrationId) -> Result<Option<ActivityCursor>> {
        let client = self.client().await?;
        read::require_integration(&**client, integration).await?;
        read::activity_cursor(&**client, integration).await
    }

    async fn save_activity_cursor(&self, cursor: &ActivityCursor) -> Result<()> {
        let record = to_json("activity cursor", cursor)?;
        let client = self.client().await?;
        read::require_integration(&**client, cursor.integration).await?;
        client
            .execute(
                "INSERT INTO activity_cursors (integration, record) VALUES ($1, $2) \
                 ON CONFLICT (integration) DO UPDATE SET record = excluded.record",
                &[&cursor.integration.to_string(), &record],
            )
            .await
            .db()?;
        Ok(())
    }

    async fn release_plan(&self, id: &PlanId) -> Result<HeldPlan> {
        let mut client = self.client().await?;
        let tx = (**client).transaction().await.db()?;
        // Read (and check) first: a corrupt row is reported and kept, not deleted.
        let plan = read::held_plan(&tx, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                kind: "held plan",
                id: id.to_string(),
            })?;
        tx.execute("DELETE FROM held_plans WHERE id = $1", &[&id.as_str()])
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(plan)
    }

    async fn acquire_lease(
        &self,
        integration: IntegrationId,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Lease> {
        write_tx!(self, |tx| transaction::acquire_lease(
            &mut tx,
            integration,
            holder,
            until,
            now
        ))
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        write_tx!(self, |tx| transaction::release_lease(&mut tx, lease))
    }

    async fn renew_lease(&self, lease: &Lease, until: DateTime<Utc>) -> Result<Lease> {
        write_tx!(self, |tx| transaction::renew_lease(&mut tx, lease, until))
    }

    async fn apply_fenced(&self, changes: &DirectoryChanges, fence: &Lease) -> Result<Applied> {
        write_tx!(self, |tx| async {
            transaction::check_fence(&mut tx, fence).await?;
            transaction::apply_changes(&mut tx, changes).await
        })
    }

    async fn record_ownership_fenced(
        &self,
        base: Version,
        changes: &[OwnershipChange],
        fence: &Lease,
    ) -> Result<Applied> {
        write_tx!(self, |tx| async {
            transaction::check_fence(&mut tx, fence).await?;
            transaction::record_ownership(&mut tx, fence.integration, base, changes).await
        })
    }

    async fn owned_memberships(&self, integration: IntegrationId) -> Result<Vec<OwnedMembership>> {
        let client = self.client().await?;
        read::require_integration(&**client, integration).await?;
        read::owned_memberships(&**client, integration).await
    }

    async fn owned_groups(&self, integration: IntegrationId) -> Result<Vec<OwnedGroup>> {
        let client = self.client().await?;
        read::require_integration(&**client, integration).await?;
        read::owned_groups(&**client, integration).await
    }

    async fn record_ownership(
        &self,
        integration: IntegrationId,
        base: Version,
        changes: &[OwnershipChange],
    ) -> Result<Applied> {
        write_tx!(self, |tx| transaction::record_ownership(
            &mut tx,
            integration,
            base,
            changes
        ))
    }
}

/// The README's example, compiled as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
