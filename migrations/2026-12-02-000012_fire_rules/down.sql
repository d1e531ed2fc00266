UPDATE task_schedules SET misfire_policy = 'run_once' WHERE misfire_policy = 'run_all';
ALTER TABLE task_schedules DROP CONSTRAINT task_schedules_misfire_policy_check;
ALTER TABLE task_schedules ADD CONSTRAINT task_schedules_misfire_policy_check
    CHECK (misfire_policy IN ('run_once', 'skip'));
ALTER TABLE task_schedules DROP COLUMN run_count, DROP COLUMN fire_rules;
