//! Fires claimed ahead of their time (see [`super::fires::Leads`]) and given back: a pause, edit
//! or delete of their schedule, a shutdown or the takeover of a dead instance puts a fire that
//! is not due yet back on its schedule instead of letting it run or recording it as
//! interrupted.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::task_executions::dsl as x;
use super::schema::task_schedules::dsl as s;
use crate::domain::states::{ExecutionStatus, Trigger};

/// Fires claimed ahead of their time and not due yet: not started, and no event was sent.
macro_rules! not_due_fires {
    ($now:expr) => {
        x::task_executions
            .filter(x::status.eq(ExecutionStatus::Pending))
            .filter(x::trigger.eq_any([Trigger::Schedule, Trigger::CatchUp]))
            .filter(x::scheduled_for.gt($now))
    };
}

/// Takes back fires of `schedule` claimed ahead of their time that are not due
/// yet: a pause, edit or delete made before the due instant must win over the early claim.
/// Call inside the caller's transaction; true when something was taken back.
pub async fn take_back(
    c: &mut AsyncPgConnection,
    schedule: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, diesel::result::Error> {
    // The schedule's lock first, as a claim takes it: no claim runs between the writes.
    let locked: Option<Uuid> = s::task_schedules
        .find(schedule)
        .for_update()
        .select(s::id)
        .first(c)
        .await
        .optional()?;
    if locked.is_none() {
        return Ok(false);
    }
    let taken: Vec<(Uuid, DateTime<Utc>)> =
        diesel::delete(not_due_fires!(now).filter(x::schedule_id.eq(schedule)))
            .returning((x::schedule_id, x::scheduled_for))
            .get_results(c)
            .await?;
    Ok(restore(c, taken).await? > 0)
}

/// At shutdown, or when taking over a dead instance: fires that `owners` claimed ahead and that
/// are not due yet go back to their schedules (to be claimed again, by whoever is alive when
/// they are due) instead of being recorded as interrupted runs that never started.
pub async fn give_back_owned(
    c: &mut AsyncPgConnection,
    owners: &[Uuid],
    now: DateTime<Utc>,
) -> Result<usize, diesel::result::Error> {
    let owned = || not_due_fires!(now).filter(x::owner_instance.eq_any(owners));
    // Schedules locked first, in id order, as `take_back` and the claim do.
    let _: Vec<Uuid> = s::task_schedules
        .filter(s::id.eq_any(owned().select(x::schedule_id)))
        .order(s::id)
        .for_update()
        .select(s::id)
        .load(c)
        .await?;
    let taken: Vec<(Uuid, DateTime<Utc>)> = diesel::delete(owned())
        .returning((x::schedule_id, x::scheduled_for))
        .get_results(c)
        .await?;
    restore(c, taken).await
}

/// The deleted fires' schedules get `next_run_at` back (the earliest taken fire),
/// `last_run_at`/`last_execution_id` from their latest remaining run and the taken fires off
/// `run_count`, as if never claimed.
async fn restore(
    c: &mut AsyncPgConnection,
    taken: Vec<(Uuid, DateTime<Utc>)>,
) -> Result<usize, diesel::result::Error> {
    let mut first: std::collections::HashMap<Uuid, (DateTime<Utc>, i64)> = Default::default();
    for (schedule, at) in taken {
        log::info!("fire claimed ahead taken back: schedule={schedule} scheduled_for={at}");
        let e = first.entry(schedule).or_insert((at, 0));
        *e = (e.0.min(at), e.1 + 1);
    }
    if first.is_empty() {
        return Ok(0);
    }
    let mut ids = Vec::with_capacity(first.len());
    let mut ats = Vec::with_capacity(first.len());
    let mut counts = Vec::with_capacity(first.len());
    for (id, (at, n)) in first {
        ids.push(id);
        ats.push(at);
        counts.push(n);
    }
    // Inside the caller's transaction: the update below joins the ids to task_schedules.
    super::index_joins_only(c).await?;
    diesel::sql_query(
        "UPDATE task_schedules AS s SET next_run_at = v.first, \
             run_count = GREATEST(s.run_count - v.n, 0), \
             (last_run_at, last_execution_id) = ( \
                 SELECT GREATEST(e.created_at, e.scheduled_for), e.id FROM task_executions e \
                 WHERE e.schedule_id = s.id AND e.trigger <> $3 \
                 ORDER BY e.created_at DESC LIMIT 1) \
         FROM unnest($1::uuid[], $2::timestamptz[], $4::int8[]) AS v(id, first, n) \
         WHERE s.id = v.id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Timestamptz>, _>(&ats)
    .bind::<diesel::sql_types::Text, _>(Trigger::Retry.as_str())
    .bind::<Array<diesel::sql_types::BigInt>, _>(&counts)
    .execute(c)
    .await
}
