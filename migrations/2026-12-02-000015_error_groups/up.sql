-- Error groups: records of the same problem (schedule, error type, message with numbers and ids
-- masked) share a fingerprint. The group row keeps the counts and the notification state, so
-- "once per incident" is decided under its row lock on any instance.
ALTER TABLE error_records ADD COLUMN fingerprint TEXT;
-- Records from before fingerprints: the same idea in SQL (digit runs masked, MD5: also 32 hex).
UPDATE error_records SET fingerprint = md5(schedule_id::text || error_type ||
    regexp_replace(message, '[0-9]+', '<n>', 'g'));
-- Rows written without one (by hand, say) get a fingerprint of their own.
ALTER TABLE error_records ALTER COLUMN fingerprint SET NOT NULL,
    ALTER COLUMN fingerprint SET DEFAULT md5(gen_random_uuid()::text);
CREATE INDEX error_records_fingerprint_idx ON error_records (fingerprint, recovery_status);

CREATE TABLE error_groups (
    fingerprint    TEXT PRIMARY KEY,
    schedule_id    UUID NOT NULL,
    error_type     TEXT NOT NULL,
    sample_message TEXT NOT NULL,
    count          BIGINT NOT NULL DEFAULT 0 CHECK (count >= 0),
    first_seen_at  TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL,
    last_error_id  UUID NOT NULL,
    -- An escalation was notified and the group has not been resolved since.
    incident_open  BOOLEAN NOT NULL DEFAULT false,
    notified_at    TIMESTAMPTZ,
    -- Escalations since notified_at that were not notified.
    suppressed     BIGINT NOT NULL DEFAULT 0 CHECK (suppressed >= 0)
);
CREATE INDEX error_groups_last_seen_idx ON error_groups (last_seen_at DESC, fingerprint DESC);
CREATE INDEX error_groups_schedule_idx ON error_groups (schedule_id, last_seen_at DESC);
INSERT INTO error_groups (fingerprint, schedule_id, error_type, sample_message, count,
                          first_seen_at, last_seen_at, last_error_id)
SELECT DISTINCT ON (fingerprint) fingerprint, schedule_id, error_type, message,
       count(*) OVER (PARTITION BY fingerprint), min(created_at) OVER (PARTITION BY fingerprint),
       max(created_at) OVER (PARTITION BY fingerprint), id
FROM error_records ORDER BY fingerprint, created_at DESC;
