//! Reads, shared by the `Store` methods and the transaction primitives. Every row read is
//! parsed and checked against its key columns; a row that fails is `Corrupt`, naming the
//! table and the key.

use std::fmt::Display;

use dirsync_core::{
    Account, ActivityCursor, AnyIntegration, ApiToken, DirectoryUser, Email, ExternalId, Group,
    HeldPlan, IntegrationId, IntegrationRecord, Member, Membership, OrgUnit, OwnedGroup,
    OwnedMembership, PlanId, PushChannel, SyncRun, UserId, Version,
};
use dirsync_store::{Error, Lease};
use futures::TryStreamExt;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{GenericClient, Row};

use crate::codec::{
    Db, corrupt, from_instant, from_json, kind_from_code, role_from_code, version_from_sql,
};

/// A client or a transaction.
pub(crate) trait Client: GenericClient + Sync {}
impl<C: GenericClient + Sync> Client for C {}

/// Column `i` of a row; a value of the wrong type is `Corrupt`.
pub(crate) fn col<'r, T: FromSql<'r>>(row: &'r Row, i: usize, table: &str) -> Result<T, Error> {
    row.try_get(i)
        .map_err(|e| corrupt(format!("{table}: column {i} has the wrong type: {e}")))
}

/// Every row of `sql`, decoded as it arrives (decoding overlaps the server's sending, and the
/// raw rows are never all held at once).
async fn all<T>(
    c: &impl Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    decode: impl Fn(&Row) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let rows = c.query_raw(sql, params.iter().copied()).await.db()?;
    let mut rows = std::pin::pin!(rows);
    let mut decoded = Vec::new();
    while let Some(row) = rows.try_next().await.db()? {
        decoded.push(decode(&row)?);
    }
    Ok(decoded)
}

/// The row of `sql`, if any, decoded.
async fn one<T>(
    c: &impl Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    decode: impl Fn(&Row) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    c.query_opt(sql, params)
        .await
        .db()?
        .as_ref()
        .map(decode)
        .transpose()
}

/// `Corrupt` unless `ok`.
fn check(ok: bool, table: &str, key: &dyn Display, what: &str) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(corrupt(format!("{table} row {key}: {what}")))
    }
}

fn integration_row(row: &Row) -> Result<IntegrationRecord, Error> {
    let t = "integrations";
    let (id, direction, role, record): (String, String, String, String) = (
        col(row, 0, t)?,
        col(row, 1, t)?,
        col(row, 2, t)?,
        col(row, 3, t)?,
    );
    let parsed: IntegrationRecord = from_json(t, &id, &record)?;
    check(
        parsed.id.to_string() == id,
        t,
        &id,
        "the record has another id",
    )?;
    check(
        parsed.direction.to_string() == direction && parsed.role.to_string() == role,
        t,
        &id,
        "the record's direction or role differs from the row's",
    )?;
    Ok(parsed)
}

/// The typed form of a stored record; an impossible one (an outbound primary) is `Corrupt`.
pub(crate) fn typed(record: IntegrationRecord) -> Result<AnyIntegration, Error> {
    let id = record.id;
    AnyIntegration::from_record(record).map_err(|e| corrupt(format!("integrations row {id}: {e}")))
}

/// One integration's record; `lock` takes its row lock until the transaction ends.
pub(crate) async fn integration(
    c: &impl Client,
    id: IntegrationId,
    lock: bool,
) -> Result<Option<IntegrationRecord>, Error> {
    let sql = if lock {
        "SELECT id, direction, role, record FROM integrations WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT id, direction, role, record FROM integrations WHERE id = $1"
    };
    one(c, sql, &[&id.to_string()], integration_row).await
}

/// `NotFound` unless the integration exists.
pub(crate) async fn require_integration(c: &impl Client, id: IntegrationId) -> Result<(), Error> {
    let found = c
        .query_opt(
            "SELECT 1 FROM integrations WHERE id = $1",
            &[&id.to_string()],
        )
        .await
        .db()?;
    found
        .map(|_| ())
        .ok_or_else(|| Error::integration_not_found(id))
}

/// Every integration, oldest first (creation time, then creation order).
pub(crate) async fn integrations(c: &impl Client) -> Result<Vec<IntegrationRecord>, Error> {
    all(
        c,
        "SELECT id, direction, role, record FROM integrations \
         ORDER BY created_s, created_ns, seq",
        &[],
        integration_row,
    )
    .await
}

/// The primary's record.
pub(crate) async fn primary(c: &impl Client) -> Result<Option<IntegrationRecord>, Error> {
    one(
        c,
        "SELECT id, direction, role, record FROM integrations WHERE role = 'primary'",
        &[],
        integration_row,
    )
    .await
}

/// The primary's id.
pub(crate) async fn primary_id(c: &impl Client) -> Result<Option<IntegrationId>, Error> {
    one(
        c,
        "SELECT id FROM integrations WHERE role = 'primary'",
        &[],
        |row| {
            let id: String = col(row, 0, "integrations")?;
            IntegrationId::parse(&id).map_err(|e| corrupt(format!("integrations row {id}: {e}")))
        },
    )
    .await
}

/// The version of an integration's data (zero before its first apply).
pub(crate) async fn version(c: &impl Client, id: IntegrationId) -> Result<Version, Error> {
    let v = one(
        c,
        "SELECT version FROM versions WHERE integration = $1",
        &[&id.to_string()],
        |row| col::<i64>(row, 0, "versions").map(version_from_sql),
    )
    .await?;
    Ok(v.unwrap_or_default())
}

/// A user row, its columns borrowed from the row (no copy of their text) and its key columns
/// checked by parsing them, not by formatting the record's.
pub(crate) fn user_row(row: &Row) -> Result<DirectoryUser, Error> {
    let t = "users";
    let (id, email_key, record): (&str, &str, &str) =
        (col(row, 0, t)?, col(row, 1, t)?, col(row, 2, t)?);
    let user: DirectoryUser = from_json(t, &id, record)?;
    check(
        UserId::parse(id).is_ok_and(|parsed| parsed == user.id),
        t,
        &id,
        "the record has another id",
    )?;
    check(
        user.profile.primary_email.has_key(email_key),
        t,
        &id,
        "the record's email differs from the row's email key",
    )?;
    Ok(user)
}

/// One directory user.
pub(crate) async fn user(c: &impl Client, id: UserId) -> Result<Option<DirectoryUser>, Error> {
    one(
        c,
        "SELECT id, email_key, record FROM users WHERE id = $1",
        &[&id.to_string()],
        user_row,
    )
    .await
}

/// The user with this email (ASCII case ignored).
pub(crate) async fn user_by_email(
    c: &impl Client,
    email: &Email,
) -> Result<Option<DirectoryUser>, Error> {
    one(
        c,
        "SELECT id, email_key, record FROM users WHERE email_key = $1",
        &[&email.key()],
        user_row,
    )
    .await
}

/// Every directory user, by id.
pub(crate) async fn users(c: &impl Client) -> Result<Vec<DirectoryUser>, Error> {
    all(
        c,
        "SELECT id, email_key, record FROM users ORDER BY id",
        &[],
        user_row,
    )
    .await
}

/// An account row, borrowed and checked like [`user_row`]; its key is formatted only for an
/// error.
fn account_row(row: &Row) -> Result<Account, Error> {
    let t = "accounts";
    let (integration, external_id, user_id, record): (&str, &str, Option<&str>, &str) = (
        col(row, 0, t)?,
        col(row, 1, t)?,
        col(row, 2, t)?,
        col(row, 3, t)?,
    );
    let key = RowKey(integration, external_id);
    let account: Account = from_json(t, &key, record)?;
    check(
        IntegrationId::parse(integration).is_ok_and(|parsed| parsed == account.integration)
            && account.external_id.as_str() == external_id,
        t,
        &key,
        "the record has another key",
    )?;
    let linked_as_stored = match (account.link, user_id) {
        (Some(link), Some(user)) => UserId::parse(user).is_ok_and(|parsed| parsed == link.user),
        (None, None) => true,
        _ => false,
    };
    check(
        linked_as_stored,
        t,
        &key,
        "the record's link differs from the row's user",
    )?;
    Ok(account)
}

/// A per-integration row's key (integration, remote id), formatted only for an error.
struct RowKey<'a>(&'a str, &'a str);

impl Display for RowKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {})", self.0, self.1)
    }
}

/// An integration's accounts, by remote id.
pub(crate) async fn accounts(c: &impl Client, id: IntegrationId) -> Result<Vec<Account>, Error> {
    all(
        c,
        "SELECT integration, external_id, user_id, record FROM accounts \
         WHERE integration = $1 ORDER BY external_id",
        &[&id.to_string()],
        account_row,
    )
    .await
}

/// The accounts linked to a user, by integration then remote id.
pub(crate) async fn accounts_of(c: &impl Client, user: UserId) -> Result<Vec<Account>, Error> {
    all(
        c,
        "SELECT integration, external_id, user_id, record FROM accounts \
         WHERE user_id = $1 ORDER BY integration, external_id",
        &[&user.to_string()],
        account_row,
    )
    .await
}

/// The rows of a per-integration table keyed by remote id whose `record` holds a `T`, by
/// remote id, each checked with `key_of` against its key columns.
async fn keyed_records<T: serde::de::DeserializeOwned>(
    c: &impl Client,
    table: &str,
    id: IntegrationId,
    key_of: impl Fn(&T) -> (IntegrationId, &ExternalId),
) -> Result<Vec<T>, Error> {
    let sql = format!(
        "SELECT external_id, record FROM {table} WHERE integration = $1 ORDER BY external_id"
    );
    all(c, &sql, &[&id.to_string()], |row| {
        let (ext, rec): (String, String) = (col(row, 0, table)?, col(row, 1, table)?);
        let key = format!("({id}, {ext})");
        let value: T = from_json(table, &key, &rec)?;
        let (integration, external_id) = key_of(&value);
        check(
            integration == id && external_id.as_str() == ext,
            table,
            &key,
            "the record has another key",
        )?;
        Ok(value)
    })
    .await
}

/// An integration's groups, by remote id.
pub(crate) async fn groups(c: &impl Client, id: IntegrationId) -> Result<Vec<Group>, Error> {
    keyed_records(c, "groups", id, |g: &Group| (g.integration, &g.external_id)).await
}

/// An integration's org units, by remote id.
pub(crate) async fn org_units(c: &impl Client, id: IntegrationId) -> Result<Vec<OrgUnit>, Error> {
    keyed_records(c, "org_units", id, |u: &OrgUnit| {
        (u.integration, &u.external_id)
    })
    .await
}

/// An outbound integration's group ownership records, by email key.
pub(crate) async fn owned_groups(
    c: &impl Client,
    id: IntegrationId,
) -> Result<Vec<OwnedGroup>, Error> {
    let t = "owned_groups";
    all(
        c,
        "SELECT group_key, record FROM owned_groups WHERE integration = $1 ORDER BY group_key",
        &[&id.to_string()],
        |row| {
            let (group, rec): (String, String) = (col(row, 0, t)?, col(row, 1, t)?);
            let key = format!("({id}, {group})");
            let value: OwnedGroup = from_json(t, &key, &rec)?;
            check(
                value.integration == id && value.email.key() == group,
                t,
                &key,
                "the record has another key",
            )?;
            Ok(value)
        },
    )
    .await
}

/// An outbound integration's ownership records, by (group id, member email key).
pub(crate) async fn owned_memberships(
    c: &impl Client,
    id: IntegrationId,
) -> Result<Vec<OwnedMembership>, Error> {
    let t = "owned_memberships";
    all(
        c,
        "SELECT group_ext, member_key, record FROM owned_memberships \
         WHERE integration = $1 ORDER BY group_ext, member_key",
        &[&id.to_string()],
        |row| {
            let (group, member, rec): (String, String, String) =
                (col(row, 0, t)?, col(row, 1, t)?, col(row, 2, t)?);
            let key = format!("({id}, {group}, {member})");
            let value: OwnedMembership = from_json(t, &key, &rec)?;
            check(
                value.integration == id
                    && value.group.as_str() == group
                    && value.member.key() == member,
                t,
                &key,
                "the record has another key",
            )?;
            Ok(value)
        },
    )
    .await
}

/// An integration's memberships, by (group, member kind, member id): the primary key's order.
pub(crate) async fn memberships(
    c: &impl Client,
    id: IntegrationId,
) -> Result<Vec<Membership>, Error> {
    let t = "memberships";
    all(
        c,
        "SELECT group_ext, member_kind, member_ext, member_email, role FROM memberships \
         WHERE integration = $1 ORDER BY group_ext, member_kind, member_ext",
        &[&id.to_string()],
        |row| {
            let (group, kind, member, email, role): (&str, i16, &str, Option<&str>, i16) = (
                col(row, 0, t)?,
                col(row, 1, t)?,
                col(row, 2, t)?,
                col(row, 3, t)?,
                col(row, 4, t)?,
            );
            let bad = |key: &dyn Display, what: &dyn Display| {
                corrupt(format!("memberships row ({id}, {key}): {what}"))
            };
            let group = ExternalId::new(group).map_err(|e| bad(&"?", &e))?;
            let member = ExternalId::new(member).map_err(|e| bad(&group, &e))?;
            let key = || format!("{group}, {kind}, {member}");
            let member_kind = kind_from_code(kind).ok_or_else(|| bad(&key(), &"unknown kind"))?;
            let member_role = role_from_code(role).ok_or_else(|| bad(&key(), &"unknown role"))?;
            let email = email
                .map(Email::new)
                .transpose()
                .map_err(|e| bad(&key(), &e))?;
            Ok(Membership {
                integration: id,
                group,
                member: Member {
                    kind: member_kind,
                    external_id: member,
                    email,
                },
                role: member_role,
            })
        },
    )
    .await
}

fn run_row(row: &Row) -> Result<SyncRun, Error> {
    let t = "runs";
    let (id, integration, record): (String, String, String) =
        (col(row, 0, t)?, col(row, 1, t)?, col(row, 2, t)?);
    let run: SyncRun = from_json(t, &id, &record)?;
    check(
        run.id.to_string() == id && run.integration.to_string() == integration,
        t,
        &id,
        "the record has another id or integration",
    )?;
    Ok(run)
}

/// An integration's runs, newest first (start time, then recording order), at most `limit`.
pub(crate) async fn runs(
    c: &impl Client,
    integration: IntegrationId,
    limit: usize,
) -> Result<Vec<SyncRun>, Error> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    all(
        c,
        "SELECT id, integration, record FROM runs WHERE integration = $1 \
         ORDER BY started_s DESC, started_ns DESC, seq DESC LIMIT $2",
        &[&integration.to_string(), &limit],
        run_row,
    )
    .await
}

fn held_row(row: &Row) -> Result<HeldPlan, Error> {
    let t = "held_plans";
    let (id, integration, record): (String, String, String) =
        (col(row, 0, t)?, col(row, 1, t)?, col(row, 2, t)?);
    let plan: HeldPlan = from_json(t, &id, &record)?;
    check(
        plan.id.as_str() == id && plan.integration.to_string() == integration,
        t,
        &id,
        "the record has another id or integration",
    )?;
    Ok(plan)
}

/// One held plan.
pub(crate) async fn held_plan(c: &impl Client, id: &PlanId) -> Result<Option<HeldPlan>, Error> {
    one(
        c,
        "SELECT id, integration, record FROM held_plans WHERE id = $1",
        &[&id.as_str()],
        held_row,
    )
    .await
}

/// An integration's held plans, oldest first (hold time, then hold order).
pub(crate) async fn held_plans(
    c: &impl Client,
    integration: IntegrationId,
) -> Result<Vec<HeldPlan>, Error> {
    all(
        c,
        "SELECT id, integration, record FROM held_plans WHERE integration = $1 \
         ORDER BY held_s, held_ns, seq",
        &[&integration.to_string()],
        held_row,
    )
    .await
}

fn api_token_row(row: &Row) -> Result<ApiToken, Error> {
    let t = "api_tokens";
    let (name, record): (String, String) = (col(row, 0, t)?, col(row, 1, t)?);
    let token: ApiToken = from_json(t, &name, &record)?;
    check(token.name == name, t, &name, "the record has another name")?;
    Ok(token)
}

/// Every API token, by name.
pub(crate) async fn api_tokens(c: &impl Client) -> Result<Vec<ApiToken>, Error> {
    all(
        c,
        "SELECT name, record FROM api_tokens ORDER BY name",
        &[],
        api_token_row,
    )
    .await
}

/// The API token with this hash.
pub(crate) async fn api_token_by_hash(
    c: &impl Client,
    hash: &str,
) -> Result<Option<ApiToken>, Error> {
    one(
        c,
        "SELECT name, record FROM api_tokens WHERE hash = $1",
        &[&hash],
        api_token_row,
    )
    .await
}

/// The API token named `name`.
pub(crate) async fn api_token(c: &impl Client, name: &str) -> Result<Option<ApiToken>, Error> {
    one(
        c,
        "SELECT name, record FROM api_tokens WHERE name = $1",
        &[&name],
        api_token_row,
    )
    .await
}

/// An integration's lease, expired or not.
pub(crate) async fn lease(
    c: &impl Client,
    integration: IntegrationId,
) -> Result<Option<Lease>, Error> {
    let t = "leases";
    one(
        c,
        "SELECT holder, until_s, until_ns FROM leases WHERE integration = $1",
        &[&integration.to_string()],
        |row| {
            let (holder, s, ns): (String, i64, i64) =
                (col(row, 0, t)?, col(row, 1, t)?, col(row, 2, t)?);
            let until = from_instant(s, ns).ok_or_else(|| {
                corrupt(format!(
                    "leases row {integration}: instant ({s}, {ns}) is out of range"
                ))
            })?;
            Ok(Lease {
                integration,
                holder,
                until,
            })
        },
    )
    .await
}

fn push_channel_row(row: &Row) -> Result<PushChannel, Error> {
    let t = "push_channels";
    let (id, record): (String, String) = (col(row, 0, t)?, col(row, 1, t)?);
    let channel: PushChannel = from_json(t, &id, &record)?;
    check(channel.id == id, t, &id, "the record has another id")?;
    Ok(channel)
}

/// An integration's push channels, oldest first.
pub(crate) async fn push_channels(
    c: &impl Client,
    integration: IntegrationId,
) -> Result<Vec<PushChannel>, Error> {
    all(
        c,
        "SELECT id, record FROM push_channels WHERE integration = $1 \
         ORDER BY opened_s, opened_ns, id",
        &[&integration.to_string()],
        push_channel_row,
    )
    .await
}

/// An integration's activity cursor.
pub(crate) async fn activity_cursor(
    c: &impl Client,
    integration: IntegrationId,
) -> Result<Option<ActivityCursor>, Error> {
    one(
        c,
        "SELECT integration, record FROM activity_cursors WHERE integration = $1",
        &[&integration.to_string()],
        |row| {
            let t = "activity_cursors";
            let (id, record): (String, String) = (col(row, 0, t)?, col(row, 1, t)?);
            let cursor: ActivityCursor = from_json(t, &id, &record)?;
            check(
                cursor.integration.to_string() == id,
                t,
                &id,
                "the record is another integration's",
            )?;
            Ok(cursor)
        },
    )
    .await
}

/// The push channel with this id.
pub(crate) async fn push_channel(c: &impl Client, id: &str) -> Result<Option<PushChannel>, Error> {
    one(
        c,
        "SELECT id, record FROM push_channels WHERE id = $1",
        &[&id],
        push_channel_row,
    )
    .await
}
