//! `error_history`: every change of a record, written in the transaction that makes it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::error_history::{self, dsl as h};
use crate::db::{conn, DbError, DbPool};
use crate::domain::states::{HistoryAction, RecoveryStatus};

/// Who made automatic changes.
pub const SYSTEM: &str = "system";

/// One change, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = error_history)]
pub struct HistoryRow {
    pub at: DateTime<Utc>,
    pub action: HistoryAction,
    pub actor: String,
    pub note: Option<String>,
    pub from_status: Option<RecoveryStatus>,
    pub to_status: RecoveryStatus,
}

/// A change to write.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub action: HistoryAction,
    pub actor: &'a str,
    pub note: Option<&'a str>,
    pub from: Option<RecoveryStatus>,
    pub to: RecoveryStatus,
}

/// Writes `change` of record `error_id` at `at`.
pub async fn add(
    c: &mut AsyncPgConnection,
    error_id: Uuid,
    at: DateTime<Utc>,
    change: Change<'_>,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(h::error_history)
        .values((
            h::error_id.eq(error_id),
            h::at.eq(at),
            h::action.eq(change.action),
            h::actor.eq(change.actor),
            h::note.eq(change.note),
            h::from_status.eq(change.from),
            h::to_status.eq(change.to),
        ))
        .execute(c)
        .await?;
    Ok(())
}

/// A record's changes, oldest first.
pub async fn of(pool: &DbPool, error_id: Uuid) -> Result<Vec<HistoryRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(h::error_history
        .filter(h::error_id.eq(error_id))
        .order(h::id.asc())
        .select(HistoryRow::as_select())
        .load(&mut c)
        .await?)
}
