//! `system_state`: one row per instance with its running flags (flow 7) and heartbeat.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::system_state::dsl as ss;
use super::{conn, DbError, DbPool};

/// Records this instance as started.
pub async fn register(pool: &DbPool, instance_id: Uuid, version: &str) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    let hostname = hostname();
    let now = Utc::now();
    diesel::insert_into(ss::system_state)
        .values((
            ss::instance_id.eq(instance_id),
            ss::hostname.eq(hostname),
            ss::pid.eq(std::process::id() as i32),
            ss::version.eq(version),
            ss::started_at.eq(now),
            ss::heartbeat_at.eq(now),
        ))
        .execute(&mut c)
        .await?;
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

/// Refreshes this instance's heartbeat.
pub async fn heartbeat(pool: &DbPool, instance_id: Uuid) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::update(ss::system_state.filter(ss::instance_id.eq(instance_id)))
        .set(ss::heartbeat_at.eq(Utc::now()))
        .execute(&mut c)
        .await?;
    Ok(())
}

/// Marks this instance stopped (flow 7), both flags false.
pub async fn mark_stopped(pool: &DbPool, instance_id: Uuid) -> Result<(), DbError> {
    let mut c = conn(pool).await?;
    diesel::update(ss::system_state.filter(ss::instance_id.eq(instance_id)))
        .set((
            ss::scheduler_running.eq(false),
            ss::error_recovery_running.eq(false),
            ss::stopped_at.eq(Some(Utc::now())),
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
