DROP INDEX error_records_status_created_idx;
ALTER TABLE error_records DROP COLUMN schedule_name;
