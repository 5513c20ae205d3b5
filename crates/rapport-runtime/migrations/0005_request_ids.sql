-- Request ids scoped to the caller. A replay used to be keyed by (tenant, method, request id)
-- only, so anyone in the tenant who sent an id someone else had used got that person's answer.
-- Now the key includes the caller's subject, and the row keeps a fingerprint of the request, so
-- the same id sent with a different request is refused instead of replayed.
--
-- The old table stays (unused) so that the version before this one can still run against the
-- schema after a rollback; its rows carry no caller, so none of them can be trusted for a
-- replay, and none is copied.
CREATE TABLE request_ids (
    tenant_id   TEXT   NOT NULL,
    subject     TEXT   NOT NULL,
    method      TEXT   NOT NULL,
    request_id  TEXT   NOT NULL,
    fingerprint BYTEA  NOT NULL,
    response    BYTEA  NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject, method, request_id)
);
CREATE INDEX request_ids_age ON request_ids (create_time);
