DROP INDEX task_executions_waiting;
ALTER TABLE task_executions DROP CONSTRAINT task_executions_waiting_unowned;
ALTER TABLE task_executions DROP COLUMN waiting;
UPDATE task_schedules SET concurrency_policy = 'forbid' WHERE concurrency_policy IN ('queue', 'replace');
ALTER TABLE task_schedules DROP CONSTRAINT task_schedules_concurrency_policy_check;
ALTER TABLE task_schedules ADD CONSTRAINT task_schedules_concurrency_policy_check
    CHECK (concurrency_policy IN ('allow', 'forbid'));
