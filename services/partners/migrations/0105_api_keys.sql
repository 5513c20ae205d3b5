-- Partners' API keys (PA5). Only hex SHA-256 hashes of secrets are kept; prefix is what may be
-- shown of the current one. Times are microseconds; 0 means none. The runtime table api_keys
-- holds the copy authentication reads; this one is the keys themselves.
CREATE TABLE partner_api_keys (
    tenant_id      TEXT   NOT NULL,
    id             TEXT   NOT NULL,
    partner_id     TEXT   NOT NULL,
    display_name   TEXT   NOT NULL,
    scopes         TEXT   NOT NULL,
    prefix         TEXT   NOT NULL,
    secret_hash    TEXT   NOT NULL,
    secret_time    BIGINT NOT NULL,
    previous_hash  TEXT   NOT NULL DEFAULT '',
    previous_time  BIGINT NOT NULL DEFAULT 0,
    previous_until BIGINT NOT NULL DEFAULT 0,
    expire_time    BIGINT NOT NULL,
    revoke_time    BIGINT NOT NULL DEFAULT 0,
    last_use_time  BIGINT NOT NULL DEFAULT 0,
    create_time    BIGINT NOT NULL,
    update_time    BIGINT NOT NULL,
    version        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX partner_api_keys_by_partner
    ON partner_api_keys (tenant_id, partner_id, create_time, id);
