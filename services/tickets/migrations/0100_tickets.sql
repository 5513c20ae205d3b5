-- The tickets service. Times are microseconds since the Unix epoch (UTC); structured content
-- is JSON text. Every table leads with tenant_id.

-- The tenant's ticket settings as one JSON document.
CREATE TABLE ticket_settings (
    tenant_id   TEXT   NOT NULL PRIMARY KEY,
    doc         TEXT   NOT NULL,
    update_time BIGINT NOT NULL,
    version     BIGINT NOT NULL
);

-- Service agents with the counters routing keeps: open tickets against capacity, and the turn
-- order. Every take is a conditional UPDATE, so no agent goes over its capacity.
CREATE TABLE agents (
    tenant_id        TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    display_name     TEXT    NOT NULL,
    team_id          TEXT    NOT NULL DEFAULT '',
    supervisor_id    TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL,
    skills           TEXT    NOT NULL,
    capacity         BIGINT  NOT NULL,
    open_tickets     BIGINT  NOT NULL DEFAULT 0,
    weight           BIGINT  NOT NULL DEFAULT 1,
    last_assign_time BIGINT  NOT NULL DEFAULT 0,
    assigned_total   BIGINT  NOT NULL DEFAULT 0,
    update_time      BIGINT  NOT NULL,
    version          BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Queues; doc holds the strategy and the skills by type.
CREATE TABLE queues (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    team_id      TEXT   NOT NULL DEFAULT '',
    doc          TEXT   NOT NULL,
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX queues_by_name ON queues (tenant_id, display_name, id);

-- Who works which queue.
CREATE TABLE queue_members (
    tenant_id TEXT NOT NULL,
    queue_id  TEXT NOT NULL,
    agent_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, queue_id, agent_id)
);
CREATE INDEX queue_members_by_agent ON queue_members (tenant_id, agent_id);

-- Tickets. doc holds the whole ticket as JSON; the columns beside it are what lists filter and
-- sort on, what the SLA sweep finds due work by, and what reports count.
CREATE TABLE tickets (
    tenant_id       TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    ticket_type     TEXT    NOT NULL,
    priority        INTEGER NOT NULL,
    channel         TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    customer_id     TEXT    NOT NULL,
    order_id        TEXT    NOT NULL DEFAULT '',
    queue_id        TEXT    NOT NULL DEFAULT '',
    assignee        TEXT    NOT NULL DEFAULT '',
    team_id         TEXT    NOT NULL DEFAULT '',
    category        TEXT    NOT NULL DEFAULT '',
    store           TEXT    NOT NULL DEFAULT '',
    -- 1 once any SLA target was breached.
    sla_breached    INTEGER NOT NULL DEFAULT 0,
    -- When the SLA sweep must look next; NULL when no clock runs.
    sla_check       BIGINT,
    -- Per target: 0 open or none, 1 met in time, 2 breached (whenever met).
    sla_first_response INTEGER NOT NULL DEFAULT 0,
    sla_next_response  INTEGER NOT NULL DEFAULT 0,
    sla_resolution     INTEGER NOT NULL DEFAULT 0,
    -- Business seconds to the first response and to resolution, once known.
    first_response_seconds BIGINT,
    resolution_seconds     BIGINT,
    resolved_by     TEXT    NOT NULL DEFAULT '',
    resolve_time    BIGINT,
    reopen_count    INTEGER NOT NULL DEFAULT 0,
    satisfaction    INTEGER,
    -- 1 while the ticket waits for an agent with room in its queue.
    waiting         INTEGER NOT NULL DEFAULT 0,
    doc             TEXT    NOT NULL,
    create_time     BIGINT  NOT NULL,
    update_time     BIGINT  NOT NULL,
    version         BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tickets_by_create ON tickets (tenant_id, create_time, id);
CREATE INDEX tickets_by_update ON tickets (tenant_id, update_time, id);
CREATE INDEX tickets_by_customer ON tickets (tenant_id, customer_id, create_time);
CREATE INDEX tickets_by_queue ON tickets (tenant_id, queue_id, state);
CREATE INDEX tickets_by_assignee ON tickets (tenant_id, assignee, state);
CREATE INDEX tickets_by_team ON tickets (tenant_id, team_id, create_time);
CREATE INDEX tickets_sla_due ON tickets (sla_check) WHERE sla_check IS NOT NULL;
CREATE INDEX tickets_sla_due_by_tenant ON tickets (tenant_id, sla_check)
    WHERE sla_check IS NOT NULL;
CREATE INDEX tickets_waiting ON tickets (tenant_id, queue_id, create_time) WHERE waiting = 1;

-- Comments; moved_from is the ticket a comment was first written on, after a merge.
CREATE TABLE ticket_comments (
    tenant_id   TEXT   NOT NULL,
    ticket_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    doc         TEXT   NOT NULL,
    moved_from  TEXT   NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX ticket_comments_by_ticket ON ticket_comments (tenant_id, ticket_id, create_time, id);

-- Each ticket's history: routing decisions, state changes, SLA events, escalation actions.
CREATE TABLE ticket_events (
    tenant_id   TEXT   NOT NULL,
    ticket_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    actor_id    TEXT   NOT NULL,
    detail      TEXT   NOT NULL,
    rule        TEXT   NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX ticket_events_by_ticket ON ticket_events (tenant_id, ticket_id, create_time, id);

-- Satisfaction surveys: the token is kept only as its SHA-256; answered once.
CREATE TABLE ticket_surveys (
    tenant_id   TEXT   NOT NULL,
    token_hash  TEXT   NOT NULL,
    ticket_id   TEXT   NOT NULL,
    expire_time BIGINT NOT NULL,
    answer_time BIGINT,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX ticket_surveys_by_ticket ON ticket_surveys (tenant_id, ticket_id);
