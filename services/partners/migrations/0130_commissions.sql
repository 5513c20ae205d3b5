-- Commissions (PA4). Amounts are integer minor units with their currency.

-- What each order line was credited so far, to which partner and at which rate: the ledger
-- grows by the difference whenever the order changes.
CREATE TABLE commission_accruals (
    tenant_id  TEXT   NOT NULL,
    order_id   TEXT   NOT NULL,
    line_id    TEXT   NOT NULL,
    partner_id TEXT   NOT NULL,
    category   TEXT   NOT NULL,
    currency   TEXT   NOT NULL,
    rate_bps   BIGINT NOT NULL,
    basis      BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, line_id)
);

-- When an order completed: its lines' holding period runs from then.
CREATE TABLE commission_orders (
    tenant_id      TEXT   NOT NULL,
    order_id       TEXT   NOT NULL,
    completed_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);

-- The ledger: never edited once on a statement. payable_time 0: not yet payable (its order is
-- not completed). statement_id '': on no statement yet.
CREATE TABLE commission_lines (
    tenant_id    TEXT   NOT NULL,
    partner_id   TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    currency     TEXT   NOT NULL,
    amount       BIGINT NOT NULL,
    basis        BIGINT NOT NULL,
    rate_bps     BIGINT NOT NULL,
    order_id     TEXT   NOT NULL DEFAULT '',
    line_id      TEXT   NOT NULL DEFAULT '',
    category     TEXT   NOT NULL DEFAULT '',
    explanation  TEXT   NOT NULL,
    payable_time BIGINT NOT NULL DEFAULT 0,
    statement_id TEXT   NOT NULL DEFAULT '',
    create_time  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, partner_id, id)
);
CREATE INDEX commission_lines_by_time ON commission_lines (tenant_id, partner_id, create_time, id);
CREATE INDEX commission_lines_unsettled ON commission_lines (statement_id, payable_time);
CREATE INDEX commission_lines_by_order ON commission_lines (tenant_id, order_id);

-- Monthly statements: one per partner and month.
CREATE TABLE statements (
    tenant_id   TEXT   NOT NULL,
    partner_id  TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    month       TEXT   NOT NULL,
    state       TEXT   NOT NULL,
    doc         TEXT   NOT NULL,
    line_count  BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, partner_id, id)
);
CREATE UNIQUE INDEX statements_once ON statements (tenant_id, partner_id, month);
