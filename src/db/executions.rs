//! `task_executions`: the record of every run and its state transitions. Every transition
//! is conditional on the state it leaves, so a late or duplicate writer changes nothing.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::pagination::{Cursor, Page};
use super::schema::task_executions::{self, dsl as x};
use super::{conn, DbError, DbPool};
use crate::domain::states::{ErrorType, ExecutionStatus, SkipReason, TaskType, Trigger};

/// A stored execution.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = task_executions)]
pub struct ExecutionRow {
    pub id: Uuid,
    pub schedule_id: Uuid,
    pub status: ExecutionStatus,
    pub trigger: Trigger,
    pub attempt: i32,
    pub scheduled_for: DateTime<Utc>,
    pub task_type: TaskType,
    pub task_config: Value,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub error_type: Option<ErrorType>,
    pub conductor_thread_id: Option<String>,
    pub conductor_status: Option<String>,
    pub error_record_id: Option<Uuid>,
    pub owner_instance: Option<Uuid>,
    pub fence: i64,
    pub schedule_name: String,
    pub skip_reason: Option<SkipReason>,
    /// The JSON the run was given (trigger or webhook body); None for a plain fire.
    pub payload: Option<Value>,
    /// A retry's slot key (the chain's first run); None: this run's own slot.
    pub idempotency_key: Option<String>,
    /// For `trigger: chained`: the run whose end started this one, and the steps to here.
    pub chained_from: Option<Uuid>,
    pub chain_depth: i32,
    /// True while this run's end may still start its schedule's chain.
    pub chain_next: bool,
}

impl ExecutionRow {
    /// True once the execution reached a final status.
    pub fn is_finished(&self) -> bool {
        self.status.is_final()
    }

    /// The Idempotency-Key of this run's slot: a retry's is its chain's first run's.
    pub fn slot_key(&self) -> String {
        self.idempotency_key
            .clone()
            .unwrap_or_else(|| crate::domain::slot::key(self.schedule_id, self.scheduled_for))
    }
}

/// A new, pending execution.
#[derive(Debug, Clone, Insertable)]
// None is NULL (no column here has a default it would need): the insert stays prepared.
#[diesel(table_name = task_executions, treat_none_as_default_value = false)]
pub struct NewExecution {
    pub id: Uuid,
    pub schedule_id: Uuid,
    pub status: ExecutionStatus,
    pub trigger: Trigger,
    pub attempt: i32,
    pub scheduled_for: DateTime<Utc>,
    pub task_type: TaskType,
    pub task_config: Value,
    pub created_at: DateTime<Utc>,
    pub owner_instance: Option<Uuid>,
    pub error_record_id: Option<Uuid>,
    pub schedule_name: String,
    /// Set (with `finished_at`) for a slot recorded as skipped.
    pub finished_at: Option<DateTime<Utc>>,
    pub skip_reason: Option<SkipReason>,
    pub payload: Option<Value>,
    pub idempotency_key: Option<String>,
    pub chained_from: Option<Uuid>,
    pub chain_depth: i32,
    pub chain_next: bool,
}

impl NewExecution {
    /// A pending run of `schedule` (its task as it is now), owned by `instance`.
    pub fn of(
        schedule: &super::schedules::ScheduleRow,
        trigger: Trigger,
        attempt: i32,
        scheduled_for: DateTime<Utc>,
        now: DateTime<Utc>,
        instance: Uuid,
    ) -> NewExecution {
        NewExecution {
            id: Uuid::now_v7(),
            schedule_id: schedule.id,
            status: ExecutionStatus::Pending,
            trigger,
            attempt,
            scheduled_for,
            task_type: schedule.task_type,
            task_config: schedule.task_config.clone(),
            created_at: now,
            owner_instance: Some(instance),
            error_record_id: None,
            schedule_name: schedule.name.clone(),
            finished_at: None,
            skip_reason: None,
            payload: None,
            idempotency_key: None,
            chained_from: None,
            chain_depth: 0,
            // The schedule's chain as it is now, like its task.
            chain_next: !(schedule.on_success.is_empty() && schedule.on_failure.is_empty()),
        }
    }

    /// A slot of `schedule` that was due and did not run, recorded at `now` (final at once,
    /// no owner, never started). It holds the slot's key: the slot can never run later.
    pub fn skipped(
        schedule: &super::schedules::ScheduleRow,
        scheduled_for: DateTime<Utc>,
        reason: SkipReason,
        now: DateTime<Utc>,
    ) -> NewExecution {
        NewExecution {
            id: Uuid::now_v7(),
            schedule_id: schedule.id,
            status: ExecutionStatus::Skipped,
            trigger: Trigger::Schedule,
            attempt: 1,
            scheduled_for,
            task_type: schedule.task_type,
            task_config: schedule.task_config.clone(),
            created_at: now,
            owner_instance: None,
            error_record_id: None,
            schedule_name: schedule.name.clone(),
            finished_at: Some(now),
            skip_reason: Some(reason),
            payload: None,
            idempotency_key: None,
            chained_from: None,
            chain_depth: 0,
            chain_next: false,
        }
    }
}

impl From<NewExecution> for ExecutionRow {
    /// The row as stored by inserting `new` (every other column at its default).
    fn from(new: NewExecution) -> ExecutionRow {
        ExecutionRow {
            id: new.id,
            schedule_id: new.schedule_id,
            status: new.status,
            trigger: new.trigger,
            attempt: new.attempt,
            scheduled_for: new.scheduled_for,
            task_type: new.task_type,
            task_config: new.task_config,
            created_at: new.created_at,
            started_at: None,
            finished_at: new.finished_at,
            duration_ms: None,
            result: None,
            error: None,
            error_type: None,
            conductor_thread_id: None,
            conductor_status: None,
            error_record_id: new.error_record_id,
            owner_instance: new.owner_instance,
            fence: 0,
            schedule_name: new.schedule_name,
            skip_reason: new.skip_reason,
            payload: new.payload,
            idempotency_key: new.idempotency_key,
            chained_from: new.chained_from,
            chain_depth: new.chain_depth,
            chain_next: new.chain_next,
        }
    }
}

/// Inserts one execution (manual trigger, retry).
pub async fn insert(pool: &DbPool, new: &NewExecution) -> Result<ExecutionRow, DbError> {
    let mut c = conn(pool).await?;
    Ok(diesel::insert_into(x::task_executions)
        .values(new)
        .returning(ExecutionRow::as_returning())
        .get_result(&mut c)
        .await?)
}

/// How an execution ended.
#[derive(Debug, Clone)]
pub struct Finish {
    pub status: ExecutionStatus,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub error_type: Option<ErrorType>,
    pub conductor_thread_id: Option<String>,
    pub conductor_status: Option<String>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: Option<i64>,
}

impl Finish {
    /// The state as it will be stored: text PostgreSQL cannot hold replaced (events then show
    /// exactly what the row holds).
    pub fn cleaned(mut self) -> Finish {
        use crate::domain::text::{clean, clean_value};
        if let Some(v) = self.result.as_mut() {
            clean_value(v);
        }
        for s in [
            &mut self.error,
            &mut self.conductor_thread_id,
            &mut self.conductor_status,
        ]
        .into_iter()
        .flatten()
        {
            if s.contains('\0') {
                *s = clean(s).into_owned();
            }
        }
        self
    }
}

/// pending/running → cancelled (for executions not running in this process).
pub async fn cancel(
    pool: &DbPool,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<ExecutionRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(diesel::update(
        x::task_executions
            .find(id)
            .filter(x::status.eq_any([ExecutionStatus::Pending, ExecutionStatus::Running])),
    )
    .set((
        x::status.eq(ExecutionStatus::Cancelled),
        x::error.eq(Some("cancelled by request")),
        x::finished_at.eq(Some(now)),
        x::fence.eq(x::fence + 1),
    ))
    .returning(ExecutionRow::as_returning())
    .get_result(&mut c)
    .await
    .optional()?)
}

/// One execution.
pub async fn get(pool: &DbPool, id: Uuid) -> Result<Option<ExecutionRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(x::task_executions
        .find(id)
        .select(ExecutionRow::as_select())
        .first(&mut c)
        .await
        .optional()?)
}

/// Pending executions owned by (or waiting for) this instance, oldest first: reloaded into the
/// queue when the ExecutionActor (re)starts.
pub async fn pending_for(
    pool: &DbPool,
    instance: Uuid,
    limit: i64,
) -> Result<Vec<ExecutionRow>, DbError> {
    let mut c = conn(pool).await?;
    // Executions handed back by a graceful stop (pending, no owner, not waiting for a place)
    // are adopted first; SKIP LOCKED and the owner condition let exactly one instance take each.
    let adopted = diesel::sql_query(
        "UPDATE task_executions SET owner_instance = $1 WHERE id IN ( \
             SELECT id FROM task_executions WHERE status = $3 AND owner_instance IS NULL \
             AND NOT waiting ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         AND owner_instance IS NULL",
    )
    .bind::<diesel::sql_types::Uuid, _>(instance)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .bind::<diesel::sql_types::Text, _>(ExecutionStatus::Pending)
    .execute(&mut c)
    .await?;
    if adopted > 0 {
        log::info!(
            "adopted {adopted} executions handed back by a stopped instance: instance={instance}"
        );
    }
    Ok(x::task_executions
        .filter(x::status.eq(ExecutionStatus::Pending))
        .filter(x::owner_instance.eq(instance))
        .order(x::created_at.asc())
        .limit(limit)
        .select(ExecutionRow::as_select())
        .load(&mut c)
        .await?)
}

/// Filters of the execution list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub schedule_id: Option<Uuid>,
    pub status: Option<ExecutionStatus>,
    pub trigger: Option<Trigger>,
    /// The runs a chain started from this execution.
    pub chained_from: Option<Uuid>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// A page of executions, newest first.
pub async fn list(
    pool: &DbPool,
    f: &ListFilter,
    limit: i64,
    cursor: Option<Cursor>,
) -> Result<Page<ExecutionRow>, DbError> {
    let mut c = conn(pool).await?;
    let mut q = x::task_executions
        .select(ExecutionRow::as_select())
        .into_boxed();
    if let Some(id) = f.schedule_id {
        q = q.filter(x::schedule_id.eq(id));
    }
    if let Some(st) = f.status {
        q = q.filter(x::status.eq(st));
    }
    if let Some(t) = f.trigger {
        q = q.filter(x::trigger.eq(t));
    }
    if let Some(from) = f.chained_from {
        q = q.filter(x::chained_from.eq(from));
    }
    if let Some(since) = f.since {
        q = q.filter(x::created_at.ge(since));
    }
    if let Some(until) = f.until {
        q = q.filter(x::created_at.lt(until));
    }
    Ok(super::pagination::keyset_page!(q, x, cursor, limit, &mut c))
}
