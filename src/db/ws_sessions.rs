//! `websocket_sessions`: the record of each WebSocket connection.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::websocket_sessions::dsl as ws;
use super::{conn, DbError, DbPool};

/// Inserts the row of a new session.
pub async fn insert(
    pool: &DbPool,
    session_id: Uuid,
    instance_id: Uuid,
    subscriptions: &[String],
) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    let now = crate::domain::clock::now();
    diesel::insert_into(ws::websocket_sessions)
        .values((
            ws::session_id.eq(session_id),
            ws::instance_id.eq(instance_id),
            ws::subscriptions.eq(subscriptions),
            ws::is_active.eq(true),
            ws::connected_at.eq(now),
            ws::last_seen_at.eq(now),
        ))
        .execute(&mut c)
        .await?;
    Ok(())
}

/// Refreshes `last_seen_at` of many sessions at once, and their subscriptions where given,
/// in one statement. Topics never hold a comma (they are validated), so a list travels as one
/// comma-joined text.
pub async fn update_many(
    pool: &DbPool,
    items: &[(Uuid, Option<Vec<String>>)],
) -> Result<(), DbError> {
    use diesel::sql_types::{Array, Nullable, Text, Uuid as SqlUuid};
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = items.iter().map(|(id, _)| *id).collect();
    let subs: Vec<Option<String>> = items
        .iter()
        .map(|(_, s)| s.as_ref().map(|s| s.join(",")))
        .collect();
    let query = diesel::sql_query(
        "UPDATE websocket_sessions AS w SET last_seen_at = now(), \
             subscriptions = COALESCE(string_to_array(NULLIF(v.subs, ''), ','), CASE WHEN v.subs = '' THEN '{}'::text[] END, w.subscriptions) \
         FROM unnest($1::uuid[], $2::text[]) AS v(id, subs) WHERE w.session_id = v.id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Nullable<Text>>, _>(&subs);
    let mut c = conn(pool).await?;
    // Session rows accumulate (inactive ones are kept for days): look each one up by key.
    c.transaction::<_, DbError, _>(async |c| {
        super::index_joins_only(c).await?;
        query.execute(c).await?;
        Ok(())
    })
    .await
}

/// Marks one session inactive (kept until retention prunes it).
pub async fn mark_inactive(pool: &DbPool, session_id: Uuid) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::update(ws::websocket_sessions.find(session_id))
        .set((
            ws::is_active.eq(false),
            ws::disconnected_at.eq(Some(crate::domain::clock::now())),
        ))
        .execute(&mut c)
        .await?;
    Ok(())
}

/// Marks every still-active session of an instance inactive (shutdown, or a previous run of
/// this instance that died).
pub async fn mark_instance_inactive(pool: &DbPool, instance_id: Uuid) -> Result<usize, DbError> {
    let mut c = conn(pool).await?;
    Ok(diesel::update(
        ws::websocket_sessions
            .filter(ws::instance_id.eq(instance_id))
            .filter(ws::is_active.eq(true)),
    )
    .set((
        ws::is_active.eq(false),
        ws::disconnected_at.eq(Some(crate::domain::clock::now())),
    ))
    .execute(&mut c)
    .await?)
}
