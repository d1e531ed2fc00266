DROP TABLE error_history;
