-- API keys as this service knows them, for authentication: a request that sends the secret
-- "rpk_<key_id>_<random>" acts as `subject` with `roles`, on the methods `scopes` names. Times
-- are microseconds; 0 means none. Secrets are kept as hex SHA-256 hashes only. Written by the
-- service that owns the keys, and by every service from the `access` event stream; a row is
-- replaced only by a higher version. Keyed by the key id alone: the secret names no tenant, and
-- the tenant is read from the row, as it is read from a token.
CREATE TABLE api_keys (
    key_id          TEXT   NOT NULL PRIMARY KEY,
    tenant_id       TEXT   NOT NULL,
    subject         TEXT   NOT NULL,
    roles           TEXT   NOT NULL,
    scopes          TEXT   NOT NULL,
    secret_hash     TEXT   NOT NULL,
    secret_time     BIGINT NOT NULL,
    previous_hash   TEXT   NOT NULL DEFAULT '',
    previous_time   BIGINT NOT NULL DEFAULT 0,
    previous_until  BIGINT NOT NULL DEFAULT 0,
    expire_time     BIGINT NOT NULL,
    revoke_time     BIGINT NOT NULL DEFAULT 0,
    version         BIGINT NOT NULL
);
