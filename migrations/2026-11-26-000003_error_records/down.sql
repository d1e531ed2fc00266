DROP TABLE error_records;
