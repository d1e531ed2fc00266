-- concurrencyPolicy queue and replace; fires that wait for a place (queue, maxConcurrent) are
-- pending executions with no owner and `waiting` set, until a release under the schedule's
-- row lock gives them an owner.
ALTER TABLE task_schedules DROP CONSTRAINT task_schedules_concurrency_policy_check;
ALTER TABLE task_schedules ADD CONSTRAINT task_schedules_concurrency_policy_check
    CHECK (concurrency_policy IN ('allow', 'forbid', 'queue', 'replace'));
ALTER TABLE task_executions
    ADD COLUMN waiting BOOLEAN NOT NULL DEFAULT false,
    ADD CONSTRAINT task_executions_waiting_unowned CHECK (NOT waiting OR owner_instance IS NULL);
CREATE INDEX task_executions_waiting ON task_executions (schedule_id, scheduled_for)
    WHERE waiting AND status = 'pending';
