-- What a run was given (a trigger's or a webhook's JSON body), shown on the execution and
-- substituted into its task when it starts.
ALTER TABLE task_executions ADD COLUMN payload jsonb;
-- The slot a retry belongs to, as `<scheduleId>:<scheduledFor>` of the chain's first run, so
-- every attempt of one slot sends the same Idempotency-Key. NULL: this run's own slot.
ALTER TABLE task_executions ADD COLUMN idempotency_key text;
