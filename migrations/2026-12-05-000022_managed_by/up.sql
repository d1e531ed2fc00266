-- `taskforge apply` stores the file's managedBy on every schedule it writes, so that
-- `--prune` deletes only the schedules that file manages.
ALTER TABLE task_schedules ADD COLUMN managed_by text;
