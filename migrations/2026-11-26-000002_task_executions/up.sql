-- Every run of a schedule. No foreign key to task_schedules: history outlives a deleted schedule.
CREATE TABLE task_executions (
    id                  UUID PRIMARY KEY,
    schedule_id         UUID NOT NULL,
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    trigger             TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'retry', 'catch_up')),
    attempt             INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    scheduled_for       TIMESTAMPTZ NOT NULL,
    task_type           TEXT NOT NULL,
    task_config         JSONB NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at          TIMESTAMPTZ,
    finished_at         TIMESTAMPTZ,
    duration_ms         BIGINT,
    result              JSONB,
    error               TEXT,
    error_type          TEXT CHECK (error_type IN ('timeout', 'exit_code', 'http_status', 'connection',
                                                   'conductor', 'spawn', 'interrupted', 'internal')),
    conductor_thread_id TEXT,
    conductor_status    TEXT,
    error_record_id     UUID,
    -- The instance that runs it (orphan detection) and a fencing counter for late results.
    owner_instance      UUID,
    fence               BIGINT NOT NULL DEFAULT 0
);

-- A scheduled fire can never run twice, whichever instance claims it.
CREATE UNIQUE INDEX task_executions_fire_key ON task_executions (schedule_id, scheduled_for)
    WHERE trigger IN ('schedule', 'catch_up');
-- Newest-first listing, overall and per schedule.
CREATE INDEX task_executions_created_idx ON task_executions (created_at DESC, id DESC);
CREATE INDEX task_executions_schedule_idx ON task_executions (schedule_id, created_at DESC, id DESC);
-- Unfinished work: concurrency checks and orphan scans.
CREATE INDEX task_executions_active_idx ON task_executions (owner_instance, status)
    WHERE status IN ('pending', 'running');
-- The executions of an error record's chain (attempt history, stuck-retry scan).
CREATE INDEX task_executions_error_record_idx ON task_executions (error_record_id)
    WHERE error_record_id IS NOT NULL;
-- Failures whose error record was never written (orphan scan): normally empty.
CREATE INDEX task_executions_unrecorded_idx ON task_executions (finished_at)
    WHERE status = 'failed' AND error_record_id IS NULL;
