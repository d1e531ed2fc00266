DROP INDEX task_schedules_resume_idx;
ALTER TABLE task_schedules DROP COLUMN paused_at, DROP COLUMN paused_reason, DROP COLUMN paused_until;
