-- One row per WebSocket connection; kept, marked inactive, after it closes.
CREATE TABLE websocket_sessions (
    session_id      UUID PRIMARY KEY,
    instance_id     UUID NOT NULL,
    subscriptions   TEXT[] NOT NULL DEFAULT '{*}',
    is_active       BOOLEAN NOT NULL DEFAULT TRUE,
    connected_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    disconnected_at TIMESTAMPTZ
);

CREATE INDEX websocket_sessions_active_idx ON websocket_sessions (instance_id) WHERE is_active;
CREATE INDEX websocket_sessions_inactive_idx ON websocket_sessions (disconnected_at) WHERE NOT is_active;
