//! Retention: deletes old finished executions, final error records (and groups left empty) and
//! inactive session rows in small batches, each its own short transaction, so no long lock ever
//! blocks the scheduler.

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::RunQueryDsl;

use super::{conn, DbError, DbPool};
use crate::config::RetentionConfig;

/// Rows deleted by one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub executions: usize,
    pub error_records: usize,
    pub error_groups: usize,
    pub sessions: usize,
    pub audit: usize,
    /// Webhook deliveries past their 24-hour `Idempotency-Key` window (always pruned).
    pub deliveries: usize,
}

impl Pruned {
    /// Rows deleted in all.
    pub fn total(&self) -> usize {
        self.executions
            + self.error_records
            + self.error_groups
            + self.sessions
            + self.audit
            + self.deliveries
    }
}

const EXECUTIONS: &str = "DELETE FROM task_executions WHERE id IN (
    SELECT e.id FROM task_executions e
    WHERE e.finished_at IS NOT NULL AND e.finished_at < $1
      AND NOT EXISTS (SELECT 1 FROM error_records r
                      WHERE (r.id = e.error_record_id OR r.execution_id = e.id)
                        AND r.recovery_status NOT IN ('resolved', 'ignored'))
    LIMIT $2)";
const ERROR_RECORDS: &str = "DELETE FROM error_records WHERE id IN (
    SELECT id FROM error_records
    WHERE recovery_status IN ('resolved', 'ignored') AND updated_at < $1
    LIMIT $2)";
/// Groups of records that are all gone, not seen since the cutoff.
const ERROR_GROUPS: &str = "DELETE FROM error_groups WHERE fingerprint IN (
    SELECT g.fingerprint FROM error_groups g
    WHERE g.last_seen_at < $1
      AND NOT EXISTS (SELECT 1 FROM error_records r WHERE r.fingerprint = g.fingerprint)
    LIMIT $2)";
const AUDIT: &str = "DELETE FROM audit_log WHERE id IN (
    SELECT id FROM audit_log WHERE at < $1 LIMIT $2)";
const SESSIONS: &str = "DELETE FROM websocket_sessions WHERE session_id IN (
    SELECT session_id FROM websocket_sessions
    WHERE NOT is_active AND disconnected_at < $1
    LIMIT $2)";

/// One pass over every table.
pub async fn prune(
    pool: &DbPool,
    cfg: &RetentionConfig,
    now: DateTime<Utc>,
) -> Result<Pruned, DbError> {
    let cutoff = |days: u64| now - Duration::days(days as i64);
    let mut out = Pruned::default();
    for (days, table, count) in [
        (cfg.executions_days, EXECUTIONS, &mut out.executions),
        (
            cfg.error_records_days,
            ERROR_RECORDS,
            &mut out.error_records,
        ),
        (cfg.error_records_days, ERROR_GROUPS, &mut out.error_groups),
        (cfg.sessions_days, SESSIONS, &mut out.sessions),
        (cfg.audit_days, AUDIT, &mut out.audit),
    ] {
        // 0 days: kept forever.
        if days > 0 {
            *count = in_batches(pool, table, cutoff(days), cfg.batch_size).await?;
        }
    }
    out.deliveries = super::webhooks::prune(pool, now).await?;
    Ok(out)
}

async fn in_batches(
    pool: &DbPool,
    sql: &str,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<usize, DbError> {
    let mut total = 0;
    loop {
        let mut c = conn(pool).await?;
        let n = diesel::sql_query(sql)
            .bind::<Timestamptz, _>(cutoff)
            .bind::<BigInt, _>(batch)
            .execute(&mut c)
            .await?;
        total += n;
        if (n as i64) < batch {
            return Ok(total);
        }
        // Let other work in between batches.
        tokio::task::yield_now().await;
    }
}
