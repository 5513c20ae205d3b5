-- Saved dynamic segments (CU13): a ListCustomers filter kept under a name. Members are worked
-- out whenever they are asked for, never stored. A deleted segment keeps its row (delete_time),
-- so what a campaign was sent to can still be read.
CREATE TABLE customer_segments (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    search_text  TEXT   NOT NULL,
    description  TEXT   NOT NULL DEFAULT '',
    filter       TEXT   NOT NULL,
    creator      TEXT   NOT NULL,
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL,
    delete_time  BIGINT,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX customer_segments_by_create ON customer_segments (tenant_id, create_time, id);
CREATE INDEX customer_segments_by_name ON customer_segments (tenant_id, display_name, id);

-- What segments filter on, as columns a statement compares without reading the profile
-- document: each channel's consent ('opted_in', 'opted_out', or 'unknown' when never asked)
-- and do-not-disturb, rewritten from the document on every change like the columns beside it;
-- and the occur_time of the customer's newest timeline activity (NULL: none), kept by the
-- writes that add or move activities. Neither changes the customer's version.
ALTER TABLE customers ADD COLUMN consent_sms TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE customers ADD COLUMN consent_email TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE customers ADD COLUMN consent_phone TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE customers ADD COLUMN consent_im TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE customers ADD COLUMN do_not_disturb INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN last_activity_time BIGINT;

-- Each probe reads the newest entry of customer_activities_timeline.
UPDATE customers SET last_activity_time = (
    SELECT MAX(a.occur_time) FROM customer_activities a
    WHERE a.tenant_id = customers.tenant_id AND a.customer_id = customers.id
)
WHERE EXISTS (
    SELECT 1 FROM customer_activities a
    WHERE a.tenant_id = customers.tenant_id AND a.customer_id = customers.id
);
