//! Which past slots of a schedule already ran, for a backfill: a slot with a run from a fire
//! (`schedule`, `catch_up`) or an earlier backfill is not run again. A skipped slot did not run.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::schema::task_executions::dsl as x;
use super::{conn, DbError, DbPool};
use crate::domain::states::{ExecutionStatus, Trigger};

/// The slots among `slots` (at most a few thousand per call) that already ran.
pub async fn already_run(
    pool: &DbPool,
    schedule: Uuid,
    slots: &[DateTime<Utc>],
) -> Result<HashSet<DateTime<Utc>>, DbError> {
    let mut c = conn(pool).await?;
    let mut out = HashSet::new();
    for chunk in slots.chunks(5_000) {
        let ran: Vec<DateTime<Utc>> = x::task_executions
            .filter(x::schedule_id.eq(schedule))
            .filter(x::scheduled_for.eq_any(chunk))
            .filter(x::trigger.eq_any([Trigger::Schedule, Trigger::CatchUp, Trigger::Backfill]))
            .filter(x::status.ne(ExecutionStatus::Skipped))
            .select(x::scheduled_for)
            .load(&mut c)
            .await?;
        out.extend(ran);
    }
    Ok(out)
}
