-- Chains: the schedules that run once after a run of this one completes (on_success) or
-- ends failed with no retry left (on_failure).
ALTER TABLE task_schedules ADD COLUMN on_success uuid[] NOT NULL DEFAULT '{}';
ALTER TABLE task_schedules ADD COLUMN on_failure uuid[] NOT NULL DEFAULT '{}';
ALTER TABLE task_executions DROP CONSTRAINT task_executions_trigger_check;
ALTER TABLE task_executions ADD CONSTRAINT task_executions_trigger_check
    CHECK (trigger IN ('schedule', 'manual', 'retry', 'catch_up', 'backfill', 'chained'));
-- The run whose end started this one, and how many such steps lead here.
ALTER TABLE task_executions ADD COLUMN chained_from uuid;
ALTER TABLE task_executions ADD COLUMN chain_depth int NOT NULL DEFAULT 0;
-- True while this run's end may still start chained runs: set at creation when its schedule
-- has a chain, cleared (in the same transaction) when the chained runs are created.
ALTER TABLE task_executions ADD COLUMN chain_next boolean NOT NULL DEFAULT false;
-- One chained run per target and source, however often (or by however many instances) the
-- source's end is handled.
CREATE UNIQUE INDEX task_executions_chained_once ON task_executions (schedule_id, chained_from)
    WHERE chained_from IS NOT NULL;
-- A "triggered by" lookup, and the sweep for completed runs whose chain was not started yet.
CREATE INDEX task_executions_chained_from ON task_executions (chained_from)
    WHERE chained_from IS NOT NULL;
CREATE INDEX task_executions_chain_due ON task_executions (finished_at)
    WHERE chain_next AND status = 'completed';
