-- directory-sync SQLite schema, version 1.
--
-- Conventions:
-- * Ids are TEXT in their canonical form: UUIDs hyphenated and lowercase (so that text order
--   is UUID byte order, the order of the Rust types), remote ids as the remote spells them.
-- * Columns exist for what the store looks up, orders by, or keeps in bulk; nested values are
--   one JSON document in `record` (serde_json of the dirsync-core type).
-- * Instants used for ordering are two integers, `*_s` (Unix seconds) and `*_ns` (nanoseconds
--   within the second): exact for every chrono instant, and ordered like `DateTime<Utc>`.
-- * `seq` breaks ties between equal instants in insertion order.
-- * Tables are STRICT: a value of the wrong type is refused at write time.

-- Integrations. The JSON record is the IntegrationRecord; direction, role and created_at are
-- copied out because they never change and are what the store orders and checks by.
CREATE TABLE integrations (
    id          TEXT    NOT NULL PRIMARY KEY,
    seq         INTEGER NOT NULL UNIQUE,
    created_s   INTEGER NOT NULL,
    created_ns  INTEGER NOT NULL,
    direction   TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    role        TEXT    NOT NULL CHECK (role IN ('primary', 'secondary')),
    record      TEXT    NOT NULL,
    CHECK (role = 'secondary' OR direction = 'inbound')
) STRICT;

-- At most one primary, whatever the code above the database does.
CREATE UNIQUE INDEX integrations_one_primary ON integrations (role) WHERE role = 'primary';
CREATE INDEX integrations_by_creation ON integrations (created_s, created_ns, seq);

-- The version of each integration's data (absent = version 0).
CREATE TABLE versions (
    integration TEXT    NOT NULL PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The unified directory. `email_key` is Email::key() (ASCII-lowercased): unique, so two users
-- can never share a primary email, and the index behind user_by_email.
CREATE TABLE users (
    id        TEXT NOT NULL PRIMARY KEY,
    email_key TEXT NOT NULL UNIQUE,
    record    TEXT NOT NULL
) STRICT;

-- Accounts, per integration. `user_id` is the linked directory user, if any.
CREATE TABLE accounts (
    integration TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    user_id     TEXT,
    record      TEXT NOT NULL,
    PRIMARY KEY (integration, external_id)
) STRICT;

CREATE INDEX accounts_by_user ON accounts (user_id) WHERE user_id IS NOT NULL;

-- Groups, per integration.
CREATE TABLE groups (
    integration TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    record      TEXT NOT NULL,
    PRIMARY KEY (integration, external_id)
) STRICT;

-- Memberships: the big table (a million rows and more), so plain small columns and no rowid.
-- member_kind: 0 user, 1 group, 2 customer; role: 0 owner, 1 manager, 2 member (the order of
-- the Rust enums, so that ORDER BY agrees with MembershipKey's Ord). The checks are BETWEEN, not
-- IN (...): an IN list costs a temporary table for every row inserted.
-- A membership cannot outlive its group (the foreign key), nor its integration (through the group).
CREATE TABLE memberships (
    integration  TEXT    NOT NULL,
    group_ext    TEXT    NOT NULL,
    member_kind  INTEGER NOT NULL CHECK (member_kind BETWEEN 0 AND 2),
    member_ext   TEXT    NOT NULL,
    member_email TEXT,
    role         INTEGER NOT NULL CHECK (role BETWEEN 0 AND 2),
    PRIMARY KEY (integration, group_ext, member_kind, member_ext),
    FOREIGN KEY (integration, group_ext)
        REFERENCES groups (integration, external_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Memberships in which a group is the (nested) member, for the cascade when that group goes.
-- Partial: only nested groups, a small fraction of all memberships.
CREATE INDEX memberships_of_nested_group ON memberships (integration, member_ext)
    WHERE member_kind = 1;

-- Org units, per integration.
CREATE TABLE org_units (
    integration TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    record      TEXT NOT NULL,
    PRIMARY KEY (integration, external_id)
) STRICT;

-- Sync runs: history, kept when their integration is removed (so no foreign key).
CREATE TABLE runs (
    id          TEXT    NOT NULL PRIMARY KEY,
    integration TEXT    NOT NULL,
    started_s   INTEGER NOT NULL,
    started_ns  INTEGER NOT NULL,
    seq         INTEGER NOT NULL UNIQUE,
    record      TEXT    NOT NULL
) STRICT;

CREATE INDEX runs_newest_first ON runs (integration, started_s DESC, started_ns DESC, seq DESC);

-- Plans held by a safeguard, until approved or discarded.
CREATE TABLE held_plans (
    id          TEXT    NOT NULL PRIMARY KEY,
    integration TEXT    NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    held_s      INTEGER NOT NULL,
    held_ns     INTEGER NOT NULL,
    seq         INTEGER NOT NULL UNIQUE,
    record      TEXT    NOT NULL
) STRICT;

CREATE INDEX held_plans_oldest_first ON held_plans (integration, held_s, held_ns, seq);

-- Per-integration leases.
CREATE TABLE leases (
    integration TEXT    NOT NULL PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    holder      TEXT    NOT NULL,
    until_s     INTEGER NOT NULL,
    until_ns    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
