DROP TABLE IF EXISTS webhook_deliveries;
DELETE FROM task_executions WHERE trigger = 'webhook';
ALTER TABLE task_executions DROP CONSTRAINT task_executions_trigger_check;
ALTER TABLE task_executions ADD CONSTRAINT task_executions_trigger_check
    CHECK (trigger IN ('schedule', 'manual', 'retry', 'catch_up', 'backfill', 'chained'));
DROP INDEX IF EXISTS task_schedules_webhook_key;
ALTER TABLE task_schedules DROP COLUMN IF EXISTS webhook_secret_sealed;
ALTER TABLE task_schedules DROP COLUMN IF EXISTS webhook_secret_nonce;
ALTER TABLE task_schedules DROP COLUMN IF EXISTS webhook_key;
