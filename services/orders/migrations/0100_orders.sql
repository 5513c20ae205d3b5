-- The orders service. Times are microseconds since the Unix epoch (UTC); money is minor units;
-- structured content is JSON text. Every table leads with tenant_id.

-- The tenant's order settings as one JSON document.
CREATE TABLE order_settings (
    tenant_id   TEXT   NOT NULL PRIMARY KEY,
    doc         TEXT   NOT NULL,
    update_time BIGINT NOT NULL,
    version     BIGINT NOT NULL
);

-- The category tree: parent_id is empty at the top.
CREATE TABLE categories (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    parent_id    TEXT   NOT NULL DEFAULT '',
    description  TEXT   NOT NULL DEFAULT '',
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX categories_by_name ON categories (tenant_id, display_name, id);
CREATE INDEX categories_by_parent ON categories (tenant_id, parent_id, display_name, id);

-- Products; attributes is a JSON object, variants a JSON array (SKU, prices, costs).
CREATE TABLE products (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    -- display_name lower-cased, for search.
    search_name  TEXT   NOT NULL,
    category_id  TEXT   NOT NULL,
    description  TEXT   NOT NULL DEFAULT '',
    status       TEXT   NOT NULL,
    attributes   TEXT   NOT NULL,
    variants     TEXT   NOT NULL,
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX products_by_name ON products (tenant_id, display_name, id);
CREATE INDEX products_by_category ON products (tenant_id, category_id);

-- Every SKU of the catalog, lower-cased: unique per tenant, and how an order line finds its
-- product.
CREATE TABLE product_skus (
    tenant_id  TEXT NOT NULL,
    sku_key    TEXT NOT NULL,
    product_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sku_key)
);
CREATE INDEX product_skus_by_product ON product_skus (tenant_id, product_id);

-- Orders. doc holds the content (lines, payments, discounts, approval) as JSON; the columns
-- beside it are what lists filter and sort on.
CREATE TABLE orders (
    tenant_id     TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    customer_id   TEXT   NOT NULL,
    owner_id      TEXT   NOT NULL,
    team_id       TEXT   NOT NULL DEFAULT '',
    store         TEXT   NOT NULL DEFAULT '',
    region        TEXT   NOT NULL DEFAULT '',
    partner       TEXT   NOT NULL DEFAULT '',
    campaign      TEXT   NOT NULL DEFAULT '',
    opportunity   TEXT   NOT NULL DEFAULT '',
    currency_code TEXT   NOT NULL,
    state         TEXT   NOT NULL,
    total         BIGINT NOT NULL,
    doc           TEXT   NOT NULL,
    revision      BIGINT NOT NULL,
    confirm_time  BIGINT,
    cancel_time   BIGINT,
    -- When the follow-up visit is due, once delivered; follow_up_reminded is 1 once the sweep
    -- announced it.
    follow_up_due      BIGINT,
    follow_up_reminded INTEGER NOT NULL DEFAULT 0,
    create_time   BIGINT NOT NULL,
    update_time   BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX orders_by_create ON orders (tenant_id, create_time, id);
CREATE INDEX orders_by_customer ON orders (tenant_id, customer_id);
CREATE INDEX orders_by_owner ON orders (tenant_id, owner_id);
CREATE INDEX orders_follow_up_due ON orders (follow_up_reminded, follow_up_due);

-- Delivery appointments; doc holds the delivery as JSON (lines, proof), the columns beside it
-- are what the reminder sweep and the lists need.
CREATE TABLE deliveries (
    tenant_id   TEXT    NOT NULL,
    order_id    TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    remind_time BIGINT  NOT NULL,
    reminded    INTEGER NOT NULL DEFAULT 0,
    doc         TEXT    NOT NULL,
    create_time BIGINT  NOT NULL,
    version     BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX deliveries_by_order ON deliveries (tenant_id, order_id, create_time, id);
CREATE INDEX deliveries_due ON deliveries (state, reminded, remind_time);

-- Returns and exchanges; doc holds the return as JSON.
CREATE TABLE returns (
    tenant_id   TEXT   NOT NULL,
    order_id    TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    state       TEXT   NOT NULL,
    doc         TEXT   NOT NULL,
    create_time BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX returns_by_order ON returns (tenant_id, order_id, create_time, id);

-- The current lines of each order, one row each, for reports by product and category.
CREATE TABLE order_lines (
    tenant_id   TEXT   NOT NULL,
    order_id    TEXT   NOT NULL,
    line_id     TEXT   NOT NULL,
    sku         TEXT   NOT NULL,
    product_id  TEXT   NOT NULL,
    category_id TEXT   NOT NULL,
    quantity    BIGINT NOT NULL,
    unit_price  BIGINT NOT NULL,
    unit_cost   BIGINT NOT NULL,
    discount    BIGINT NOT NULL,
    amount      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, line_id)
);
CREATE INDEX order_lines_by_product ON order_lines (tenant_id, product_id);

-- Every revision of every order, immutable: what changed (JSON array) and the order as it
-- became (JSON).
CREATE TABLE order_revisions (
    tenant_id   TEXT   NOT NULL,
    order_id    TEXT   NOT NULL,
    revision    BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    actor       TEXT   NOT NULL,
    create_time BIGINT NOT NULL,
    changes     TEXT   NOT NULL,
    snapshot    TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, order_id, revision)
);
