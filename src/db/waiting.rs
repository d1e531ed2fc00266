//! Fires that wait for a place (`concurrencyPolicy: queue`, `maxConcurrent`) and the runs that
//! `replace` cancels. A waiting fire is a pending execution with no owner and `waiting` set;
//! [`release`] gives it an owner once a place is free, under the schedule's row lock, so on
//! several instances each waiting fire starts once and never beyond the schedule's places.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::execution_inserts::insert_many;
use super::executions::{ExecutionRow, NewExecution};
use super::schema::task_executions::dsl as x;
use super::schema::task_schedules::dsl as s;
use super::{conn, DbError, DbPool};
use crate::domain::gate::{self, Occupancy};
use crate::domain::rules::FireRules;
use crate::domain::states::{ConcurrencyPolicy, ExecutionStatus, SkipReason};

/// Most waiting fires one release looks at.
const RELEASE_BATCH: i64 = 1_000;

/// The runs of `schedules` that go or wait now.
pub async fn occupancy(
    c: &mut AsyncPgConnection,
    schedules: &[Uuid],
) -> Result<HashMap<Uuid, Occupancy>, diesel::result::Error> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = SqlUuid)]
        schedule_id: Uuid,
        #[diesel(sql_type = BigInt)]
        active: i64,
        #[diesel(sql_type = BigInt)]
        waiting: i64,
    }
    if schedules.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Count> = diesel::sql_query(
        "SELECT schedule_id, count(*) FILTER (WHERE NOT waiting) AS active, \
                count(*) FILTER (WHERE waiting) AS waiting \
         FROM task_executions WHERE schedule_id = ANY($1) AND status IN ($2, $3) \
         GROUP BY schedule_id",
    )
    .bind::<Array<SqlUuid>, _>(schedules)
    .bind::<Text, _>(ExecutionStatus::Pending)
    .bind::<Text, _>(ExecutionStatus::Running)
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let occ = Occupancy {
                active: r.active,
                waiting: r.waiting,
            };
            (r.schedule_id, occ)
        })
        .collect())
}

/// Stores fires that wait (built without an owner); a slot that already has an execution keeps
/// it. Answers the rows stored.
pub async fn insert_waiting(
    c: &mut AsyncPgConnection,
    rows: Vec<NewExecution>,
) -> Result<Vec<ExecutionRow>, diesel::result::Error> {
    let ids = insert_many(c, &rows).await?;
    diesel::update(x::task_executions.filter(x::id.eq_any(&ids)))
        .set(x::waiting.eq(true))
        .execute(c)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| ids.contains(&r.id))
        .map(ExecutionRow::from)
        .collect())
}

/// `replace`: the active runs of `schedules` are cancelled (fenced, so a result that comes in
/// later changes nothing). Answers them, for their events and to stop their tasks.
pub async fn cancel_replaced(
    c: &mut AsyncPgConnection,
    schedules: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<ExecutionRow>, diesel::result::Error> {
    if schedules.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(
        x::task_executions
            .filter(x::schedule_id.eq_any(schedules))
            .filter(x::status.eq_any([ExecutionStatus::Pending, ExecutionStatus::Running]))
            .filter(x::waiting.eq(false)),
    )
    .set((
        x::status.eq(ExecutionStatus::Cancelled),
        x::error.eq(Some("replaced by a newer run (concurrencyPolicy replace)")),
        x::finished_at.eq(Some(now)),
        x::fence.eq(x::fence + 1),
    ))
    .returning(ExecutionRow::as_returning())
    .get_results(c)
    .await
}

/// What one release did.
#[derive(Debug, Default)]
pub struct Released {
    /// Now owned by this instance: to run.
    pub started: Vec<ExecutionRow>,
    /// Past their start deadline: recorded skipped.
    pub expired: Vec<ExecutionRow>,
}

/// Starts the waiting fires that have a place now (oldest first per schedule) and records those
/// past their start deadline as skipped.
pub async fn release(pool: &DbPool, me: Uuid, now: DateTime<Utc>) -> Result<Released, DbError> {
    let mut c = conn(pool).await?;
    // Cheap when nothing waits: the partial index is empty.
    let waiting_in = format!(
        "SELECT DISTINCT schedule_id FROM task_executions WHERE waiting AND status = '{}' LIMIT {RELEASE_BATCH}",
        ExecutionStatus::Pending
    );
    #[derive(QueryableByName)]
    struct Sched {
        #[diesel(sql_type = SqlUuid)]
        schedule_id: Uuid,
    }
    let candidates: Vec<Sched> = diesel::sql_query(&waiting_in).load(&mut c).await?;
    if candidates.is_empty() {
        return Ok(Released::default());
    }
    let candidates: Vec<Uuid> = candidates.into_iter().map(|r| r.schedule_id).collect();
    let out = c
        .transaction::<_, DbError, _>(async |c| {
            let locked: Vec<(Uuid, ConcurrencyPolicy, serde_json::Value)> = s::task_schedules
                .filter(s::id.eq_any(&candidates))
                .for_update()
                .skip_locked()
                .select((s::id, s::concurrency_policy, s::fire_rules))
                .load(c)
                .await?;
            let ids: Vec<Uuid> = locked.iter().map(|l| l.0).collect();
            let occ = occupancy(c, &ids).await?;
            let waiting: Vec<(Uuid, Uuid, DateTime<Utc>)> = x::task_executions
                .filter(x::waiting.eq(true))
                .filter(x::status.eq(ExecutionStatus::Pending))
                .filter(x::schedule_id.eq_any(&ids))
                .order(x::scheduled_for.asc())
                .limit(RELEASE_BATCH)
                .select((x::id, x::schedule_id, x::scheduled_for))
                .load(c)
                .await?;
            let (mut start, mut expire) = (Vec::new(), Vec::new());
            for (id, policy, rules) in &locked {
                let rules = FireRules::from_stored(rules);
                let mine: Vec<(Uuid, DateTime<Utc>)> = waiting
                    .iter()
                    .filter(|w| w.1 == *id)
                    .map(|w| (w.0, w.2))
                    .collect();
                let active = occ.get(id).map_or(0, |o| o.active);
                let places = gate::places(*policy, rules.max_concurrent);
                let r = gate::release(places, active, &mine, rules.start_deadline(), now);
                start.extend(r.start);
                expire.extend(r.expired);
            }
            let started = promote(c, &start, me).await?;
            let expired = expire_waiting(c, &expire, now).await?;
            Ok(Released { started, expired })
        })
        .await?;
    Ok(out)
}

async fn promote(
    c: &mut AsyncPgConnection,
    ids: &[Uuid],
    me: Uuid,
) -> Result<Vec<ExecutionRow>, diesel::result::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(
        x::task_executions
            .filter(x::id.eq_any(ids))
            .filter(x::waiting.eq(true))
            .filter(x::status.eq(ExecutionStatus::Pending)),
    )
    .set((x::waiting.eq(false), x::owner_instance.eq(Some(me))))
    .returning(ExecutionRow::as_returning())
    .get_results(c)
    .await
}

async fn expire_waiting(
    c: &mut AsyncPgConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<ExecutionRow>, diesel::result::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(
        x::task_executions
            .filter(x::id.eq_any(ids))
            .filter(x::waiting.eq(true))
            .filter(x::status.eq(ExecutionStatus::Pending)),
    )
    .set((
        x::waiting.eq(false),
        x::status.eq(ExecutionStatus::Skipped),
        x::skip_reason.eq(Some(SkipReason::StartDeadline)),
        x::finished_at.eq(Some(now)),
    ))
    .returning(ExecutionRow::as_returning())
    .get_results(c)
    .await
}

/// Ids among `live` (running in this process) whose row is final: cancelled or replaced from
/// elsewhere, so their tasks are stopped.
pub async fn ended_elsewhere(pool: &DbPool, live: &[Uuid]) -> Result<Vec<Uuid>, DbError> {
    if live.is_empty() {
        return Ok(Vec::new());
    }
    let mut c = conn(pool).await?;
    Ok(x::task_executions
        .filter(x::id.eq_any(live))
        .filter(x::status.ne_all([ExecutionStatus::Pending, ExecutionStatus::Running]))
        .select(x::id)
        .load(&mut c)
        .await?)
}
