-- A slot that was due and did not run is recorded as an execution of its own: status
-- 'skipped', with the reason. It holds the slot's (schedule_id, scheduled_for) key like a run.
ALTER TABLE task_executions DROP CONSTRAINT task_executions_status_check;
ALTER TABLE task_executions ADD CONSTRAINT task_executions_status_check
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled', 'skipped'));
ALTER TABLE task_executions ADD COLUMN skip_reason TEXT
    CHECK (skip_reason IN ('overlap', 'misfire', 'start_deadline', 'backlog'));
ALTER TABLE task_executions ADD CONSTRAINT task_executions_skip_reason_iff_skipped
    CHECK ((status = 'skipped') = (skip_reason IS NOT NULL));
