-- Webhooks (PA6): partners' endpoints and every delivery of an event to one of them. Times are
-- microseconds since the Unix epoch (UTC).

-- Endpoints. doc holds the description, event types and filters. secret is the signing secret
-- in its whsec_ form (it signs, so it is kept as it is); previous_secret signs beside it until
-- previous_secret_expire_time after a rotation ('' and 0 when there is none).
CREATE TABLE webhook_endpoints (
    tenant_id                   TEXT   NOT NULL,
    id                          TEXT   NOT NULL,
    partner_id                  TEXT   NOT NULL,
    url                         TEXT   NOT NULL,
    doc                         TEXT   NOT NULL,
    state                       TEXT   NOT NULL,
    disabled_reason             TEXT   NOT NULL DEFAULT '',
    secret                      TEXT   NOT NULL,
    previous_secret             TEXT   NOT NULL DEFAULT '',
    previous_secret_expire_time BIGINT NOT NULL DEFAULT 0,
    create_time                 BIGINT NOT NULL,
    update_time                 BIGINT NOT NULL,
    version                     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhook_endpoints_by_partner ON webhook_endpoints (tenant_id, partner_id, id);

-- Deliveries: one per event and endpoint (the unique index makes a redelivered event insert
-- nothing twice). next_attempt_time is set while an attempt is due or leased and NULL
-- otherwise (delivered, dead, discarded, or waiting for a disabled endpoint), so the sweep's
-- index holds only live rows. version moves on with every claim, record and replay, so a
-- sweep records an attempt only on the row it claimed. attempts is the JSON log.
CREATE TABLE webhook_deliveries (
    tenant_id         TEXT   NOT NULL,
    id                TEXT   NOT NULL,
    partner_id        TEXT   NOT NULL,
    endpoint_id       TEXT   NOT NULL,
    event_id          TEXT   NOT NULL,
    event_type        TEXT   NOT NULL,
    msg_id            TEXT   NOT NULL,
    body              TEXT   NOT NULL,
    state             TEXT   NOT NULL,
    tries             BIGINT NOT NULL,
    next_attempt_time BIGINT,
    attempts          TEXT   NOT NULL,
    create_time       BIGINT NOT NULL,
    update_time       BIGINT NOT NULL,
    version           BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (tenant_id, endpoint_id, event_id);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (tenant_id, endpoint_id, create_time, id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_time);
