-- Order analytics (OR6): what the reports read, kept in the transaction of every change of an
-- order, so each report is an indexed aggregate over one month of one tenant and currency.
-- Only orders that count have rows: confirmed, delivery scheduled, delivered or completed.

-- One row per counted order: its confirmation time, who sold it to whom, where, and its net
-- total (total less refunds) and cost (unit cost × quantity over its lines).
CREATE TABLE order_facts (
    tenant_id        TEXT    NOT NULL,
    order_id         TEXT    NOT NULL,
    currency_code    TEXT    NOT NULL,
    confirm_time     BIGINT  NOT NULL,
    customer_id      TEXT    NOT NULL,
    owner_id         TEXT    NOT NULL,
    team_id          TEXT    NOT NULL,
    region           TEXT    NOT NULL,
    -- 1 when the order closes a lead's opportunity.
    from_opportunity INTEGER NOT NULL,
    net_total        BIGINT  NOT NULL,
    cost             BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX order_facts_by_month ON order_facts (tenant_id, currency_code, confirm_time);
-- A customer's first orders, to keep customer_facts.
CREATE INDEX order_facts_by_customer
    ON order_facts (tenant_id, currency_code, customer_id, confirm_time);

-- One row per line of a counted order: its part of the order's net total and its cost, with
-- the order's month, currency and team.
CREATE TABLE order_line_facts (
    tenant_id     TEXT   NOT NULL,
    order_id      TEXT   NOT NULL,
    line_id       TEXT   NOT NULL,
    currency_code TEXT   NOT NULL,
    confirm_time  BIGINT NOT NULL,
    team_id       TEXT   NOT NULL,
    product_id    TEXT   NOT NULL,
    category_id   TEXT   NOT NULL,
    quantity      BIGINT NOT NULL,
    net_amount    BIGINT NOT NULL,
    cost          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, line_id)
);
CREATE INDEX order_line_facts_by_month
    ON order_line_facts (tenant_id, currency_code, confirm_time);

-- When each customer's first and second counted orders were confirmed, per currency: over the
-- whole tenant (scope 'tenant', team_id empty) and over each team's orders (scope 'team'), for
-- new customers and repurchase rates. second_time is NULL while there is one order.
CREATE TABLE customer_facts (
    tenant_id     TEXT   NOT NULL,
    currency_code TEXT   NOT NULL,
    scope         TEXT   NOT NULL,
    team_id       TEXT   NOT NULL,
    customer_id   TEXT   NOT NULL,
    first_time    BIGINT NOT NULL,
    second_time   BIGINT,
    PRIMARY KEY (tenant_id, currency_code, scope, team_id, customer_id)
);
CREATE INDEX customer_facts_by_first
    ON customer_facts (tenant_id, currency_code, scope, team_id, first_time, second_time);
