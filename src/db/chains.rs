//! Chained runs. When a run ends so that its schedule's chain applies (completed: `onSuccess`;
//! failed with no retry left: `onFailure`), one run of every schedule the list names is
//! created, trigger `chained`, in the same transaction that marks the source handled
//! (`chain_next` cleared). However often, or by however many instances, a source's end is
//! handled, its chain starts once; a unique index on (schedule, source) backs that up.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::executions::{ExecutionRow, NewExecution};
use super::schedules::ScheduleRow;
use super::schema::task_executions::dsl as x;
use super::schema::task_schedules::dsl as s;
use super::{conn, DbError, DbPool};
use crate::domain::chain::{ChainOn, MAX_DEPTH};
use crate::domain::states::{ExecutionStatus, Trigger};

/// Creates the chained runs of `from` (pending, owned by `instance`, given `payload`), within
/// the caller's transaction; answers them (none when `from` was handled already, its
/// schedule is gone, its list is empty or the chain is [`MAX_DEPTH`] steps long).
pub async fn start_next_in(
    c: &mut AsyncPgConnection,
    from: &ExecutionRow,
    on: ChainOn,
    payload: &Value,
    instance: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<ExecutionRow>, diesel::result::Error> {
    let claimed = diesel::update(x::task_executions.find(from.id).filter(x::chain_next))
        .set(x::chain_next.eq(false))
        .execute(c)
        .await?;
    if claimed == 0 {
        return Ok(vec![]);
    }
    let lists: Option<(Vec<Uuid>, Vec<Uuid>)> = s::task_schedules
        .find(from.schedule_id)
        .select((s::on_success, s::on_failure))
        .first(c)
        .await
        .optional()?;
    let targets = match (lists, on) {
        (Some((next, _)), ChainOn::Success) | (Some((_, next)), ChainOn::Failure) => next,
        (None, _) => vec![],
    };
    if targets.is_empty() {
        return Ok(vec![]);
    }
    if from.chain_depth >= MAX_DEPTH {
        log::warn!(
            "chain stopped: {MAX_DEPTH} steps deep, the next runs are not started: execution={} schedule={}",
            from.id,
            from.schedule_id
        );
        return Ok(vec![]);
    }
    let schedules: Vec<ScheduleRow> = s::task_schedules
        .filter(s::id.eq_any(&targets))
        .select(ScheduleRow::as_select())
        .load(c)
        .await?;
    let mut out = Vec::with_capacity(schedules.len());
    // In the order the list gives.
    for target in targets {
        let Some(sched) = schedules.iter().find(|r| r.id == target) else {
            continue;
        };
        if !sched.enabled {
            log::info!(
                "chained run not started, its schedule is paused: schedule={} from={}",
                sched.id,
                from.id
            );
            continue;
        }
        let new = NewExecution {
            payload: Some(payload.clone()),
            chained_from: Some(from.id),
            chain_depth: from.chain_depth + 1,
            ..NewExecution::of(sched, Trigger::Chained, 1, now, now, instance)
        };
        let row: Option<ExecutionRow> = diesel::insert_into(x::task_executions)
            .values(&new)
            .on_conflict_do_nothing()
            .returning(ExecutionRow::as_returning())
            .get_result(c)
            .await
            .optional()?;
        if let Some(row) = row {
            log::info!(
                "execution chained: execution={} schedule={} from={} on={}",
                row.id,
                row.schedule_id,
                from.id,
                match on {
                    ChainOn::Success => "success",
                    ChainOn::Failure => "failure",
                }
            );
            out.push(row);
        }
    }
    Ok(out)
}

/// [`start_next_in`] in a transaction of its own.
pub async fn start_next(
    pool: &DbPool,
    from: &ExecutionRow,
    on: ChainOn,
    payload: &Value,
    instance: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<ExecutionRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(c.transaction::<_, diesel::result::Error, _>(async |c| {
        start_next_in(c, from, on, payload, instance, now).await
    })
    .await?)
}

/// Completed runs whose chain was not started (their instance stopped between the final
/// write and the chain), finished before `settled`: oldest first, at most `limit`.
pub async fn unstarted(
    pool: &DbPool,
    settled: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ExecutionRow>, DbError> {
    let mut c = conn(pool).await?;
    // The status as a literal, so that even a generic plan uses the partial index
    // (`WHERE chain_next AND status = 'completed'`).
    let completed = format!("status = '{}'", ExecutionStatus::Completed.as_str());
    Ok(x::task_executions
        .filter(x::chain_next)
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&completed))
        .filter(x::finished_at.lt(settled))
        .order(x::finished_at.asc())
        .limit(limit)
        .select(ExecutionRow::as_select())
        .load(&mut c)
        .await?)
}
