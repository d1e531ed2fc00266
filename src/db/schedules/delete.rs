//! Deleting a schedule: its fire claimed ahead is taken back and its id leaves every other
//! schedule's chain lists, in one transaction. Its executions and errors stay.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::ScheduleRow;
use crate::db::schema::task_schedules::dsl as s;
use crate::db::{conn, DbError, DbPool};

/// Deletes a schedule (its executions and errors stay); the deleted row, if it existed.
pub async fn delete(
    pool: &DbPool,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<ScheduleRow>, DbError> {
    let mut c = conn(pool).await?;
    let row = c
        .transaction::<_, DbError, _>(async |c| {
            crate::db::leads::take_back(c, id, now).await?;
            super::chains::forget(c, id).await?;
            Ok(diesel::delete(s::task_schedules.find(id))
                .returning(ScheduleRow::as_returning())
                .get_result(c)
                .await
                .optional()?)
        })
        .await?;
    Ok(row)
}
