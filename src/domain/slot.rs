//! A run's slot as text: its time the way tasks are told it (`TASKFORGE_SCHEDULED_FOR`,
//! `X-Taskforge-Scheduled-For`, `{{scheduledFor}}`) and its Idempotency-Key.

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

/// RFC 3339 in UTC with microseconds: the precision PostgreSQL stores.
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `<scheduleId>:<scheduledFor>`: the same for every attempt of one slot, so a receiver can
/// deduplicate retries.
pub fn key(schedule_id: Uuid, scheduled_for: DateTime<Utc>) -> String {
    format!("{schedule_id}:{}", time_text(scheduled_for))
}
