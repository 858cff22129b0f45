//! Reads, shared by the `Store` methods and the transaction primitives. Every row read is
//! parsed and checked against its key columns; a row that fails is `Corrupt`, naming the
//! table and the key.
//!
//! The bulk reads of a view (users, accounts, memberships) borrow each column's text from the
//! row instead of copying it into a `String`, and check keys by parsing the key columns
//! instead of formatting the record's: a row costs its record's parse and nothing else. The
//! error's text (the key, formatted) is built only when a row fails.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, ActivityCursor, AnyIntegration, ApiToken, DirectoryUser, Email, ExternalId, Group,
    HeldPlan, IntegrationId, IntegrationRecord, Member, Membership, OrgUnit, OwnedGroup,
    OwnedMembership, PlanId, PushChannel, SyncRun, UserId, Version,
};
use dirsync_store::{Error, Lease};
use rusqlite::{Connection, OptionalExtension, Params, Row, params};

use crate::codec::{
    Db, corrupt, from_instant, from_json, kind_from_code, role_from_code, version_from_sql,
};

/// Runs `sql` (a cached statement) with `params`, reads each row's columns with `extract`
/// (a driver error is mapped by [`Db`]), and turns them into a domain value with `decode`
/// (which reports `Corrupt`). Rows come in the statement's order; the first failure ends it.
fn all<P: Params, R, T>(
    conn: &Connection,
    sql: &str,
    params: P,
    extract: impl FnMut(&Row<'_>) -> rusqlite::Result<R>,
    mut decode: impl FnMut(R) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let rows = stmt.query_map(params, extract).db()?;
    rows.map(|row| decode(row.db()?)).collect()
}

/// Runs `sql` (a cached statement) with `params` and decodes each row with `decode`, which
/// borrows the row's columns (no copy of a column's text). Rows come in the statement's order;
/// the first failure ends it.
fn each<P: Params, T>(
    conn: &Connection,
    sql: &str,
    params: P,
    mut decode: impl FnMut(&Row<'_>) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let mut rows = stmt.query(params).db()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().db()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// Column `i` of a row as borrowed text (`Corrupt` if it is not text).
fn text<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r str, Error> {
    row.get_ref(i)
        .db()?
        .as_str()
        .map_err(|e| corrupt(format!("a stored value has the wrong type: {e}")))
}

/// Column `i` of a row as borrowed text, or `None` when it is NULL.
fn text_or_null<'r>(row: &'r Row<'_>, i: usize) -> Result<Option<&'r str>, Error> {
    row.get_ref(i)
        .db()?
        .as_str_or_null()
        .map_err(|e| corrupt(format!("a stored value has the wrong type: {e}")))
}

/// [`all`] for at most one row: the first row's columns, if there is one, decoded.
fn one<P: Params, R, T>(
    conn: &Connection,
    sql: &str,
    params: P,
    extract: impl FnOnce(&Row<'_>) -> rusqlite::Result<R>,
    decode: impl FnOnce(R) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    conn.prepare_cached(sql)
        .db()?
        .query_row(params, extract)
        .optional()
        .db()?
        .map(decode)
        .transpose()
}

/// The first `N` columns of a row, as text.
fn texts<const N: usize>(r: &Row<'_>) -> rusqlite::Result<[String; N]> {
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (i, column) in out.iter_mut().enumerate() {
        *column = r.get(i)?;
    }
    Ok(out)
}

/// `Corrupt` unless `ok`.
fn check(ok: bool, table: &str, key: &dyn Display, what: &str) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(corrupt(format!("{table} row {key}: {what}")))
    }
}

fn integration_row([id, direction, role, record]: [String; 4]) -> Result<IntegrationRecord, Error> {
    let parsed: IntegrationRecord = from_json("integrations", &id, &record)?;
    check(
        parsed.id.to_string() == id,
        "integrations",
        &id,
        "the record has another id",
    )?;
    check(
        parsed.direction.to_string() == direction && parsed.role.to_string() == role,
        "integrations",
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

/// One integration's record.
pub(crate) fn integration(
    conn: &Connection,
    id: IntegrationId,
) -> Result<Option<IntegrationRecord>, Error> {
    one(
        conn,
        "SELECT id, direction, role, record FROM integrations WHERE id = ?1",
        [id.to_string()],
        texts,
        integration_row,
    )
}

/// Whether the integration exists.
pub(crate) fn integration_exists(conn: &Connection, id: IntegrationId) -> Result<bool, Error> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM integrations WHERE id = ?1)")
        .db()?
        .query_row([id.to_string()], |r| r.get(0))
        .db()
}

/// `NotFound` unless the integration exists.
pub(crate) fn require_integration(conn: &Connection, id: IntegrationId) -> Result<(), Error> {
    if integration_exists(conn, id)? {
        Ok(())
    } else {
        Err(Error::integration_not_found(id))
    }
}

/// Every integration, oldest first (creation time, then creation order).
pub(crate) fn integrations(conn: &Connection) -> Result<Vec<IntegrationRecord>, Error> {
    all(
        conn,
        "SELECT id, direction, role, record FROM integrations \
         ORDER BY created_s, created_ns, seq",
        [],
        texts,
        integration_row,
    )
}

/// The primary's record.
pub(crate) fn primary(conn: &Connection) -> Result<Option<IntegrationRecord>, Error> {
    one(
        conn,
        "SELECT id, direction, role, record FROM integrations WHERE role = 'primary'",
        [],
        texts,
        integration_row,
    )
}

/// The primary's id.
pub(crate) fn primary_id(conn: &Connection) -> Result<Option<IntegrationId>, Error> {
    one(
        conn,
        "SELECT id FROM integrations WHERE role = 'primary'",
        [],
        |r| r.get::<_, String>(0),
        |id| IntegrationId::parse(&id).map_err(|e| corrupt(format!("integrations row {id}: {e}"))),
    )
}

/// The version of an integration's data (zero before its first apply).
pub(crate) fn version(conn: &Connection, id: IntegrationId) -> Result<Version, Error> {
    let v = one(
        conn,
        "SELECT version FROM versions WHERE integration = ?1",
        [id.to_string()],
        |r| r.get::<_, i64>(0),
        |v| Ok(version_from_sql(v)),
    )?;
    Ok(v.unwrap_or_default())
}

fn user_row([id, email_key, record]: [String; 3]) -> Result<DirectoryUser, Error> {
    user_columns(&id, &email_key, &record)
}

fn user_columns(id: &str, email_key: &str, record: &str) -> Result<DirectoryUser, Error> {
    let user: DirectoryUser = from_json("users", &id, record)?;
    check(
        UserId::parse(id).is_ok_and(|parsed| parsed == user.id),
        "users",
        &id,
        "the record has another id",
    )?;
    check(
        user.profile.primary_email.has_key(email_key),
        "users",
        &id,
        "the record's email differs from the row's email key",
    )?;
    Ok(user)
}

/// One directory user.
pub(crate) fn user(conn: &Connection, id: UserId) -> Result<Option<DirectoryUser>, Error> {
    one(
        conn,
        "SELECT id, email_key, record FROM users WHERE id = ?1",
        [id.to_string()],
        texts,
        user_row,
    )
}

/// The id of the user whose email key ([`Email::key`]) is `key`.
pub(crate) fn user_id_by_email_key(conn: &Connection, key: &str) -> Result<Option<UserId>, Error> {
    one(
        conn,
        "SELECT id FROM users WHERE email_key = ?1",
        [key],
        |r| r.get::<_, String>(0),
        |id| UserId::parse(&id).map_err(|e| corrupt(format!("users row {id}: {e}"))),
    )
}

/// The user with this email (ASCII case ignored).
pub(crate) fn user_by_email(
    conn: &Connection,
    email: &Email,
) -> Result<Option<DirectoryUser>, Error> {
    one(
        conn,
        "SELECT id, email_key, record FROM users WHERE email_key = ?1",
        [email.key()],
        texts,
        user_row,
    )
}

/// Every directory user, by id (the text order of lowercase hyphenated UUIDs is their byte
/// order, which is `UserId`'s order).
pub(crate) fn users(conn: &Connection) -> Result<Vec<DirectoryUser>, Error> {
    each(
        conn,
        "SELECT id, email_key, record FROM users ORDER BY id",
        [],
        |r| user_columns(text(r, 0)?, text(r, 1)?, text(r, 2)?),
    )
}

/// A per-integration row's key (integration, remote id), formatted only for an error.
struct RowKey<'a>(&'a str, &'a str);

impl Display for RowKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {})", self.0, self.1)
    }
}

fn account_row(row: &Row<'_>) -> Result<Account, Error> {
    let (integration, external_id) = (text(row, 0)?, text(row, 1)?);
    let (user_id, record) = (text_or_null(row, 2)?, text(row, 3)?);
    let key = RowKey(integration, external_id);
    let account: Account = from_json("accounts", &key, record)?;
    check(
        IntegrationId::parse(integration).is_ok_and(|parsed| parsed == account.integration)
            && account.external_id.as_str() == external_id,
        "accounts",
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
        "accounts",
        &key,
        "the record's link differs from the row's user",
    )?;
    Ok(account)
}

fn accounts_where(conn: &Connection, sql: &str, param: &str) -> Result<Vec<Account>, Error> {
    each(conn, sql, [param], account_row)
}

/// An integration's accounts, by remote id.
pub(crate) fn accounts(conn: &Connection, id: IntegrationId) -> Result<Vec<Account>, Error> {
    accounts_where(
        conn,
        "SELECT integration, external_id, user_id, record FROM accounts \
         WHERE integration = ?1 ORDER BY external_id",
        &id.to_string(),
    )
}

/// The accounts linked to a user, by integration then remote id.
pub(crate) fn accounts_of(conn: &Connection, user: UserId) -> Result<Vec<Account>, Error> {
    accounts_where(
        conn,
        "SELECT integration, external_id, user_id, record FROM accounts \
         WHERE user_id = ?1 ORDER BY integration, external_id",
        &user.to_string(),
    )
}

/// The rows of a per-integration table keyed by remote id whose `record` holds a `T`, by
/// remote id, each checked with `key_of` against its key columns.
fn keyed_records<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    table: &str,
    id: IntegrationId,
    key_of: impl Fn(&T) -> (IntegrationId, &ExternalId),
) -> Result<Vec<T>, Error> {
    let sql = format!(
        "SELECT external_id, record FROM {table} WHERE integration = ?1 ORDER BY external_id"
    );
    let integration_text = id.to_string();
    each(conn, &sql, [&integration_text], |r| {
        let ext = text(r, 0)?;
        let key = RowKey(&integration_text, ext);
        let value: T = from_json(table, &key, text(r, 1)?)?;
        let (integration, external_id) = key_of(&value);
        check(
            integration == id && external_id.as_str() == ext,
            table,
            &key,
            "the record has another key",
        )?;
        Ok(value)
    })
}

/// An integration's groups, by remote id.
pub(crate) fn groups(conn: &Connection, id: IntegrationId) -> Result<Vec<Group>, Error> {
    keyed_records(conn, "groups", id, |g: &Group| {
        (g.integration, &g.external_id)
    })
}

/// An integration's org units, by remote id.
pub(crate) fn org_units(conn: &Connection, id: IntegrationId) -> Result<Vec<OrgUnit>, Error> {
    keyed_records(conn, "org_units", id, |u: &OrgUnit| {
        (u.integration, &u.external_id)
    })
}

/// An outbound integration's group ownership records, by email key.
pub(crate) fn owned_groups(conn: &Connection, id: IntegrationId) -> Result<Vec<OwnedGroup>, Error> {
    all(
        conn,
        "SELECT group_key, record FROM owned_groups WHERE integration = ?1 ORDER BY group_key",
        [id.to_string()],
        texts,
        |[group, rec]| {
            let key = format!("({id}, {group})");
            let value: OwnedGroup = from_json("owned_groups", &key, &rec)?;
            check(
                value.integration == id && value.email.key() == group,
                "owned_groups",
                &key,
                "the record has another key",
            )?;
            Ok(value)
        },
    )
}

/// An outbound integration's ownership records, by (group id, member email key).
pub(crate) fn owned_memberships(
    conn: &Connection,
    id: IntegrationId,
) -> Result<Vec<OwnedMembership>, Error> {
    all(
        conn,
        "SELECT group_ext, member_key, record FROM owned_memberships \
         WHERE integration = ?1 ORDER BY group_ext, member_key",
        [id.to_string()],
        texts,
        |[group, member, rec]| {
            let key = format!("({id}, {group}, {member})");
            let value: OwnedMembership = from_json("owned_memberships", &key, &rec)?;
            check(
                value.integration == id
                    && value.group.as_str() == group
                    && value.member.key() == member,
                "owned_memberships",
                &key,
                "the record has another key",
            )?;
            Ok(value)
        },
    )
}

/// An integration's memberships, by (group, member kind, member id): the primary key's order.
/// Rows of one group are consecutive, so the group's id is made once for them all.
pub(crate) fn memberships(conn: &Connection, id: IntegrationId) -> Result<Vec<Membership>, Error> {
    let mut group: Option<ExternalId> = None;
    each(
        conn,
        "SELECT group_ext, member_kind, member_ext, member_email, role FROM memberships \
         WHERE integration = ?1 ORDER BY group_ext, member_kind, member_ext",
        [id.to_string()],
        |r| {
            let bad = |key: &dyn Display, what: &dyn Display| {
                corrupt(format!("memberships row ({id}, {key}): {what}"))
            };
            let group_text = text(r, 0)?;
            let group = match &group {
                Some(g) if g.as_str() == group_text => g.clone(),
                _ => {
                    let g = ExternalId::new(group_text).map_err(|e| bad(&"?", &e))?;
                    group = Some(g.clone());
                    g
                }
            };
            let (kind, role): (i64, i64) = (r.get(1).db()?, r.get(4).db()?);
            let member = ExternalId::new(text(r, 2)?).map_err(|e| bad(&group, &e))?;
            let key = || format!("{group}, {kind}, {member}");
            let member_kind = kind_from_code(kind).ok_or_else(|| bad(&key(), &"unknown kind"))?;
            let member_role = role_from_code(role).ok_or_else(|| bad(&key(), &"unknown role"))?;
            let email = text_or_null(r, 3)?
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
}

fn run_row([id, integration, record]: [String; 3]) -> Result<SyncRun, Error> {
    let run: SyncRun = from_json("runs", &id, &record)?;
    check(
        run.id.to_string() == id && run.integration.to_string() == integration,
        "runs",
        &id,
        "the record has another id or integration",
    )?;
    Ok(run)
}

/// An integration's runs, newest first (start time, then recording order), at most `limit`.
pub(crate) fn runs(
    conn: &Connection,
    integration: IntegrationId,
    limit: usize,
) -> Result<Vec<SyncRun>, Error> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    all(
        conn,
        "SELECT id, integration, record FROM runs WHERE integration = ?1 \
         ORDER BY started_s DESC, started_ns DESC, seq DESC LIMIT ?2",
        params![integration.to_string(), limit],
        texts,
        run_row,
    )
}

fn held_row([id, integration, record]: [String; 3]) -> Result<HeldPlan, Error> {
    let plan: HeldPlan = from_json("held_plans", &id, &record)?;
    check(
        plan.id.as_str() == id && plan.integration.to_string() == integration,
        "held_plans",
        &id,
        "the record has another id or integration",
    )?;
    Ok(plan)
}

/// One held plan.
pub(crate) fn held_plan(conn: &Connection, id: &PlanId) -> Result<Option<HeldPlan>, Error> {
    one(
        conn,
        "SELECT id, integration, record FROM held_plans WHERE id = ?1",
        [id.as_str()],
        texts,
        held_row,
    )
}

/// An integration's held plans, oldest first (hold time, then hold order).
pub(crate) fn held_plans(
    conn: &Connection,
    integration: IntegrationId,
) -> Result<Vec<HeldPlan>, Error> {
    all(
        conn,
        "SELECT id, integration, record FROM held_plans WHERE integration = ?1 \
         ORDER BY held_s, held_ns, seq",
        [integration.to_string()],
        texts,
        held_row,
    )
}

fn api_token_row([name, record]: [String; 2]) -> Result<ApiToken, Error> {
    let token: ApiToken = from_json("api_tokens", &name, &record)?;
    check(
        token.name == name,
        "api_tokens",
        &name,
        "the record has another name",
    )?;
    Ok(token)
}

/// Every API token, by name.
pub(crate) fn api_tokens(conn: &Connection) -> Result<Vec<ApiToken>, Error> {
    all(
        conn,
        "SELECT name, record FROM api_tokens ORDER BY name",
        [],
        texts,
        api_token_row,
    )
}

/// The API token with this hash.
pub(crate) fn api_token_by_hash(conn: &Connection, hash: &str) -> Result<Option<ApiToken>, Error> {
    one(
        conn,
        "SELECT name, record FROM api_tokens WHERE hash = ?1",
        [hash],
        texts,
        api_token_row,
    )
}

/// The API token named `name`.
pub(crate) fn api_token(conn: &Connection, name: &str) -> Result<Option<ApiToken>, Error> {
    one(
        conn,
        "SELECT name, record FROM api_tokens WHERE name = ?1",
        [name],
        texts,
        api_token_row,
    )
}

fn push_channel_row([id, record]: [String; 2]) -> Result<PushChannel, Error> {
    let channel: PushChannel = from_json("push_channels", &id, &record)?;
    check(
        channel.id == id,
        "push_channels",
        &id,
        "the record has another id",
    )?;
    Ok(channel)
}

/// An integration's push channels, oldest first.
pub(crate) fn push_channels(
    conn: &Connection,
    integration: IntegrationId,
) -> Result<Vec<PushChannel>, Error> {
    all(
        conn,
        "SELECT id, record FROM push_channels WHERE integration = ?1 \
         ORDER BY opened_s, opened_ns, id",
        [integration.to_string()],
        texts,
        push_channel_row,
    )
}

/// The push channel with this id.
pub(crate) fn push_channel(conn: &Connection, id: &str) -> Result<Option<PushChannel>, Error> {
    one(
        conn,
        "SELECT id, record FROM push_channels WHERE id = ?1",
        [id],
        texts,
        push_channel_row,
    )
}

/// An integration's activity cursor.
pub(crate) fn activity_cursor(
    conn: &Connection,
    integration: IntegrationId,
) -> Result<Option<ActivityCursor>, Error> {
    let id = integration.to_string();
    one(
        conn,
        "SELECT record FROM activity_cursors WHERE integration = ?1",
        [id.as_str()],
        texts,
        |[record]: [String; 1]| {
            let cursor: ActivityCursor = from_json("activity_cursors", &id, &record)?;
            check(
                cursor.integration == integration,
                "activity_cursors",
                &id,
                "the record is another integration's",
            )?;
            Ok(cursor)
        },
    )
}

/// An integration's lease, expired or not.
pub(crate) fn lease(conn: &Connection, integration: IntegrationId) -> Result<Option<Lease>, Error> {
    one(
        conn,
        "SELECT holder, until_s, until_ns FROM leases WHERE integration = ?1",
        [integration.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        |(holder, s, ns): (String, i64, i64)| {
            let until: DateTime<Utc> = from_instant(s, ns).ok_or_else(|| {
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
}
