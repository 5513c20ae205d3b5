-- Runtime tables every service database has.

-- Transactional outbox: events committed with the change that caused them. The relay publishes
-- them and deletes what it published: every row here is still to be published.
CREATE TABLE outbox (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT   NOT NULL UNIQUE,
    stream       TEXT   NOT NULL,
    payload      BYTEA  NOT NULL,
    create_time  BIGINT NOT NULL
);
