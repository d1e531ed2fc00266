//! Inbound webhooks in the database: a schedule's key and sealed secret, and the deliveries
//! whose `Idempotency-Key` answers with their first run for 24 hours.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::executions::{ExecutionRow, NewExecution};
use super::schedules::ScheduleRow;
use super::schedules::WebhookCreds;
use super::schema::task_executions::dsl as x;
use super::schema::task_schedules::dsl as s;
use super::schema::webhook_deliveries::dsl as d;
use super::{conn, DbError, DbPool};
use crate::domain::states::Trigger;
use crate::domain::webhook::IDEMPOTENCY_WINDOW;

/// The schedule whose webhook key is `key`.
pub async fn by_key(pool: &DbPool, key: &str) -> Result<Option<ScheduleRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(s::task_schedules
        .filter(s::webhook_key.eq(key))
        .select(ScheduleRow::as_select())
        .first(&mut c)
        .await
        .optional()?)
}

/// Gives schedule `id` a new key and secret; the row after, if it exists and has a webhook.
pub async fn rotate(
    pool: &DbPool,
    id: Uuid,
    creds: &WebhookCreds,
    now: DateTime<Utc>,
) -> Result<Option<ScheduleRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(diesel::update(
        s::task_schedules
            .find(id)
            .filter(s::webhook_key.is_not_null()),
    )
    .set((
        s::webhook_key.eq(&creds.key),
        s::webhook_secret_nonce.eq(&creds.nonce),
        s::webhook_secret_sealed.eq(&creds.sealed),
        s::updated_at.eq(now),
    ))
    .returning(ScheduleRow::as_returning())
    .get_result(&mut c)
    .await
    .optional()?)
}

/// A delivery: the run it created, and whether it is new (false: an `Idempotency-Key` seen in
/// the last 24 hours, answered with its first run).
pub struct Delivered {
    pub execution: ExecutionRow,
    pub fresh: bool,
}

/// Creates the run of a delivery to `schedule` given `payload`, owned by `instance`. With an
/// `Idempotency-Key`, the key and the run are written in one transaction under the key's row,
/// so concurrent deliveries with one key make one run.
pub async fn deliver(
    pool: &DbPool,
    schedule: &ScheduleRow,
    idempotency_key: Option<&str>,
    payload: Option<Value>,
    instance: Uuid,
    now: DateTime<Utc>,
) -> Result<Delivered, DbError> {
    let new = NewExecution {
        payload,
        ..NewExecution::of(schedule, Trigger::Webhook, 1, now, now, instance)
    };
    let mut c = conn(pool).await?;
    Ok(c.transaction::<_, diesel::result::Error, _>(async |c| {
        if let Some(key) = idempotency_key {
            // Claim the key, or take it over when its first use is older than the window.
            use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
            let claimed = diesel::sql_query(
                "INSERT INTO webhook_deliveries (schedule_id, idempotency_key, execution_id, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (schedule_id, idempotency_key) DO UPDATE \
                 SET execution_id = EXCLUDED.execution_id, created_at = EXCLUDED.created_at \
                 WHERE webhook_deliveries.created_at < $5",
            )
            .bind::<SqlUuid, _>(schedule.id)
            .bind::<Text, _>(key)
            .bind::<SqlUuid, _>(new.id)
            .bind::<Timestamptz, _>(now)
            .bind::<Timestamptz, _>(now - IDEMPOTENCY_WINDOW)
            .execute(c)
            .await?;
            if claimed == 0 {
                let first: Uuid = d::webhook_deliveries
                    .find((schedule.id, key))
                    .select(d::execution_id)
                    .first(c)
                    .await?;
                if let Some(execution) = x::task_executions
                    .find(first)
                    .select(ExecutionRow::as_select())
                    .first(c)
                    .await
                    .optional()?
                {
                    return Ok(Delivered {
                        execution,
                        fresh: false,
                    });
                }
            }
        }
        let execution = diesel::insert_into(x::task_executions)
            .values(&new)
            .returning(ExecutionRow::as_returning())
            .get_result(c)
            .await?;
        Ok(Delivered {
            execution,
            fresh: true,
        })
    })
    .await?)
}

/// Deletes deliveries older than the window; how many.
pub async fn prune(pool: &DbPool, now: DateTime<Utc>) -> Result<usize, DbError> {
    let mut c = conn(pool).await?;
    Ok(
        diesel::delete(d::webhook_deliveries.filter(d::created_at.lt(now - IDEMPOTENCY_WINDOW)))
            .execute(&mut c)
            .await?,
    )
}
