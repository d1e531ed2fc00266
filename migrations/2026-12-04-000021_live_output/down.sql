DROP TABLE execution_output;
ALTER TABLE event_outbox DROP COLUMN execution_id;
