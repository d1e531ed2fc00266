-- Each execution names its schedule as it was when the run was created: history stays
-- attributable after a rename or a delete, and tasks get TASKFORGE_SCHEDULE_NAME.
ALTER TABLE task_executions ADD COLUMN schedule_name TEXT NOT NULL DEFAULT '';
UPDATE task_executions e SET schedule_name = s.name FROM task_schedules s WHERE s.id = e.schedule_id;
