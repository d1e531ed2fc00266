//! Dashboard figures over `task_executions` and `error_records`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::task_executions::dsl as x;
use super::{conn, DbError, DbPool};
use crate::domain::states::{ExecutionStatus, RecoveryStatus, Trigger};

/// Dashboard figures: execution counts by status over the last 24 hours, and per minute over the
/// last hour the number started and the mean firing lateness of scheduled fires.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    #[schema(value_type = Object)]
    pub executions_by_status: std::collections::BTreeMap<String, i64>,
    #[schema(value_type = Object)]
    pub errors_by_status: std::collections::BTreeMap<String, i64>,
    pub per_minute: Vec<MinuteStat>,
}

/// One minute of the last hour.
#[derive(Debug, Clone, serde::Serialize, diesel::QueryableByName, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MinuteStat {
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub minute: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub started: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub mean_lateness_ms: Option<f64>,
}

/// Computes [`Stats`].
pub async fn stats(pool: &DbPool) -> Result<Stats, DbError> {
    use super::schema::error_records::dsl as r;
    let mut c = conn(pool).await?;
    let since = crate::domain::clock::now() - chrono::Duration::hours(24);
    let by_status: Vec<(ExecutionStatus, i64)> = x::task_executions
        .filter(x::created_at.gt(since))
        .group_by(x::status)
        .select((x::status, diesel::dsl::count_star()))
        .load(&mut c)
        .await?;
    let errors: Vec<(RecoveryStatus, i64)> = r::error_records
        .group_by(r::recovery_status)
        .select((r::recovery_status, diesel::dsl::count_star()))
        .load(&mut c)
        .await?;
    let per_minute: Vec<MinuteStat> = diesel::sql_query(
        "SELECT date_trunc('minute', started_at) AS minute, count(*) AS started, \
                (avg(EXTRACT(EPOCH FROM (started_at - scheduled_for)) * 1000) \
                    FILTER (WHERE trigger = $1))::float8 AS mean_lateness_ms \
         FROM task_executions WHERE started_at > now() - interval '1 hour' \
         GROUP BY 1 ORDER BY 1",
    )
    .bind::<diesel::sql_types::Text, _>(Trigger::Schedule)
    .load(&mut c)
    .await?;
    Ok(Stats {
        executions_by_status: by_status
            .into_iter()
            .map(|(k, n)| (k.as_str().to_string(), n))
            .collect(),
        errors_by_status: errors
            .into_iter()
            .map(|(k, n)| (k.as_str().to_string(), n))
            .collect(),
        per_minute,
    })
}
