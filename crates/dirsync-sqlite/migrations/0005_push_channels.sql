-- Push channels (e.g. Google's users.watch) per integration: the channel id, whose it is, and
-- when it was opened (the order they are listed in). `record` is the PushChannel, which holds
-- the SHA-256 of the channel's token, never the token.
CREATE TABLE push_channels (
    id          TEXT    NOT NULL PRIMARY KEY,
    integration TEXT    NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    opened_s    INTEGER NOT NULL,
    opened_ns   INTEGER NOT NULL,
    record      TEXT    NOT NULL
) STRICT;

CREATE INDEX push_channels_by_integration ON push_channels (integration, opened_s, opened_ns, id);
