-- The campaigns service. Times are microseconds since the Unix epoch (UTC); structured content
-- is JSON text. Every table leads with tenant_id.

-- The tenant's campaign settings as one JSON document.
CREATE TABLE campaign_settings (
    tenant_id   TEXT   NOT NULL PRIMARY KEY,
    doc         TEXT   NOT NULL,
    update_time BIGINT NOT NULL,
    version     BIGINT NOT NULL
);
