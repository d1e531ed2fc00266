//! Backfill: an operator runs a schedule's past slots that did not run. The plan is computed
//! and answered at once; the runs then go one at a time (or `maxConcurrent` at a time), oldest
//! (or newest) first, each slot inserted only when a previous run ended. The unique (schedule, slot) index of backfill
//! runs makes two overlapping backfills run a slot once; a backfill cut short by a restart is
//! finished by sending it again (what ran is counted in `alreadyRun`).

use std::time::Duration;

use actix::prelude::*;

use super::messages::*;
use super::SchedulerActor;
use crate::actors::execution::messages::StartExecution;
use crate::db::executions::{self, NewExecution};
use crate::db::{backfill, schedules, DbError};
use crate::domain::clock;
use crate::domain::rules::Timing;
use crate::domain::states::Trigger;
use crate::views::BackfillView;

/// Most slots one backfill looks at.
const MAX_SLOTS: usize = 100_000;
/// How often the runner checks whether the current run ended.
const POLL: Duration = Duration::from_millis(100);

impl Handler<Backfill> for SchedulerActor {
    type Result = ResponseFuture<Result<BackfillView, ScheduleError>>;

    fn handle(&mut self, msg: Backfill, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        let execution = self.execution.clone();
        Box::pin(async move {
            let row = schedules::get(&pool, msg.id)
                .await?
                .ok_or(ScheduleError::NotFound(msg.id))?;
            let spec = row
                .spec()
                .map_err(|e| ScheduleError::Db(DbError::Unavailable(e)))?;
            let rules = row.rules();
            let timing = Timing {
                spec: &spec,
                name: &row.name,
                rules: &rules,
            };
            let slots = timing.slots_in(msg.from, msg.to, MAX_SLOTS + 1);
            if slots.len() > MAX_SLOTS {
                return Err(ScheduleError::Invalid {
                    field: "to".into(),
                    message: format!("more than {MAX_SLOTS} slots in [from, to): narrow the range"),
                });
            }
            let ran = backfill::already_run(&pool, row.id, &slots).await?;
            let mut runs: Vec<_> = slots.into_iter().filter(|s| !ran.contains(s)).collect();
            if runs.len() > msg.max_runs {
                return Err(ScheduleError::Invalid {
                    field: "maxRuns".into(),
                    message: format!(
                        "{} slots to run in [from, to), more than maxRuns ({})",
                        runs.len(),
                        msg.max_runs
                    ),
                });
            }
            if msg.newest_first {
                runs.reverse();
            }
            let view = BackfillView {
                count: runs.len(),
                already_run: ran.len(),
                runs,
            };
            if msg.dry_run || view.runs.is_empty() {
                return Ok(view);
            }
            log::info!(
                "backfill started: schedule={} slots={} already_run={} from={} to={}",
                row.id,
                view.count,
                view.already_run,
                msg.from,
                msg.to
            );
            let slots = view.runs.clone();
            // One at a time, or as many as the schedule's maxConcurrent allows.
            let width = rules.max_concurrent.map_or(1, |n| n as usize).max(1);
            actix::spawn(async move {
                use futures_util::StreamExt;
                let done = std::cell::Cell::new(0usize);
                let (row, pool, execution) = (&row, &pool, &execution);
                futures_util::stream::iter(slots)
                    .for_each_concurrent(width, |slot| {
                        let done = &done;
                        async move {
                            let new = NewExecution::of(
                                row,
                                Trigger::Backfill,
                                1,
                                slot,
                                clock::now(),
                                instance,
                            );
                            match execution.send(StartExecution(new)).await {
                                Ok(Ok(exec)) => {
                                    wait_final(pool, exec.id).await;
                                    done.set(done.get() + 1);
                                }
                                // Another backfill ran it first (unique key), or the database
                                // is away.
                                Ok(Err(e)) => log::warn!(
                                    "backfill slot not run: schedule={} slot={slot} {e}",
                                    row.id
                                ),
                                Err(e) => log::warn!(
                                    "backfill slot not run (execution engine away): schedule={} slot={slot} {e}",
                                    row.id
                                ),
                            }
                        }
                    })
                    .await;
                log::info!("backfill finished: schedule={} runs={}", row.id, done.get());
            });
            Ok(view)
        })
    }
}

/// Returns when the execution is final (or gone, or unreadable for a long while).
async fn wait_final(pool: &crate::db::DbPool, id: uuid::Uuid) {
    let mut failures = 0;
    loop {
        match executions::get(pool, id).await {
            Ok(Some(e)) if !e.status.is_final() => {}
            Ok(_) => return,
            Err(_) if failures < 600 => failures += 1,
            Err(e) => {
                log::warn!("backfill gave up waiting for its run: execution={id} {e}");
                return;
            }
        }
        actix::clock::sleep(POLL).await;
    }
}
