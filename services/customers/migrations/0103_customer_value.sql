-- Customer value (CU12). The ledger: every order the orders service told of, one row per
-- order, as its newest revision seen left it. An order that no longer counts (a draft, a
-- cancelled order) keeps its row with counted = 0, so a late older revision cannot bring it
-- back.
CREATE TABLE customer_orders (
    tenant_id     TEXT    NOT NULL,
    order_id      TEXT    NOT NULL,
    customer_id   TEXT    NOT NULL,
    revision      BIGINT  NOT NULL,
    counted       INTEGER NOT NULL,
    currency_code TEXT    NOT NULL,
    net_total     BIGINT  NOT NULL,
    profit        BIGINT  NOT NULL,
    confirm_time  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX customer_orders_by_customer ON customer_orders (tenant_id, customer_id);

-- The figures worked out from a customer's ledger, beside the customer (a customer without a
-- confirmed order has no row). review_time is when the passing of time next changes the
-- recency score or the grade; the sweep works such rows out again (NULL: nothing will).
CREATE TABLE customer_values (
    tenant_id           TEXT    NOT NULL,
    customer_id         TEXT    NOT NULL,
    order_count         BIGINT  NOT NULL,
    currency_code       TEXT    NOT NULL,
    total_spent         BIGINT  NOT NULL,
    average_order_value BIGINT  NOT NULL,
    last_order_time     BIGINT  NOT NULL,
    profit_contribution BIGINT  NOT NULL,
    recency_score       INTEGER NOT NULL,
    frequency_score     INTEGER NOT NULL,
    monetary_score      INTEGER NOT NULL,
    grade               TEXT    NOT NULL,
    value_group         TEXT    NOT NULL,
    compute_time        BIGINT  NOT NULL,
    review_time         BIGINT,
    PRIMARY KEY (tenant_id, customer_id)
);
CREATE INDEX customer_values_due ON customer_values (review_time, tenant_id);
