-- Events produced on one instance for the WebSocket clients of the others. Written in batches with one NOTIFY per batch; pruned after a few minutes.
CREATE TABLE event_outbox (
    id          BIGSERIAL PRIMARY KEY,
    instance_id UUID NOT NULL,
    kind        TEXT NOT NULL,
    schedule_id UUID,
    payload     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX event_outbox_created_idx ON event_outbox (created_at);
