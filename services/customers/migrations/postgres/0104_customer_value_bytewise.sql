-- The value tables' text compares byte by byte, as the customers' does since 102: joining a
-- customer_id to customers.id across two collations is an error.

ALTER TABLE customer_orders
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN order_id TYPE TEXT COLLATE "C",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN currency_code TYPE TEXT COLLATE "C";

ALTER TABLE customer_values
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN currency_code TYPE TEXT COLLATE "C",
    ALTER COLUMN grade TYPE TEXT COLLATE "C",
    ALTER COLUMN value_group TYPE TEXT COLLATE "C";
