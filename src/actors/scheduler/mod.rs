//! SchedulerActor: schedule CRUD and firing (flows 1 and 8).
//!
//! It sleeps until the earliest `next_run_at` (never longer than `scheduler.tick_ms`, the
//! fallback for changes made by other instances) and wakes early whenever a schedule changes
//! here. Each wake claims every due fire in batches (see `db::fires`) and hands the new
//! executions to the ExecutionActor. PostgreSQL is the truth; nothing but timers lives here.

pub mod messages;

use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use self::messages::*;
use crate::actors::execution::messages::{Load, RunExecutions, StartExecution};
use crate::actors::execution::ExecutionActor;
use crate::actors::lifecycle::impl_lifecycle_handlers;
use crate::actors::lifecycle::StopWork;
use crate::actors::supervisor::{guard_future, RestartTracker};
use crate::actors::ws::hub::WsHub;
use crate::actors::ws::messages::Publish;
use crate::actors::Services;
use crate::db::executions::NewExecution;
use crate::db::schedules::{self, ScheduleRow, WriteError};
use crate::db::system_state::{self, Component};
use crate::db::{fires, DbError};
use crate::domain::clock;
use crate::domain::event::{Event, EventKind};
use crate::domain::states::Trigger;

/// Name in logs and health.
pub const NAME: &str = "scheduler";

/// When a due fire is locked by another instance, look again after this.
const CONTENDED_RETRY: Duration = Duration::from_millis(25);

/// See the module docs.
pub struct SchedulerActor {
    /// Claiming paused: `execution.max_pending` executions wait to start here.
    backlogged: bool,
    services: Services,
    hub: Addr<WsHub>,
    execution: Addr<ExecutionActor>,
    tracker: RestartTracker,
    /// True once loaded and until flow 7 stops the scheduler.
    running: bool,
    /// Set by [`StopWork`]; survives restarts so a restart during shutdown stays stopped.
    stopped: bool,
    restart_delay: Duration,
    timer: Option<SpawnHandle>,
    firing: bool,
    again: bool,
    /// The due time the timer is set for (None: only the fallback tick).
    armed_for: Option<DateTime<Utc>>,
    stats: FireStats,
}

impl SchedulerActor {
    /// A scheduler over `services`, publishing to `hub` and running through `execution`.
    pub fn new(services: Services, hub: Addr<WsHub>, execution: Addr<ExecutionActor>) -> Self {
        let sup = &services.config.supervisor;
        let tracker = RestartTracker::new(
            NAME,
            Duration::from_millis(sup.restart_backoff_base_ms),
            Duration::from_millis(sup.restart_backoff_max_ms),
        );
        SchedulerActor {
            backlogged: false,
            services,
            hub,
            execution,
            tracker,
            running: false,
            stopped: false,
            restart_delay: Duration::ZERO,
            timer: None,
            firing: false,
            again: false,
            armed_for: None,
            stats: FireStats::default(),
        }
    }

    /// Records the scheduler as running, then fires whatever is due; retried (not crashed)
    /// while the database is away.
    fn load(&mut self, ctx: &mut Context<Self>) {
        if self.stopped {
            return;
        }
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        let fut = async move {
            system_state::set_running(&pool, instance, Component::Scheduler, true).await
        };
        ctx.wait(guard_future(fut).map(|res, act: &mut Self, ctx| match res {
            Some(Ok(())) => {
                act.running = true;
                log::info!("scheduler running: instance={}", act.services.instance_id);
                act.fire_due(ctx);
            }
            Some(Err(e)) => {
                log::warn!("scheduler: loading state failed, retrying in 1s: {e}");
                ctx.run_later(Duration::from_secs(1), |act, ctx| act.load(ctx));
            }
            None => {}
        }));
    }

    /// Claims and starts every due fire, then sleeps until the next one.
    fn fire_due(&mut self, ctx: &mut Context<Self>) {
        if self.stopped || !self.running {
            return;
        }
        if self.firing {
            self.again = true;
            return;
        }
        self.firing = true;
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        let cfg = &self.services.config.scheduler;
        let batch = cfg.claim_batch.max(1);
        let leads = self.leads();
        let threshold = chrono::Duration::milliseconds(cfg.misfire_threshold_ms as i64);
        let execution = self.execution.clone();
        let max_pending = self.services.config.execution.max_pending;
        let fut = async move {
            let mut stats = FireStats::default();
            let mut backlog = None;
            loop {
                // Backpressure: claim no more than the execution queue may still take.
                let waiting = execution.send(Load).await.map(|(q, _)| q).unwrap_or(0);
                if waiting >= max_pending {
                    backlog = Some(waiting);
                    break;
                }
                let limit = batch.min((max_pending - waiting) as i64);
                let report =
                    fires::claim_due(&pool, instance, clock::now(), leads, limit, threshold)
                        .await?;
                stats.fired += report.executions.len() as u64;
                stats.skipped_running += report.skipped_running as u64;
                stats.skipped_misfire += report.skipped_misfire as u64;
                if !report.executions.is_empty() {
                    execution.do_send(RunExecutions(report.executions));
                }
                if (report.claimed as i64) < limit {
                    break;
                }
            }
            let earliest = schedules::earliest_due(&pool).await?;
            Ok::<_, DbError>((stats, earliest, backlog))
        };
        ctx.spawn(guard_future(fut).map(|res, act: &mut Self, ctx| {
            act.firing = false;
            match res {
                Some(Ok((stats, earliest, backlog))) => {
                    match (backlog, act.backlogged) {
                        (Some(n), false) => log::warn!("scheduler: {n} executions wait to start (execution.max_pending); claiming paused until they drain"),
                        (None, true) => log::info!("scheduler: execution queue drained below execution.max_pending; claiming again"),
                        _ => {}
                    }
                    act.backlogged = backlog.is_some();
                    metrics::counter!(crate::telemetry::FIRES).increment(stats.fired);
                    metrics::counter!(crate::telemetry::FIRES_SKIPPED, "reason" => "concurrency_forbid").increment(stats.skipped_running);
                    metrics::counter!(crate::telemetry::FIRES_SKIPPED, "reason" => "misfire_skip").increment(stats.skipped_misfire);
                    act.stats.fired += stats.fired;
                    act.stats.skipped_running += stats.skipped_running;
                    act.stats.skipped_misfire += stats.skipped_misfire;
                    act.arm(ctx, earliest);
                }
                Some(Err(e)) => {
                    log::warn!(
                        "scheduler: claiming due fires failed, retrying at the next tick: {e}"
                    );
                    act.arm(ctx, None);
                }
                None => return,
            }
            if std::mem::take(&mut act.again) {
                act.fire_due(ctx);
            }
        }));
    }

    /// Sleeps until `earliest` (capped by the fallback tick).
    fn arm(&mut self, ctx: &mut Context<Self>, earliest: Option<DateTime<Utc>>) {
        self.armed_for = earliest;
        if self.stopped {
            return;
        }
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        let tick = Duration::from_millis(self.services.config.scheduler.tick_ms);
        let leads = self.leads();
        let now = clock::now();
        let delay = match earliest {
            // Still due after a full pass: another instance holds it; look again shortly.
            Some(t) if t <= now + leads.ahead => CONTENDED_RETRY,
            // Within the prefetch window yet unclaimed: a forbid schedule (or one another
            // instance holds); wake at its own short lead.
            Some(t) if t <= now + leads.prefetch => {
                (t - now - leads.ahead).to_std().unwrap_or(Duration::ZERO)
            }
            // Wake early by the prefetch lead: the claim commits before the due instant.
            Some(t) => (t - now - leads.prefetch)
                .to_std()
                .unwrap_or(Duration::ZERO),
            None => tick,
        }
        .min(tick);
        self.timer = Some(ctx.run_later(delay, |act, ctx| {
            act.timer = None;
            act.fire_due(ctx);
        }));
    }

    fn leads(&self) -> fires::Leads {
        let cfg = &self.services.config.scheduler;
        fires::Leads {
            ahead: chrono::Duration::milliseconds(cfg.claim_ahead_ms as i64),
            prefetch: chrono::Duration::milliseconds(cfg.prefetch_ms.max(cfg.claim_ahead_ms) as i64),
        }
    }

    fn publish(&self, kind: EventKind, row: &ScheduleRow) {
        self.hub.do_send(Publish(Event::new(
            kind,
            Some(row.id),
            crate::views::ScheduleView::from(row),
        )));
    }

    /// Maps a write's result, publishing `kind` and waking the timer on success.
    fn after_write(
        &mut self,
        ctx: &mut Context<Self>,
        res: Result<Option<ScheduleRow>, WriteError>,
        id: Uuid,
        kind: EventKind,
    ) -> Result<ScheduleRow, ScheduleError> {
        match res {
            Ok(Some(row)) => {
                log::info!(
                    "schedule {}: schedule={} name={}",
                    event_verb(kind),
                    row.id,
                    row.name
                );
                self.publish(kind, &row);
                // Wake only when this schedule is due before the timer would wake anyway:
                // creating thousands of far-off schedules costs no claim queries.
                let sooner = row.enabled
                    && row
                        .next_run_at
                        .is_some_and(|t| self.armed_for.is_none_or(|armed| t < armed));
                if sooner || self.timer.is_none() {
                    self.fire_due(ctx);
                }
                Ok(row)
            }
            Ok(None) => Err(ScheduleError::NotFound(id)),
            Err(WriteError::DuplicateName(n)) => Err(ScheduleError::DuplicateName(n)),
            Err(WriteError::Invalid { field, message }) => {
                Err(ScheduleError::Invalid { field, message })
            }
            Err(WriteError::Db(e)) => Err(ScheduleError::Db(e)),
        }
    }
}

fn event_verb(kind: EventKind) -> &'static str {
    match kind {
        EventKind::ScheduleCreated => "created",
        EventKind::ScheduleDeleted => "deleted",
        _ => "updated",
    }
}

impl Actor for SchedulerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let delay = std::mem::take(&mut self.restart_delay);
        if !delay.is_zero() {
            ctx.wait(actix::fut::wrap_future(tokio::time::sleep(delay)));
        }
        self.load(ctx);
    }
}

impl Supervised for SchedulerActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.running = false;
        self.firing = false;
        self.timer = None;
        self.restart_delay = self.tracker.on_restart();
    }
}

impl_lifecycle_handlers!(SchedulerActor);

impl Handler<StopWork> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<(), DbError>>;

    fn handle(&mut self, _: StopWork, ctx: &mut Context<Self>) -> Self::Result {
        self.stopped = true;
        self.running = false;
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        log::info!("scheduler stopping: instance={instance}");
        Box::pin(actix::fut::wrap_future(async move {
            system_state::set_running(&pool, instance, Component::Scheduler, false).await
        }))
    }
}

impl Handler<CreateSchedule> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<ScheduleRow, ScheduleError>>;

    fn handle(&mut self, msg: CreateSchedule, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let id = Uuid::now_v7();
        Box::pin(
            actix::fut::wrap_future(async move {
                schedules::check_secrets(&pool, &msg.0.task).await?;
                schedules::insert(&pool, id, &msg.0, clock::now())
                    .await
                    .map(Some)
            })
            .map(move |res, act: &mut Self, ctx| {
                act.after_write(ctx, res, id, EventKind::ScheduleCreated)
            }),
        )
    }
}

impl Handler<ReplaceSchedule> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<ScheduleRow, ScheduleError>>;

    fn handle(&mut self, msg: ReplaceSchedule, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let id = msg.id;
        Box::pin(
            actix::fut::wrap_future(async move {
                schedules::check_secrets(&pool, &msg.input.task).await?;
                schedules::replace(&pool, id, &msg.input, clock::now()).await
            })
            .map(move |res, act: &mut Self, ctx| match res {
                // Nothing changed: no write happened, so no event and no wake-up.
                Ok(Some(r)) if !r.changed => Ok(r.row),
                other => act.after_write(
                    ctx,
                    other.map(|r| r.map(|r| r.row)),
                    id,
                    EventKind::ScheduleUpdated,
                ),
            }),
        )
    }
}

impl Handler<SetEnabled> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<ScheduleRow, ScheduleError>>;

    fn handle(&mut self, msg: SetEnabled, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let SetEnabled { id, enabled } = msg;
        Box::pin(
            actix::fut::wrap_future(async move {
                schedules::set_enabled(&pool, id, enabled, clock::now())
                    .await
                    .map_err(WriteError::Db)
            })
            .map(move |res, act: &mut Self, ctx| {
                act.after_write(ctx, res, id, EventKind::ScheduleUpdated)
            }),
        )
    }
}

impl Handler<DeleteSchedule> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<(), ScheduleError>>;

    fn handle(&mut self, msg: DeleteSchedule, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let id = msg.0;
        Box::pin(
            actix::fut::wrap_future(async move {
                schedules::delete(&pool, id, clock::now())
                    .await
                    .map_err(WriteError::Db)
            })
            .map(move |res, act: &mut Self, ctx| {
                act.after_write(ctx, res, id, EventKind::ScheduleDeleted)
                    .map(|_| ())
            }),
        )
    }
}

impl Handler<GetSchedule> for SchedulerActor {
    type Result = ResponseFuture<Result<ScheduleRow, ScheduleError>>;

    fn handle(&mut self, msg: GetSchedule, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            schedules::get(&pool, msg.0)
                .await?
                .ok_or(ScheduleError::NotFound(msg.0))
        })
    }
}

impl Handler<ListSchedules> for SchedulerActor {
    type Result = ResponseFuture<Result<crate::db::pagination::Page<ScheduleRow>, DbError>>;

    fn handle(&mut self, msg: ListSchedules, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move { schedules::list(&pool, &msg.filter, msg.limit, msg.cursor).await })
    }
}

impl Handler<NextRuns> for SchedulerActor {
    type Result = ResponseFuture<Result<Vec<DateTime<Utc>>, ScheduleError>>;

    fn handle(&mut self, msg: NextRuns, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        Box::pin(async move {
            let row = schedules::get(&pool, msg.id)
                .await?
                .ok_or(ScheduleError::NotFound(msg.id))?;
            let spec = row
                .spec()
                .map_err(|e| ScheduleError::Db(DbError::Unavailable(e)))?;
            Ok(spec.next_runs(msg.from, msg.count))
        })
    }
}

impl Handler<TriggerNow> for SchedulerActor {
    type Result = ResponseFuture<Result<crate::db::executions::ExecutionRow, ScheduleError>>;

    fn handle(&mut self, msg: TriggerNow, _: &mut Context<Self>) -> Self::Result {
        let pool = self.services.pool.clone();
        let instance = self.services.instance_id;
        let execution = self.execution.clone();
        Box::pin(async move {
            let row = schedules::get(&pool, msg.0)
                .await?
                .ok_or(ScheduleError::NotFound(msg.0))?;
            let now = clock::now();
            let new = NewExecution::of(&row, Trigger::Manual, 1, now, now, instance);
            let exec = execution
                .send(StartExecution(new))
                .await
                .map_err(|e| ScheduleError::Db(DbError::Unavailable(e.to_string())))??;
            schedules::record_run(&pool, row.id, exec.id, now).await?;
            log::info!(
                "schedule triggered manually: schedule={} execution={}",
                row.id,
                exec.id
            );
            Ok(exec)
        })
    }
}

impl Handler<GetFireStats> for SchedulerActor {
    type Result = MessageResult<GetFireStats>;

    fn handle(&mut self, _: GetFireStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats)
    }
}
