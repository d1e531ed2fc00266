//! Deleting a schedule: its fire claimed ahead is taken back and its id leaves every other
//! schedule's chain lists, in one transaction. Its executions and errors stay.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::ScheduleRow;
use crate::db::schema::task_schedules::dsl as s;
use crate::db::{conn, DbError, DbPool};

/// What a delete did.
#[derive(Debug)]
pub struct Deleted {
    /// The deleted row; None when there was none.
    pub row: Option<ScheduleRow>,
    /// The schedules whose chain lists named it, as they are now without it.
    pub unchained: Vec<ScheduleRow>,
}

/// Deletes a schedule (its executions and errors stay).
pub async fn delete(pool: &DbPool, id: Uuid, now: DateTime<Utc>) -> Result<Deleted, DbError> {
    let mut c = conn(pool).await?;
    c.transaction::<_, DbError, _>(async |c| {
        crate::db::leads::take_back(c, id, now).await?;
        let row = diesel::delete(s::task_schedules.find(id))
            .returning(ScheduleRow::as_returning())
            .get_result(c)
            .await
            .optional()?;
        // Nothing is unchained by a schedule that did not exist.
        let unchained = match row {
            Some(_) => super::chains::forget(c, id, now).await?,
            None => Vec::new(),
        };
        Ok(Deleted { row, unchained })
    })
    .await
}
