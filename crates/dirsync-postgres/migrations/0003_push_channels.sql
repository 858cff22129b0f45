-- Push channels (e.g. Google's users.watch) per integration: the channel id, whose it is, and
-- when it was opened (the order they are listed in). `record` is the PushChannel, which holds
-- the SHA-256 of the channel's token, never the token.
CREATE TABLE push_channels (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    integration TEXT COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    opened_s    BIGINT NOT NULL,
    opened_ns   BIGINT NOT NULL,
    record      TEXT   NOT NULL
);

CREATE INDEX push_channels_by_integration ON push_channels (integration, opened_s, opened_ns, id);
