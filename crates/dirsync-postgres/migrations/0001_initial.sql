-- directory-sync PostgreSQL schema, version 1. The SQLite schema's tables, for many workers
-- on one database.
--
-- Conventions:
-- * Ids are TEXT COLLATE "C" in their canonical form (UUIDs hyphenated and lowercase), so that
--   ORDER BY is byte order, the order of the Rust types, whatever the database's collation.
-- * Columns exist for what the store looks up, orders by, or keeps in bulk; nested values are
--   one JSON document in `record` (serde_json of the dirsync-core type, kept as text: exact).
-- * Instants used for ordering are `*_s` (Unix seconds) and `*_ns` (nanoseconds): exact for
--   every chrono instant (timestamptz keeps microseconds), ordered like `DateTime<Utc>`.
-- * `seq` (an identity) breaks ties between equal instants in insertion order.

CREATE TABLE integrations (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    seq         BIGINT GENERATED ALWAYS AS IDENTITY,
    created_s   BIGINT NOT NULL,
    created_ns  BIGINT NOT NULL,
    direction   TEXT   NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    role        TEXT   NOT NULL CHECK (role IN ('primary', 'secondary')),
    record      TEXT   NOT NULL,
    CHECK (role = 'secondary' OR direction = 'inbound')
);

-- At most one primary, atomically: of concurrent creations, one inserts it, the others fail
-- on this index and retry (and then see the primary).
CREATE UNIQUE INDEX integrations_one_primary ON integrations (role) WHERE role = 'primary';
CREATE INDEX integrations_by_creation ON integrations (created_s, created_ns, seq);

CREATE TABLE versions (
    integration TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    version     BIGINT NOT NULL
);

-- The unified directory. `email_key` is Email::key(): unique, checked at commit (an email may
-- move between users within one apply).
CREATE TABLE users (
    id        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    email_key TEXT COLLATE "C" NOT NULL,
    record    TEXT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email_key) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE accounts (
    integration TEXT COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    external_id TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C",
    record      TEXT NOT NULL,
    PRIMARY KEY (integration, external_id)
);

CREATE INDEX accounts_by_user ON accounts (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE groups (
    integration TEXT COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    external_id TEXT COLLATE "C" NOT NULL,
    record      TEXT NOT NULL,
    PRIMARY KEY (integration, external_id)
);

-- member_kind: 0 user, 1 group, 2 customer; role: 0 owner, 1 manager, 2 member (the order of
-- the Rust enums). No foreign key to `groups`: the store's rules refuse a membership of a group
-- the integration does not have (checked once per apply, in bulk) and delete a group's
-- memberships with it; a per-row key check made a 1M-membership apply a third slower.
CREATE TABLE memberships (
    integration  TEXT COLLATE "C" NOT NULL,
    group_ext    TEXT COLLATE "C" NOT NULL,
    member_kind  SMALLINT NOT NULL CHECK (member_kind BETWEEN 0 AND 2),
    member_ext   TEXT COLLATE "C" NOT NULL,
    member_email TEXT,
    role         SMALLINT NOT NULL CHECK (role BETWEEN 0 AND 2),
    PRIMARY KEY (integration, group_ext, member_kind, member_ext)
);

CREATE INDEX memberships_of_nested_group ON memberships (integration, member_ext)
    WHERE member_kind = 1;

CREATE TABLE org_units (
    integration TEXT COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    external_id TEXT COLLATE "C" NOT NULL,
    record      TEXT NOT NULL,
    PRIMARY KEY (integration, external_id)
);

-- Sync runs: history, kept when their integration is removed (so no foreign key).
CREATE TABLE runs (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    integration TEXT COLLATE "C" NOT NULL,
    started_s   BIGINT NOT NULL,
    started_ns  BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    record      TEXT   NOT NULL
);

CREATE SEQUENCE runs_seq;
CREATE INDEX runs_newest_first ON runs (integration, started_s DESC, started_ns DESC, seq DESC);

CREATE TABLE held_plans (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    integration TEXT COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    held_s      BIGINT NOT NULL,
    held_ns     BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    record      TEXT   NOT NULL
);

CREATE SEQUENCE held_plans_seq;
CREATE INDEX held_plans_oldest_first ON held_plans (integration, held_s, held_ns, seq);

CREATE TABLE leases (
    integration TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    holder      TEXT   NOT NULL,
    until_s     BIGINT NOT NULL,
    until_ns    BIGINT NOT NULL
);

CREATE TABLE owned_memberships (
    integration TEXT COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    group_ext   TEXT COLLATE "C" NOT NULL,
    member_key  TEXT COLLATE "C" NOT NULL,
    record      TEXT NOT NULL,
    PRIMARY KEY (integration, group_ext, member_key)
);

CREATE TABLE api_tokens (
    name   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    hash   TEXT COLLATE "C" NOT NULL UNIQUE,
    record TEXT NOT NULL
);
