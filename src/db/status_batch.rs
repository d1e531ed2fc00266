//! Status writes of many executions in one statement each: pending → running and running →
//! final for every execution that changed within a few milliseconds share one transaction, so
//! commits (fsync) are paid per batch, not per execution. Each row keeps its own condition
//! (still pending; still running, same owner and fence), exactly as the one-row writes.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::executions::Finish;
use super::{conn, index_joins_only, DbError, DbPool};
use crate::domain::states::ExecutionStatus;
use crate::domain::text::{clean, cleaned_value};

/// Only what the database decides: the caller holds the rest of the row already, and returning
/// (and parsing) every column of a thousand rows cost more than the update itself.
const RETURNING: &str = "RETURNING e.id, e.fence";

/// A written row: its id and its fence after the write.
#[derive(diesel::QueryableByName, Debug, Clone, Copy)]
pub struct Written {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub fence: i64,
}

/// Runs a batch update by primary key (see [`index_joins_only`]) and answers the rows written.
async fn written<'q, Q>(pool: &DbPool, query: Q) -> Result<Vec<Written>, DbError>
where
    Q: diesel_async::methods::LoadQuery<'q, diesel_async::AsyncPgConnection, Written> + Send + 'q,
{
    let mut c = conn(pool).await?;
    c.transaction::<_, DbError, _>(async |c| {
        index_joins_only(c).await?;
        Ok(query.load(c).await?)
    })
    .await
}

/// pending → running for every `(id, started_at)`; answers the rows that were still pending.
pub async fn mark_running(
    pool: &DbPool,
    instance: Uuid,
    items: &[(Uuid, DateTime<Utc>)],
) -> Result<Vec<Written>, DbError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = items.iter().map(|i| i.0).collect();
    let at: Vec<DateTime<Utc>> = items.iter().map(|i| i.1).collect();
    let query = diesel::sql_query(format!(
        "UPDATE task_executions AS e SET status = '{running}', started_at = v.started_at, owner_instance = $3, fence = e.fence + 1 \
         FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, started_at) \
         WHERE e.id = v.id AND e.status = '{pending}' {RETURNING}",
        running = ExecutionStatus::Running,
        pending = ExecutionStatus::Pending,
    ))
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Timestamptz>, _>(&at)
    .bind::<SqlUuid, _>(instance);
    written(pool, query).await
}

/// One final state to write.
#[derive(Debug, Clone)]
pub struct FinishItem {
    pub id: Uuid,
    /// The fence of the running row; None when the job finished before its running write was
    /// answered (the row's status and owner still decide: a taken-over row is never running
    /// under this instance again).
    pub fence: Option<i64>,
    /// Set when the row is still pending: it is started (at this time) and finished at once.
    pub started_at: Option<DateTime<Utc>>,
    pub finish: Finish,
}

/// Columns of a batch of final states, in `unnest` order. They borrow from the items: only a
/// value holding a NUL is copied, to be cleaned.
struct FinalColumns<'a> {
    status: Vec<&'static str>,
    result: Vec<Option<Cow<'a, Value>>>,
    error: Vec<Option<Cow<'a, str>>>,
    error_type: Vec<Option<&'static str>>,
    thread: Vec<Option<Cow<'a, str>>>,
    cstatus: Vec<Option<Cow<'a, str>>>,
    finished: Vec<DateTime<Utc>>,
    duration: Vec<Option<i64>>,
}

impl<'a> FinalColumns<'a> {
    /// The text columns go through [`crate::domain::text`]: a NUL can never fail the batch.
    fn of(items: impl Iterator<Item = &'a Finish> + Clone) -> Self {
        let text = |s: &'a Option<String>| s.as_deref().map(clean);
        FinalColumns {
            status: items.clone().map(|f| f.status.as_str()).collect(),
            result: items
                .clone()
                .map(|f| f.result.as_ref().map(cleaned_value))
                .collect(),
            error: items.clone().map(|f| text(&f.error)).collect(),
            error_type: items
                .clone()
                .map(|f| f.error_type.map(|t| t.as_str()))
                .collect(),
            thread: items
                .clone()
                .map(|f| text(&f.conductor_thread_id))
                .collect(),
            cstatus: items.clone().map(|f| text(&f.conductor_status)).collect(),
            finished: items.clone().map(|f| f.finished_at).collect(),
            duration: items.map(|f| f.duration_ms).collect(),
        }
    }
}

/// Final states, one statement for the batch. An item with `started_at` goes pending → final
/// (a fast task whose running state never went out on its own: the writer met both changes in
/// its queue); the others go running → final, still running under `instance` with their fence.
/// Answers the rows written: one whose condition no longer held (cancelled, taken back, taken
/// over) is simply absent.
pub async fn finish(
    pool: &DbPool,
    instance: Uuid,
    items: &[FinishItem],
) -> Result<Vec<Written>, DbError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = items.iter().map(|i| i.id).collect();
    let fences: Vec<Option<i64>> = items.iter().map(|i| i.fence).collect();
    let started: Vec<Option<DateTime<Utc>>> = items.iter().map(|i| i.started_at).collect();
    let f = FinalColumns::of(items.iter().map(|i| &i.finish));
    let query = diesel::sql_query(format!(
        "UPDATE task_executions AS e SET started_at = COALESCE(v.started_at, e.started_at), owner_instance = $12, \
             fence = e.fence + CASE WHEN v.started_at IS NULL THEN 0 ELSE 1 END, \
             status = v.status, result = v.result, error = v.error, error_type = v.error_type, \
             conductor_thread_id = v.thread, conductor_status = v.cstatus, finished_at = v.finished_at, duration_ms = v.duration_ms \
         FROM unnest($1::uuid[], $2::int8[], $3::timestamptz[], $4::text[], $5::jsonb[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::int8[]) \
              AS v(id, fence, started_at, status, result, error, error_type, thread, cstatus, finished_at, duration_ms) \
         WHERE e.id = v.id AND CASE WHEN v.started_at IS NULL \
             THEN e.status = '{running}' AND e.owner_instance = $12 AND (v.fence IS NULL OR e.fence = v.fence) \
             ELSE e.status = '{pending}' END {RETURNING}",
        running = ExecutionStatus::Running,
        pending = ExecutionStatus::Pending,
    ))
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Nullable<BigInt>>, _>(&fences)
    .bind::<Array<Nullable<Timestamptz>>, _>(&started)
    .bind::<Array<Text>, _>(&f.status)
    .bind::<Array<Nullable<Jsonb>>, _>(&f.result)
    .bind::<Array<Nullable<Text>>, _>(&f.error)
    .bind::<Array<Nullable<Text>>, _>(&f.error_type)
    .bind::<Array<Nullable<Text>>, _>(&f.thread)
    .bind::<Array<Nullable<Text>>, _>(&f.cstatus)
    .bind::<Array<Timestamptz>, _>(&f.finished)
    .bind::<Array<Nullable<BigInt>>, _>(&f.duration)
    .bind::<SqlUuid, _>(instance);
    written(pool, query).await
}
