DROP INDEX task_executions_backfill_key;
DELETE FROM task_executions WHERE trigger = 'backfill';
ALTER TABLE task_executions DROP CONSTRAINT task_executions_trigger_check;
ALTER TABLE task_executions ADD CONSTRAINT task_executions_trigger_check
    CHECK (trigger IN ('schedule', 'manual', 'retry', 'catch_up'));
