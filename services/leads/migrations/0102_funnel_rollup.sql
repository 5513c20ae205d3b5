-- Funnel counts (LE12), kept in the same transaction as every stage change so a funnel reads
-- one row per period, group and stage instead of every stage change.
--
-- grain / period: the opportunity's creation month ('month', counted from January 1970) and
-- day ('day', counted from 1970-01-01), both UTC; a window reads whole months, corrects its
-- ends with whole days and counts at most half a day of stage changes at each end.
-- dim / team_id / dim_key: each change is counted once per view a funnel reads:
--   'source'      team_id = '',   dim_key = source  (no grouping, by source)
--   'team'        team_id = team, dim_key = ''      (by team; a manager's team)
--   'team_source' team_id = team, dim_key = source  (a manager's team by source)
--   'rep'         team_id = team, dim_key = owner   (by rep)
-- reached: opportunities that entered the stage (first entry only).
-- dwell: departures from the stage by whole hours of dwell (the median's resolution), as
-- "hours:count" pairs in ascending hours, comma-separated; a sparse histogram.
CREATE TABLE funnel_counts (
    tenant_id   TEXT   NOT NULL,
    pipeline_id TEXT   NOT NULL,
    grain       TEXT   NOT NULL,
    dim         TEXT   NOT NULL,
    period      BIGINT NOT NULL,
    team_id     TEXT   NOT NULL,
    dim_key     TEXT   NOT NULL,
    stage       TEXT   NOT NULL,
    reached     BIGINT NOT NULL DEFAULT 0,
    dwell       TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, pipeline_id, grain, dim, period, team_id, dim_key, stage)
);

-- Whether a stage change is the opportunity's first entry into its to_stage (1) or a return
-- (0), so partial months count reached stages without COUNT(DISTINCT).
ALTER TABLE stage_changes ADD COLUMN first_entry BIGINT NOT NULL DEFAULT 1;

-- Stage changes of opportunities created in a time range: the partial months at the ends of a
-- funnel's window.
CREATE INDEX stage_changes_by_created ON stage_changes
    (tenant_id, pipeline_id, opportunity_create_time);

-- Deals won in a month, for leaderboards.
CREATE INDEX opportunities_won_by_close ON opportunities (tenant_id, close_time)
    WHERE state = 'WON';

-- Open opportunities not yet escalated, per stage and entry time: the dwell-alert sweep reads
-- only the due ones, and the index shrinks as alerts fire.
CREATE INDEX opportunities_dwell_due ON opportunities
    (tenant_id, pipeline_id, stage, stage_enter_time)
    WHERE state = 'OPEN' AND dwell_alert < 2;
