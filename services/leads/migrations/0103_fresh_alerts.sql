-- Alerts that can never repeat (an assignment's, named after its new history row) carry no
-- dedupe key, so only alerts that may be raised twice pay for the unique index.
DROP INDEX alerts_dedupe;
CREATE UNIQUE INDEX alerts_dedupe ON alerts (tenant_id, dedupe_key) WHERE dedupe_key <> '';
