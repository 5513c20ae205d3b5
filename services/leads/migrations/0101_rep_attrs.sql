-- Rep attributes one row per value, so ListReps filters such as skills:"villa" are one indexed
-- lookup on both backends (JSON arrays would need a different operator per dialect). Written
-- together with reps.attrs, which stays the record.
CREATE TABLE rep_attrs (
    tenant_id TEXT NOT NULL,
    rep_id    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, rep_id, kind, value)
);
CREATE INDEX rep_attrs_by_value ON rep_attrs (tenant_id, kind, value, rep_id);

-- The display name lower-cased (in every script) for display_name:"…" filters.
ALTER TABLE reps ADD COLUMN search_name TEXT NOT NULL DEFAULT '';
