DROP TABLE error_groups;
DROP INDEX error_records_fingerprint_idx;
ALTER TABLE error_records DROP COLUMN fingerprint;
