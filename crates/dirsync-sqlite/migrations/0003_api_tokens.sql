-- API tokens: a name, and the SHA-256 of the token (never the token). `record` is the ApiToken.
CREATE TABLE api_tokens (
    name   TEXT NOT NULL PRIMARY KEY,
    hash   TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
) STRICT, WITHOUT ROWID;
