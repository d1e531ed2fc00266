//! `event_outbox`: events handed to the other instances. One INSERT and one NOTIFY per batch
//! (NOTIFY is capped at 8 kB and costly per row, so it only carries the newest id).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::event_outbox::{self, dsl as o};
use super::{conn, DbError, DbPool};

/// The LISTEN/NOTIFY channel.
pub const CHANNEL: &str = "taskforge_events";

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = event_outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub instance_id: Uuid,
    pub kind: String,
    pub schedule_id: Option<Uuid>,
    pub payload: String,
    pub execution_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// An event to hand over.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = event_outbox, treat_none_as_default_value = false)]
pub struct NewOutbox {
    pub instance_id: Uuid,
    pub kind: String,
    pub schedule_id: Option<Uuid>,
    pub execution_id: Option<Uuid>,
    pub payload: String,
}

/// Inserts a batch and notifies listeners, in one transaction.
pub async fn publish(pool: &DbPool, batch: &[NewOutbox]) -> Result<(), DbError> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut c = conn(pool).await?;
    c.transaction::<_, DbError, _>(async |c| {
        let last: Vec<i64> = diesel::insert_into(o::event_outbox)
            .values(batch)
            .returning(o::id)
            .get_results(c)
            .await?;
        let max = last.iter().max().copied().unwrap_or(0);
        diesel::sql_query(format!("SELECT pg_notify('{CHANNEL}', '{max}')"))
            .execute(c)
            .await?;
        Ok(())
    })
    .await
}

/// Events after `after` from other instances, oldest first.
pub async fn after(
    pool: &DbPool,
    after: i64,
    not_from: Uuid,
    limit: i64,
) -> Result<Vec<OutboxRow>, DbError> {
    let mut c = conn(pool).await?;
    Ok(o::event_outbox
        .filter(o::id.gt(after))
        .filter(o::instance_id.ne(not_from))
        .order(o::id.asc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(&mut c)
        .await?)
}

/// The newest id (a new listener starts after it: no replay of history).
pub async fn max_id(pool: &DbPool) -> Result<i64, DbError> {
    let mut c = conn(pool).await?;
    Ok(o::event_outbox
        .select(diesel::dsl::max(o::id))
        .first::<Option<i64>>(&mut c)
        .await?
        .unwrap_or(0))
}

/// Deletes events older than `before`.
pub async fn prune(pool: &DbPool, before: DateTime<Utc>) -> Result<usize, DbError> {
    let mut c = conn(pool).await?;
    Ok(
        diesel::delete(o::event_outbox.filter(o::created_at.lt(before)))
            .execute(&mut c)
            .await?,
    )
}

/// Channel on which a starting instance announces itself, so the others start handing it
/// their events at once instead of at their next periodic check.
pub const PEERS_CHANNEL: &str = "taskforge_peers";

/// Announces this instance (see [`PEERS_CHANNEL`]).
pub async fn announce(pool: &DbPool) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::sql_query(format!("SELECT pg_notify('{PEERS_CHANNEL}', '')"))
        .execute(&mut c)
        .await?;
    Ok(())
}

/// True when another instance is alive (not stopped, heartbeat within `dead_after`): only then
/// is the outbox written at all.
pub async fn peers_alive(
    pool: &DbPool,
    me: Uuid,
    dead_after: chrono::Duration,
) -> Result<bool, DbError> {
    use super::schema::system_state::dsl as ss;
    let mut c = conn(pool).await?;
    let n: i64 = ss::system_state
        .filter(ss::stopped_at.is_null())
        .filter(ss::instance_id.ne(me))
        .filter(ss::heartbeat_at.gt(crate::domain::clock::now() - dead_after))
        .count()
        .get_result(&mut c)
        .await?;
    Ok(n > 0)
}
