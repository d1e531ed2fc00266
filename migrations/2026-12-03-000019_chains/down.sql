DROP INDEX IF EXISTS task_executions_chain_due;
DROP INDEX IF EXISTS task_executions_chained_from;
DROP INDEX IF EXISTS task_executions_chained_once;
ALTER TABLE task_executions DROP COLUMN IF EXISTS chain_next;
ALTER TABLE task_executions DROP COLUMN IF EXISTS chain_depth;
ALTER TABLE task_executions DROP COLUMN IF EXISTS chained_from;
DELETE FROM task_executions WHERE trigger = 'chained';
ALTER TABLE task_executions DROP CONSTRAINT task_executions_trigger_check;
ALTER TABLE task_executions ADD CONSTRAINT task_executions_trigger_check
    CHECK (trigger IN ('schedule', 'manual', 'retry', 'catch_up', 'backfill'));
ALTER TABLE task_schedules DROP COLUMN IF EXISTS on_failure;
ALTER TABLE task_schedules DROP COLUMN IF EXISTS on_success;
