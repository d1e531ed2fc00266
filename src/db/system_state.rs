//! `system_state`: one row per instance with its running flags and heartbeat.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::system_state::dsl as ss;
use super::{conn, DbError, DbPool};
use crate::domain::clock;

/// `now()` of the database, for nullable timestamp columns.
fn db_now(
) -> diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>> {
    diesel::dsl::sql("now()")
}

/// Records this instance as started (the database's clock stamps it), and takes a first
/// reading of that clock.
pub async fn register(pool: &DbPool, instance_id: Uuid, version: &str) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    let hostname = hostname();
    let before = Utc::now();
    let db_now: DateTime<Utc> = diesel::insert_into(ss::system_state)
        .values((
            ss::instance_id.eq(instance_id),
            ss::hostname.eq(hostname),
            ss::pid.eq(std::process::id() as i32),
            ss::version.eq(version),
            ss::started_at.eq(diesel::dsl::now),
            ss::heartbeat_at.eq(diesel::dsl::now),
        ))
        .returning(ss::heartbeat_at)
        .get_result(&mut c)
        .await?;
    clock::observe(db_now, before, Utc::now());
    Ok(())
}

/// This machine's name, as recorded in `system_state.hostname`.
pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .or_else(|_| std::fs::read_to_string("/proc/sys/kernel/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Which background component a flag belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Scheduler,
    ErrorRecovery,
}

/// Sets `scheduler_running` or `error_recovery_running` for this instance.
pub async fn set_running(
    pool: &DbPool,
    instance_id: Uuid,
    component: Component,
    running: bool,
) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    let target = ss::system_state.filter(ss::instance_id.eq(instance_id));
    match component {
        Component::Scheduler => {
            diesel::update(target)
                .set(ss::scheduler_running.eq(running))
                .execute(&mut c)
                .await?
        }
        Component::ErrorRecovery => {
            diesel::update(target)
                .set(ss::error_recovery_running.eq(running))
                .execute(&mut c)
                .await?
        }
    };
    Ok(())
}

/// What a heartbeat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// Recorded; the clock offset was measured again.
    Alive,
    /// This instance's row is marked stopped: another instance declared it dead and took its
    /// work over.
    DeclaredDead,
}

/// Refreshes this instance's heartbeat with the database's clock (and measures the offset to
/// it). Finds out when this instance was declared dead.
pub async fn heartbeat(pool: &DbPool, instance_id: Uuid) -> Result<Beat, DbError> {
    let mut c = conn(pool).await?;
    let before = Utc::now();
    let db_now: Option<DateTime<Utc>> = diesel::update(
        ss::system_state
            .filter(ss::instance_id.eq(instance_id))
            .filter(ss::stopped_at.is_null()),
    )
    .set(ss::heartbeat_at.eq(diesel::dsl::now))
    .returning(ss::heartbeat_at)
    .get_result(&mut c)
    .await
    .optional()?;
    match db_now {
        Some(t) => {
            clock::observe(t, before, Utc::now());
            Ok(Beat::Alive)
        }
        None => Ok(Beat::DeclaredDead),
    }
}

/// Registers again after being declared dead: live, heartbeat now, flags as given.
pub async fn reregister(pool: &DbPool, instance_id: Uuid, running: bool) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::update(ss::system_state.filter(ss::instance_id.eq(instance_id)))
        .set((
            ss::stopped_at.eq(None::<DateTime<Utc>>),
            ss::heartbeat_at.eq(diesel::dsl::now),
            ss::scheduler_running.eq(running),
            ss::error_recovery_running.eq(running),
        ))
        .execute(&mut c)
        .await?;
    Ok(())
}

/// Marks this instance stopped, both flags false.
pub async fn mark_stopped(pool: &DbPool, instance_id: Uuid) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::update(ss::system_state.filter(ss::instance_id.eq(instance_id)))
        .set((
            ss::scheduler_running.eq(false),
            ss::error_recovery_running.eq(false),
            ss::stopped_at.eq(db_now()),
        ))
        .execute(&mut c)
        .await?;
    Ok(())
}

/// This instance's flags: (scheduler_running, error_recovery_running).
pub async fn flags(pool: &DbPool, instance_id: Uuid) -> Result<(bool, bool), DbError> {
    let mut c = conn(pool).await?;
    Ok(ss::system_state
        .filter(ss::instance_id.eq(instance_id))
        .select((ss::scheduler_running, ss::error_recovery_running))
        .first(&mut c)
        .await?)
}
