//! `error_records`: one per failing run chain. Every change is a read-modify-write under
//! `FOR UPDATE`, decided by the pure rules in `domain::recovery`: failures and the ends of
//! retries are recorded in [`record`], due retries claimed in [`retries`], operator actions
//! applied in [`actions`]; the reads are here.

mod actions;
pub mod bulk;
pub mod history;
mod record;
mod retries;

pub use actions::{apply_action, start_manual_retry, ActionError, By};
pub use record::{record_failure, record_retry_end, OnFailure, Recorded, RetryEnd};
pub use retries::{claim_due_retries, ClaimedRetry};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::executions::ExecutionRow;
use super::pagination::{Cursor, Page};
use super::schema::error_records::{self, dsl as r};
use super::schema::task_executions::dsl as x;
use super::{conn, DbError, DbPool};
use crate::domain::recovery::RecoveryState;
use crate::domain::states::{ErrorType, RecoveryStatus, Severity};

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
    pub fingerprint: String,
}

impl ErrorRecordRow {
    pub(super) fn state(&self) -> RecoveryState {
        RecoveryState {
            status: self.recovery_status,
            severity: self.severity,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            next_retry_at: self.next_retry_at,
        }
    }
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
