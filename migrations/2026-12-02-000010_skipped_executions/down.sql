DELETE FROM task_executions WHERE status = 'skipped';
ALTER TABLE task_executions DROP CONSTRAINT task_executions_skip_reason_iff_skipped;
ALTER TABLE task_executions DROP COLUMN skip_reason;
ALTER TABLE task_executions DROP CONSTRAINT task_executions_status_check;
ALTER TABLE task_executions ADD CONSTRAINT task_executions_status_check
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled'));
