-- Outbound group provisioning: the remote groups an outbound integration created, adopted or is
-- creating (a pending record is written before the groups.insert), by email. `group_key` is
-- Email::key() (ASCII-lowercased); `record` the OwnedGroup.
CREATE TABLE owned_groups (
    integration TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    group_key   TEXT NOT NULL,
    record      TEXT NOT NULL,
    PRIMARY KEY (integration, group_key)
) STRICT, WITHOUT ROWID;
