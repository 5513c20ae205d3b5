-- The staff inbox (X6): reminders and alerts of other services, one row per recipient. Times
-- are microseconds since the Unix epoch (UTC).

CREATE TABLE inbox_items (
    tenant_id       TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    -- The recipient's user id (a token's subject).
    recipient_id    TEXT   NOT NULL,
    kind            TEXT   NOT NULL,
    title           TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    resource        TEXT   NOT NULL,
    source_event_id TEXT   NOT NULL,
    due_time        BIGINT,
    create_time     BIGINT NOT NULL,
    -- NULL while unread.
    read_time       BIGINT,
    PRIMARY KEY (tenant_id, id)
);

-- The same event never makes two items for one person.
CREATE UNIQUE INDEX inbox_items_source ON inbox_items (tenant_id, source_event_id, recipient_id);

-- A person's inbox in time order: pages newest first, what came after an item, marking all up
-- to a time.
CREATE INDEX inbox_items_recipient ON inbox_items (tenant_id, recipient_id, create_time, id);

-- The unread items alone: counts by kind are read from this index without touching the table,
-- and unread pages of one kind walk it in order.
CREATE INDEX inbox_items_unread ON inbox_items (tenant_id, recipient_id, kind, create_time, id)
    WHERE read_time IS NULL;

-- The managers of the sales organization's teams, as the leads service announces them: an
-- alert for a team whose ticket nobody holds goes to its manager.
CREATE TABLE inbox_team_managers (
    tenant_id   TEXT   NOT NULL,
    team_id     TEXT   NOT NULL,
    manager_id  TEXT   NOT NULL,
    update_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, team_id)
);
