//! Recording failures: a first failure opens a chain's record, a retry's failure or end updates
//! it. Idempotent: the same execution recorded twice changes nothing the second time.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::history::{self, Change, SYSTEM};
use super::ErrorRecordRow;
use crate::db::executions::ExecutionRow;
use crate::db::schedules::ScheduleRow;
use crate::db::schema::error_records::dsl as r;
use crate::db::schema::task_executions::dsl as x;
use crate::db::schema::task_schedules::dsl as s;
use crate::db::{conn, DbError, DbPool};
use crate::domain::fingerprint::fingerprint;
use crate::domain::recovery::{self, RecoveryState};
use crate::domain::retry::RetryPolicy;
use crate::domain::retry_rules::Failure;
use crate::domain::states::{ErrorType, HistoryAction, RecoveryStatus};

/// What recording a failure did.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub record: ErrorRecordRow,
    /// True for a new chain (`error_recorded`), false for a retry of one (`error_updated`).
    pub created: bool,
    /// The `onFailure` runs started because no retry is left (pending, to run).
    pub chained: Vec<ExecutionRow>,
}

/// How a failure with no retry left starts its schedule's `onFailure` runs.
#[derive(Debug, Clone, Copy)]
pub struct OnFailure<'a> {
    /// What they are given: `{"from": <the failed execution>}`.
    pub payload: &'a serde_json::Value,
    /// Who runs them.
    pub instance: Uuid,
}

/// The `onFailure` runs of `exec` when `status` leaves no retry, in the record's transaction.
async fn chained(
    c: &mut diesel_async::AsyncPgConnection,
    exec: &ExecutionRow,
    status: RecoveryStatus,
    on_failure: Option<OnFailure<'_>>,
    now: DateTime<Utc>,
) -> Result<Vec<ExecutionRow>, diesel::result::Error> {
    match on_failure {
        Some(f) if exec.chain_next && status != RecoveryStatus::RetryScheduled => {
            let on = crate::domain::chain::ChainOn::Failure;
            crate::db::chains::start_next_in(c, exec, on, f.payload, f.instance, now).await
        }
        _ => Ok(vec![]),
    }
}

/// Records a failed execution: a new record for a first failure, the chain's record for a
/// retry. Idempotent: the same execution recorded twice changes nothing the second time.
/// When no retry is left, the schedule's `onFailure` runs are created in the same transaction.
pub async fn record_failure(
    pool: &DbPool,
    exec: &ExecutionRow,
    now: DateTime<Utc>,
    jitter: f64,
    on_failure: Option<OnFailure<'_>>,
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
        let failure = Failure::read(exec.error_type, exec.result.as_ref(), now);
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
                let next =
                    recovery::after_failure(&rec.state(), &policy, &failure, now, jitter, false);
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
                let note = format!("attempt {} failed: {}", next.attempts, error_type);
                let change = Change {
                    action: HistoryAction::Failed,
                    actor: SYSTEM,
                    note: Some(&note),
                    from: Some(rec.recovery_status),
                    to: row.recovery_status,
                };
                history::add(c, row.id, now, change).await?;
                let chained = chained(c, &exec, row.recovery_status, on_failure, now).await?;
                Ok(Some(Recorded {
                    record: row,
                    created: false,
                    chained,
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
                let next = recovery::after_failure(&start, &policy, &failure, now, jitter, true);
                let id = Uuid::now_v7();
                let fp = fingerprint(exec.schedule_id, error_type, &message);
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
                        r::fingerprint.eq(&fp),
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
                let mut started = vec![];
                if let Some(rec) = &row {
                    started = chained(c, &exec, rec.recovery_status, on_failure, now).await?;
                    crate::db::error_groups::count_in(c, rec).await?;
                    let change = Change {
                        action: HistoryAction::Recorded,
                        actor: SYSTEM,
                        note: None,
                        from: None,
                        to: rec.recovery_status,
                    };
                    history::add(c, rec.id, now, change).await?;
                    diesel::update(x::task_executions.find(exec.id))
                        .set(x::error_record_id.eq(Some(id)))
                        .execute(c)
                        .await?;
                }
                Ok(row.map(|record| Recorded {
                    record,
                    created: true,
                    chained: started,
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
    let exec_id = exec.id;
    c.transaction::<_, DbError, _>(async |c| {
        let row: Option<ErrorRecordRow> = diesel::update(
            r::error_records
                .find(rid)
                .filter(r::recovery_status.eq(RecoveryStatus::Retrying)),
        )
        .set((
            r::recovery_status.eq(status),
            r::resolved_at.eq(resolved_at),
            r::note.eq(
                diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
                    "COALESCE(",
                )
                .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(note)
                .sql(", note)"),
            ),
            r::next_retry_at.eq(None::<DateTime<Utc>>),
            r::last_execution_id.eq(exec_id),
            r::updated_at.eq(now),
        ))
        .returning(ErrorRecordRow::as_returning())
        .get_result(c)
        .await
        .optional()?;
        if let Some(row) = &row {
            let action = match end {
                RetryEnd::Succeeded => HistoryAction::RetrySucceeded,
                RetryEnd::Cancelled => HistoryAction::RetryCancelled,
            };
            let change = Change {
                action,
                actor: SYSTEM,
                note,
                from: Some(RecoveryStatus::Retrying),
                to: row.recovery_status,
            };
            history::add(c, row.id, now, change).await?;
        }
        Ok(row)
    })
    .await
}
