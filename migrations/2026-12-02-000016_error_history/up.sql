-- Every change of an error record, automatic ones by 'system', in order.
CREATE TABLE error_history (
    id          BIGSERIAL PRIMARY KEY,
    error_id    UUID NOT NULL REFERENCES error_records (id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL,
    action      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    note        TEXT,
    from_status TEXT,
    to_status   TEXT NOT NULL
);
CREATE INDEX error_history_error_idx ON error_history (error_id, id);
