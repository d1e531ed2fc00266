ALTER TABLE task_schedules DROP COLUMN managed_by;
