DROP TABLE task_schedules;
