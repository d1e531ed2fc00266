//! Work left behind by instances that died: finding dead instances, failing
//! their unfinished executions as `interrupted` (fenced, so a late result from the presumed-dead
//! owner changes nothing), and finding failures whose error record was never written.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::executions::ExecutionRow;
use super::schema::error_records::dsl as r;
use super::schema::system_state::dsl as ss;
use super::schema::task_executions::dsl as x;
use super::schema::websocket_sessions::dsl as ws;
use super::{conn, DbError, DbPool};
use crate::domain::states::{ErrorType, ExecutionStatus, RecoveryStatus};

/// An instance row, as the orphan scan reads it.
#[derive(Debug, Clone, Queryable)]
pub struct InstanceRow {
    pub instance_id: Uuid,
    pub hostname: String,
    pub pid: i32,
    /// Its heartbeat is older than `dead_after`, by the database's clock (never by ours: an
    /// instance whose clock runs behind must not look dead).
    pub expired: bool,
}

/// Instances not marked stopped, other than `me`.
pub async fn live_others(
    pool: &DbPool,
    me: Uuid,
    dead_after_secs: u64,
) -> Result<Vec<InstanceRow>, DbError> {
    let mut c = conn(pool).await?;
    let expired = diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "heartbeat_at < now() - interval '{dead_after_secs} seconds'"
    ));
    Ok(ss::system_state
        .filter(ss::stopped_at.is_null())
        .filter(ss::instance_id.ne(me))
        .select((ss::instance_id, ss::hostname, ss::pid, expired))
        .load(&mut c)
        .await?)
}

/// Ids of the unfinished executions `owners` left: their task processes may still run on this
/// host. Pending ones count too: a task runs for a moment before its running state is written.
pub async fn running_of(pool: &DbPool, owners: &[Uuid]) -> Result<Vec<Uuid>, DbError> {
    if owners.is_empty() {
        return Ok(vec![]);
    }
    let mut c = conn(pool).await?;
    Ok(x::task_executions
        .filter(x::owner_instance.eq_any(owners))
        .filter(x::status.eq_any([ExecutionStatus::Pending, ExecutionStatus::Running]))
        .select(x::id)
        .limit(100_000)
        .load(&mut c)
        .await?)
}

/// Marks `dead` instances stopped and fails their unfinished executions as interrupted, in one
/// transaction. The `stopped_at IS NULL` condition makes exactly one live instance take each
/// dead one. Answers the executions it failed.
pub async fn reap(
    pool: &DbPool,
    dead: &[Uuid],
    reaper: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<ExecutionRow>, DbError> {
    if dead.is_empty() {
        return Ok(Vec::new());
    }
    let mut c = conn(pool).await?;
    let dead = dead.to_vec();
    c.transaction::<_, DbError, _>(async |c| {
        let taken: Vec<Uuid> = diesel::update(
            ss::system_state
                .filter(ss::instance_id.eq_any(&dead))
                .filter(ss::stopped_at.is_null()),
        )
        .set((
            ss::stopped_at.eq(Some(now)),
            ss::scheduler_running.eq(false),
            ss::error_recovery_running.eq(false),
        ))
        .returning(ss::instance_id)
        .get_results(c)
        .await?;
        if taken.is_empty() {
            return Ok(Vec::new());
        }
        for id in &taken {
            log::warn!("instance presumed dead, taking over its work: instance={id} by={reaper}");
        }
        let failed = fail_unfinished(
            c,
            &taken,
            "the instance running it stopped unexpectedly",
            now,
        )
        .await?;
        diesel::update(
            ws::websocket_sessions
                .filter(ws::instance_id.eq_any(&taken))
                .filter(ws::is_active.eq(true)),
        )
        .set((ws::is_active.eq(false), ws::disconnected_at.eq(Some(now))))
        .execute(c)
        .await?;
        Ok(failed)
    })
    .await
}

/// Fails the pending/running executions owned by `owners` (fence + 1).
async fn fail_unfinished(
    c: &mut diesel_async::AsyncPgConnection,
    owners: &[Uuid],
    why: &str,
    now: DateTime<Utc>,
) -> Result<Vec<ExecutionRow>, DbError> {
    super::leads::give_back_owned(c, owners, now).await?;
    Ok(diesel::update(
        x::task_executions
            .filter(x::owner_instance.eq_any(owners))
            .filter(x::status.eq_any([ExecutionStatus::Pending, ExecutionStatus::Running])),
    )
    .set((
        x::status.eq(ExecutionStatus::Failed),
        x::error_type.eq(Some(ErrorType::Interrupted)),
        x::error.eq(Some(why)),
        x::finished_at.eq(Some(now)),
        x::fence.eq(x::fence + 1),
    ))
    .returning(ExecutionRow::as_returning())
    .get_results(c)
    .await?)
}

/// Shutdown: this instance's executions that never started (pending, waiting for a slot) are
/// handed back — pending without an owner, to run after the restart or on another instance, with
/// no error record; the ones that started and outlived the grace period are failed as
/// interrupted. `launched` are the tasks this process started: such a row may still say pending
/// (its running state is written a moment after the start), and it is failed, never handed back
/// to run twice. Answers the failed rows.
pub async fn interrupt_own(
    pool: &DbPool,
    me: Uuid,
    launched: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<ExecutionRow>, DbError> {
    let mut c = conn(pool).await?;
    c.transaction::<_, DbError, _>(async |c| {
        let handed = diesel::update(
            x::task_executions
                .filter(x::owner_instance.eq(me))
                .filter(x::status.eq(ExecutionStatus::Pending))
                .filter(x::id.ne_all(launched)),
        )
        .set(x::owner_instance.eq(None::<Uuid>))
        .execute(c)
        .await?;
        if handed > 0 {
            log::info!("shutdown: {handed} executions that had not started handed back (pending, no owner)");
        }
        fail_unfinished(
            c,
            &[me],
            "the service shut down before it finished (grace period over)",
            now,
        )
        .await
    })
    .await
}

/// Running rows owned by `me` that no task of this process stands behind: failed as
/// interrupted (fenced). `live` are the tasks running when `now` was read; a row that started
/// after `now - SETTLE_AFTER` is left alone (its task may have been launched after `live` was
/// taken). The `fence` condition leaves a row alone whose final state was written meanwhile.
pub async fn settle_own(
    pool: &DbPool,
    me: Uuid,
    live: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<ExecutionRow>, DbError> {
    const SETTLE_AFTER: i64 = 30;
    let mut c = conn(pool).await?;
    let candidates: Vec<(Uuid, i64)> = x::task_executions
        .filter(x::owner_instance.eq(me))
        .filter(x::status.eq(ExecutionStatus::Running))
        .filter(x::started_at.lt(now - Duration::seconds(SETTLE_AFTER)))
        .select((x::id, x::fence))
        .limit(1_000)
        .load(&mut c)
        .await?;
    let mut settled = Vec::new();
    for (id, fence) in candidates.into_iter().filter(|(id, _)| !live.contains(id)) {
        let row: Option<ExecutionRow> = diesel::update(
            x::task_executions
                .filter(x::id.eq(id))
                .filter(x::status.eq(ExecutionStatus::Running))
                .filter(x::fence.eq(fence)),
        )
        .set((
            x::status.eq(ExecutionStatus::Failed),
            x::error_type.eq(Some(ErrorType::Interrupted)),
            x::error.eq(Some("its result was never stored (the database was away too long); recorded by the instance that ran it")),
            x::finished_at.eq(Some(now)),
            x::fence.eq(x::fence + 1),
        ))
        .returning(ExecutionRow::as_returning())
        .get_result(&mut c)
        .await
        .optional()?;
        settled.extend(row);
    }
    Ok(settled)
}

/// Failed executions with no error record that finished more than `settle` ago (the process
/// died between the two writes); and finished retries whose chain still says `retrying`.
pub async fn unrecorded(
    pool: &DbPool,
    now: DateTime<Utc>,
    settle: Duration,
    limit: i64,
) -> Result<Vec<ExecutionRow>, DbError> {
    let mut c = conn(pool).await?;
    let before = now - settle;
    let mut rows: Vec<ExecutionRow> = x::task_executions
        .filter(x::status.eq(ExecutionStatus::Failed))
        .filter(x::error_record_id.is_null())
        .filter(x::finished_at.lt(before))
        .order(x::finished_at.asc())
        .limit(limit)
        .select(ExecutionRow::as_select())
        .load(&mut c)
        .await?;
    let retrying: Vec<ExecutionRow> = x::task_executions
        .inner_join(r::error_records.on(r::id.nullable().eq(x::error_record_id)))
        .filter(r::recovery_status.eq(RecoveryStatus::Retrying))
        .filter(r::last_execution_id.ne(x::id))
        // Only the chain's newest run (a retry is attempt = failures so far + 1).
        .filter(x::attempt.eq(r::attempts + 1))
        .filter(x::status.eq_any([
            ExecutionStatus::Completed,
            ExecutionStatus::Failed,
            ExecutionStatus::Cancelled,
        ]))
        .filter(x::finished_at.lt(before))
        .limit(limit)
        .select(ExecutionRow::as_select())
        .load(&mut c)
        .await?;
    rows.extend(retrying);
    Ok(rows)
}
