//! Operator actions on a record: retry now, resolve, ignore, escalate; each allowed or refused
//! by `domain::recovery::check_action` from the record's status.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::history::{self, Change};
use super::retries::retry_execution;
use super::ErrorRecordRow;
use crate::db::executions::ExecutionRow;
use crate::db::schedules::ScheduleRow;
use crate::db::schema::error_records::dsl as r;
use crate::db::schema::task_executions::dsl as x;
use crate::db::schema::task_schedules::dsl as s;
use crate::db::{conn, DbError, DbPool};
use crate::domain::recovery::{self, Action};
use crate::domain::states::{HistoryAction, RecoveryStatus};

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

/// Who acts, with their note.
#[derive(Debug, Clone)]
pub struct By {
    /// The caller's name (token name, `env-token`, `anonymous`).
    pub actor: String,
    pub note: Option<String>,
}

impl By {
    /// The action in the record's history.
    async fn record(
        &self,
        c: &mut diesel_async::AsyncPgConnection,
        before: &ErrorRecordRow,
        after: &ErrorRecordRow,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<(), diesel::result::Error> {
        let action = match action {
            Action::Retry => HistoryAction::Retry,
            Action::Resolve => HistoryAction::Resolve,
            Action::Ignore => HistoryAction::Ignore,
            Action::Escalate => HistoryAction::Escalate,
        };
        let change = Change {
            action,
            actor: &self.actor,
            note: self.note.as_deref(),
            from: Some(before.recovery_status),
            to: after.recovery_status,
        };
        history::add(c, after.id, now, change).await
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

/// Retry now: re-execute. Answers the record (`retrying`) and the new execution.
pub async fn start_manual_retry(
    pool: &DbPool,
    id: Uuid,
    instance: Uuid,
    by: By,
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
        let new = retry_execution(c, &rec, &schedule, instance, now, now).await?;
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
                r::note.eq(by.note.clone().or(rec.note.clone())),
                r::updated_at.eq(now),
            ))
            .returning(ErrorRecordRow::as_returning())
            .get_result(c)
            .await?;
        by.record(c, &rec, &row, Action::Retry, now).await?;
        Ok((row, exec))
    })
    .await
}

/// Resolve, ignore or escalate.
pub async fn apply_action(
    pool: &DbPool,
    id: Uuid,
    action: Action,
    by: By,
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
        let row = diesel::update(r::error_records.find(id))
            .set((
                r::recovery_status.eq(action.target()),
                r::next_retry_at.eq(None::<DateTime<Utc>>),
                r::resolved_at.eq(resolved_at),
                r::note.eq(by.note.clone().or(rec.note.clone())),
                r::updated_at.eq(now),
            ))
            .returning(ErrorRecordRow::as_returning())
            .get_result(c)
            .await?;
        by.record(c, &rec, &row, action, now).await?;
        Ok(row)
    })
    .await
}
