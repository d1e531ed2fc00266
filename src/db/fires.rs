//! Claiming due fires: in one transaction, lock due schedules with `FOR UPDATE SKIP LOCKED`
//! (so instances sharing the database split them), insert their executions in bulk, and advance
//! `next_run_at`/`last_run_at` in bulk. The unique index on (schedule_id, scheduled_for) makes a
//! double fire impossible even if two claims overlapped.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::executions::{ExecutionRow, NewExecution};
use super::schedules::ScheduleRow;
use super::schema::task_schedules::dsl as s;
use super::{claim_plan, conn, DbError, DbPool};
use crate::domain::firing::{decide, Decision, Due};
use crate::domain::rules::Timing;
use crate::domain::states::{ConcurrencyPolicy, SkipReason};

/// What one claim did.
#[derive(Debug, Default)]
pub struct FireReport {
    /// Executions created (pending, owned by this instance), to run now.
    pub executions: Vec<ExecutionRow>,
    /// Due schedules handled (fired, skipped or advanced).
    pub claimed: usize,
    /// Slots recorded as skipped (status `skipped`, final), for their events.
    pub skipped: Vec<ExecutionRow>,
    /// Fires stored waiting for a place (`queue`, `maxConcurrent`).
    pub waiting: Vec<ExecutionRow>,
    /// Runs cancelled by `replace`: their tasks are stopped before the new ones start.
    pub replaced: Vec<ExecutionRow>,
    /// Fires skipped by `concurrencyPolicy: forbid`.
    pub skipped_running: usize,
    /// Missed slots that did not run (misfire policy, or older than the one catch-up).
    pub skipped_misfire: usize,
}

/// How far ahead of their due time fires are claimed.
#[derive(Debug, Clone, Copy)]
pub struct Leads {
    /// Every schedule: the claim's commit is off the path between the due instant and the start.
    pub ahead: Duration,
    /// `allow` schedules: a burst is claimed before it is due (see `scheduler.prefetch_ms`).
    pub prefetch: Duration,
}

/// Claims up to `batch` due schedules and creates their executions. Fires due within the
/// [`Leads`] are claimed too: their executions wait for their exact time.
pub async fn claim_due(
    pool: &DbPool,
    instance: Uuid,
    now: DateTime<Utc>,
    leads: Leads,
    batch: i64,
    threshold: Duration,
) -> Result<FireReport, DbError> {
    let (horizon, far) = (now + leads.ahead, now + leads.prefetch.max(leads.ahead));
    let mut c = conn(pool).await?;
    let report = c
        .transaction::<_, DbError, _>(async |c| {
            // The due rows in index order, and the schedules' update below joining the batch's
            // ids to task_schedules by primary key.
            claim_plan(c).await?;
            let due: Vec<ScheduleRow> = s::task_schedules
                .filter(s::enabled.eq(true))
                .filter(s::next_run_at.le(far))
                // Schedules whose fires depend on what runs decide at the last moment, not a
                // second early.
                .filter(
                    s::concurrency_policy
                        .eq(ConcurrencyPolicy::Allow)
                        .and(diesel::dsl::not(s::fire_rules.has_key("maxConcurrent")))
                        .or(s::next_run_at.le(horizon)),
                )
                .order(s::next_run_at.asc())
                .limit(batch)
                .for_update()
                .skip_locked()
                .select(ScheduleRow::as_select())
                .load(c)
                .await?;
            if due.is_empty() {
                return Ok(FireReport::default());
            }
            let gated: Vec<Uuid> = due
                .iter()
                // Reads the stored key, not the parsed rules: this runs for every due row.
                .filter(|r| {
                    let capped = r.fire_rules.get("maxConcurrent").is_some();
                    r.concurrency_policy != ConcurrencyPolicy::Allow || capped
                })
                .map(|r| r.id)
                .collect();
            let occupancy = super::waiting::occupancy(c, &gated).await?;
            let mut waits = Vec::new();
            let mut replacing = Vec::new();

            let mut report = FireReport {
                claimed: due.len(),
                ..Default::default()
            };
            let mut new_execs = Vec::new();
            let mut skipped = Vec::new();
            let mut ids = Vec::with_capacity(due.len());
            let mut nexts = Vec::with_capacity(due.len());
            let mut lasts: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(due.len());
            let mut exec_ids: Vec<Option<Uuid>> = Vec::with_capacity(due.len());
            // Runs from fires per schedule (maxRuns), counted from what was inserted.
            let mut runs: Vec<i64> = Vec::with_capacity(due.len());
            let mut fired_by: Vec<usize> = Vec::new();
            for row in &due {
                let Some(due_at) = row.next_run_at else {
                    continue;
                };
                let d = match row.spec() {
                    Ok(spec) => {
                        let rules = row.rules();
                        decide(
                            &Due {
                                timing: Timing {
                                    spec: &spec,
                                    name: &row.name,
                                    rules: &rules,
                                },
                                due: due_at,
                                anchor: row.anchor_at,
                                misfire: row.misfire_policy,
                                concurrency: row.concurrency_policy,
                                occupancy: occupancy.get(&row.id).copied().unwrap_or_default(),
                                run_count: row.run_count,
                            },
                            now,
                            threshold,
                        )
                    }
                    Err(e) => {
                        // Unreadable config: stop firing it rather than fail every claim.
                        log::error!(
                            "schedule not fireable, disabling its timer: schedule={} {e}",
                            row.id
                        );
                        Decision::default()
                    }
                };
                log_skips(row.id, &d);
                for (at, reason) in &d.skipped {
                    match reason {
                        SkipReason::Overlap => report.skipped_running += 1,
                        _ => report.skipped_misfire += 1,
                    }
                    skipped.push(NewExecution::skipped(row, *at, *reason, now));
                }
                report.skipped_misfire += d.unrecorded;
                ids.push(row.id);
                nexts.push(d.next);
                let mut last = None;
                for (trigger, scheduled_for) in &d.fires {
                    let new = NewExecution::of(row, *trigger, 1, *scheduled_for, now, instance);
                    // The run's time, not the claim's: a prefetched fire runs later than now.
                    last = Some((new.id, (*scheduled_for).max(now)));
                    fired_by.push(ids.len() - 1);
                    new_execs.push(new);
                }
                lasts.push(last.map(|l| l.1));
                exec_ids.push(last.map(|l| l.0));
                runs.push(0);
                if d.replace {
                    replacing.push(row.id);
                }
                for (trigger, scheduled_for) in &d.waits {
                    let mut new = NewExecution::of(row, *trigger, 1, *scheduled_for, now, instance);
                    new.owner_instance = None;
                    waits.push((ids.len() - 1, new));
                }
            }
            // Replaced runs end before the new ones are stored.
            report.replaced = super::waiting::cancel_replaced(c, &replacing, now).await?;
            if !new_execs.is_empty() {
                // Only the ids come back: the rows are the ones just built (returning and
                // parsing every column of a thousand rows cost more than the insert).
                let inserted: std::collections::HashSet<Uuid> =
                    super::execution_inserts::insert_many(c, &new_execs)
                        .await?
                        .into_iter()
                        .collect();
                // A fire that already existed (unique key) is not this claim's: do not point
                // the schedule at an execution that was never inserted.
                for (new, i) in new_execs.iter().zip(&fired_by) {
                    if inserted.contains(&new.id) {
                        runs[*i] += 1;
                    }
                }
                report.executions = new_execs
                    .into_iter()
                    .filter(|n| inserted.contains(&n.id))
                    .map(ExecutionRow::from)
                    .collect();
                for (exec, last) in exec_ids.iter_mut().zip(lasts.iter_mut()) {
                    if exec.is_some_and(|id| !inserted.contains(&id)) {
                        *exec = None;
                        *last = None;
                    }
                }
            }
            if !skipped.is_empty() {
                report.skipped = insert_skipped(c, skipped).await?;
            }
            if !waits.is_empty() {
                let (by, rows): (Vec<usize>, Vec<NewExecution>) = waits.into_iter().unzip();
                let ids_of: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
                report.waiting = super::waiting::insert_waiting(c, rows).await?;
                for (id, i) in ids_of.iter().zip(&by) {
                    if report.waiting.iter().any(|w| w.id == *id) {
                        runs[*i] += 1;
                    }
                }
            }
            diesel::sql_query(
                "UPDATE task_schedules AS s \
                 SET next_run_at = v.next, \
                     last_run_at = COALESCE(v.last, s.last_run_at), \
                     last_execution_id = COALESCE(v.exec, s.last_execution_id), \
                     run_count = s.run_count + v.runs \
                 FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::uuid[], \
                             $5::int8[]) AS v(id, next, last, exec, runs) \
                 WHERE s.id = v.id",
            )
            .bind::<Array<SqlUuid>, _>(&ids)
            .bind::<Array<Nullable<Timestamptz>>, _>(&nexts)
            .bind::<Array<Nullable<Timestamptz>>, _>(&lasts)
            .bind::<Array<Nullable<SqlUuid>>, _>(&exec_ids)
            .bind::<Array<BigInt>, _>(&runs)
            .execute(c)
            .await?;
            Ok(report)
        })
        .await?;
    Ok(report)
}

/// Rows per statement when recording skipped slots (a long outage can leave thousands).
const SKIPPED_CHUNK: usize = 2_000;

/// Records skipped slots; a slot that already has an execution keeps it (unique key).
async fn insert_skipped(
    c: &mut diesel_async::AsyncPgConnection,
    rows: Vec<NewExecution>,
) -> Result<Vec<ExecutionRow>, diesel::result::Error> {
    let mut stored = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(SKIPPED_CHUNK) {
        let inserted: std::collections::HashSet<Uuid> =
            super::execution_inserts::insert_many(c, chunk)
                .await?
                .into_iter()
                .collect();
        stored.extend(
            chunk
                .iter()
                .filter(|n| inserted.contains(&n.id))
                .cloned()
                .map(ExecutionRow::from),
        );
    }
    Ok(stored)
}

/// One line per schedule that skipped slots: how many, why, and the range.
fn log_skips(schedule: Uuid, d: &Decision) {
    let (Some(first), Some(last)) = (d.skipped.as_slice().first(), d.skipped.as_slice().last())
    else {
        return;
    };
    let overlaps = d
        .skipped
        .iter()
        .filter(|(_, r)| *r == SkipReason::Overlap)
        .count();
    let misfires = d.skipped.len() - overlaps + d.unrecorded;
    log::info!(
        "slots skipped: schedule={schedule} overlap={overlaps} misfire={misfires} unrecorded={} from={} to={}",
        d.unrecorded,
        first.0,
        last.0
    );
}
