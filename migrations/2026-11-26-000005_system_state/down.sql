DROP TABLE system_state;
