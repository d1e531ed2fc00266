-- Backfilled slots: trigger 'backfill', at most one per (schedule, slot), so two backfills of
-- the same range (on any instances) run each slot once.
ALTER TABLE task_executions DROP CONSTRAINT task_executions_trigger_check;
ALTER TABLE task_executions ADD CONSTRAINT task_executions_trigger_check
    CHECK (trigger IN ('schedule', 'manual', 'retry', 'catch_up', 'backfill'));
CREATE UNIQUE INDEX task_executions_backfill_key ON task_executions (schedule_id, scheduled_for)
    WHERE trigger = 'backfill';
