ALTER TABLE task_executions DROP COLUMN schedule_name;
