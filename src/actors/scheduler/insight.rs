//! Reads about how schedules run: health of listed schedules, one schedule's stats, and the
//! runs coming up across schedules.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use actix::prelude::*;
use chrono::{DateTime, Utc};

use super::messages::*;
use super::SchedulerActor;
use crate::db::schedule_health::{self, Health};
use crate::db::schedules::{self, ScheduleRow};
use crate::db::DbError;
use crate::domain::rules::Timing;
use crate::views::{ScheduleStatsView, UpcomingItem, UpcomingView};

/// Most schedules read for runs coming up from a later start.
const MAX_SCANNED: i64 = 10_000;
/// Most slots counted for `expected`; a window with more reads as this.
const MAX_EXPECTED: usize = 100_000;

impl Handler<HealthOf> for SchedulerActor {
    type Result = ResponseFuture<Result<std::collections::HashMap<uuid::Uuid, Health>, DbError>>;

    fn handle(&mut self, msg: HealthOf, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move { schedule_health::health(&pool, &msg.0).await })
    }
}

/// The slots of `row` in [since, until).
fn expected(row: &ScheduleRow, since: DateTime<Utc>, until: DateTime<Utc>) -> i64 {
    let (Ok(spec), rules) = (row.spec(), row.rules()) else {
        return 0;
    };
    let timing = Timing {
        spec: &spec,
        name: &row.name,
        rules: &rules,
    };
    let slots = timing.slots_in(since, until, MAX_EXPECTED);
    i64::try_from(slots.len()).unwrap_or(i64::MAX)
}

impl Handler<ScheduleStats> for SchedulerActor {
    type Result = ResponseFuture<Result<ScheduleStatsView, ScheduleError>>;

    fn handle(&mut self, msg: ScheduleStats, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            let row = schedules::get(&pool, msg.id)
                .await?
                .ok_or(ScheduleError::NotFound(msg.id))?;
            let w = schedule_health::window(&pool, msg.id, msg.since, msg.until).await?;
            let h = schedule_health::health(&pool, &[msg.id]).await?;
            let slots_until = msg.until.min(crate::domain::clock::now());
            Ok(ScheduleStatsView::of(
                (msg.since, msg.until),
                expected(&row, msg.since, slots_until),
                &w,
                h.get(&msg.id).unwrap_or(&Health::default()),
            ))
        })
    }
}

/// Merges the schedules' runs in [from, until) in time order, at most `limit`: a heap holds
/// each schedule's next run, so the work is `limit` steps whatever the schedules' rates.
fn merge_upcoming(
    rows: &[ScheduleRow],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
) -> Vec<UpcomingItem> {
    let specs: Vec<_> = rows.iter().map(|r| (r.spec().ok(), r.rules())).collect();
    let timing = |i: usize| {
        let (spec, rules) = &specs[i];
        spec.as_ref().map(|spec| Timing {
            spec,
            name: &rows[i].name,
            rules,
        })
    };
    // maxRuns: runs each schedule has left.
    let mut left: Vec<Option<u64>> = rows
        .iter()
        .zip(&specs)
        .map(|(r, (_, rules))| rules.runs_left(r.run_count))
        .collect();
    let mut heap = BinaryHeap::new();
    for (i, r) in rows.iter().enumerate() {
        // The stored next run (overdue ones count from `from`), then the rule's.
        let first = match r.next_run_at {
            Some(t) if t >= from => Some(t),
            _ => timing(i).and_then(|t| t.next_after(from - chrono::Duration::microseconds(1))),
        };
        if let Some(t) = first.filter(|t| *t < until) {
            heap.push(Reverse((t, i)));
        }
    }
    let mut out = Vec::with_capacity(limit.min(1_000));
    while let Some(Reverse((at, i))) = heap.pop() {
        if out.len() == limit {
            break;
        }
        out.push(UpcomingItem {
            schedule_id: rows[i].id,
            name: rows[i].name.clone(),
            at,
        });
        if let Some(l) = &mut left[i] {
            *l = l.saturating_sub(1);
            if *l == 0 {
                continue;
            }
        }
        let next = timing(i).and_then(|t| t.next_after(at));
        if let Some(n) = next.filter(|n| *n < until) {
            heap.push(Reverse((n, i)));
        }
    }
    out
}

impl Handler<UpcomingRuns> for SchedulerActor {
    type Result = ResponseFuture<Result<UpcomingView, DbError>>;

    fn handle(&mut self, msg: UpcomingRuns, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            // From now on, the `limit` schedules due first hold the first `limit` runs; from a
            // later start a schedule due later may run sooner there, so more are read.
            let soon = msg.from <= crate::domain::clock::now() + chrono::Duration::seconds(1);
            let limit = if soon {
                i64::try_from(msg.limit).unwrap_or(i64::MAX)
            } else {
                MAX_SCANNED
            };
            let rows = schedules::due_first(&pool, msg.until, limit).await?;
            Ok(UpcomingView {
                items: merge_upcoming(&rows, msg.from, msg.until, msg.limit),
            })
        })
    }
}
