-- A pause says when it began, why, and (optionally) when it ends by itself.
ALTER TABLE task_schedules
    ADD COLUMN paused_at     TIMESTAMPTZ,
    ADD COLUMN paused_reason TEXT,
    ADD COLUMN paused_until  TIMESTAMPTZ;
UPDATE task_schedules SET paused_at = updated_at WHERE NOT enabled;
-- The scheduler's "which pause ends next" query.
CREATE INDEX task_schedules_resume_idx ON task_schedules (paused_until)
    WHERE NOT enabled AND paused_until IS NOT NULL;
