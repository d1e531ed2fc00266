ALTER TABLE task_executions DROP COLUMN IF EXISTS idempotency_key;
ALTER TABLE task_executions DROP COLUMN IF EXISTS payload;
