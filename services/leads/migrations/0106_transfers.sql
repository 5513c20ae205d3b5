-- Changes of an opportunity's owner or a task's assignee (TransferOpportunity, ReassignTask,
-- a rep's hand-over): who had it, who has it, why and who decided. `parent` is the resource's
-- name ("opportunities/{id}" or "tasks/{id}"); ids are UUIDv7, so they list newest first.
CREATE TABLE transfers (
    tenant_id         TEXT   NOT NULL,
    parent            TEXT   NOT NULL,
    id                TEXT   NOT NULL,
    previous_owner_id TEXT   NOT NULL,
    owner_id          TEXT   NOT NULL,
    previous_team_id  TEXT   NOT NULL,
    team_id           TEXT   NOT NULL,
    reason            TEXT   NOT NULL,
    actor             TEXT   NOT NULL,
    create_time       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, parent, id)
);
CREATE INDEX opportunities_open_by_owner ON opportunities (tenant_id, owner_id, create_time)
    WHERE state = 'OPEN';
