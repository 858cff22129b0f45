//! Reads, shared by the `Store` methods and the transaction primitives. Every row read is
//! parsed and checked against its key columns; a row that fails is `Corrupt`, naming the
//! table and the key.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use directory_core::{
    Account, AnyIntegration, DirectoryUser, Email, ExternalId, Group, HeldPlan, IntegrationId,
    IntegrationRecord, Member, Membership, OrgUnit, PlanId, SyncRun, UserId, Version,
};
use rusqlite::{Connection, OptionalExtension, params};
use store_traits::{Error, Lease};

use crate::codec::{
    Db, corrupt, from_instant, from_json, kind_from_code, role_from_code, version_from_sql,
};

/// `Corrupt` unless `ok`.
fn check(ok: bool, table: &str, key: &dyn Display, what: &str) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(corrupt(format!("{table} row {key}: {what}")))
    }
}

fn integration_row(
    id: &str,
    direction: &str,
    role: &str,
    record: &str,
) -> Result<IntegrationRecord, Error> {
    let parsed: IntegrationRecord = from_json("integrations", &id, record)?;
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
    let row = conn
        .prepare_cached("SELECT id, direction, role, record FROM integrations WHERE id = ?1")
        .db()?
        .query_row([id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()
        .db()?;
    row.map(|(id, d, r, rec): (String, String, String, String)| integration_row(&id, &d, &r, &rec))
        .transpose()
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
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, direction, role, record FROM integrations \
             ORDER BY created_s, created_ns, seq",
        )
        .db()?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .db()?;
    let mut out = Vec::new();
    for row in rows {
        let (id, d, r, rec) = row.db()?;
        out.push(integration_row(&id, &d, &r, &rec)?);
    }
    Ok(out)
}

/// The primary's record.
pub(crate) fn primary(conn: &Connection) -> Result<Option<IntegrationRecord>, Error> {
    let row = conn
        .prepare_cached(
            "SELECT id, direction, role, record FROM integrations WHERE role = 'primary'",
        )
        .db()?
        .query_row([], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()
        .db()?;
    row.map(|(id, d, r, rec): (String, String, String, String)| integration_row(&id, &d, &r, &rec))
        .transpose()
}

/// The primary's id.
pub(crate) fn primary_id(conn: &Connection) -> Result<Option<IntegrationId>, Error> {
    let id: Option<String> = conn
        .prepare_cached("SELECT id FROM integrations WHERE role = 'primary'")
        .db()?
        .query_row([], |r| r.get(0))
        .optional()
        .db()?;
    id.map(|id| {
        IntegrationId::parse(&id).map_err(|e| corrupt(format!("integrations row {id}: {e}")))
    })
    .transpose()
}

/// The version of an integration's data (zero before its first apply).
pub(crate) fn version(conn: &Connection, id: IntegrationId) -> Result<Version, Error> {
    let v: Option<i64> = conn
        .prepare_cached("SELECT version FROM versions WHERE integration = ?1")
        .db()?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()
        .db()?;
    Ok(v.map(version_from_sql).unwrap_or_default())
}

fn user_row(id: &str, email_key: &str, record: &str) -> Result<DirectoryUser, Error> {
    let user: DirectoryUser = from_json("users", &id, record)?;
    check(
        user.id.to_string() == id,
        "users",
        &id,
        "the record has another id",
    )?;
    check(
        user.profile.primary_email.key() == email_key,
        "users",
        &id,
        "the record's email differs from the row's email key",
    )?;
    Ok(user)
}

/// One directory user.
pub(crate) fn user(conn: &Connection, id: UserId) -> Result<Option<DirectoryUser>, Error> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT id, email_key, record FROM users WHERE id = ?1")
        .db()?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .db()?;
    row.map(|(id, key, rec)| user_row(&id, &key, &rec))
        .transpose()
}

/// The id of the user with this email (ASCII case ignored).
pub(crate) fn user_id_by_email(conn: &Connection, email: &Email) -> Result<Option<UserId>, Error> {
    let id: Option<String> = conn
        .prepare_cached("SELECT id FROM users WHERE email_key = ?1")
        .db()?
        .query_row([email.key()], |r| r.get(0))
        .optional()
        .db()?;
    id.map(|id| UserId::parse(&id).map_err(|e| corrupt(format!("users row {id}: {e}"))))
        .transpose()
}

/// The user with this email (ASCII case ignored).
pub(crate) fn user_by_email(
    conn: &Connection,
    email: &Email,
) -> Result<Option<DirectoryUser>, Error> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT id, email_key, record FROM users WHERE email_key = ?1")
        .db()?
        .query_row([email.key()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .db()?;
    row.map(|(id, key, rec)| user_row(&id, &key, &rec))
        .transpose()
}

/// Every directory user, by id (the text order of lowercase hyphenated UUIDs is their byte
/// order, which is `UserId`'s order).
pub(crate) fn users(conn: &Connection) -> Result<Vec<DirectoryUser>, Error> {
    let mut stmt = conn
        .prepare_cached("SELECT id, email_key, record FROM users ORDER BY id")
        .db()?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .db()?;
    let mut out = Vec::new();
    for row in rows {
        let (id, key, rec) = row.db()?;
        out.push(user_row(&id, &key, &rec)?);
    }
    Ok(out)
}

fn account_row(
    integration: &str,
    external_id: &str,
    user_id: Option<&str>,
    record: &str,
) -> Result<Account, Error> {
    let key = format!("({integration}, {external_id})");
    let account: Account = from_json("accounts", &key, record)?;
    check(
        account.integration.to_string() == integration
            && account.external_id.as_str() == external_id,
        "accounts",
        &key,
        "the record has another key",
    )?;
    check(
        account.link.map(|l| l.user.to_string()).as_deref() == user_id,
        "accounts",
        &key,
        "the record's link differs from the row's user",
    )?;
    Ok(account)
}

fn accounts_where(conn: &Connection, sql: &str, param: &str) -> Result<Vec<Account>, Error> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let rows = stmt
        .query_map([param], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .db()?;
    let mut out = Vec::new();
    for row in rows {
        let (integration, ext, user, rec) = row.db()?;
        out.push(account_row(&integration, &ext, user.as_deref(), &rec)?);
    }
    Ok(out)
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
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let rows = stmt
        .query_map([id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .db()?;
    let mut out = Vec::new();
    for row in rows {
        let (ext, rec) = row.db()?;
        let key = format!("({id}, {ext})");
        let value: T = from_json(table, &key, &rec)?;
        let (integration, external_id) = key_of(&value);
        check(
            integration == id && external_id.as_str() == ext,
            table,
            &key,
            "the record has another key",
        )?;
        out.push(value);
    }
    Ok(out)
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

/// An integration's memberships, by (group, member kind, member id): the primary key's order.
pub(crate) fn memberships(conn: &Connection, id: IntegrationId) -> Result<Vec<Membership>, Error> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT group_ext, member_kind, member_ext, member_email, role FROM memberships \
             WHERE integration = ?1 ORDER BY group_ext, member_kind, member_ext",
        )
        .db()?;
    let mut rows = stmt.query([id.to_string()]).db()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().db()? {
        let group: String = row.get(0).db()?;
        let kind: i64 = row.get(1).db()?;
        let member: String = row.get(2).db()?;
        let email: Option<String> = row.get(3).db()?;
        let role: i64 = row.get(4).db()?;
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
        out.push(Membership {
            integration: id,
            group,
            member: Member {
                kind: member_kind,
                external_id: member,
                email,
            },
            role: member_role,
        });
    }
    Ok(out)
}

fn run_row(id: &str, integration: &str, record: &str) -> Result<SyncRun, Error> {
    let run: SyncRun = from_json("runs", &id, record)?;
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
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, integration, record FROM runs WHERE integration = ?1 \
             ORDER BY started_s DESC, started_ns DESC, seq DESC LIMIT ?2",
        )
        .db()?;
    let rows = stmt
        .query_map(params![integration.to_string(), limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .db()?;
    let mut out = Vec::new();
    for row in rows {
        let (id, integration, rec) = row.db()?;
        out.push(run_row(&id, &integration, &rec)?);
    }
    Ok(out)
}

fn held_row(id: &str, integration: &str, record: &str) -> Result<HeldPlan, Error> {
    let plan: HeldPlan = from_json("held_plans", &id, record)?;
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
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT id, integration, record FROM held_plans WHERE id = ?1")
        .db()?
        .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .db()?;
    row.map(|(id, integration, rec)| held_row(&id, &integration, &rec))
        .transpose()
}

/// An integration's held plans, oldest first (hold time, then hold order).
pub(crate) fn held_plans(
    conn: &Connection,
    integration: IntegrationId,
) -> Result<Vec<HeldPlan>, Error> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, integration, record FROM held_plans WHERE integration = ?1 \
             ORDER BY held_s, held_ns, seq",
        )
        .db()?;
    let rows = stmt
        .query_map([integration.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .db()?;
    let mut out = Vec::new();
    for row in rows {
        let (id, integration, rec) = row.db()?;
        out.push(held_row(&id, &integration, &rec)?);
    }
    Ok(out)
}

/// An integration's lease, expired or not.
pub(crate) fn lease(conn: &Connection, integration: IntegrationId) -> Result<Option<Lease>, Error> {
    let row: Option<(String, i64, i64)> = conn
        .prepare_cached("SELECT holder, until_s, until_ns FROM leases WHERE integration = ?1")
        .db()?
        .query_row([integration.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .db()?;
    row.map(|(holder, s, ns)| {
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
    })
    .transpose()
}
