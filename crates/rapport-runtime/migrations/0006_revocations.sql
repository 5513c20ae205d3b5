-- The tenant's revocation list, as this service knows it: tokens of `subject` issued before
-- `not_before` (microseconds; the largest BIGINT while the subject is disabled) are refused. Written
-- by the service that revokes, and by every service from the `access` event stream.
CREATE TABLE revocations (
    tenant_id   TEXT   NOT NULL,
    subject     TEXT   NOT NULL,
    not_before  BIGINT NOT NULL,
    reason      TEXT   NOT NULL DEFAULT '',
    update_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject)
);
