//! Pausing and resuming: a pause records when, why and until when; a pause with an end is
//! resumed by the scheduler once it passes; a schedule whose run chains keep failing pauses
//! itself.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::super::schema::task_schedules::dsl as s;
use super::super::{conn, DbError, DbPool};
use super::ScheduleRow;
use crate::domain::states::{ExecutionStatus, RecoveryStatus};

/// A pause or a resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toggle {
    /// `enabled = false`, with an optional reason and an instant at which it resumes by itself.
    Pause {
        reason: Option<String>,
        until: Option<DateTime<Utc>>,
    },
    /// `enabled = true`, `nextRunAt` recomputed from now, the pause forgotten.
    Resume,
}

/// Pauses or resumes a schedule. Pausing a paused schedule keeps its `pausedAt` and takes the
/// new reason and end.
pub async fn set_enabled(
    pool: &DbPool,
    id: Uuid,
    toggle: Toggle,
    now: DateTime<Utc>,
) -> Result<Option<ScheduleRow>, DbError> {
    let mut c = conn(pool).await?;
    c.transaction::<_, DbError, _>(async |c| {
        if toggle != Toggle::Resume {
            super::super::leads::take_back(c, id, now).await?;
        }
        let Some(old) = super::lock(c, id).await? else {
            return Ok(None);
        };
        let row = match toggle {
            Toggle::Pause { reason, until } => pause_row(c, &old, reason, until, now).await?,
            Toggle::Resume => resume_row(c, &old, now).await?,
        };
        Ok(Some(row))
    })
    .await
}

/// Pauses `old` (locked by the caller); a paused schedule keeps its `pausedAt`.
async fn pause_row(
    c: &mut diesel_async::AsyncPgConnection,
    old: &ScheduleRow,
    reason: Option<String>,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<ScheduleRow, diesel::result::Error> {
    diesel::update(s::task_schedules.find(old.id))
        .set((
            s::enabled.eq(false),
            s::paused_at.eq(old.paused_at.filter(|_| !old.enabled).unwrap_or(now)),
            s::paused_reason.eq(reason),
            s::paused_until.eq(until),
            s::updated_at.eq(now),
        ))
        .returning(ScheduleRow::as_returning())
        .get_result(c)
        .await
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Pauses schedule `id` when its last run chains all failed: as many as its
/// `autoPauseAfterFailures` (else `default_threshold`; 0 = off). A chain counts once it has
/// ended failed (not while a retry is scheduled or running); a completed run resets the count.
/// Decided under the schedule's row lock, so of several instances one pauses. The paused row
/// and the count, or None when nothing changed.
pub async fn pause_if_failing(
    pool: &DbPool,
    id: Uuid,
    default_threshold: u32,
    now: DateTime<Utc>,
) -> Result<Option<(ScheduleRow, i64)>, DbError> {
    let threshold = |row: &ScheduleRow| {
        let t = row
            .rules()
            .auto_pause_after_failures
            .unwrap_or(default_threshold);
        (row.enabled && t > 0).then_some(t)
    };
    let mut c = conn(pool).await?;
    // Most schedules never auto-pause: find that out without taking the row lock.
    let unlocked: Option<ScheduleRow> = s::task_schedules
        .find(id)
        .select(ScheduleRow::as_select())
        .first(&mut c)
        .await
        .optional()?;
    if unlocked.as_ref().and_then(threshold).is_none() {
        return Ok(None);
    }
    c.transaction::<_, DbError, _>(async |c| {
        let Some(old) = super::lock(c, id).await? else {
            return Ok(None);
        };
        let Some(threshold) = threshold(&old) else {
            return Ok(None);
        };
        let failed: Count = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM (SELECT 1 FROM error_records r \
                WHERE r.schedule_id = $1 AND r.recovery_status NOT IN ('{scheduled}', '{retrying}') \
                  AND r.created_at > COALESCE((SELECT e.finished_at FROM task_executions e \
                      WHERE e.schedule_id = $1 AND e.status = '{completed}' \
                      ORDER BY e.created_at DESC, e.id DESC LIMIT 1), '-infinity') \
                ORDER BY r.created_at DESC LIMIT $2) chains",
            scheduled = RecoveryStatus::RetryScheduled,
            retrying = RecoveryStatus::Retrying,
            completed = ExecutionStatus::Completed,
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<BigInt, _>(i64::from(threshold))
        .get_result(c)
        .await?;
        if failed.n < i64::from(threshold) {
            return Ok(None);
        }
        super::super::leads::take_back(c, id, now).await?;
        let reason = format!("auto-paused after {} consecutive failures", failed.n);
        let row = pause_row(c, &old, Some(reason), None, now).await?;
        Ok(Some((row, failed.n)))
    })
    .await
}

/// Resumes `old` (locked by the caller); an enabled schedule keeps its `nextRunAt`.
async fn resume_row(
    c: &mut diesel_async::AsyncPgConnection,
    old: &ScheduleRow,
    now: DateTime<Utc>,
) -> Result<ScheduleRow, diesel::result::Error> {
    let next = if old.enabled {
        old.next_run_at
    } else {
        old.resumed_next(now)
    };
    diesel::update(s::task_schedules.find(old.id))
        .set((
            s::enabled.eq(true),
            s::next_run_at.eq(next),
            s::paused_at.eq(None::<DateTime<Utc>>),
            s::paused_reason.eq(None::<String>),
            s::paused_until.eq(None::<DateTime<Utc>>),
            s::updated_at.eq(now),
        ))
        .returning(ScheduleRow::as_returning())
        .get_result(c)
        .await
}

/// Resumes schedules whose pause ended by `now` (each by one instance: `SKIP LOCKED`).
pub async fn resume_due(pool: &DbPool, now: DateTime<Utc>) -> Result<Vec<ScheduleRow>, DbError> {
    let mut c = conn(pool).await?;
    c.transaction::<_, DbError, _>(async |c| {
        let due: Vec<ScheduleRow> = s::task_schedules
            .filter(s::enabled.eq(false))
            .filter(s::paused_until.le(now))
            .order(s::paused_until.asc())
            .limit(RESUME_BATCH)
            .for_update()
            .skip_locked()
            .select(ScheduleRow::as_select())
            .load(c)
            .await?;
        let mut resumed = Vec::with_capacity(due.len());
        for old in &due {
            resumed.push(resume_row(c, old, now).await?);
        }
        Ok(resumed)
    })
    .await
}

/// Schedules resumed per pass at most (the rest in the next pass, moments later).
const RESUME_BATCH: i64 = 100;
