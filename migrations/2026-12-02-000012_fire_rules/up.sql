-- Rules around the fire rule (jitter, active window, run limit, start deadline, run_all's
-- catch-up limits), kept as one JSON object of the fields that are set; and the number of
-- runs from fires so far, for maxRuns.
ALTER TABLE task_schedules
    ADD COLUMN fire_rules JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN run_count  BIGINT NOT NULL DEFAULT 0 CHECK (run_count >= 0);
UPDATE task_schedules s SET run_count = (
    SELECT count(*) FROM task_executions e
    WHERE e.schedule_id = s.id AND e.trigger IN ('schedule', 'catch_up') AND e.status <> 'skipped');
ALTER TABLE task_schedules DROP CONSTRAINT task_schedules_misfire_policy_check;
ALTER TABLE task_schedules ADD CONSTRAINT task_schedules_misfire_policy_check
    CHECK (misfire_policy IN ('run_once', 'skip', 'run_all'));
