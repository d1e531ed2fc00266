//! Status writes of many executions in one statement each: pending → running and running →
//! final for every execution that changed within a few milliseconds share one transaction, so
//! commits (fsync) are paid per batch, not per execution. Each row keeps its own condition
//! (still pending; still running, same owner and fence), exactly as the one-row writes.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::executions::{ExecutionRow, Finish};
use super::{conn, DbError, DbPool};

const RETURNING: &str = "RETURNING e.id, e.schedule_id, e.status, e.trigger, e.attempt, e.scheduled_for, \
    e.task_type, e.task_config, e.created_at, e.started_at, e.finished_at, e.duration_ms, e.result, e.error, \
    e.error_type, e.conductor_thread_id, e.conductor_status, e.error_record_id, e.owner_instance, e.fence";

/// pending → running for every `(id, started_at)`; answers the rows that were still pending.
pub async fn mark_running(
    pool: &DbPool,
    instance: Uuid,
    items: &[(Uuid, DateTime<Utc>)],
) -> Result<Vec<ExecutionRow>, DbError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = items.iter().map(|i| i.0).collect();
    let at: Vec<DateTime<Utc>> = items.iter().map(|i| i.1).collect();
    let mut c = conn(pool).await?;
    Ok(diesel::sql_query(format!(
        "UPDATE task_executions AS e SET status = 'running', started_at = v.started_at, owner_instance = $3, fence = e.fence + 1 \
         FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, started_at) \
         WHERE e.id = v.id AND e.status = 'pending' {RETURNING}"
    ))
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Timestamptz>, _>(&at)
    .bind::<SqlUuid, _>(instance)
    .load(&mut c)
    .await?)
}

/// One final state to write.
#[derive(Debug, Clone)]
pub struct FinishItem {
    pub id: Uuid,
    pub fence: i64,
    pub finish: Finish,
}

/// running → final for every item still running under `instance` with its fence; answers the
/// rows written (a fenced-out item is simply absent).
pub async fn finish(
    pool: &DbPool,
    instance: Uuid,
    items: &[FinishItem],
) -> Result<Vec<ExecutionRow>, DbError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = items.iter().map(|i| i.id).collect();
    let fences: Vec<i64> = items.iter().map(|i| i.fence).collect();
    let status: Vec<String> = items.iter().map(|i| i.finish.status.to_string()).collect();
    let result: Vec<Option<Value>> = items.iter().map(|i| i.finish.result.clone()).collect();
    let error: Vec<Option<String>> = items.iter().map(|i| i.finish.error.clone()).collect();
    let error_type: Vec<Option<String>> = items
        .iter()
        .map(|i| i.finish.error_type.map(str::to_string))
        .collect();
    let thread: Vec<Option<String>> = items
        .iter()
        .map(|i| i.finish.conductor_thread_id.clone())
        .collect();
    let cstatus: Vec<Option<String>> = items
        .iter()
        .map(|i| i.finish.conductor_status.clone())
        .collect();
    let finished: Vec<DateTime<Utc>> = items.iter().map(|i| i.finish.finished_at).collect();
    let duration: Vec<Option<i64>> = items.iter().map(|i| i.finish.duration_ms).collect();
    let mut c = conn(pool).await?;
    Ok(diesel::sql_query(format!(
        "UPDATE task_executions AS e SET status = v.status, result = v.result, error = v.error, error_type = v.error_type, \
             conductor_thread_id = v.thread, conductor_status = v.cstatus, finished_at = v.finished_at, duration_ms = v.duration_ms \
         FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::int8[]) \
              AS v(id, fence, status, result, error, error_type, thread, cstatus, finished_at, duration_ms) \
         WHERE e.id = v.id AND e.status = 'running' AND e.owner_instance = $11 AND e.fence = v.fence {RETURNING}"
    ))
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<BigInt>, _>(&fences)
    .bind::<Array<Text>, _>(&status)
    .bind::<Array<Nullable<Jsonb>>, _>(&result)
    .bind::<Array<Nullable<Text>>, _>(&error)
    .bind::<Array<Nullable<Text>>, _>(&error_type)
    .bind::<Array<Nullable<Text>>, _>(&thread)
    .bind::<Array<Nullable<Text>>, _>(&cstatus)
    .bind::<Array<Timestamptz>, _>(&finished)
    .bind::<Array<Nullable<BigInt>>, _>(&duration)
    .bind::<SqlUuid, _>(instance)
    .load(&mut c)
    .await?)
}
