-- An error record names its schedule like its executions do (the name when the chain began).
ALTER TABLE error_records ADD COLUMN schedule_name TEXT NOT NULL DEFAULT '';
UPDATE error_records r SET schedule_name = s.name FROM task_schedules s WHERE s.id = r.schedule_id;
-- The dashboard's default view lists unresolved and escalated records, newest first.
CREATE INDEX error_records_status_created_idx ON error_records (recovery_status, created_at DESC, id DESC);
