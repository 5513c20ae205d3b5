-- The partners service. Times are microseconds since the Unix epoch (UTC); structured content
-- is JSON text. Every table leads with tenant_id.

-- The tenant's partner settings as one JSON document.
CREATE TABLE partner_settings (
    tenant_id   TEXT   NOT NULL PRIMARY KEY,
    doc         TEXT   NOT NULL,
    update_time BIGINT NOT NULL,
    version     BIGINT NOT NULL
);

-- Partners. doc holds contacts and the onboarding checklist; the columns beside it are what
-- lists filter and sort on.
CREATE TABLE partners (
    tenant_id         TEXT   NOT NULL,
    id                TEXT   NOT NULL,
    display_name      TEXT   NOT NULL,
    kind              TEXT   NOT NULL,
    state             TEXT   NOT NULL,
    tier_id           TEXT   NOT NULL DEFAULT '',
    doc               TEXT   NOT NULL,
    create_time       BIGINT NOT NULL,
    update_time       BIGINT NOT NULL,
    state_change_time BIGINT NOT NULL,
    version           BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX partners_by_name ON partners (tenant_id, display_name, id);
CREATE INDEX partners_by_state ON partners (tenant_id, state, id);

-- Tiers; doc holds criteria and benefits. A rank names one tier of a tenant.
CREATE TABLE tiers (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    tier_rank    BIGINT NOT NULL,
    doc          TEXT   NOT NULL,
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX tiers_by_rank ON tiers (tenant_id, tier_rank);

-- Every tier change of a partner, and why.
CREATE TABLE tier_changes (
    tenant_id   TEXT   NOT NULL,
    partner_id  TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    from_tier   TEXT   NOT NULL,
    to_tier     TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    actor       TEXT   NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, partner_id, id)
);

-- When each tenant's partners were last evaluated: the daily evaluation claims a tenant by
-- moving its due time, so one replica evaluates it.
CREATE TABLE tier_evaluations (
    tenant_id TEXT   NOT NULL PRIMARY KEY,
    due_time  BIGINT NOT NULL
);

-- Registered deals. doc holds the prospect, categories, notes and conflicts.
CREATE TABLE registrations (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    partner_id  TEXT   NOT NULL,
    state       TEXT   NOT NULL,
    lead_id     TEXT   NOT NULL DEFAULT '',
    doc         TEXT   NOT NULL,
    expire_time BIGINT NOT NULL DEFAULT 0,
    decide_time BIGINT NOT NULL DEFAULT 0,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX registrations_by_time ON registrations (tenant_id, create_time, id);
CREATE INDEX registrations_by_partner ON registrations (tenant_id, partner_id, create_time, id);
CREATE INDEX registrations_by_lead ON registrations (tenant_id, lead_id);
CREATE INDEX registrations_expiring ON registrations (state, expire_time);

-- What a live registration can collide on: its normalized phone, email and organization
-- ("phone:+86...", "email:...", "organization:..."), one row each.
CREATE TABLE registration_keys (
    tenant_id       TEXT NOT NULL,
    match_key       TEXT NOT NULL,
    registration_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, match_key, registration_id)
);

-- What partners brought, from the events of the services that hold it.
CREATE TABLE attributions (
    tenant_id   TEXT    NOT NULL,
    partner_id  TEXT    NOT NULL,
    resource    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    currency    TEXT    NOT NULL DEFAULT '',
    amount      BIGINT  NOT NULL DEFAULT 0,
    converted   INTEGER NOT NULL DEFAULT 0,
    create_time BIGINT  NOT NULL,
    update_time BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, resource)
);
CREATE INDEX attributions_by_partner ON attributions (tenant_id, partner_id, create_time, resource);
