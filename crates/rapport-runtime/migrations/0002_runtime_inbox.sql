-- Runtime tables every service database has, in SQL both backends speak (SQLite stores the
-- BYTEA column's blobs as they are).

-- Inbox: event ids a consumer has applied, written in the transaction of the effect.
CREATE TABLE processed_events (
    consumer     TEXT   NOT NULL,
    event_id     TEXT   NOT NULL,
    process_time BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);

-- Responses of requests that carried a request_id.
CREATE TABLE idempotency_keys (
    tenant_id   TEXT   NOT NULL,
    method      TEXT   NOT NULL,
    request_id  TEXT   NOT NULL,
    response    BYTEA  NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, method, request_id)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (create_time);
