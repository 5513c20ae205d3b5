-- Campaigns (CA1): the plan and its lifecycle in columns lists filter on, the rest in doc
-- (description, state reason, approval). cost and the results (invited, responded, accepted,
-- attended) are kept by the writes that change them and never touch version, so a cost or an
-- invitation does not make a planner's etag stale.
CREATE TABLE campaigns (
    tenant_id         TEXT   NOT NULL,
    id                TEXT   NOT NULL,
    display_name      TEXT   NOT NULL,
    campaign_type     TEXT   NOT NULL,
    state             TEXT   NOT NULL,
    owner_id          TEXT   NOT NULL,
    team_id           TEXT   NOT NULL,
    store             TEXT   NOT NULL,
    start_time        BIGINT NOT NULL,
    end_time          BIGINT NOT NULL,
    currency          TEXT   NOT NULL,
    budget            BIGINT NOT NULL,
    cost              BIGINT NOT NULL DEFAULT 0,
    creator           TEXT   NOT NULL,
    doc               TEXT   NOT NULL,
    invited           BIGINT NOT NULL DEFAULT 0,
    responded         BIGINT NOT NULL DEFAULT 0,
    accepted          BIGINT NOT NULL DEFAULT 0,
    attended          BIGINT NOT NULL DEFAULT 0,
    state_change_time BIGINT NOT NULL,
    create_time       BIGINT NOT NULL,
    update_time       BIGINT NOT NULL,
    version           BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX campaigns_by_time ON campaigns (tenant_id, create_time, id);
CREATE INDEX campaigns_by_state ON campaigns (tenant_id, state, create_time, id);
CREATE INDEX campaigns_by_owner ON campaigns (tenant_id, owner_id, create_time, id);

-- Itemised costs; their sum is campaigns.cost.
CREATE TABLE campaign_costs (
    tenant_id   TEXT   NOT NULL,
    campaign_id TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    amount      BIGINT NOT NULL,
    category    TEXT   NOT NULL,
    note        TEXT   NOT NULL,
    recorded_by TEXT   NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, campaign_id, id)
);

-- The customers a campaign invited. standing is where the member stands as lists filter it
-- (invited, accepted, declined, attended); response is the answer ('' for none).
CREATE TABLE campaign_members (
    tenant_id    TEXT    NOT NULL,
    campaign_id  TEXT    NOT NULL,
    customer_id  TEXT    NOT NULL,
    standing     TEXT    NOT NULL,
    response     TEXT    NOT NULL,
    attended     INTEGER NOT NULL,
    invited_by   TEXT    NOT NULL,
    invite_time  BIGINT  NOT NULL,
    respond_time BIGINT,
    attend_time  BIGINT,
    PRIMARY KEY (tenant_id, campaign_id, customer_id)
);
CREATE INDEX campaign_members_by_time ON campaign_members (tenant_id, campaign_id, invite_time, customer_id);
CREATE INDEX campaign_members_by_standing ON campaign_members (tenant_id, campaign_id, standing, invite_time, customer_id);
