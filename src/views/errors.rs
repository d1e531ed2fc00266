//! Views of error records.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ExecutionView;
use crate::db::error_groups::{ErrorGroupRow, GroupListed};
use crate::db::error_records::history::HistoryRow;
use crate::db::error_records::ErrorRecordRow;
use crate::db::executions::ExecutionRow;
use crate::domain::states::{ErrorType, HistoryAction, RecoveryStatus, Severity};

/// An error record: one per failing run chain.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRecordView<'a> {
    pub id: Uuid,
    /// The first failed execution of the chain.
    pub execution_id: Uuid,
    pub last_execution_id: Uuid,
    pub schedule_id: Uuid,
    /// The schedule's name when the chain began.
    pub schedule_name: &'a str,
    pub severity: Severity,
    pub error_type: ErrorType,
    pub message: &'a str,
    /// Records of the same problem share it (schedule, error type, message up to numbers/ids).
    pub fingerprint: &'a str,
    pub recovery_status: RecoveryStatus,
    /// Failed executions of the chain.
    pub attempts: i32,
    /// Executions allowed in the chain, the first included.
    pub max_attempts: i32,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub last_retry_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub note: Option<&'a str>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl<'a> From<&'a ErrorRecordRow> for ErrorRecordView<'a> {
    fn from(r: &'a ErrorRecordRow) -> Self {
        ErrorRecordView {
            id: r.id,
            execution_id: r.execution_id,
            last_execution_id: r.last_execution_id,
            schedule_id: r.schedule_id,
            schedule_name: &r.schedule_name,
            severity: r.severity,
            error_type: r.error_type,
            message: &r.message,
            fingerprint: &r.fingerprint,
            recovery_status: r.recovery_status,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            next_retry_at: r.next_retry_at,
            last_retry_at: r.last_retry_at,
            resolved_at: r.resolved_at,
            note: r.note.as_deref(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// An error record with the executions of its chain and its history, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorRecordDetailView<'a> {
    #[serde(flatten)]
    pub record: ErrorRecordView<'a>,
    pub executions: Vec<ExecutionView<'a>>,
    pub history: Vec<HistoryView<'a>>,
}

impl<'a> ErrorRecordDetailView<'a> {
    /// The record, its attempts and its changes.
    pub fn of(
        record: &'a ErrorRecordRow,
        attempts: &'a [ExecutionRow],
        history: &'a [HistoryRow],
    ) -> Self {
        ErrorRecordDetailView {
            record: record.into(),
            executions: attempts.iter().map(ExecutionView::from).collect(),
            history: history.iter().map(HistoryView::from).collect(),
        }
    }
}

/// One change of an error record.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryView<'a> {
    pub at: DateTime<Utc>,
    pub action: HistoryAction,
    /// `system` for automatic changes, else the caller's token name.
    pub actor: &'a str,
    pub note: Option<&'a str>,
    pub from_status: Option<RecoveryStatus>,
    pub to_status: RecoveryStatus,
}

impl<'a> From<&'a HistoryRow> for HistoryView<'a> {
    fn from(h: &'a HistoryRow) -> Self {
        HistoryView {
            at: h.at,
            action: h.action,
            actor: &h.actor,
            note: h.note.as_deref(),
            from_status: h.from_status,
            to_status: h.to_status,
        }
    }
}

/// What a bulk action did.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkView {
    /// Records changed.
    pub affected: usize,
    /// Records whose status forbids the action (left as they were).
    pub skipped: usize,
}

/// An error group: the records of one problem.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorGroupView<'a> {
    pub fingerprint: &'a str,
    pub schedule_id: Uuid,
    /// In lists: the schedule's name as the newest record stored it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_name: Option<&'a str>,
    pub error_type: ErrorType,
    /// The message of the newest record.
    pub sample_message: &'a str,
    /// Records in the group.
    pub count: i64,
    /// Records not resolved or ignored.
    pub open_count: i64,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub last_error_id: Uuid,
    /// In lists: records created in each of the last 24 hours, oldest first.
    #[serde(skip_serializing_if = "<[i64]>::is_empty")]
    pub hourly: &'a [i64],
}

impl<'a> ErrorGroupView<'a> {
    pub fn of(row: &'a ErrorGroupRow, open_count: i64) -> Self {
        ErrorGroupView {
            fingerprint: &row.fingerprint,
            schedule_id: row.schedule_id,
            schedule_name: None,
            error_type: row.error_type,
            sample_message: &row.sample_message,
            count: row.count,
            open_count,
            first_seen_at: row.first_seen_at,
            last_seen_at: row.last_seen_at,
            last_error_id: row.last_error_id,
            hourly: &[],
        }
    }
}

impl<'a> From<&'a GroupListed> for ErrorGroupView<'a> {
    fn from(g: &'a GroupListed) -> Self {
        ErrorGroupView {
            hourly: &g.hourly,
            schedule_name: g.schedule_name.as_deref(),
            ..ErrorGroupView::of(&g.row, g.open_count)
        }
    }
}
