//! `execution_output`: what a running shell task printed so far, written by the instance that
//! runs it so any instance can show it; removed once the final state holds the output.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::execution_output::{self, dsl as o};
use super::{conn, DbError, DbPool};
use crate::domain::live_output::Snapshot;

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = execution_output)]
struct Row {
    execution_id: Uuid,
    stdout: String,
    stderr: String,
    truncated: bool,
    updated_at: DateTime<Utc>,
}

/// Stores (or replaces) the output of running execution `id`.
pub async fn save(
    pool: &DbPool,
    id: Uuid,
    out: &Snapshot,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    let row = Row {
        execution_id: id,
        stdout: out.stdout.clone(),
        stderr: out.stderr.clone(),
        truncated: out.truncated,
        updated_at: now,
    };
    diesel::insert_into(o::execution_output)
        .values(&row)
        .on_conflict(o::execution_id)
        .do_update()
        .set((
            o::stdout.eq(excluded(o::stdout)),
            o::stderr.eq(excluded(o::stderr)),
            o::truncated.eq(excluded(o::truncated)),
            o::updated_at.eq(excluded(o::updated_at)),
        ))
        .execute(&mut c)
        .await?;
    Ok(())
}

/// The stored output of execution `id`, if its instance wrote one.
pub async fn get(pool: &DbPool, id: Uuid) -> Result<Option<Snapshot>, DbError> {
    let mut c = conn(pool).await?;
    let row: Option<Row> = o::execution_output
        .find(id)
        .select(Row::as_select())
        .first(&mut c)
        .await
        .optional()?;
    Ok(row.map(|r| Snapshot {
        stdout: r.stdout,
        stderr: r.stderr,
        truncated: r.truncated,
    }))
}

/// Removes the stored output of `id` (its final state holds it now).
pub async fn forget(pool: &DbPool, id: Uuid) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::delete(o::execution_output.find(id))
        .execute(&mut c)
        .await?;
    Ok(())
}
