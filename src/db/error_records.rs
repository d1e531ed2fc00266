//! `error_records`: one per failing run chain (flows 2 and 4). Every change is a read-modify-
//! write under `FOR UPDATE`, decided by the pure rules in `domain::recovery`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use uuid::Uuid;

use super::executions::{ExecutionRow, NewExecution};
use super::pagination::{Cursor, Page};
use super::schedules::ScheduleRow;
use super::schema::error_records::{self, dsl as r};
use super::schema::task_executions::dsl as x;
use super::schema::task_schedules::dsl as s;
use super::{conn, DbError, DbPool};
use crate::domain::recovery::{self, Action, RecoveryState};
use crate::domain::retry::RetryPolicy;
use crate::domain::states::{ErrorType, RecoveryStatus, Severity, Trigger};

/// A stored error record.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = error_records)]
pub struct ErrorRecordRow {
    pub id: Uuid,
    pub execution_id: Uuid,
    pub schedule_id: Uuid,
    pub last_execution_id: Uuid,
    pub severity: Severity,
    pub error_type: ErrorType,
    pub message: String,
    pub recovery_status: RecoveryStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub last_retry_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub schedule_name: String,
}

impl ErrorRecordRow {
    fn state(&self) -> RecoveryState {
        RecoveryState {
            status: self.recovery_status,
            severity: self.severity,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            next_retry_at: self.next_retry_at,
        }
    }
}

/// What recording a failure did.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub record: ErrorRecordRow,
    /// True for a new chain (`error_recorded`), false for a retry of one (`error_updated`).
    pub created: bool,
}

/// Records a failed execution: a new record for a first failure, the chain's record for a
/// retry. Idempotent: the same execution recorded twice changes nothing the second time.
pub async fn record_failure(
    pool: &DbPool,
    exec: &ExecutionRow,
    now: DateTime<Utc>,
    jitter: f64,
) -> Result<Option<Recorded>, DbError> {
    let mut c = conn(pool).await?;
    let exec = exec.clone();
    c.transaction::<_, DbError, _>(async |c| {
        let schedule: Option<ScheduleRow> = s::task_schedules
            .find(exec.schedule_id)
            .select(ScheduleRow::as_select())
            .first(c)
            .await
            .optional()?;
        let policy = schedule
            .as_ref()
            .map(ScheduleRow::retry)
            .unwrap_or(RetryPolicy {
                max_attempts: 1,
                ..Default::default()
            });
        let error_type = exec.error_type.unwrap_or(ErrorType::Internal);
        let message = exec.error.clone().unwrap_or_else(|| "failed".into());
        match exec.error_record_id {
            Some(rid) => {
                let Some(rec) = r::error_records
                    .find(rid)
                    .for_update()
                    .select(ErrorRecordRow::as_select())
                    .first(c)
                    .await
                    .optional()?
                else {
                    return Ok(None);
                };
                if rec.last_execution_id == exec.id {
                    return Ok(None);
                }
                let mut next = recovery::after_failure(&rec.state(), &policy, now, jitter, false);
                if rec.recovery_status != RecoveryStatus::Retrying {
                    // An operator acted while the retry ran: count it, keep their decision.
                    next.status = rec.recovery_status;
                    next.next_retry_at = rec.next_retry_at;
                }
                let row = diesel::update(r::error_records.find(rid))
                    .set((
                        r::recovery_status.eq(&next.status),
                        r::attempts.eq(next.attempts),
                        r::next_retry_at.eq(next.next_retry_at),
                        r::message.eq(&message),
                        r::error_type.eq(&error_type),
                        r::last_execution_id.eq(exec.id),
                        r::updated_at.eq(now),
                    ))
                    .returning(ErrorRecordRow::as_returning())
                    .get_result(c)
                    .await?;
                Ok(Some(Recorded {
                    record: row,
                    created: false,
                }))
            }
            None => {
                let http_status = exec.result.as_ref().and_then(|v| v["status"].as_u64());
                let sev = recovery::severity(
                    schedule.as_ref().and_then(|s| s.severity),
                    error_type,
                    http_status,
                );
                let start = RecoveryState {
                    status: RecoveryStatus::Unresolved,
                    severity: sev,
                    attempts: 0,
                    max_attempts: policy.max_attempts as i32,
                    next_retry_at: None,
                };
                let next = recovery::after_failure(&start, &policy, now, jitter, true);
                let id = Uuid::now_v7();
                let row: Option<ErrorRecordRow> = diesel::insert_into(r::error_records)
                    .values((
                        r::id.eq(id),
                        r::execution_id.eq(exec.id),
                        r::schedule_id.eq(exec.schedule_id),
                        r::schedule_name.eq(&exec.schedule_name),
                        r::last_execution_id.eq(exec.id),
                        r::severity.eq(&next.severity),
                        r::error_type.eq(&error_type),
                        r::message.eq(&message),
                        r::recovery_status.eq(&next.status),
                        r::attempts.eq(next.attempts),
                        r::max_attempts.eq(next.max_attempts),
                        r::next_retry_at.eq(next.next_retry_at),
                        r::created_at.eq(now),
                        r::updated_at.eq(now),
                    ))
                    .on_conflict_do_nothing()
                    .returning(ErrorRecordRow::as_returning())
                    .get_result(c)
                    .await
                    .optional()?;
                if row.is_some() {
                    diesel::update(x::task_executions.find(exec.id))
                        .set(x::error_record_id.eq(Some(id)))
                        .execute(c)
                        .await?;
                }
                Ok(row.map(|record| Recorded {
                    record,
                    created: true,
                }))
            }
        }
    })
    .await
}

/// How a retry that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryEnd {
    /// It succeeded: the chain is resolved.
    Succeeded,
    /// It was cancelled: back to a person.
    Cancelled,
}

/// Closes the retry `exec` of its chain, unless an operator already acted on the record
/// (then the record is no longer `retrying` and nothing changes).
pub async fn record_retry_end(
    pool: &DbPool,
    exec: &ExecutionRow,
    end: RetryEnd,
    now: DateTime<Utc>,
) -> Result<Option<ErrorRecordRow>, DbError> {
    let Some(rid) = exec.error_record_id else {
        return Ok(None);
    };
    let (status, resolved_at, note) = match end {
        RetryEnd::Succeeded => (RecoveryStatus::Resolved, Some(now), None),
        RetryEnd::Cancelled => (
            RecoveryStatus::Unresolved,
            None,
            Some("retry execution was cancelled"),
        ),
    };
    let mut c = conn(pool).await?;
    Ok(diesel::update(
        r::error_records
            .find(rid)
            .filter(r::recovery_status.eq(RecoveryStatus::Retrying)),
    )
    .set((
        r::recovery_status.eq(status),
        r::resolved_at.eq(resolved_at),
        r::note.eq(
            diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>("COALESCE(")
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(note)
                .sql(", note)"),
        ),
        r::next_retry_at.eq(None::<DateTime<Utc>>),
        r::last_execution_id.eq(exec.id),
        r::updated_at.eq(now),
    ))
    .returning(ErrorRecordRow::as_returning())
    .get_result(&mut c)
    .await
    .optional()?)
}

fn retry_execution(
    rec: &ErrorRecordRow,
    schedule: &ScheduleRow,
    instance: Uuid,
    scheduled_for: DateTime<Utc>,
    now: DateTime<Utc>,
) -> NewExecution {
    NewExecution {
        error_record_id: Some(rec.id),
        ..NewExecution::of(
            schedule,
            Trigger::Retry,
            rec.attempts + 1,
            scheduled_for,
            now,
            instance,
        )
    }
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
        let mut out = Vec::with_capacity(due.len());
        for rec in due {
            let schedule: Option<ScheduleRow> = s::task_schedules
                .find(rec.schedule_id)
                .select(ScheduleRow::as_select())
                .first(c)
                .await
                .optional()?;
            let (status, note, exec) = match schedule {
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
                    let new = retry_execution(
                        &rec,
                        &sched,
                        instance,
                        rec.next_retry_at.unwrap_or(now),
                        now,
                    );
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
            out.push((updated, exec));
        }
        Ok(out)
    })
    .await
}

/// Why an operator action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("error record {0} not found")]
    NotFound(Uuid),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ActionError {
    fn from(e: diesel::result::Error) -> Self {
        ActionError::Db(DbError::Query(e))
    }
}

/// Locks a record for an operator action and checks the action is allowed from its status.
async fn lock_for(
    c: &mut diesel_async::AsyncPgConnection,
    id: Uuid,
    action: Action,
) -> Result<ErrorRecordRow, ActionError> {
    let rec = r::error_records
        .find(id)
        .for_update()
        .select(ErrorRecordRow::as_select())
        .first(c)
        .await
        .optional()?
        .ok_or(ActionError::NotFound(id))?;
    recovery::check_action(rec.recovery_status, action).map_err(ActionError::Conflict)?;
    Ok(rec)
}

/// Flow 4 retry: re-execute now. Answers the record (`retrying`) and the new execution.
pub async fn start_manual_retry(
    pool: &DbPool,
    id: Uuid,
    instance: Uuid,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<(ErrorRecordRow, ExecutionRow), ActionError> {
    let mut c = conn(pool).await.map_err(ActionError::Db)?;
    c.transaction::<_, ActionError, _>(async |c| {
        let rec = lock_for(c, id, Action::Retry).await?;
        let schedule: ScheduleRow = s::task_schedules
            .find(rec.schedule_id)
            .select(ScheduleRow::as_select())
            .first(c)
            .await
            .optional()?
            .ok_or_else(|| {
                ActionError::Conflict(format!(
                    "the schedule {} of this error was deleted; nothing to retry",
                    rec.schedule_id
                ))
            })?;
        let new = retry_execution(&rec, &schedule, instance, now, now);
        let exec: ExecutionRow = diesel::insert_into(x::task_executions)
            .values(&new)
            .returning(ExecutionRow::as_returning())
            .get_result(c)
            .await?;
        let row = diesel::update(r::error_records.find(id))
            .set((
                r::recovery_status.eq(RecoveryStatus::Retrying),
                r::next_retry_at.eq(None::<DateTime<Utc>>),
                r::last_retry_at.eq(Some(now)),
                r::note.eq(note.or(rec.note.clone())),
                r::updated_at.eq(now),
            ))
            .returning(ErrorRecordRow::as_returning())
            .get_result(c)
            .await?;
        Ok((row, exec))
    })
    .await
}

/// Flow 4 resolve / ignore / escalate.
pub async fn apply_action(
    pool: &DbPool,
    id: Uuid,
    action: Action,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<ErrorRecordRow, ActionError> {
    let mut c = conn(pool).await.map_err(ActionError::Db)?;
    c.transaction::<_, ActionError, _>(async |c| {
        let rec = lock_for(c, id, action).await?;
        let resolved_at = if action == Action::Resolve {
            Some(now)
        } else {
            rec.resolved_at
        };
        Ok(diesel::update(r::error_records.find(id))
            .set((
                r::recovery_status.eq(action.target()),
                r::next_retry_at.eq(None::<DateTime<Utc>>),
                r::resolved_at.eq(resolved_at),
                r::note.eq(note.or(rec.note.clone())),
                r::updated_at.eq(now),
            ))
            .returning(ErrorRecordRow::as_returning())
            .get_result(c)
            .await?)
    })
    .await
}

/// One record.
pub async fn get(pool: &DbPool, id: Uuid) -> Result<Option<ErrorRecordRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(r::error_records
        .find(id)
        .select(ErrorRecordRow::as_select())
        .first(&mut c)
        .await
        .optional()?)
}

/// The executions of a record's chain, first attempt first.
pub async fn attempts(pool: &DbPool, rec: &ErrorRecordRow) -> Result<Vec<ExecutionRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(x::task_executions
        .filter(x::id.eq(rec.execution_id).or(x::error_record_id.eq(rec.id)))
        .order((x::attempt.asc(), x::created_at.asc()))
        .select(ExecutionRow::as_select())
        .load(&mut c)
        .await?)
}

/// Filters of the error list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Any of these statuses (empty: all).
    pub recovery_status: Vec<RecoveryStatus>,
    pub severity: Option<Severity>,
    pub schedule_id: Option<Uuid>,
}

/// A page of records, newest first.
pub async fn list(
    pool: &DbPool,
    f: &ListFilter,
    limit: i64,
    cursor: Option<Cursor>,
) -> Result<Page<ErrorRecordRow>, DbError> {
    let mut c = conn(pool).await?;
    let mut q = r::error_records
        .select(ErrorRecordRow::as_select())
        .into_boxed();
    if !f.recovery_status.is_empty() {
        q = q.filter(r::recovery_status.eq_any(f.recovery_status.clone()));
    }
    if let Some(sev) = f.severity {
        q = q.filter(r::severity.eq(sev));
    }
    if let Some(id) = f.schedule_id {
        q = q.filter(r::schedule_id.eq(id));
    }
    Ok(super::pagination::keyset_page!(q, r, cursor, limit, &mut c))
}

/// The earliest pending retry.
pub async fn earliest_retry(pool: &DbPool) -> Result<Option<DateTime<Utc>>, DbError> {
    let mut c = conn(pool).await?;
    Ok(r::error_records
        .filter(r::recovery_status.eq(RecoveryStatus::RetryScheduled))
        .select(diesel::dsl::min(r::next_retry_at))
        .first(&mut c)
        .await?)
}

/// Number of records per (recovery_status, severity).
pub async fn counts(pool: &DbPool) -> Result<Vec<(RecoveryStatus, Severity, i64)>, DbError> {
    let mut c = conn(pool).await?;
    Ok(r::error_records
        .group_by((r::recovery_status, r::severity))
        .select((r::recovery_status, r::severity, diesel::dsl::count_star()))
        .load(&mut c)
        .await?)
}
