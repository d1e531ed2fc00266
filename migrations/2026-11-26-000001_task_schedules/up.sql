-- Schedules: what to run (task_*) and when (schedule_*). next_run_at is the scheduler's queue.
CREATE TABLE task_schedules (
    id                 UUID PRIMARY KEY,
    name               TEXT NOT NULL,
    description        TEXT,
    task_type          TEXT NOT NULL CHECK (task_type IN ('shell', 'http', 'conductor')),
    task_config        JSONB NOT NULL,
    schedule_type      TEXT NOT NULL CHECK (schedule_type IN ('cron', 'interval', 'once')),
    schedule_config    JSONB NOT NULL,
    enabled            BOOLEAN NOT NULL DEFAULT TRUE,
    retry_policy       JSONB NOT NULL,
    severity           TEXT CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    concurrency_policy TEXT NOT NULL DEFAULT 'allow' CHECK (concurrency_policy IN ('allow', 'forbid')),
    misfire_policy     TEXT NOT NULL DEFAULT 'run_once' CHECK (misfire_policy IN ('run_once', 'skip')),
    tags               TEXT[] NOT NULL DEFAULT '{}',
    next_run_at        TIMESTAMPTZ,
    last_run_at        TIMESTAMPTZ,
    last_execution_id  UUID,
    -- Interval schedules without startAt fire at anchor_at + k * interval (k >= 1); set at
    -- creation and on every replace.
    anchor_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT task_schedules_name_key UNIQUE (name)
);

-- The scheduler's "what is due next" query: only enabled schedules with a next fire.
CREATE INDEX task_schedules_due_idx ON task_schedules (next_run_at)
    WHERE enabled AND next_run_at IS NOT NULL;
-- Newest-first listing with a (created_at, id) cursor.
CREATE INDEX task_schedules_created_idx ON task_schedules (created_at DESC, id DESC);
CREATE INDEX task_schedules_tags_idx ON task_schedules USING GIN (tags);
