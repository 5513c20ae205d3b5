-- Runtime tables every service database has.

-- Transactional outbox: events committed with the change that caused them, published by the relay.
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT   NOT NULL UNIQUE,
    stream       TEXT   NOT NULL,
    payload      BLOB  NOT NULL,
    create_time  BIGINT NOT NULL,
    publish_time BIGINT
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE publish_time IS NULL;
