//! How a schedule is doing, computed from its executions over the (schedule_id, created_at)
//! index: the latest outcome and the failures since the last success (on every schedule read),
//! and counts and percentiles over a window (`GET …/stats`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{conn, DbError, DbPool};
use crate::domain::states::{ExecutionStatus, SkipReason, Trigger};

/// Most failures counted in a row; past it the count reads as this.
pub const MAX_COUNTED_FAILURES: i64 = 10_000;

/// The latest outcome of a schedule's runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Status of the newest finished run (completed, failed or cancelled; skipped slots are
    /// not runs).
    pub last_status: Option<ExecutionStatus>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Failed runs since the last completed one.
    pub consecutive_failures: i64,
}

#[derive(diesel::QueryableByName)]
struct HealthRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    last_status: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_success_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    consecutive_failures: i64,
}

/// [`Health`] of each of `ids` (a schedule without runs has the default).
pub async fn health(pool: &DbPool, ids: &[Uuid]) -> Result<HashMap<Uuid, Health>, DbError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut c = conn(pool).await?;
    let rows: Vec<HealthRow> = diesel::sql_query(format!(
        "SELECT v.id, last.status AS last_status, ok.created_at AS last_success_at, \
                (SELECT count(*) FROM (SELECT 1 FROM task_executions f \
                    WHERE f.schedule_id = v.id AND f.status = '{failed}' \
                      AND f.created_at > COALESCE(ok.created_at, '-infinity') \
                    ORDER BY f.created_at DESC LIMIT $2) n) AS consecutive_failures \
         FROM unnest($1::uuid[]) AS v(id) \
         LEFT JOIN LATERAL (SELECT e.status FROM task_executions e \
             WHERE e.schedule_id = v.id AND e.status IN ('{completed}', '{failed}', '{cancelled}') \
             ORDER BY e.created_at DESC, e.id DESC LIMIT 1) last ON true \
         LEFT JOIN LATERAL (SELECT e.created_at FROM task_executions e \
             WHERE e.schedule_id = v.id AND e.status = '{completed}' \
             ORDER BY e.created_at DESC, e.id DESC LIMIT 1) ok ON true",
        completed = ExecutionStatus::Completed,
        failed = ExecutionStatus::Failed,
        cancelled = ExecutionStatus::Cancelled,
    ))
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<BigInt, _>(MAX_COUNTED_FAILURES)
    .load(&mut c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let health = Health {
                last_status: r.last_status.as_deref().and_then(ExecutionStatus::parse),
                last_success_at: r.last_success_at,
                consecutive_failures: r.consecutive_failures,
            };
            (r.id, health)
        })
        .collect())
}

/// Counts and percentiles of one schedule's executions created in [since, until).
#[derive(Debug, Clone, Default, diesel::QueryableByName)]
pub struct WindowStats {
    #[diesel(sql_type = BigInt)]
    pub completed: i64,
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    #[diesel(sql_type = BigInt)]
    pub cancelled: i64,
    #[diesel(sql_type = BigInt)]
    pub overlap: i64,
    #[diesel(sql_type = BigInt)]
    pub misfire: i64,
    #[diesel(sql_type = BigInt)]
    pub start_deadline: i64,
    #[diesel(sql_type = BigInt)]
    pub backlog: i64,
    /// Start minus slot of fires (`schedule`, `catch_up`), in ms.
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub lag_p50_ms: Option<f64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub lag_p99_ms: Option<f64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub duration_p50_ms: Option<f64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub duration_p99_ms: Option<f64>,
}

/// [`WindowStats`] of `schedule` in one statement over its index range.
pub async fn window(
    pool: &DbPool,
    schedule: Uuid,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<WindowStats, DbError> {
    let skipped = |r: SkipReason| {
        format!("count(*) FILTER (WHERE status = 'skipped' AND skip_reason = '{r}') AS {r}")
    };
    let sql = format!(
        "SELECT count(*) FILTER (WHERE status = '{completed}') AS completed, \
                count(*) FILTER (WHERE status = '{failed}') AS failed, \
                count(*) FILTER (WHERE status = '{cancelled}') AS cancelled, \
                {overlap}, {misfire}, {deadline}, {backlog}, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) FILTER (WHERE fire) AS lag_p50_ms, \
                percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) FILTER (WHERE fire) AS lag_p99_ms, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms::float8) AS duration_p50_ms, \
                percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms::float8) AS duration_p99_ms \
         FROM (SELECT status, skip_reason, duration_ms, trigger IN ('{schedule}', '{catch_up}') AS fire, \
                      (EXTRACT(EPOCH FROM (started_at - scheduled_for)) * 1000)::float8 AS lag \
               FROM task_executions \
               WHERE schedule_id = $1 AND created_at >= $2 AND created_at < $3) e",
        completed = ExecutionStatus::Completed,
        failed = ExecutionStatus::Failed,
        cancelled = ExecutionStatus::Cancelled,
        overlap = skipped(SkipReason::Overlap),
        misfire = skipped(SkipReason::Misfire),
        deadline = skipped(SkipReason::StartDeadline),
        backlog = skipped(SkipReason::Backlog),
        schedule = Trigger::Schedule,
        catch_up = Trigger::CatchUp,
    );
    let mut c = conn(pool).await?;
    let rows: Vec<WindowStats> = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(schedule)
        .bind::<Timestamptz, _>(since)
        .bind::<Timestamptz, _>(until)
        .load(&mut c)
        .await?;
    Ok(rows.into_iter().next().unwrap_or_default())
}
