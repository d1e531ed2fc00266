//! Messages the ErrorRecoveryActor answers.

use actix::prelude::*;
use uuid::Uuid;

use crate::db::error_records::{ActionError, ErrorRecordRow, ListFilter};
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
    pub note: Option<String>,
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
#[rtype(result = "Result<Option<(ErrorRecordRow, Vec<ExecutionRow>)>, DbError>")]
pub struct GetError(pub Uuid);

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
