-- The leads service. Times are microseconds since the Unix epoch (UTC); money is minor units;
-- lists of strings are JSON arrays. Every table leads with tenant_id.

-- The tenant's lead settings as one JSON document (assignment rules, follow-up rules, grades).
CREATE TABLE lead_settings (
    tenant_id   TEXT   NOT NULL PRIMARY KEY,
    doc         TEXT   NOT NULL,
    update_time BIGINT NOT NULL,
    version     BIGINT NOT NULL
);

CREATE TABLE stores (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    region       TEXT   NOT NULL DEFAULT '',
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE teams (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    store_id     TEXT   NOT NULL DEFAULT '',
    manager_id   TEXT   NOT NULL DEFAULT '',
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX teams_by_store ON teams (tenant_id, store_id, id);

-- Reps: id is the rep's JWT subject. attrs holds skills, regions, languages and product lines.
-- open_leads, claims_today / claim_day, last_assign_time and assigned_total are counters kept
-- by assignment in the same transaction as the lead's change; the capacity check is a
-- conditional UPDATE on this row, so no rep ever exceeds its capacity.
CREATE TABLE reps (
    tenant_id         TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    display_name      TEXT    NOT NULL,
    team_id           TEXT    NOT NULL DEFAULT '',
    store_id          TEXT    NOT NULL DEFAULT '',
    attrs             TEXT    NOT NULL DEFAULT '{}',
    capacity          BIGINT  NOT NULL,
    daily_claim_limit BIGINT  NOT NULL,
    weight            BIGINT  NOT NULL DEFAULT 1,
    status            TEXT    NOT NULL,
    open_leads        BIGINT  NOT NULL DEFAULT 0,
    claim_day         BIGINT  NOT NULL DEFAULT 0,
    claims_today      BIGINT  NOT NULL DEFAULT 0,
    last_assign_time  BIGINT  NOT NULL DEFAULT 0,
    assigned_total    BIGINT  NOT NULL DEFAULT 0,
    create_time       BIGINT  NOT NULL,
    update_time       BIGINT  NOT NULL,
    version           BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX reps_by_team ON reps (tenant_id, team_id, id);

-- Leads. owner_id = '' means the lead is in the public pool named by `pool`. team_id is the
-- owner's team (manager visibility). The columns are the record; needs is a JSON document.
CREATE TABLE leads (
    tenant_id           TEXT    NOT NULL,
    id                  TEXT    NOT NULL,
    display_name        TEXT    NOT NULL,
    search_text         TEXT    NOT NULL,
    phone               TEXT    NOT NULL DEFAULT '',
    email               TEXT    NOT NULL DEFAULT '',
    source              TEXT    NOT NULL,
    campaign_id         TEXT    NOT NULL DEFAULT '',
    partner_id          TEXT    NOT NULL DEFAULT '',
    channel             TEXT    NOT NULL DEFAULT '',
    referrer            TEXT    NOT NULL DEFAULT '',
    needs               TEXT    NOT NULL DEFAULT '{}',
    region              TEXT    NOT NULL DEFAULT '',
    language            TEXT    NOT NULL DEFAULT '',
    state               TEXT    NOT NULL,
    unqualified_reason  TEXT    NOT NULL DEFAULT '',
    owner_id            TEXT    NOT NULL DEFAULT '',
    team_id             TEXT    NOT NULL DEFAULT '',
    pool                TEXT    NOT NULL DEFAULT '',
    locked              BIGINT  NOT NULL DEFAULT 0,
    behavior_points     BIGINT  NOT NULL DEFAULT 0,
    follow_up_count     BIGINT  NOT NULL DEFAULT 0,
    score               BIGINT  NOT NULL DEFAULT 0,
    intent              TEXT    NOT NULL DEFAULT '',
    recall              BIGINT  NOT NULL DEFAULT 0,
    call_flag           BIGINT  NOT NULL DEFAULT 0,
    assign_time         BIGINT,
    last_follow_up_time BIGINT,
    state_change_time   BIGINT  NOT NULL,
    customer_id         TEXT    NOT NULL DEFAULT '',
    opportunity_id      TEXT    NOT NULL DEFAULT '',
    won                 BIGINT  NOT NULL DEFAULT 0,
    create_time         BIGINT  NOT NULL,
    update_time         BIGINT  NOT NULL,
    delete_time         BIGINT,
    version             BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX leads_by_create ON leads (tenant_id, create_time, id);
CREATE INDEX leads_by_update ON leads (tenant_id, update_time, id);
CREATE INDEX leads_by_owner ON leads (tenant_id, owner_id, create_time);
CREATE INDEX leads_by_team ON leads (tenant_id, team_id);
CREATE INDEX leads_by_customer ON leads (tenant_id, customer_id);
CREATE INDEX leads_by_phone ON leads (tenant_id, phone);
-- The reclaim sweep scans only leads in private pools.
CREATE INDEX leads_owned_by_assign ON leads (tenant_id, assign_time) WHERE owner_id <> '';

-- Every change of a lead's owner, with the reason (LE6), newest last.
CREATE TABLE lead_assignments (
    tenant_id         TEXT   NOT NULL,
    lead_id           TEXT   NOT NULL,
    id                TEXT   NOT NULL,
    rep_id            TEXT   NOT NULL,
    previous_owner_id TEXT   NOT NULL,
    kind              TEXT   NOT NULL,
    reason            TEXT   NOT NULL,
    actor             TEXT   NOT NULL,
    create_time       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, lead_id, id)
);

-- A former owner may not claim a lead back before `until` (claim cool-down).
CREATE TABLE lead_cooldowns (
    tenant_id TEXT   NOT NULL,
    lead_id   TEXT   NOT NULL,
    rep_id    TEXT   NOT NULL,
    until     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, lead_id, rep_id)
);

-- Pipelines the tenant defined (the example pipeline lives in code until it is changed).
CREATE TABLE pipelines (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    stages       TEXT   NOT NULL,
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Opportunities. dwell_alert is 0, 1 (owner alerted) or 2 (escalated) for the current stage.
CREATE TABLE opportunities (
    tenant_id        TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    display_name     TEXT    NOT NULL,
    lead_id          TEXT    NOT NULL DEFAULT '',
    customer_id      TEXT    NOT NULL DEFAULT '',
    pipeline_id      TEXT    NOT NULL,
    stage            TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    currency_code    TEXT    NOT NULL DEFAULT '',
    amount_minor     BIGINT  NOT NULL DEFAULT 0,
    expected_close   TEXT    NOT NULL DEFAULT '',
    owner_id         TEXT    NOT NULL DEFAULT '',
    team_id          TEXT    NOT NULL DEFAULT '',
    source           TEXT    NOT NULL DEFAULT '',
    stage_enter_time BIGINT  NOT NULL,
    close_time       BIGINT,
    lost_reason      TEXT    NOT NULL DEFAULT '',
    dwell_alert      BIGINT  NOT NULL DEFAULT 0,
    create_time      BIGINT  NOT NULL,
    update_time      BIGINT  NOT NULL,
    version          BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX opportunities_by_create ON opportunities (tenant_id, create_time, id);
CREATE INDEX opportunities_by_owner ON opportunities (tenant_id, owner_id);
CREATE INDEX opportunities_by_lead ON opportunities (tenant_id, lead_id);
CREATE INDEX opportunities_by_customer ON opportunities (tenant_id, customer_id);
CREATE INDEX opportunities_open_by_stage_time ON opportunities (tenant_id, stage_enter_time)
    WHERE state = 'OPEN';

-- Stage history: one row per move (the first row is the entry into the first stage). The
-- grouping columns are copied from the opportunity for analytics.
CREATE TABLE stage_changes (
    tenant_id      TEXT   NOT NULL,
    opportunity_id TEXT   NOT NULL,
    id             TEXT   NOT NULL,
    pipeline_id    TEXT   NOT NULL,
    from_stage     TEXT   NOT NULL,
    to_stage       TEXT   NOT NULL,
    dwell_micros   BIGINT NOT NULL,
    actor          TEXT   NOT NULL,
    owner_id       TEXT   NOT NULL DEFAULT '',
    team_id        TEXT   NOT NULL DEFAULT '',
    source         TEXT   NOT NULL DEFAULT '',
    opportunity_create_time BIGINT NOT NULL,
    create_time    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, opportunity_id, id)
);

CREATE TABLE tasks (
    tenant_id     TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    kind          TEXT   NOT NULL,
    title         TEXT   NOT NULL,
    assignee_id   TEXT   NOT NULL,
    team_id       TEXT   NOT NULL DEFAULT '',
    subject       TEXT   NOT NULL DEFAULT '',
    due_time      BIGINT NOT NULL,
    remind_time   BIGINT,
    reminded      BIGINT NOT NULL DEFAULT 0,
    complete_time BIGINT,
    notes         TEXT   NOT NULL DEFAULT '',
    create_time   BIGINT NOT NULL,
    update_time   BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tasks_by_assignee_due ON tasks (tenant_id, assignee_id, due_time, id);
CREATE INDEX tasks_to_remind ON tasks (remind_time) WHERE reminded = 0;

-- Alerts raised for people. dedupe_key makes raising idempotent: a job that runs twice, or two
-- replicas at once, insert one row and emit one event.
CREATE TABLE alerts (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    recipient_id TEXT   NOT NULL,
    team_id      TEXT   NOT NULL DEFAULT '',
    kind         TEXT   NOT NULL,
    subject      TEXT   NOT NULL,
    message      TEXT   NOT NULL,
    due_time     BIGINT,
    dedupe_key   TEXT   NOT NULL,
    create_time  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX alerts_dedupe ON alerts (tenant_id, dedupe_key);
CREATE INDEX alerts_by_recipient ON alerts (tenant_id, recipient_id, create_time, id);
