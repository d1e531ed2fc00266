//! SchedulerActor: schedule reads and writes (see [`crud`]) and firing.
//!
//! It sleeps until the earliest `next_run_at` (never longer than `scheduler.tick_ms`, the
//! fallback for changes made by other instances) and wakes early whenever a schedule changes
//! here. Each wake claims every due fire in batches (see `db::fires`) and hands the new
//! executions to the ExecutionActor. PostgreSQL is the truth; nothing but timers lives here.

mod apply;
mod backfill;
mod chain;
mod crud;
mod insight;
mod lanes;
pub mod messages;
mod waiting;
mod webhook;

use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};

#[cfg(feature = "testing")]
use self::messages::{FireStats, GetFireStats};
use crate::actors::execution::ExecutionActor;
use crate::actors::lifecycle::impl_lifecycle_handlers;
use crate::actors::lifecycle::StopWork;
use crate::actors::supervisor::{guard_future, RestartTracker};
use crate::actors::ticker::{Ticker, Ticking};
use crate::actors::ws::audience::Audience;
use crate::actors::ws::hub::WsHub;
use crate::actors::ws::messages::Publish;
use crate::actors::Services;
use crate::db::executions::ExecutionRow;
use crate::db::schedules;
use crate::db::system_state::Component;
use crate::db::{fires, DbError};
use crate::domain::clock;
use crate::domain::event::{Event, EventKind};

/// Name in logs and health.
pub const NAME: &str = "scheduler";

/// When a due fire is locked by another instance, look again after this.
const CONTENDED_RETRY: Duration = Duration::from_millis(25);

/// See the module docs.
pub struct SchedulerActor {
    /// The earliest end of a pause (resumed by the first pass after it).
    resume_at: Option<DateTime<Utc>>,
    /// Claiming paused: `execution.max_pending` executions wait to start here.
    backlogged: bool,
    services: Services,
    hub: Addr<WsHub>,
    execution: Addr<ExecutionActor>,
    tracker: RestartTracker,
    ticker: Ticker,
    restart_delay: Duration,
    /// A release of waiting fires is in flight (see [`waiting`]).
    releasing: bool,
    /// Fires since start (the `testing` feature's GetFireStats answers them).
    #[cfg(feature = "testing")]
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
            releasing: false,
            resume_at: None,
            services,
            hub,
            execution,
            tracker,
            ticker: Ticker::default(),
            restart_delay: Duration::ZERO,
            #[cfg(feature = "testing")]
            stats: FireStats::default(),
        }
    }

    /// Claims and starts every due fire (see [`lanes`]), then sleeps until the next one.
    fn fire_due(&mut self, ctx: &mut Context<Self>) {
        let pool = self.services.pool.clone();
        let cfg = &self.services.config.scheduler;
        let claimer = lanes::Claimer {
            pool: pool.clone(),
            instance: self.services.instance_id,
            leads: self.leads(),
            threshold: chrono::Duration::milliseconds(cfg.misfire_threshold_ms as i64),
            batch: cfg.claim_batch.max(1),
            lanes: cfg.claim_lanes.max(1),
            max_pending: self.services.config.execution.max_pending,
            execution: self.execution.clone(),
            hub: self.hub.clone(),
            audience: self.services.audience.clone(),
        };
        let resume = self.resume_at.is_some_and(|t| t <= clock::now());
        let fut = async move {
            let resumed = if resume {
                schedules::resume_due(&pool, clock::now()).await?
            } else {
                Vec::new()
            };
            let lanes::Claimed { stats, backlog } = claimer.claim_all().await?;
            let upcoming = schedules::earliest_due(&pool).await?;
            Ok::<_, DbError>((stats, upcoming, backlog, resumed))
        };
        ctx.spawn(guard_future(fut).map(|res, act: &mut Self, ctx| {
            let again = act.ticker.pass_done();
            match res {
                Some(Ok((stats, upcoming, backlog, resumed))) => {
                    for row in &resumed {
                        log::info!("schedule resumed (pause ended): schedule={} name={} next_run_at={:?}", row.id, row.name, row.next_run_at);
                        act.publish(EventKind::ScheduleUpdated, row);
                    }
                    act.resume_at = upcoming.resume;
                    let earliest = match (upcoming.due, upcoming.resume) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    match (backlog, act.backlogged) {
                        (Some(n), false) => log::warn!("scheduler: {n} executions wait to start (execution.max_pending); claiming paused until they drain"),
                        (None, true) => log::info!("scheduler: execution queue drained below execution.max_pending; claiming again"),
                        _ => {}
                    }
                    act.backlogged = backlog.is_some();
                    metrics::counter!(crate::telemetry::FIRES).increment(stats.fired);
                    metrics::counter!(crate::telemetry::FIRES_SKIPPED, "reason" => "concurrency_forbid").increment(stats.skipped_running);
                    metrics::counter!(crate::telemetry::FIRES_SKIPPED, "reason" => "misfire_skip").increment(stats.skipped_misfire);
                    #[cfg(feature = "testing")]
                    {
                        act.stats += stats;
                    }
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
            if again {
                Ticker::wake(act, ctx);
            }
        }));
    }

    /// Sleeps until `earliest` (capped by the fallback tick).
    fn arm(&mut self, ctx: &mut Context<Self>, earliest: Option<DateTime<Utc>>) {
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
        Ticker::arm(self, ctx, earliest, delay);
    }

    fn leads(&self) -> fires::Leads {
        let cfg = &self.services.config.scheduler;
        fires::Leads {
            ahead: chrono::Duration::milliseconds(cfg.claim_ahead_ms as i64),
            prefetch: chrono::Duration::milliseconds(cfg.prefetch_ms.max(cfg.claim_ahead_ms) as i64),
        }
    }
}

impl Actor for SchedulerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let delay = std::mem::take(&mut self.restart_delay);
        if !delay.is_zero() {
            ctx.wait(actix::fut::wrap_future(tokio::time::sleep(delay)));
        }
        Ticker::load(self, ctx);
        ctx.run_interval(waiting::RELEASE_EVERY, |act, ctx| act.release_waiting(ctx));
    }
}

impl Supervised for SchedulerActor {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.ticker.restarted();
        self.restart_delay = self.tracker.on_restart();
    }
}

impl_lifecycle_handlers!(SchedulerActor, ticker.running);

impl Handler<StopWork> for SchedulerActor {
    type Result = ResponseActFuture<Self, Result<(), DbError>>;

    fn handle(&mut self, _: StopWork, ctx: &mut Context<Self>) -> Self::Result {
        Ticker::stop(self, ctx)
    }
}

impl Ticking for SchedulerActor {
    const COMPONENT: Component = Component::Scheduler;
    const LABEL: &'static str = "scheduler";

    fn ticker(&mut self) -> &mut Ticker {
        &mut self.ticker
    }

    fn services(&self) -> &Services {
        &self.services
    }

    fn pass(&mut self, ctx: &mut Context<Self>) {
        self.fire_due(ctx);
    }
}

#[cfg(feature = "testing")]
impl Handler<GetFireStats> for SchedulerActor {
    type Result = MessageResult<GetFireStats>;

    fn handle(&mut self, _: GetFireStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats)
    }
}

/// `execution_skipped` for every slot a claim recorded as skipped (stored before the event).
pub(super) fn announce_skipped(hub: &Addr<WsHub>, audience: &Audience, rows: &[ExecutionRow]) {
    for row in rows {
        metrics::counter!(crate::telemetry::EXECUTIONS, "task_type" => row.task_type.as_str(), "status" => row.status.as_str()).increment(1);
        if audience.anyone() {
            hub.do_send(Publish(Event::new(
                EventKind::ExecutionSkipped,
                Some(row.schedule_id),
                crate::views::ExecutionView::from(row),
            )));
        }
    }
}
