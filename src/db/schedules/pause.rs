//! Pausing and resuming: a pause records when, why and until when; a pause with an end is
//! resumed by the scheduler once it passes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::super::schema::task_schedules::dsl as s;
use super::super::{conn, DbError, DbPool};
use super::ScheduleRow;

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
            Toggle::Pause { reason, until } => {
                diesel::update(s::task_schedules.find(id))
                    .set((
                        s::enabled.eq(false),
                        s::paused_at.eq(old.paused_at.filter(|_| !old.enabled).unwrap_or(now)),
                        s::paused_reason.eq(reason),
                        s::paused_until.eq(until),
                        s::updated_at.eq(now),
                    ))
                    .returning(ScheduleRow::as_returning())
                    .get_result(c)
                    .await?
            }
            Toggle::Resume => resume_row(c, &old, now).await?,
        };
        Ok(Some(row))
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
