DROP TABLE websocket_sessions;
