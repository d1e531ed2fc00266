-- One row per service instance: what runs there and a heartbeat (orphan detection).
CREATE TABLE system_state (
    instance_id            UUID PRIMARY KEY,
    hostname               TEXT NOT NULL,
    pid                    INTEGER NOT NULL,
    version                TEXT NOT NULL,
    scheduler_running      BOOLEAN NOT NULL DEFAULT FALSE,
    error_recovery_running BOOLEAN NOT NULL DEFAULT FALSE,
    started_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    stopped_at             TIMESTAMPTZ
);

CREATE INDEX system_state_heartbeat_idx ON system_state (heartbeat_at) WHERE stopped_at IS NULL;
