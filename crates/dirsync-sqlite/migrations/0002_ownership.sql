-- Outbound ownership: the remote memberships an outbound integration created, and so may
-- remove later. `member_key` is Email::key() (ASCII-lowercased); `record` the OwnedMembership.
CREATE TABLE owned_memberships (
    integration TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    group_ext   TEXT NOT NULL,
    member_key  TEXT NOT NULL,
    record      TEXT NOT NULL,
    PRIMARY KEY (integration, group_ext, member_key)
) STRICT, WITHOUT ROWID;
