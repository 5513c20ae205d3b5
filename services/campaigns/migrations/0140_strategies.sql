-- Plans and strategies (CA3), their runs and every recipient of a run (CA4, CA5), what each
-- customer was last sent (resting), and the orders attributed to strategies (CA2).

CREATE TABLE plans (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    description  TEXT   NOT NULL,
    creator      TEXT   NOT NULL,
    create_time  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- doc holds the audience, the action and the schedule; the columns beside it are what lists
-- filter on and what the run sweep and the send worker read.
CREATE TABLE strategies (
    tenant_id     TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    display_name  TEXT   NOT NULL,
    state         TEXT   NOT NULL,
    plan_id       TEXT   NOT NULL DEFAULT '',
    campaign_id   TEXT   NOT NULL DEFAULT '',
    doc           TEXT   NOT NULL,
    spent         BIGINT NOT NULL DEFAULT 0,
    next_run_time BIGINT,
    creator       TEXT   NOT NULL,
    create_time   BIGINT NOT NULL,
    update_time   BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX strategies_by_plan ON strategies (tenant_id, plan_id, id);
-- The run sweep's one indexed query: active strategies whose next run is due.
CREATE INDEX strategies_due ON strategies (next_run_time);

-- A run: prepared from the audience stream page by page (cursor: the last customer read),
-- then sent. lease_until keeps one replica preparing it at a time.
CREATE TABLE strategy_runs (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    strategy_id TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    start_time  BIGINT  NOT NULL,
    end_time    BIGINT,
    cursor      TEXT    NOT NULL DEFAULT '',
    lease_until BIGINT  NOT NULL DEFAULT 0,
    audience    BIGINT  NOT NULL DEFAULT 0,
    control     BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX strategy_runs_by_strategy ON strategy_runs (tenant_id, strategy_id, id);
CREATE INDEX strategy_runs_preparing ON strategy_runs (state, lease_until);

-- One row per member of a run's audience: at most one message per recipient and run.
-- state: control (held out), queued (due at due_time), sending (handed to the channel under
-- message_id, which a retry after a crash reuses), sent, skipped (reason says why).
CREATE TABLE recipients (
    tenant_id     TEXT    NOT NULL,
    run_id        TEXT    NOT NULL,
    customer_id   TEXT    NOT NULL,
    strategy_id   TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    channel       TEXT    NOT NULL,
    transactional INTEGER NOT NULL,
    address       TEXT    NOT NULL,
    vars          TEXT    NOT NULL,
    due_time      BIGINT  NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    message_id    TEXT    NOT NULL DEFAULT '',
    sent_time     BIGINT,
    PRIMARY KEY (tenant_id, run_id, customer_id)
);
-- The send worker's queue: due messages, oldest first.
CREATE INDEX recipients_due ON recipients (state, due_time);
-- Caps: what reached a customer lately.
CREATE INDEX recipients_by_customer ON recipients (tenant_id, customer_id, sent_time);

-- What each customer was sent lately, for resting: marketing messages since their last answer
-- (a response or an order) and when the last one went. A send locks the customer's row, so two
-- replicas never both let a capped message through.
CREATE TABLE contact_state (
    tenant_id      TEXT    NOT NULL,
    customer_id    TEXT    NOT NULL,
    unanswered     INTEGER NOT NULL DEFAULT 0,
    last_marketing BIGINT,
    PRIMARY KEY (tenant_id, customer_id)
);

-- Orders attributed to a strategy's run, in the treated group or the control group.
CREATE TABLE strategy_conversions (
    tenant_id     TEXT   NOT NULL,
    order_id      TEXT   NOT NULL,
    customer_id   TEXT   NOT NULL,
    strategy_id   TEXT   NOT NULL,
    run_id        TEXT   NOT NULL,
    held_out      INTEGER NOT NULL,
    currency_code TEXT   NOT NULL,
    amount        BIGINT NOT NULL,
    order_time    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX strategy_conversions_by_strategy ON strategy_conversions (tenant_id, strategy_id);
