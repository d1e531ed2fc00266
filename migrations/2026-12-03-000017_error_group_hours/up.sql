-- A group's records by time: the hourly occurrences of the last day that a group list shows.
CREATE INDEX error_records_fingerprint_created_idx ON error_records (fingerprint, created_at);
