//! Due retries: claimed with `SKIP LOCKED` (each runs on one instance), their executions
//! created in the same transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::history::{self, Change, SYSTEM};
use super::ErrorRecordRow;
use crate::db::executions::{ExecutionRow, NewExecution};
use crate::db::schedules::ScheduleRow;
use crate::db::schema::error_records::dsl as r;
use crate::db::schema::task_executions::dsl as x;
use crate::db::schema::task_schedules::dsl as s;
use crate::db::{conn, DbError, DbPool};
use crate::domain::states::{HistoryAction, RecoveryStatus, Trigger};

/// The next attempt of `rec`'s chain: the first run's payload again, and its slot's
/// Idempotency-Key, so a receiver sees every attempt of one slot under one key.
pub(super) async fn retry_execution(
    c: &mut diesel_async::AsyncPgConnection,
    rec: &ErrorRecordRow,
    schedule: &ScheduleRow,
    instance: Uuid,
    scheduled_for: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<NewExecution, diesel::result::Error> {
    let first: Option<ExecutionRow> = x::task_executions
        .find(rec.execution_id)
        .select(ExecutionRow::as_select())
        .first(c)
        .await
        .optional()?;
    Ok(NewExecution {
        error_record_id: Some(rec.id),
        payload: first.as_ref().and_then(|f| f.payload.clone()),
        idempotency_key: first.as_ref().map(ExecutionRow::slot_key),
        ..NewExecution::of(
            schedule,
            Trigger::Retry,
            rec.attempts + 1,
            scheduled_for,
            now,
            instance,
        )
    })
}

/// A claimed retry: the record (now `retrying`, or back to `unresolved` with a note when its
/// schedule is gone or paused) and the execution to run.
pub type ClaimedRetry = (ErrorRecordRow, Option<ExecutionRow>);

/// Claims due retries (`SKIP LOCKED`: each runs on one instance) and creates their executions
/// in the same transaction.
pub async fn claim_due_retries(
    pool: &DbPool,
    instance: Uuid,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<Vec<ClaimedRetry>, DbError> {
    let mut c = conn(pool).await?;
    c.transaction::<_, DbError, _>(async |c| {
        // A retry storm is claimed by walking the due index, not by sorting all of it.
        crate::db::claim_plan(c).await?;
        let due: Vec<ErrorRecordRow> = r::error_records
            .filter(r::recovery_status.eq(RecoveryStatus::RetryScheduled))
            .filter(r::next_retry_at.le(now))
            .order(r::next_retry_at.asc())
            .limit(batch)
            .for_update()
            .skip_locked()
            .select(ErrorRecordRow::as_select())
            .load(c)
            .await?;
        // Their schedules in one query, not one per record.
        let ids: Vec<Uuid> = due.iter().map(|r| r.schedule_id).collect();
        let schedules: HashMap<Uuid, ScheduleRow> = s::task_schedules
            .filter(s::id.eq_any(&ids))
            .select(ScheduleRow::as_select())
            .load(c)
            .await?
            .into_iter()
            .map(|row| (row.id, row))
            .collect();
        let mut out = Vec::with_capacity(due.len());
        for rec in due {
            let (status, note, exec) = match schedules.get(&rec.schedule_id) {
                None => (
                    RecoveryStatus::Unresolved,
                    Some("retry not run: the schedule was deleted"),
                    None,
                ),
                Some(sched) if !sched.enabled => (
                    RecoveryStatus::Unresolved,
                    Some("retry not run: the schedule is paused"),
                    None,
                ),
                Some(sched) => {
                    let at = rec.next_retry_at.unwrap_or(now);
                    let new = retry_execution(c, &rec, sched, instance, at, now).await?;
                    let row: ExecutionRow = diesel::insert_into(x::task_executions)
                        .values(&new)
                        .returning(ExecutionRow::as_returning())
                        .get_result(c)
                        .await?;
                    (RecoveryStatus::Retrying, None, Some(row))
                }
            };
            let updated = diesel::update(r::error_records.find(rec.id))
                .set((
                    r::recovery_status.eq(status),
                    r::next_retry_at.eq(None::<DateTime<Utc>>),
                    r::last_retry_at.eq(exec.as_ref().map(|_| now).or(rec.last_retry_at)),
                    r::note.eq(note.map(str::to_string).or(rec.note.clone())),
                    r::updated_at.eq(now),
                ))
                .returning(ErrorRecordRow::as_returning())
                .get_result(c)
                .await?;
            let change = Change {
                action: HistoryAction::RetryStarted,
                actor: SYSTEM,
                note,
                from: Some(RecoveryStatus::RetryScheduled),
                to: updated.recovery_status,
            };
            history::add(c, updated.id, now, change).await?;
            out.push((updated, exec));
        }
        Ok(out)
    })
    .await
}
