-- One record per failing run chain; retries update it.
CREATE TABLE error_records (
    id                UUID PRIMARY KEY,
    execution_id      UUID NOT NULL,
    schedule_id       UUID NOT NULL,
    last_execution_id UUID NOT NULL,
    severity          TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    error_type        TEXT NOT NULL CHECK (error_type IN ('timeout', 'exit_code', 'http_status', 'connection',
                                                          'conductor', 'spawn', 'interrupted', 'internal')),
    message           TEXT NOT NULL,
    recovery_status   TEXT NOT NULL DEFAULT 'unresolved'
                      CHECK (recovery_status IN ('unresolved', 'retry_scheduled', 'retrying',
                                                 'resolved', 'ignored', 'escalated')),
    attempts          INTEGER NOT NULL DEFAULT 1,
    max_attempts      INTEGER NOT NULL DEFAULT 1,
    next_retry_at     TIMESTAMPTZ,
    last_retry_at     TIMESTAMPTZ,
    resolved_at       TIMESTAMPTZ,
    note              TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The retry processor's "what is due next" query.
CREATE INDEX error_records_due_idx ON error_records (next_retry_at)
    WHERE recovery_status = 'retry_scheduled';
CREATE INDEX error_records_created_idx ON error_records (created_at DESC, id DESC);
CREATE INDEX error_records_status_idx ON error_records (recovery_status, created_at DESC);
CREATE INDEX error_records_schedule_idx ON error_records (schedule_id, created_at DESC);
CREATE UNIQUE INDEX error_records_execution_key ON error_records (execution_id);
