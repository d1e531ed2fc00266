-- Live output. Events of one execution can be followed on the topic execution:<id>, on other
-- instances too, so the outbox carries the execution an event is about.
ALTER TABLE event_outbox ADD COLUMN execution_id uuid;
-- What a running shell task printed so far, written about once a second by the instance that
-- runs it, so that GET /api/executions/{id}/output on any instance can show it. The row is
-- removed once the final state (whose result holds the output) is stored.
CREATE TABLE execution_output (
    execution_id uuid PRIMARY KEY REFERENCES task_executions (id) ON DELETE CASCADE,
    stdout       text NOT NULL,
    stderr       text NOT NULL,
    truncated    boolean NOT NULL,
    updated_at   timestamptz NOT NULL
);
