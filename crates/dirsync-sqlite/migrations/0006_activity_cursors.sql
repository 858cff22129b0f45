-- Where an integration's activity polling stands (e.g. Google's Reports API for groups and
-- memberships): `record` is the ActivityCursor (the end of the last window read, the ids seen
-- in the overlap, when it last polled). One per integration, removed with it.
CREATE TABLE activity_cursors (
    integration TEXT NOT NULL PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    record      TEXT NOT NULL
) STRICT;
