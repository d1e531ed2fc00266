//! Reads of `task_schedules`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::ScheduleRow;
use crate::db::pagination::{Cursor, Page};
use crate::db::schema::task_schedules::dsl as s;
use crate::db::{conn, DbError, DbPool};
use crate::domain::states::TaskType;

/// One schedule.
pub async fn get(pool: &DbPool, id: Uuid) -> Result<Option<ScheduleRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(s::task_schedules
        .find(id)
        .select(ScheduleRow::as_select())
        .first(&mut c)
        .await
        .optional()?)
}

/// Filters of the schedule list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub enabled: Option<bool>,
    pub task_type: Option<TaskType>,
    pub tag: Option<String>,
    /// Case-insensitive substring of the name, or a tag.
    pub search: Option<String>,
}

/// A page of schedules, newest first.
pub async fn list(
    pool: &DbPool,
    f: &ListFilter,
    limit: i64,
    cursor: Option<Cursor>,
) -> Result<Page<ScheduleRow>, DbError> {
    let mut c = conn(pool).await?;
    let mut q = s::task_schedules
        .select(ScheduleRow::as_select())
        .into_boxed();
    if let Some(e) = f.enabled {
        q = q.filter(s::enabled.eq(e));
    }
    if let Some(t) = f.task_type {
        q = q.filter(s::task_type.eq(t));
    }
    if let Some(tag) = &f.tag {
        q = q.filter(s::tags.contains(vec![tag.clone()]));
    }
    if let Some(text) = &f.search {
        // LIKE's wildcards in the text are literal characters here.
        let pattern = format!(
            "%{}%",
            text.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        q = q.filter(
            s::name
                .ilike(pattern)
                .or(s::tags.contains(vec![text.clone()])),
        );
    }
    Ok(crate::db::pagination::keyset_page!(
        q, s, cursor, limit, &mut c
    ))
}

/// When the scheduler has work next: the earliest `next_run_at` of an enabled schedule and
/// the earliest end of a pause. Two index-only minimums in one round trip.
pub async fn earliest_due(pool: &DbPool) -> Result<Upcoming, DbError> {
    let mut c = conn(pool).await?;
    Ok(diesel::sql_query(
        "SELECT (SELECT min(next_run_at) FROM task_schedules WHERE enabled AND next_run_at IS NOT NULL) AS due, \
                (SELECT min(paused_until) FROM task_schedules WHERE NOT enabled AND paused_until IS NOT NULL) AS resume",
    )
    .get_result(&mut c)
    .await?)
}

/// What [`earliest_due`] answers.
#[derive(Debug, Clone, Copy, Default, diesel::QueryableByName)]
pub struct Upcoming {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub due: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub resume: Option<DateTime<Utc>>,
}

/// The enabled schedules due first before `until`, at most `limit` of them: only these can
/// have one of the first `limit` runs before `until` (each has a run no later than any later
/// schedule's first).
pub async fn due_first(
    pool: &DbPool,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ScheduleRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(s::task_schedules
        .filter(s::enabled.eq(true))
        .filter(s::next_run_at.lt(until))
        .order(s::next_run_at.asc())
        .limit(limit)
        .select(ScheduleRow::as_select())
        .load(&mut c)
        .await?)
}
