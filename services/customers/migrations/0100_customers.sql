-- Customers: the profile is a JSON document; the columns beside it exist to filter, order and
-- check visibility, and are rewritten from the document on every change.
CREATE TABLE customers (
    tenant_id           TEXT   NOT NULL,
    id                  TEXT   NOT NULL,
    kind                TEXT   NOT NULL,
    display_name        TEXT   NOT NULL,
    search_text         TEXT   NOT NULL,
    owner_id            TEXT   NOT NULL DEFAULT '',
    team_id             TEXT   NOT NULL DEFAULT '',
    store_id            TEXT   NOT NULL DEFAULT '',
    lifecycle_stage     TEXT   NOT NULL DEFAULT '',
    grade               TEXT   NOT NULL DEFAULT '',
    source_channel      TEXT   NOT NULL DEFAULT '',
    referrer_id         TEXT   NOT NULL DEFAULT '',
    province            TEXT   NOT NULL DEFAULT '',
    city                TEXT   NOT NULL DEFAULT '',
    district            TEXT   NOT NULL DEFAULT '',
    birth_date          TEXT   NOT NULL DEFAULT '',
    custom              TEXT   NOT NULL DEFAULT '{}',
    profile             TEXT   NOT NULL,
    possible_duplicates TEXT   NOT NULL DEFAULT '[]',
    merged_into         TEXT,
    create_time         BIGINT NOT NULL,
    update_time         BIGINT NOT NULL,
    delete_time         BIGINT,
    version             BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX customers_by_create ON customers (tenant_id, create_time, id);
CREATE INDEX customers_by_update ON customers (tenant_id, update_time, id);
CREATE INDEX customers_by_name ON customers (tenant_id, display_name, id);
CREATE INDEX customers_by_owner ON customers (tenant_id, owner_id);
CREATE INDEX customers_by_team ON customers (tenant_id, team_id);
CREATE INDEX customers_by_referrer ON customers (tenant_id, referrer_id);

-- Normalized contact keys (phone:E.164, email, im:platform:handle) for duplicate detection.
CREATE TABLE customer_contacts (
    tenant_id   TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, kind, value)
);
CREATE INDEX customer_contacts_by_value ON customer_contacts (tenant_id, kind, value);

CREATE TABLE customer_tags (
    tenant_id   TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, tag)
);
CREATE INDEX customer_tags_by_tag ON customer_tags (tenant_id, tag);

-- Teams a customer is shared with, besides its owning team (rep visibility).
CREATE TABLE customer_shared_teams (
    tenant_id   TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    team_id     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, team_id)
);
CREATE INDEX customer_shared_teams_by_team ON customer_shared_teams (tenant_id, team_id);

-- One row per link; `type` is what to_id is to from_id. Read from to_id's side as the inverse.
CREATE TABLE customer_relationships (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    from_id     TEXT   NOT NULL,
    to_id       TEXT   NOT NULL,
    type        TEXT   NOT NULL,
    note        TEXT   NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, from_id, to_id, type)
);
CREATE INDEX customer_relationships_by_from ON customer_relationships (tenant_id, from_id);
CREATE INDEX customer_relationships_by_to ON customer_relationships (tenant_id, to_id);

CREATE TABLE customer_activities (
    tenant_id           TEXT   NOT NULL,
    id                  TEXT   NOT NULL,
    customer_id         TEXT   NOT NULL,
    kind                TEXT   NOT NULL,
    author              TEXT   NOT NULL,
    occur_time          BIGINT NOT NULL,
    content             TEXT   NOT NULL,
    details             TEXT   NOT NULL DEFAULT '{}',
    next_follow_up_time BIGINT,
    create_time         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX customer_activities_timeline ON customer_activities (tenant_id, customer_id, occur_time, id);

CREATE TABLE customer_ownership_transfers (
    tenant_id     TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    customer_id   TEXT   NOT NULL,
    from_owner_id TEXT   NOT NULL,
    to_owner_id   TEXT   NOT NULL,
    from_team_id  TEXT   NOT NULL,
    to_team_id    TEXT   NOT NULL,
    from_store_id TEXT   NOT NULL,
    to_store_id   TEXT   NOT NULL,
    reason        TEXT   NOT NULL,
    actor         TEXT   NOT NULL,
    create_time   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX customer_ownership_transfers_history ON customer_ownership_transfers (tenant_id, customer_id, create_time, id);

CREATE TABLE customer_settings (
    tenant_id   TEXT   NOT NULL PRIMARY KEY,
    document    TEXT   NOT NULL,
    update_time BIGINT NOT NULL,
    version     BIGINT NOT NULL
);
