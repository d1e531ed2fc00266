//! Messages the ErrorRecoveryActor answers.

use actix::prelude::*;
use uuid::Uuid;

use crate::db::error_records::bulk::BulkFilter;
use crate::db::error_records::history::HistoryRow;
use crate::db::error_records::{ActionError, By, ErrorRecordRow, ListFilter};
use crate::db::executions::ExecutionRow;
use crate::db::pagination::{Cursor, Page};
use crate::db::DbError;
use crate::domain::recovery::Action;
use crate::domain::states::{RecoveryStatus, Severity};

/// Operator actions: retry now, resolve, ignore or escalate, with an optional note.
#[derive(Message)]
#[rtype(result = "Result<ActionOutcome, ActionError>")]
pub struct ApplyAction {
    pub id: Uuid,
    pub action: Action,
    /// Who acts (for the record's history), with their note.
    pub by: By,
}

/// One action on every record a filter matches; records whose status forbids it are skipped.
#[derive(Message)]
#[rtype(result = "Result<BulkOutcome, DbError>")]
pub struct BulkAction {
    pub action: Action,
    pub filter: BulkFilter,
    pub by: By,
}

/// What a bulk action did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    pub affected: usize,
    pub skipped: usize,
}

/// What an action produced.
#[derive(Debug, Clone)]
pub struct ActionOutcome {
    pub record: ErrorRecordRow,
    /// The execution a retry started.
    pub execution: Option<ExecutionRow>,
}

/// One record with the executions of its chain.
#[derive(Message)]
#[rtype(result = "Result<Option<ErrorDetail>, DbError>")]
pub struct GetError(pub Uuid);

/// A record, the executions of its chain and its history.
pub type ErrorDetail = (ErrorRecordRow, Vec<ExecutionRow>, Vec<HistoryRow>);

/// A page of records.
#[derive(Message)]
#[rtype(result = "Result<Page<ErrorRecordRow>, DbError>")]
pub struct ListErrors {
    pub filter: ListFilter,
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

/// Record counts per (status, severity), for metrics.
#[derive(Message)]
#[rtype(result = "Result<Vec<(RecoveryStatus, Severity, i64)>, DbError>")]
pub struct ErrorCounts;

/// A page of error groups, most recently seen first.
#[derive(Message)]
#[rtype(result = "Result<Page<crate::db::error_groups::GroupListed>, DbError>")]
pub struct ListErrorGroups {
    /// Only groups with records still open (not resolved or ignored).
    pub open_only: bool,
    pub schedule_id: Option<Uuid>,
    pub limit: i64,
    pub cursor: Option<Cursor>,
}
