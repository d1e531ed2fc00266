//! `websocket_sessions`: the record of each WebSocket connection (flow 3).

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
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
    let now = Utc::now();
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

/// Replaces a session's subscriptions.
pub async fn set_subscriptions(
    pool: &DbPool,
    session_id: Uuid,
    subscriptions: &[String],
) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::update(ws::websocket_sessions.find(session_id))
        .set((
            ws::subscriptions.eq(subscriptions),
            ws::last_seen_at.eq(Utc::now()),
        ))
        .execute(&mut c)
        .await?;
    Ok(())
}

/// Refreshes `last_seen_at`.
pub async fn touch(pool: &DbPool, session_id: Uuid) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::update(ws::websocket_sessions.find(session_id))
        .set(ws::last_seen_at.eq(Utc::now()))
        .execute(&mut c)
        .await?;
    Ok(())
}

/// Marks one session inactive (kept until retention prunes it).
pub async fn mark_inactive(pool: &DbPool, session_id: Uuid) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::update(ws::websocket_sessions.find(session_id))
        .set((
            ws::is_active.eq(false),
            ws::disconnected_at.eq(Some(Utc::now())),
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
        ws::disconnected_at.eq(Some(Utc::now())),
    ))
    .execute(&mut c)
    .await?)
}
