//! Inserting a burst of executions (fires, skipped slots) in one statement.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::executions::NewExecution;
use crate::domain::states::SkipReason;

/// Inserts many executions in one statement, one array per column (a statement with a parameter
/// per value costs PostgreSQL more to parse and plan than to run, at a thousand rows). A fire
/// that already exists (the unique fire key) is skipped. Answers the ids inserted. For fires
/// and skipped slots: a chained run (`chained_from`, `chain_depth`) goes through [`super::executions::insert`].
pub async fn insert_many(
    c: &mut diesel_async::AsyncPgConnection,
    rows: &[NewExecution],
) -> Result<Vec<Uuid>, diesel::result::Error> {
    use diesel::sql_types::{Array, Int4, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    #[derive(QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    debug_assert!(rows.iter().all(|r| r.chained_from.is_none()));
    let uuids = |f: fn(&NewExecution) -> Uuid| rows.iter().map(f).collect::<Vec<_>>();
    let texts = |f: fn(&NewExecution) -> &str| rows.iter().map(f).collect::<Vec<_>>();
    let stamps = |f: fn(&NewExecution) -> DateTime<Utc>| rows.iter().map(f).collect::<Vec<_>>();
    let inserted: Vec<Inserted> = diesel::sql_query(
        "INSERT INTO task_executions (id, schedule_id, status, trigger, attempt, scheduled_for, \
             task_type, task_config, created_at, owner_instance, error_record_id, schedule_name, \
             finished_at, skip_reason, payload, idempotency_key, chain_next) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int4[], \
             $6::timestamptz[], $7::text[], $8::jsonb[], $9::timestamptz[], $10::uuid[], $11::uuid[], $12::text[], \
             $13::timestamptz[], $14::text[], $15::jsonb[], $16::text[], $17::bool[]) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind::<Array<SqlUuid>, _>(uuids(|r| r.id))
    .bind::<Array<SqlUuid>, _>(uuids(|r| r.schedule_id))
    .bind::<Array<Text>, _>(texts(|r| r.status.as_str()))
    .bind::<Array<Text>, _>(texts(|r| r.trigger.as_str()))
    .bind::<Array<Int4>, _>(rows.iter().map(|r| r.attempt).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(stamps(|r| r.scheduled_for))
    .bind::<Array<Text>, _>(texts(|r| r.task_type.as_str()))
    .bind::<Array<Jsonb>, _>(rows.iter().map(|r| &r.task_config).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(stamps(|r| r.created_at))
    .bind::<Array<Nullable<SqlUuid>>, _>(rows.iter().map(|r| r.owner_instance).collect::<Vec<_>>())
    .bind::<Array<Nullable<SqlUuid>>, _>(rows.iter().map(|r| r.error_record_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(texts(|r| r.schedule_name.as_str()))
    .bind::<Array<Nullable<Timestamptz>>, _>(rows.iter().map(|r| r.finished_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|r| r.skip_reason.map(SkipReason::as_str))
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Jsonb>>, _>(rows.iter().map(|r| r.payload.as_ref()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        rows.iter()
            .map(|r| r.idempotency_key.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<diesel::sql_types::Bool>, _>(rows.iter().map(|r| r.chain_next).collect::<Vec<_>>())
    .load(c)
    .await?;
    Ok(inserted.into_iter().map(|r| r.id).collect())
}
