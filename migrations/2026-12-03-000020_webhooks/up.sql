-- Inbound webhooks: POST /api/hooks/<webhook_key> runs the schedule (trigger webhook) when the
-- body is signed with its secret, which is stored sealed like other secrets.
ALTER TABLE task_schedules ADD COLUMN webhook_key text;
ALTER TABLE task_schedules ADD COLUMN webhook_secret_nonce bytea;
ALTER TABLE task_schedules ADD COLUMN webhook_secret_sealed bytea;
CREATE UNIQUE INDEX task_schedules_webhook_key ON task_schedules (webhook_key)
    WHERE webhook_key IS NOT NULL;
ALTER TABLE task_executions DROP CONSTRAINT task_executions_trigger_check;
ALTER TABLE task_executions ADD CONSTRAINT task_executions_trigger_check
    CHECK (trigger IN ('schedule', 'manual', 'retry', 'catch_up', 'backfill', 'chained', 'webhook'));
-- A delivery's Idempotency-Key, answered with its first run for 24 hours.
CREATE TABLE webhook_deliveries (
    schedule_id     uuid NOT NULL REFERENCES task_schedules (id) ON DELETE CASCADE,
    idempotency_key text NOT NULL,
    execution_id    uuid NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (schedule_id, idempotency_key)
);
CREATE INDEX webhook_deliveries_created_at ON webhook_deliveries (created_at);
